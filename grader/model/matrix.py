"""The reachability truth table between pods, computed by GROUPS of equivalent pods.

Why grouping: a namespace of 1000 pods has a million ordered pairs per port; evaluating every
policy for every pair is far too slow in Python. But NetworkPolicy can only tell two pods
apart by (namespace, labels, declared container ports, which ipBlocks contain the IP): pods
equal on those four are interchangeable on both ends of a connection. So:

1. pods are grouped by that key (a Deployment's replicas typically form one group);
2. every selector is evaluated once per distinct namespace / label set, giving, per
   policy, the set of groups it selects and, per peer, the set of groups it matches (sets
   are Python ints used as bitsets over groups);
3. per port/protocol, each group gets "which destination groups may I reach" (egress) and
   "which source groups may reach me" (ingress) by ORing rule bitsets;
4. a pair's verdict is two bit tests. Explanations are rendered lazily, once per group pair,
   by the very engine `PolicyEngine.check` uses (so `reason` is exactly its explanation).

Steps 1 and 2 are grader.model.policy_groups'; steps 3 and 4 are here.

Self traffic (a pod to itself) is allowed regardless (see grader.model.netpol); it is a
property of the pod, not of its group. `results` is a lazy sequence of Reachability: a
million-pair matrix costs a few bitsets, not a million objects, until someone reads it.
"""
from __future__ import annotations

from collections.abc import Sequence as SequenceABC
from typing import Any, Iterable, Iterator, Mapping, Sequence, cast

from grader.model.netpol import EGRESS, INGRESS, PolicyEngine, Rule
from grader.model.objects import NamespaceInfo, Pod
from grader.model.policy_groups import GroupMasks, compile_policies, group_pods, ip_blocks
from grader.observations import Matrix, PodRef, Reachability

_SRC, _DST = "\x00src\x00", "\x00dst\x00"   # placeholders in per-group explanation templates


def listen_note(pod: Pod, port: int, protocol: str) -> str:
    """The sentence of a matrix reason that says whether anything serves on the port."""
    if pod.listens(port, protocol):
        return f"{pod.key} listens on {port}/{protocol}."
    return f"Nothing listens on {port}/{protocol} in {pod.key}."


def with_listen_note(text: str, pod: Pod, port: int, protocol: str) -> str:
    """The verdict's explanation followed by the listen note, as one more sentence."""
    text = text.rstrip()
    return f"{text}{'' if text.endswith(('.', '!', '?')) else '.'} {listen_note(pod, port, protocol)}"


PROTOCOLS = ("TCP", "UDP", "SCTP")


def check_ports(ports: Any) -> list[int]:
    """The ports a matrix covers, validated as `svclab matrix --ports` validates them: an
    int or an iterable of ints, each 1-65535 (sorted, duplicates dropped). A string is
    refused rather than read as its characters ("9000" is not the ports 9, 0, 0, 0)."""
    if isinstance(ports, (str, bytes)):
        raise ValueError(f"ports={ports!r}: give an int or a list of ints, e.g. ports=[{ports!s}] "
                         "(a string is not a list of ports)")
    if isinstance(ports, int) and not isinstance(ports, bool):
        ports = [ports]
    try:
        items = list(ports)
    except TypeError:
        raise ValueError(f"ports={ports!r}: give an int or a list of ints, e.g. ports=[80, 8080]") from None
    if not items:
        raise ValueError("ports=[]: give at least one port")
    for p in items:
        if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535:
            raise ValueError(f"invalid port {p!r}: ports are numbers 1-65535")
    return sorted(set(items))


def check_protocols(protocols: Any) -> list[str]:
    """TCP/UDP/SCTP (any case), as the CLI's --protocols; a bare string is one protocol."""
    if isinstance(protocols, str):
        protocols = [protocols]
    out: list[str] = []
    for p in protocols:
        up = str(p).upper()
        if not isinstance(p, str) or up not in PROTOCOLS:
            raise ValueError(f"invalid protocol {p!r}: choose from {', '.join(PROTOCOLS)}")
        if up not in out:
            out.append(up)
    if not out:
        raise ValueError("protocols: give at least one of TCP, UDP, SCTP")
    return out


def listened_ports(pods: Iterable[Pod], protocols: Iterable[str]) -> list[int]:
    """The default ports of a matrix (the CLI's and the API's): every port the pods listen
    on for these protocols, or 80 when none does."""
    protos = set(protocols)
    return sorted({port for p in pods for (port, proto) in p.listening if proto in protos}) or [80]


def _normalize(ports: Iterable[int], protocols: Iterable[str]) -> tuple[list[int], list[str]]:
    port_list = sorted({int(p) for p in ports})
    proto_list: list[str] = []
    for p in protocols:
        p = str(p).upper()
        if p not in proto_list:
            proto_list.append(p)
    return port_list, proto_list


class GroupedResults(SequenceABC):
    """`Matrix.results`, computed on access. Order: from, to, port, protocol."""

    def __init__(self, m: "GroupedMatrix") -> None:
        self._m = m

    def __len__(self) -> int:
        m = self._m
        return len(m.pod_objs) ** 2 * len(m.port_list) * len(m.proto_list)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("matrix result index out of range")
        m = self._m
        nq, npt, npods = len(m.proto_list), len(m.port_list), len(m.pod_objs)
        i, q = divmod(i, nq)
        i, pi = divmod(i, npt)
        s, d = divmod(i, npods)
        return m.result_at(s, d, pi, q)

    def __iter__(self) -> Iterator[Reachability]:
        m = self._m
        rng = range(len(m.pod_objs))
        for s in rng:
            for d in rng:
                for pi in range(len(m.port_list)):
                    for q in range(len(m.proto_list)):
                        yield m.result_at(s, d, pi, q)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, GroupedResults)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __repr__(self) -> str:
        return f"<{len(self)} reachability results>"


class GroupedMatrix(Matrix):
    """A Matrix whose verdicts live in per-group bitsets. Behaves as a Matrix (same
    `pods`, `results`, `lookup`, `to_json_dict`), with O(1) `lookup` and `allowed`."""

    def __init__(self, engine: PolicyEngine, pods: Sequence[Pod], ports: Iterable[int],
                 protocols: Iterable[str]) -> None:
        self.engine = engine
        self.pod_objs: list[Pod] = sorted(pods, key=lambda p: (p.namespace, p.name))
        self.port_list, self.proto_list = _normalize(ports, protocols)
        self.index = {p.key: i for i, p in enumerate(self.pod_objs)}
        self._templates: dict[tuple[int, int, int], str] = {}
        self._build()
        # GroupedResults is a read-only Sequence standing in for Matrix's list (computed on access)
        results = cast("list[Reachability]", GroupedResults(self))
        super().__init__([PodRef(p.namespace, p.name, p.ip) for p in self.pod_objs], results)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        """Steps 1-3 of the module docstring: group the pods, compile every policy's rules
        to bitsets over the groups, then per port/protocol each group's verdict rows."""
        engine = self.engine
        self.blocks = ip_blocks(engine)
        self.groups, self.group_of = group_pods(self.pod_objs, self.blocks)
        masks = GroupMasks(engine, self.groups, self.blocks)
        self.ALL = masks.all
        self.rule_peers, self.isolating, self.policy_selects = compile_policies(engine, masks)
        self._policy_index = {id(p): i for i, p in enumerate(engine.policies)}
        # per port/protocol: egress[k][src group] = reachable dst groups,
        # ingress[k][dst group] = admitted src groups
        self.egress_ok: list[list[int]] = []
        self.ingress_ok: list[list[int]] = []
        for port in self.port_list:
            for protocol in self.proto_list:
                eg, ing = self._group_verdicts(masks, port, protocol)
                self.egress_ok.append(eg)
                self.ingress_ok.append(ing)

    def _group_verdicts(self, masks: GroupMasks, port: int, protocol: str) -> tuple[list[int], list[int]]:
        """For one port/protocol: per source group the destination groups its egress allows,
        per destination group the source groups its ingress admits (ALL when not isolated)."""
        ng = len(self.groups)
        pm_cache: dict[tuple[int, int], int] = {}

        def rule_port_mask(pi: int, rule: Rule) -> int:
            key = (pi, id(rule))
            m = pm_cache.get(key)
            if m is None:
                m = pm_cache[key] = masks.rule_ports(rule, port, protocol)
            return m

        eg = [masks.all] * ng
        ing = [masks.all] * ng
        for g in range(ng):
            pols = self.isolating[EGRESS][g]
            if pols:
                m = 0
                for pol in pols:
                    pi = self._policy_index[id(pol)]
                    for rule in pol.egress:
                        m |= rule_port_mask(pi, rule) & self.rule_peers[(pi, EGRESS, rule.index)]
                eg[g] = m
            pols = self.isolating[INGRESS][g]
            if pols:
                m = 0
                bit = 1 << g
                for pol in pols:
                    pi = self._policy_index[id(pol)]
                    for rule in pol.ingress:
                        if rule_port_mask(pi, rule) & bit:
                            m |= self.rule_peers[(pi, INGRESS, rule.index)]
                ing[g] = m
        return eg, ing

    # ------------------------------------------------------------------ reading
    def _k(self, pi: int, q: int) -> int:
        return pi * len(self.proto_list) + q

    def allowed_at(self, s: int, d: int, pi: int, q: int) -> bool:
        if s == d:
            return True
        gs, gd = self.group_of[s], self.group_of[d]
        k = self._k(pi, q)
        return bool((self.egress_ok[k][gs] >> gd) & 1 and (self.ingress_ok[k][gd] >> gs) & 1)

    def reason_at(self, s: int, d: int, pi: int, q: int) -> str:
        src, dst = self.pod_objs[s], self.pod_objs[d]
        port, protocol = self.port_list[pi], self.proto_list[q]
        if s == d:
            text = self.engine.evaluate(src, dst, port, protocol).explanation
        else:
            key = (self.group_of[s], self.group_of[d], self._k(pi, q))
            tpl = self._templates.get(key)
            if tpl is None:
                gs, gd = self.groups[key[0]], self.groups[key[1]]
                tpl = self._templates[key] = self.engine.evaluate(
                    gs.rep, gd.rep, port, protocol, src_name=_SRC, dst_name=_DST, loopback=False).explanation
            text = tpl.replace(_SRC, src.key).replace(_DST, dst.key)
        return with_listen_note(text, dst, port, protocol)

    def result_at(self, s: int, d: int, pi: int, q: int) -> Reachability:
        return Reachability(self.pod_objs[s].key, self.pod_objs[d].key, self.port_list[pi],
                            self.proto_list[q], self.allowed_at(s, d, pi, q), self.reason_at(s, d, pi, q))

    def _indices(self, src: str, dst: str, port: int, protocol: str) -> tuple[int, int, int, int]:
        try:
            return (self.index[src], self.index[dst], self.port_list.index(int(port)),
                    self.proto_list.index(protocol.upper()))
        except (KeyError, ValueError):
            raise KeyError(f"no result for {src} -> {dst} {port}/{protocol}") from None

    def verdict_groups(self, port: int, protocol: str = "TCP") -> tuple[list[int], list[list[bool]]]:
        """Every verdict for one port/protocol, as renderers want them: the group of each
        source pod, and per group the row of verdicts (columns in pod order) that each of
        its members has, except on its own column, which is always allowed (self traffic
        is never blocked). A million cells cost one list per group."""
        try:
            k = self._k(self.port_list.index(int(port)), self.proto_list.index(protocol.upper()))
        except ValueError:
            raise KeyError(f"no result for {port}/{protocol}") from None
        eg, ing = self.egress_ok[k], self.ingress_ok[k]
        ng = len(self.groups)
        rows = []
        for gs in range(ng):
            e = eg[gs]
            flags = [bool((e >> gd) & 1 and (ing[gd] >> gs) & 1) for gd in range(ng)]
            rows.append([flags[gd] for gd in self.group_of])
        return list(self.group_of), rows

    def allowed_rows(self, port: int, protocol: str = "TCP") -> list[list[bool]]:
        """Every verdict for one port/protocol, a row per source pod, columns in pod order."""
        group_of, by_group = self.verdict_groups(port, protocol)
        out = []
        for s, g in enumerate(group_of):
            row = list(by_group[g])
            row[s] = True
            out.append(row)
        return out

    def allowed(self, src: str, dst: str, port: int, protocol: str = "TCP") -> bool:
        """Verdict only (no explanation rendered): O(1)."""
        return self.allowed_at(*self._indices(src, dst, port, protocol))

    def lookup(self, src: str, dst: str, port: int, protocol: str = "TCP") -> Reachability:
        return self.result_at(*self._indices(src, dst, port, protocol))

    def combos(self) -> list[tuple[int, str]]:
        """Every (port, protocol) this matrix covers, without walking the results."""
        return [(port, proto) for port in self.port_list for proto in self.proto_list]

    def count_allowed(self) -> int:
        """How many (ordered pair, port, protocol) results are allowed, without rendering
        any explanation (group-pair arithmetic with popcounts)."""
        ng = len(self.groups)
        sizes = [len(g.members) for g in self.groups]
        size_masks: dict[int, int] = {}
        for g, n in enumerate(sizes):
            size_masks[n] = size_masks.get(n, 0) | (1 << g)
        total = 0
        for k in range(len(self.egress_ok)):
            eg, ing = self.egress_ok[k], self.ingress_ok[k]
            # transpose ingress: admitted_by[gs] = dst groups whose ingress admits gs
            admitted_by = [0] * ng
            for gd in range(ng):
                bits = bin(ing[gd])[2:][::-1]
                bit = 1 << gd
                for gs, c in enumerate(bits):
                    if c == "1":
                        admitted_by[gs] |= bit
            for gs in range(ng):
                row = eg[gs] & admitted_by[gs]
                total += sizes[gs] * sum(n * (row & m).bit_count() for n, m in size_masks.items())
                if (row >> gs) & 1:
                    total -= sizes[gs]          # self pairs counted below
            total += len(self.pod_objs)         # self pairs are always allowed
        return total

    def __repr__(self) -> str:
        return (f"GroupedMatrix({len(self.pod_objs)} pods in {len(self.groups)} groups, "
                f"ports {self.port_list}, protocols {self.proto_list})")


def compute_matrix(pods: Sequence[Pod], namespaces: Mapping[str, NamespaceInfo], policies: Sequence[dict],
                   ports: Iterable[int] = (80,), protocols: Iterable[str] = ("TCP",)) -> Matrix:
    """The NetworkPolicy reachability of every ordered pod pair (self pairs included) on
    every port/protocol, pods probed by pod IP. `reason` = the engine's explanation plus
    whether anything listens on the destination port."""
    return GroupedMatrix(PolicyEngine(namespaces, policies), pods, ports, protocols)


def matrix_from_engine(engine: PolicyEngine, pods: Sequence[Pod], ports: Iterable[int] = (80,),
                       protocols: Iterable[str] = ("TCP",)) -> GroupedMatrix:
    """compute_matrix for an engine already built (e.g. ClusterState.policy_engine())."""
    return GroupedMatrix(engine, pods, ports, protocols)
