"""An nftables table as `nft list table` prints it, read into parts that can be compared.

kube-proxy's rules are one table (`ip kube-proxy`) of sets, maps (verdict maps) and chains.
The offline model renders that text, a live node prints it; both are read by `parse` into an
`NftTable`, whose `normalized()` drops what differs between two correct rulesets (rule
handles and counters, element order, the addresses an affinity set has remembered) so that
what is left can be compared line by line, and whose `part_for` keeps one Service's share.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from grader.k8s.kube_proxy_names import hash_and_truncate, service_of_chain

#: Statements nft adds per rule that say nothing about the rule itself.
_NOISE = re.compile(r"\s*(# handle \d+|counter packets \d+ bytes \d+)")


@dataclass
class NftSet:
    """A set (`map` False) or a map (`map` True): its declaration lines and its elements."""

    name: str
    map: bool
    declaration: list[str] = field(default_factory=list)   # "type ...", "flags ...", "comment ..."
    elements: list[str] = field(default_factory=list)

    def render(self) -> list[str]:
        lines = [f"\t{'map' if self.map else 'set'} {self.name} {{"]
        lines += [f"\t\t{line}" for line in self.declaration]
        if self.elements:
            lines.append("\t\telements = { " + ",\n\t\t\t     ".join(self.elements) + " }")
        return lines + ["\t}"]


@dataclass
class NftChain:
    """A chain: its hook line (base chains only), its comment, its rules in order."""

    name: str
    hook: str | None = None
    comment: str | None = None
    rules: list[str] = field(default_factory=list)

    def render(self) -> list[str]:
        lines = [f"\tchain {self.name} {{"]
        if self.hook:
            lines.append(f"\t\t{self.hook}")
        if self.comment:
            lines.append(f"\t\tcomment {self.comment}")
        lines += [f"\t\t{rule}" for rule in self.rules]
        return lines + ["\t}"]


@dataclass
class NftTable:
    """One table: family, name, and its sets, maps and chains in the order listed."""

    family: str
    name: str
    comment: str | None = None
    sets: dict[str, NftSet] = field(default_factory=dict)
    chains: dict[str, NftChain] = field(default_factory=dict)

    def text(self) -> str:
        """The table as `nft list table` prints it."""
        lines = [f"table {self.family} {self.name} {{"]
        if self.comment:
            lines.append(f"\tcomment {self.comment}")
        blocks = [s.render() for s in self.sets.values()] + [c.render() for c in self.chains.values()]
        for i, block in enumerate(blocks):
            lines += ([""] if i else []) + block
        return "\n".join(lines + ["}"]) + "\n"

    def normalized(self) -> "NftTable":
        """Sorted sets, maps and chains; sorted elements; no handles or counters; affinity
        sets without the client addresses they remembered (runtime state, not rules)."""
        sets = {}
        for name in sorted(self.sets):
            s = self.sets[name]
            elements = [] if name.startswith("affinity-") else sorted(_clean(e) for e in s.elements)
            declaration = [line for line in s.declaration if not line.startswith("size ")]
            sets[name] = NftSet(name, s.map, declaration, elements)
        chains = {name: NftChain(name, c.hook, c.comment, [_clean(r) for r in c.rules])
                  for name, c in sorted(self.chains.items())}
        return NftTable(self.family, self.name, self.comment, sets, chains)

    def part_for(self, namespace: str, service: str) -> "NftTable":
        """The chains and affinity sets of one Service, and the map and set elements that
        lead to them or name it (kube-proxy's comments say "ns/svc:port")."""
        def mine(name: str) -> bool:
            return service_of_chain(name) == (namespace, service)

        label = re.compile(rf'"{re.escape(namespace)}/{re.escape(service)}(:[^"]*)?"')
        wanted = {c for c in self.chains if mine(c)}
        part = NftTable(self.family, self.name, self.comment)
        for name, s in self.sets.items():
            if mine(name):
                part.sets[name] = s
                continue
            elements = [e for e in s.elements
                        if label.search(e) or any(f"goto {c}" in e or f"jump {c}" in e for c in wanted)]
            if elements:
                part.sets[name] = NftSet(name, s.map, list(s.declaration), elements)
        part.chains = {name: c for name, c in self.chains.items() if name in wanted}
        return part

    def services(self) -> list[tuple[str, str]]:
        """(namespace, service) of every Service that has a chain here, in name order."""
        return sorted({found for found in map(service_of_chain, self.chains) if found})


class NodeRulesUnavailable(RuntimeError):
    """A live cluster's node rules cannot be read from here; the message says why and how."""


@dataclass
class KubeProxyRules:
    """What `cluster.kube_proxy_rules()` returns: kube-proxy's table on one node, where it
    came from (rendered from the offline model, or read from the node), and, when asked
    for one Service, which (then `table` holds only that Service's part)."""

    node: str
    origin: str
    table: NftTable
    service: str | None = None

    def text(self) -> str:
        return self.table.text()

    def chains(self) -> list[str]:
        return list(self.table.chains)

    def elements(self, name: str) -> list[str]:
        """The elements of set or map `name` ([] when it has none here)."""
        found = self.table.sets.get(name)
        return list(found.elements) if found else []

    def paths(self) -> list["PacketPath"]:
        """The dispatch maps' entries followed through the chains (see `packet_paths`)."""
        return packet_paths(self.table)

    def __str__(self) -> str:
        what = f" (the part for Service {self.service})" if self.service else ""
        return f"# kube-proxy's nftables rules on node {self.node}{what}, {self.origin}\n" + self.text()


def service_part(table: NftTable, node: str, origin: str, service: str | None, *,
                 known: Callable[[str, str], bool]) -> KubeProxyRules:
    """The whole table, or with `service` ("namespace/name") that Service's part. ValueError
    for a malformed name, LookupError for a Service that does not exist (`known` says which
    do): an empty part must mean "kube-proxy writes nothing for it", never a typo."""
    if service is None:
        return KubeProxyRules(node, origin, table)
    namespace, _, name = service.partition("/")
    if not namespace or not name or "/" in name:
        raise ValueError(f'service={service!r}: write "namespace/name", e.g. "default/kubernetes"')
    if not known(namespace, name):
        raise LookupError(f"no Service {name!r} in namespace {namespace!r}")
    return KubeProxyRules(node, origin, table.part_for(namespace, name), service)


#: The hash kube-proxy puts after a per-Service prefix ("service-ULMVA6XW-...").
_HASHED = re.compile(r"\b(service|local|external|firewall|endpoint|affinity)-([A-Z2-7]{8})-")


def wrong_hashes(table: NftTable) -> list[str]:
    """Chain and set names whose hash is not kube-proxy's hash of the rest of the name."""
    out = []
    for name in [*table.chains, *table.sets]:
        found = _HASHED.match(name)
        if found and hash_and_truncate(name[found.end():])[:8] != found.group(2):
            out.append(name)
    return out


def symbolic(table: NftTable, symbols: Mapping[str, str]) -> NftTable:
    """`table` normalized, with every address in `symbols` replaced by its symbol and every
    name hash by "HASH": two rulesets written for the same Services on different addresses
    (the model's and a live cluster's) then read the same when kube-proxy's logic is the same.
    Check the hashes themselves with `wrong_hashes` first."""
    ordered = sorted(symbols, key=len, reverse=True)
    alternatives = "|".join(map(re.escape, ordered))
    pattern = re.compile(r"(?<![\d.])(" + alternatives + r")(?!\d|\.\d)") if ordered else None

    def sub(text: str) -> str:
        text = _HASHED.sub(lambda m: f"{m.group(1)}-HASH-", text)
        return pattern.sub(lambda m: symbols[m.group(1)], text) if pattern else text

    norm = table.normalized()
    out = NftTable(norm.family, norm.name, norm.comment)
    for s in norm.sets.values():
        out.sets[sub(s.name)] = NftSet(sub(s.name), s.map, [sub(d) for d in s.declaration],
                                       sorted(sub(e) for e in s.elements))
    for c in norm.chains.values():
        out.chains[sub(c.name)] = NftChain(sub(c.name), c.hook, c.comment, [sub(r) for r in c.rules])
    return out.normalized()


def differences(expected: NftTable, actual: NftTable) -> list[str]:
    """A unified diff of two tables' normalized texts ([] when they are equal)."""
    import difflib

    return [line.rstrip("\n") for line in difflib.unified_diff(
        expected.normalized().text().splitlines(), actual.normalized().text().splitlines(),
        "expected", "actual", lineterm="", n=1)]


@dataclass(frozen=True)
class PacketPath:
    """Where kube-proxy sends a new connection to one Service address: `entry` (what the
    packet is addressed to), the map that matched, the chains it went through with what
    they did, and the endpoints it may be DNATed to (empty for a reject or a drop)."""

    entry: str
    map: str
    steps: tuple[str, ...]
    targets: tuple[str, ...]
    verdict: str    # "DNAT", "REJECT", "DROP", or "FILTER" (firewall-ips: then service-ips)


#: Maps whose elements start a packet's path, with what their keys are addressed to.
_ENTRY_MAPS = (("firewall-ips", "address"), ("service-ips", "address"),
               ("service-nodeports", "node port"), ("no-endpoint-services", "address"),
               ("no-endpoint-nodeports", "node port"))
_DNAT = re.compile(r"dnat (?:ip )?to (\S+)$")
_DNAT_MAP = re.compile(r"dnat ip to numgen random mod \d+ map \{ (.*) \}")


def packet_paths(table: NftTable) -> list[PacketPath]:
    """Every entry of the dispatch maps followed through the chains, in map order."""
    out = []
    for name, kind in _ENTRY_MAPS:
        found = table.sets.get(name)
        for element in found.elements if found else []:
            key, _, verdict = element.rpartition(" : ")
            key = re.sub(r' comment "[^"]*"', "", key)
            parts = key.split(" . ")
            if kind == "address":
                entry = f"{parts[0]} {parts[1]}/{parts[2]}"
            else:
                entry = f"node IP {parts[0]}/{parts[1]}"
            if verdict in ("drop", "goto reject-chain"):
                out.append(PacketPath(entry, name, (verdict,), (), "DROP" if verdict == "drop" else "REJECT"))
                continue
            steps: list[str] = []
            targets = _follow(table, verdict.split()[-1], steps, 0)
            result = "FILTER" if name == "firewall-ips" else "DNAT" if targets else "DROP"
            out.append(PacketPath(entry, name, tuple(steps), tuple(dict.fromkeys(targets)), result))
    return out


def _follow(table: NftTable, chain: str, steps: list[str], depth: int) -> list[str]:
    """The endpoints `chain` may DNAT to, noting each chain and masquerade on the way."""
    found = table.chains.get(chain)
    if found is None or depth > 6:
        steps.append(f"{chain} (not listed here)")
        return []
    kind = chain.split("-", 1)[0]
    steps.append(kind + " chain")
    targets: list[str] = []
    for rule in found.rules:
        if rule.startswith("meta mark set meta mark |"):
            steps.append("masquerade")
        if rule.startswith("ip saddr @affinity-") and "affinity" not in steps:
            steps.append("affinity")
        if rule.startswith("ip saddr != {") and rule.endswith("drop"):
            steps.append("drop unless from " + rule[len("ip saddr != "):-len(" drop")])
        dnat, spread = _DNAT.search(rule), _DNAT_MAP.search(rule)
        if spread:
            steps.append(f"random pick of {spread.group(1).count(':')}")
            targets += [c.split(" : ")[1].replace(" . ", ":") for c in spread.group(1).split(", ")]
        elif dnat and "numgen" not in rule:
            targets.append(dnat.group(1))
        elif "numgen random" in rule and " vmap " in rule:
            steps.append(f"random pick of {rule.count('goto')}")
            for target in re.findall(r"goto ([^\s,]+)", rule):
                targets += _follow(table, target, [], depth + 1)
        elif rule.startswith("goto "):
            if kind == "external" and "masquerade" not in steps:
                steps.append("client address kept")
            targets += _follow(table, rule.split()[1], steps, depth + 1)
    return targets


def _clean(line: str) -> str:
    return _NOISE.sub("", line).strip()


def parse(text: str) -> NftTable:
    """Read `nft list table <family> <name>` output. ValueError names the line it cannot read."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if not lines or not re.fullmatch(r"table \S+ \S+ \{", lines[0]):
        raise ValueError(f"not an nft table listing: it starts with {lines[0] if lines else 'nothing'!r}")
    family, name = lines[0].split()[1:3]
    table = NftTable(family, name)
    i = 1
    while i < len(lines) and lines[i] != "}":
        line = lines[i]
        head = re.fullmatch(r"(set|map|chain) (\S+) \{", line)
        if line.startswith("comment "):
            table.comment = line[len("comment "):]
            i += 1
        elif head and head.group(1) == "chain":
            i = _read_chain(lines, i + 1, table, head.group(2))
        elif head:
            i = _read_set(lines, i + 1, table, head.group(2), head.group(1) == "map")
        else:
            raise ValueError(f"line {i + 1} of the nft listing: cannot read {line!r}")
    return table


def _read_chain(lines: list[str], i: int, table: NftTable, name: str) -> int:
    chain = NftChain(name)
    while lines[i] != "}":
        line = _clean(lines[i])
        if line.startswith("type ") and " hook " in line:
            chain.hook = line
        elif line.startswith("comment ") and not chain.rules:
            chain.comment = line[len("comment "):]
        elif line:
            chain.rules.append(line)
        i += 1
    table.chains[name] = chain
    return i + 1


def _read_set(lines: list[str], i: int, table: NftTable, name: str, is_map: bool) -> int:
    s = NftSet(name, is_map)
    while lines[i] != "}":
        line = lines[i]
        if line.startswith("elements = {"):
            body = line[len("elements = {"):]
            while not body.rstrip().endswith("}"):
                i += 1
                body += " " + lines[i]
            s.elements = _split_elements(body.rstrip()[:-1])
        else:
            s.declaration.append(line)
        i += 1
    table.sets[name] = s
    return i + 1


def _split_elements(body: str) -> list[str]:
    """Elements are separated by commas outside quotes and braces."""
    out, current, depth, quoted = [], "", 0, False
    for ch in body:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in "{}":
            depth += 1 if ch == "{" else -1
        if ch == "," and not quoted and depth == 0:
            out.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        out.append(current.strip())
    return [" ".join(e.split()) for e in out]


__all__ = ["KubeProxyRules", "NftChain", "NftSet", "NftTable", "NodeRulesUnavailable", "PacketPath",
           "differences", "packet_paths", "parse", "service_part", "symbolic", "wrong_hashes"]
