"""Steps 1 and 2 of the grouped truth table (grader.model.matrix): pods grouped by what
NetworkPolicy can tell apart (namespace, labels, declared ports, which ipBlocks hold the
IP), and every policy's selectors, peers and ports compiled to bitsets over those groups
(Python ints), each selector evaluated once per distinct namespace or label set.

Apart from the matrix so that building the bitsets and reading verdicts out of them can
be read (and changed) one at a time."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from grader.k8s.selectors import Selector
from grader.model.netpol import (
    EGRESS,
    INGRESS,
    CompiledPolicy,
    IPBlock,
    Peer,
    PolicyEngine,
    Rule,
    named_port_matches,
)
from grader.model.objects import Pod


@dataclass
class Group:
    """Pods the policies cannot tell apart (same namespace, labels, ports and ipBlocks), so they
    share one row and column of verdicts."""

    index: int
    rep: Pod                      # the first pod (by ns/name) of the group
    namespace: str
    labels: frozenset[tuple[str, str]]
    ports: tuple[Any, ...]
    ipsig: int                    # bit b set: the IP is inside ipBlock b
    members: list[int]            # indices into the matrix's sorted pods


def ip_blocks(engine: PolicyEngine) -> dict[IPBlock, int]:
    """The distinct ipBlocks over all policies, each with its bit number."""
    blocks: dict[IPBlock, int] = {}
    for pol in engine.policies:
        for rule in pol.ingress + pol.egress:
            for peer in rule.peers:
                if peer.ip_block is not None and peer.ip_block not in blocks:
                    blocks[peer.ip_block] = len(blocks)
    return blocks


def ip_signature(pod: Pod, blocks: Mapping[IPBlock, int]) -> int:
    """Bit b set: the pod's IP is inside ipBlock b (none for a Pending pod without an IP)."""
    sig = 0
    if blocks:
        try:
            addr = ipaddress.ip_address(pod.ip)
            version, ip = addr.version, int(addr)
            for block, b in blocks.items():
                if block.contains_int(version, ip):
                    sig |= 1 << b
        except ValueError:
            pass
    return sig


def group_pods(pods: Sequence[Pod], blocks: Mapping[IPBlock, int]) -> tuple[list[Group], list[int]]:
    """Step 1: the groups of interchangeable pods (same namespace, labels, ports and ipBlock
    signature), and the group of each pod."""
    groups: dict[tuple[Any, ...], Group] = {}
    group_of: list[int] = []
    for i, pod in enumerate(pods):
        sig = ip_signature(pod, blocks)
        key = (pod.namespace, frozenset(pod.labels.items()), tuple(pod.ports), sig)
        g = groups.get(key)
        if g is None:
            g = groups[key] = Group(len(groups), pod, pod.namespace, key[1], key[2], sig, [])
        g.members.append(i)
        group_of.append(g.index)
    return list(groups.values()), group_of


class GroupMasks:
    """Step 2's bitsets over the groups: which groups are in each namespace, carry each label
    set, sit inside each ipBlock; and, cached so each is evaluated once, which groups a pod
    selector, a namespace selector, a peer or a rule's ports match."""

    def __init__(self, engine: PolicyEngine, groups: list[Group], blocks: Mapping[IPBlock, int]) -> None:
        self.engine, self.groups, self.blocks = engine, groups, blocks
        self.all = (1 << len(groups)) - 1
        self.by_namespace: dict[str, int] = {}
        self.by_labels: dict[frozenset[tuple[str, str]], int] = {}
        self.by_block = [0] * len(blocks)
        for g in groups:
            bit = 1 << g.index
            self.by_namespace[g.namespace] = self.by_namespace.get(g.namespace, 0) | bit
            self.by_labels[g.labels] = self.by_labels.get(g.labels, 0) | bit
            sig, b = g.ipsig, 0
            while sig:
                if sig & 1:
                    self.by_block[b] |= bit
                sig >>= 1
                b += 1
        self._label_dicts = {k: dict(k) for k in self.by_labels}
        self._pod_sel_cache: dict[Selector, int] = {}
        self._ns_sel_cache: dict[Selector, int] = {}
        self._named_cache: dict[tuple[str, str, int], int] = {}

    def pods_matching(self, sel: Selector) -> int:
        """Groups whose labels `sel` matches (in any namespace)."""
        m = self._pod_sel_cache.get(sel)
        if m is None:
            m = 0
            for k, mk in self.by_labels.items():
                if sel.matches(self._label_dicts[k]):
                    m |= mk
            self._pod_sel_cache[sel] = m
        return m

    def namespaces_matching(self, sel: Selector) -> int:
        """Groups in a namespace whose labels `sel` matches."""
        m = self._ns_sel_cache.get(sel)
        if m is None:
            m = 0
            for ns, mk in self.by_namespace.items():
                if sel.matches(self.engine.namespace_labels(ns)):
                    m |= mk
            self._ns_sel_cache[sel] = m
        return m

    def peer(self, peer: Peer, policy_ns: str) -> int:
        """Groups a rule's peer matches: its ipBlock, or its namespace AND pod selectors
        (a podSelector alone means the policy's own namespace)."""
        if peer.ip_block is not None:
            return self.by_block[self.blocks[peer.ip_block]]
        if peer.pod_selector is None and peer.namespace_selector is None:
            return 0
        nsm = self.by_namespace.get(policy_ns, 0) if peer.namespace_selector is None \
            else self.namespaces_matching(peer.namespace_selector)
        podm = self.all if peer.pod_selector is None else self.pods_matching(peer.pod_selector)
        return nsm & podm

    def named_port(self, name: str, protocol: str, port: int) -> int:
        """Groups whose pods declare port `name` as `port`/`protocol`."""
        key = (name, protocol, port)
        m = self._named_cache.get(key)
        if m is None:
            m = 0
            for g in self.groups:
                if named_port_matches(name, port, protocol, g.rep):
                    m |= 1 << g.index
            self._named_cache[key] = m
        return m

    def rule_ports(self, rule: Rule, port: int, protocol: str) -> int:
        """Destination groups for which `rule`'s ports admit port/protocol."""
        if not rule.ports:
            return self.all
        m = 0
        for ps in rule.ports:
            if isinstance(ps.port, str):          # named: depends on the destination group
                if ps.protocol == protocol:
                    m |= self.named_port(ps.port, protocol, port)
            elif ps.matches(port, protocol, None):
                return self.all
        return m


#: (policy index, direction, rule index) -> the groups the rule's peers match
RulePeers = dict[tuple[int, str, int], int]
#: direction -> per group, the policies that isolate it in that direction
Isolating = dict[str, list[list[CompiledPolicy]]]


def compile_policies(engine: PolicyEngine, masks: GroupMasks) -> tuple[RulePeers, Isolating, dict[str, int]]:
    """Per rule (policy index, direction, rule index): the groups its peers match; per
    direction and group: the policies isolating it; per policy key: the groups it selects."""
    ng = len(masks.groups)
    rule_peers: RulePeers = {}
    isolating: Isolating = {INGRESS: [[] for _ in range(ng)], EGRESS: [[] for _ in range(ng)]}
    policy_selects: dict[str, int] = {}
    for pi, pol in enumerate(engine.policies):
        sel = masks.by_namespace.get(pol.namespace, 0) & masks.pods_matching(pol.pod_selector)
        policy_selects[pol.key] = sel
        for direction in (INGRESS, EGRESS):
            if direction not in pol.types:
                continue
            m = sel
            while m:
                low = m & -m
                isolating[direction][low.bit_length() - 1].append(pol)
                m ^= low
            for rule in pol.rules(direction):
                pm = masks.all if not rule.peers else 0
                for peer in rule.peers:
                    pm |= masks.peer(peer, pol.namespace)
                rule_peers[(pi, direction, rule.index)] = pm
    return rule_peers, isolating, policy_selects
