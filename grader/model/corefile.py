"""The Corefile in kube-system's `coredns` ConfigMap, read the way CoreDNS reads it, and
turned into the plugin settings the offline DNS model follows (grader.model.coredns).

Syntax (Caddyfile, as CoreDNS uses it): server blocks `ZONE[:PORT] [ZONE...] { ... }`, one
directive per line (`name args...`), an optional `{ ... }` block of option lines after a
directive, `#` comments. A zone key may carry `dns://`; the port defaults to 53.

What the model follows (coredns.io plugin docs; the plugin README files in coredns/coredns):
- kubernetes [ZONES] { pods disabled|insecure|verified; ttl N; fallthrough [ZONES] }
  (zones must include cluster.local: the model's records live there);
- forward FROM TO... with TO = /etc/resolv.conf or the node's resolver (172.18.0.1), the
  only resolver outside the cluster the model knows; `except` names; other options that
  only tune transport (max_concurrent, policy, health_check...) are accepted;
- rewrite [continue|stop] name [exact|suffix|prefix|substring|regex] FROM TO [answer auto];
- cache [TTL] [ZONES] { success/denial CAPACITY [TTL [MINTTL]]; disable ...; prefetch ... };
- hosts [FILE] [ZONES] { inline `IP name...` lines; ttl; no_reverse; fallthrough [ZONES] }
  (the FILE, /etc/hosts by default, is the CoreDNS pod's own and holds nothing the model
  answers for);
- accepted as no-ops, since they change nothing a pod's lookup returns in the model:
  errors, log, health, ready, loop, reload, loadbalance, prometheus (reload's interval and
  jitter are read, as CoreDNS refuses a file whose values it cannot use: corefile_reload).
Anything else is refused with its line, so a learner never sees an answer that silently
ignores a directive. Live, CoreDNS would run it.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from grader.model.bootstrap import DEFAULT_COREFILE  # noqa: F401 - kubeadm's Corefile, importable here as before
from grader.model.corefile_reload import reload_interval

#: What the model answers for beyond the cluster: kind's node resolver (the docker network's
#: gateway), which the nodes' /etc/resolv.conf names.
NODE_RESOLVER = "172.18.0.1"
KNOWN_UPSTREAMS = ("/etc/resolv.conf", NODE_RESOLVER)
NO_OPS = frozenset("errors log health ready loop reload loadbalance prometheus".split())
MODELLED = ("kubernetes", "forward", "rewrite", "cache", "hosts")



class CorefileError(ValueError):
    """A Corefile CoreDNS would not load, or one the model cannot follow; the message names
    the line."""


class CorefileNotModelled(CorefileError):
    """A Corefile CoreDNS would load, using what the offline model does not follow."""


@dataclass(frozen=True)
class Line:
    """One directive or option line: its tokens and where it was."""

    tokens: tuple[str, ...]
    number: int
    block: tuple["Line", ...] = ()


@dataclass(frozen=True)
class Kubernetes:
    """The kubernetes plugin's settings in one server block."""

    zones: tuple[str, ...]
    pods: str = "disabled"                 # the plugin's default
    ttl: int = 5                           # the plugin's default
    fallthrough: tuple[str, ...] | None = None   # None: no fallthrough; (): every zone


@dataclass(frozen=True)
class Forward:
    """The forward plugin: the zone it forwards and the names it leaves out."""

    base: str
    excepts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rewrite:
    """One rewrite rule: how it matches a name, what it rewrites it to, and where it was."""

    match: str                             # exact, suffix, prefix, substring, regex
    source: str
    target: str
    answer_auto: bool = False
    stop: bool = True
    line: int = 0


@dataclass(frozen=True)
class Cache:
    """The cache plugin's zones and TTLs (success and denial, maximum and minimum)."""

    zones: tuple[str, ...]
    success_ttl: int = 3600
    denial_ttl: int = 1800
    success_min: int = 5
    denial_min: int = 5


@dataclass(frozen=True)
class Hosts:
    """The hosts plugin: its inline entries, TTL, reverse records and fallthrough."""

    zones: tuple[str, ...]
    entries: tuple[tuple[str, str], ...]   # (name, ip) in file order
    ttl: int = 3600
    reverse: bool = True
    fallthrough: tuple[str, ...] | None = None


@dataclass
class ServerBlock:
    """One server block: its zones and port, and the settings of the plugins the model follows."""

    zones: tuple[str, ...]                 # lower-case, no trailing dot; "" is the root
    port: int
    line: int
    kubernetes: Kubernetes | None = None
    forward: Forward | None = None
    cache: Cache | None = None
    hosts: Hosts | None = None
    rewrites: list[Rewrite] = field(default_factory=list)
    reload: float | None = None            # seconds between checks of the Corefile, if set


def norm(name: str) -> str:
    name = name.strip().lower()
    return "" if name in (".", "") else name.rstrip(".")


def in_zone(name: str, zone: str) -> bool:
    return zone == "" or name == zone or name.endswith("." + zone)


def matching_zone(name: str, zones: tuple[str, ...]) -> str | None:
    """The longest of `zones` that `name` is in (plugin.Zones.Matches), or None."""
    best = None
    for z in zones:
        if in_zone(name, z) and (best is None or len(z) > len(best)):
            best = z
    return best


def falls_through(fall: tuple[str, ...] | None, name: str) -> bool:
    """Does a `fallthrough [ZONES]` setting pass `name` on? (None: no fallthrough line;
    (): every zone.)"""
    return fall is not None and (fall == () or matching_zone(name, fall) is not None)


# ---------------------------------------------------------------------------- tokens
def _tokens(text: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|(#.*)|([^\s"]+)', raw):
            if m.group(2) is not None:
                break
            tok = m.group(1) if m.group(1) is not None else m.group(3)
            word = m.group(3) or ""
            if word not in ("", "{", "}") and (word.endswith("{") or word.startswith("}")):
                if word.endswith("{"):
                    out += [(word[:-1], number), ("{", number)]
                else:
                    out += [("}", number), (word[1:], number)]
                continue
            out.append((tok, number))
    return out


def _lines(toks: list[tuple[str, int]], i: int, closing: bool) -> tuple[list[Line], int]:
    """Directive lines until the matching `}` (or the end when not `closing`)."""
    lines: list[Line] = []
    while i < len(toks):
        tok, number = toks[i]
        if tok == "}":
            if not closing:
                raise CorefileError(f"line {number}: unexpected '}}'")
            return lines, i + 1
        words: list[str] = []
        while i < len(toks) and toks[i][1] == number and toks[i][0] not in "{}":
            words.append(toks[i][0])
            i += 1
        block: list[Line] = []
        if i < len(toks) and toks[i][0] == "{" and toks[i][1] == number:
            block, i = _lines(toks, i + 1, True)
        lines.append(Line(tuple(words), number, tuple(block)))
    if closing:
        raise CorefileError("unexpected end of the Corefile: a '{' is never closed")
    return lines, i


def parse_blocks(text: str) -> list[tuple[list[str], int, list[Line]]]:
    """(keys, line, directives) per server block."""
    toks = _tokens(text)
    blocks = []
    i = 0
    while i < len(toks):
        keys: list[str] = []
        start = toks[i][1]
        while i < len(toks) and toks[i][0] != "{":
            if toks[i][0] == "}":
                raise CorefileError(f"line {toks[i][1]}: unexpected '}}'")
            keys += [k for k in toks[i][0].split(",") if k]
            i += 1
        if i >= len(toks):
            raise CorefileError(f"line {start}: server block {' '.join(keys)} has no '{{ ... }}'")
        body, i = _lines(toks, i + 1, True)
        blocks.append((keys, start, body))
    if not blocks:
        raise CorefileError("the Corefile has no server block")
    return blocks


# ---------------------------------------------------------------------------- plugins
def _zones(args: list[str], block_zones: tuple[str, ...], number: int) -> tuple[str, ...]:
    for z in args:
        if "/" in z or not re.fullmatch(r"[A-Za-z0-9._-]+\.?|\.", z):
            raise CorefileNotModelled(f"line {number}: {z!r} is not a zone the model understands")
    return tuple(norm(z) for z in args) if args else block_zones


def _int(value: str, number: int, what: str, low: int = 0, high: int = 3600) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise CorefileError(f"line {number}: {what} must be a number of seconds from {low} to {high}, "
                            f"not {value!r}")
    return int(value)


def _fallthrough(words: tuple[str, ...], number: int) -> tuple[str, ...]:
    return _zones(list(words[1:]), (), number)


def _kubernetes(line: Line, block_zones: tuple[str, ...]) -> Kubernetes:
    zones = _zones(list(line.tokens[1:]), block_zones, line.number)
    if "cluster.local" not in zones:
        raise CorefileNotModelled(f"line {line.number}: kubernetes must serve cluster.local, the cluster "
                            "domain the kubelet puts in every pod's search list (the model has no other)")
    k = Kubernetes(zones=tuple(z for z in zones))
    for opt in line.block:
        words, n = opt.tokens, opt.number
        if words[0] == "pods" and len(words) == 2 and words[1] in ("disabled", "insecure", "verified"):
            k = Kubernetes(k.zones, words[1], k.ttl, k.fallthrough)
        elif words[0] == "ttl" and len(words) == 2:
            k = Kubernetes(k.zones, k.pods, _int(words[1], n, "kubernetes ttl"), k.fallthrough)
        elif words[0] == "fallthrough":
            k = Kubernetes(k.zones, k.pods, k.ttl, _fallthrough(words, n))
        else:
            raise CorefileNotModelled(f"line {n}: kubernetes option {' '.join(words)!r} is not modelled "
                                      "offline (the model follows pods, ttl and fallthrough)")
    return k


_FORWARD_TRANSPORT = frozenset(
    "force_tcp prefer_udp expire max_idle_conns read_timeout max_fails max_connect_attempts "
    "policy health_check max_concurrent failfast_all_unhealthy_upstreams".split())


def _forward(line: Line) -> Forward:
    words = line.tokens
    if len(words) < 3:
        raise CorefileError(f"line {line.number}: forward needs FROM and at least one TO")
    for to in words[2:]:
        addr = to.removeprefix("dns://").removesuffix(":53")
        if addr not in KNOWN_UPSTREAMS:
            raise CorefileNotModelled(
                f"line {line.number}: forward to {to}: the offline model knows one resolver outside the "
                f"cluster, the node's ({NODE_RESOLVER}, which /etc/resolv.conf names); live, CoreDNS "
                "would ask this one")
    excepts: tuple[str, ...] = ()
    for opt in line.block:
        if opt.tokens[0] == "except":
            excepts += tuple(norm(z) for z in opt.tokens[1:])
        elif opt.tokens[0] not in _FORWARD_TRANSPORT:
            raise CorefileNotModelled(f"line {opt.number}: forward option {' '.join(opt.tokens)!r} "
                                "is not modelled offline")
    return Forward(norm(words[1]), excepts)


#: What Go's regexp (RE2), which CoreDNS compiles rewrite patterns with, does not have.
_NOT_RE2 = re.compile(r"\\[1-9]|\(\?<?[=!]|\(\?P=")
#: A repeated group that repeats inside: linear in RE2, exponential in Python's re.
_NESTED_REPEAT = re.compile(r"\([^()]*[+*}][^()]*\)[+*{]")


def _check_regex(source: str, number: int) -> None:
    """Refuse what CoreDNS would not load, and what would make the model's own matcher
    run for minutes on a crafted pattern."""
    if len(source) > 500:
        raise CorefileNotModelled(f"line {number}: a rewrite regex longer than 500 characters "
                                  "is not modelled")
    if _NOT_RE2.search(source):
        raise CorefileError(f"line {number}: rewrite regex {source!r}: Go's regexp, which CoreDNS uses, has "
                            "no backreferences or lookarounds, so CoreDNS would not load it")
    if _NESTED_REPEAT.search(source):
        raise CorefileNotModelled(f"line {number}: rewrite regex {source!r} repeats a group that itself "
                                  "repeats; CoreDNS can run it, the offline model refuses it (write it "
                                  "without the nesting)")
    try:
        re.compile(source)
    except re.error as e:
        raise CorefileError(f"line {number}: rewrite regex {source!r} does not compile: {e}") from None


def _rewrite(words: list[str], number: int) -> Rewrite:
    stop = True
    if words and words[0] in ("continue", "stop"):
        stop = words.pop(0) == "stop"
    if not words or words[0] != "name":
        raise CorefileNotModelled(f"line {number}: rewrite {' '.join(words)!r} is not modelled offline "
                            "(the model follows `rewrite name ...`)")
    words = words[1:]
    match = "exact"
    if words and words[0] in ("exact", "suffix", "prefix", "substring", "regex"):
        match = words.pop(0)
    auto = False
    if words[2:] == ["answer", "auto"]:
        auto, words = True, words[:2]
    if len(words) != 2:
        raise CorefileNotModelled(f"line {number}: rewrite name takes [TYPE] FROM TO [answer auto]; "
                            f"{' '.join(words)!r} is not that (answer name/value are not modelled offline)")
    source, target = words
    if match == "regex":
        _check_regex(source, number)
    else:
        source, target = source.lower(), target.lower()
    if match == "exact":
        source, target = norm(source), norm(target)
    return Rewrite(match, source, target, auto, stop, number)


def _rewrites(line: Line) -> list[Rewrite]:
    words = list(line.tokens[1:])
    if line.block:
        mode = words if words in ([], ["stop"], ["continue"]) else None
        if mode is None:
            raise CorefileError(f"line {line.number}: rewrite with a block takes only continue|stop")
        return [_rewrite(mode + list(o.tokens), o.number) for o in line.block]
    return [_rewrite(words, line.number)]


def _cache(line: Line, block_zones: tuple[str, ...]) -> Cache:
    args = list(line.tokens[1:])
    ttl = None
    if args and args[0].isdigit():
        ttl = _int(args.pop(0), line.number, "cache TTL", 0, 2**31)
    c = Cache(_zones(args, block_zones, line.number),
              ttl if ttl is not None else 3600, ttl if ttl is not None else 1800)
    for opt in line.block:
        words, n = opt.tokens, opt.number
        if words[0] in ("success", "denial") and 2 <= len(words) <= 4:
            _int(words[1], n, "cache capacity", 0, 2**31)
            top = _int(words[2], n, "cache TTL", 0, 2**31) if len(words) > 2 else None
            low = _int(words[3], n, "cache MINTTL", 0, 2**31) if len(words) > 3 else None
            if words[0] == "success":
                c = Cache(c.zones, top if top is not None else c.success_ttl, c.denial_ttl,
                          low if low is not None else c.success_min, c.denial_min)
            else:
                c = Cache(c.zones, c.success_ttl, top if top is not None else c.denial_ttl,
                          c.success_min, low if low is not None else c.denial_min)
        elif words[0] in ("disable", "prefetch", "servfail", "keepttl"):
            pass   # what is stored, not what one answer says: the model has no clock
        else:
            raise CorefileNotModelled(f"line {n}: cache option {' '.join(words)!r} is not modelled offline")
    return c


def _hosts(line: Line, block_zones: tuple[str, ...]) -> Hosts:
    args = list(line.tokens[1:])
    if args and args[0].startswith("/"):
        args.pop(0)
    zones = _zones(args, block_zones, line.number)
    entries: list[tuple[str, str]] = []
    ttl, reverse, fall = 3600, True, None
    for opt in line.block:
        words, n = opt.tokens, opt.number
        if words[0] == "ttl" and len(words) == 2:
            ttl = _int(words[1], n, "hosts ttl", 1, 2**31)
        elif words[0] == "no_reverse":
            reverse = False
        elif words[0] == "fallthrough":
            fall = _fallthrough(words, n)
        elif words[0] == "reload":
            pass
        else:
            try:
                ip = str(ipaddress.ip_address(words[0]))
            except ValueError:
                raise CorefileError(f"line {n}: hosts line {' '.join(words)!r}: neither an option nor "
                                    "`IP name...`") from None
            if len(words) < 2:
                raise CorefileError(f"line {n}: hosts line {ip} names no host")
            entries += [(norm(name), ip) for name in words[1:]]
    return Hosts(zones, tuple(entries), ttl, reverse, fall)


def _block(keys: list[str], number: int, body: list[Line]) -> ServerBlock:
    zones, ports = [], set()
    for key in keys:
        k = key.lower().removeprefix("dns://")
        if "://" in k:
            raise CorefileNotModelled(f"line {number}: server block {key!r}: only plain DNS servers "
                                      "are modelled")
        zone, _, port = k.partition(":") if not k.startswith("[") else (k, "", "")
        if port and not port.isdigit():
            raise CorefileError(f"line {number}: server block {key!r}: bad port {port!r}")
        zones.append(norm(zone))
        ports.add(int(port or 53))
    if len(ports) != 1:
        raise CorefileError(f"line {number}: server block {' '.join(keys)} mixes ports")
    block = ServerBlock(tuple(zones), ports.pop(), number)
    seen: set[str] = set()
    for line in body:
        name = line.tokens[0] if line.tokens else ""
        if name in seen and name != "rewrite":
            raise CorefileError(f"line {line.number}: plugin {name} appears twice in one server block")
        seen.add(name)
        if name == "kubernetes":
            block.kubernetes = _kubernetes(line, block.zones)
        elif name == "forward":
            block.forward = _forward(line)
        elif name == "rewrite":
            block.rewrites += _rewrites(line)
        elif name == "cache":
            block.cache = _cache(line, block.zones)
        elif name == "hosts":
            block.hosts = _hosts(line, block.zones)
        elif name == "reload":
            block.reload = reload_interval(line.tokens, line.number, CorefileError)
        elif name not in NO_OPS:
            raise CorefileNotModelled(
                f"line {line.number}: plugin {name!r} is not modelled offline (the model follows "
                f"{', '.join(MODELLED)} and accepts {', '.join(sorted(NO_OPS))} as no-ops); "
                "live, CoreDNS would run it")
    return block


@dataclass
class Corefile:
    """The parsed Corefile: the server blocks on port 53, where kube-dns sends queries."""

    text: str
    blocks: list[ServerBlock]

    def block_for(self, name: str) -> ServerBlock | None:
        """The server block CoreDNS hands `name` to: the most specific zone on port 53."""
        best: tuple[int, ServerBlock] | None = None
        for b in self.blocks:
            if b.port != 53:
                continue
            z = matching_zone(name, b.zones)
            if z is not None and (best is None or len(z) > best[0]):
                best = (len(z), b)
        return best[1] if best else None


def parse(text: str) -> Corefile:
    """Read a Corefile; CorefileError (naming the line) for what CoreDNS would not load or
    the model does not follow."""
    if not isinstance(text, str):
        raise CorefileError("the Corefile must be text")
    if len(text) > 64_000:
        raise CorefileError("the Corefile is longer than 64000 characters")
    blocks = [_block(keys, n, body) for keys, n, body in parse_blocks(text)]
    seen: dict[tuple[str, int], int] = {}
    for b in blocks:
        for z in b.zones:
            if (z, b.port) in seen:
                raise CorefileError(f"line {b.line}: zone {z or '.'}:{b.port} is already served by the "
                                    f"server block on line {seen[(z, b.port)]}")
            seen[(z, b.port)] = b.line
    return Corefile(text, blocks)


_CACHE: dict[str, Corefile] = {}


def parsed(text: str) -> Corefile:
    """parse(), remembered by text (every lookup reads the ConfigMap)."""
    if text not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[text] = parse(text)
    return _CACHE[text]
