"""NetworkPolicy (networking.k8s.io/v1), evaluated the way the API reference, the concept
page (kubernetes.io "Network Policies") and the upstream e2e suite
(kubernetes/kubernetes test/e2e/network/netpol) define it.

The rules, and why each is what it is:

- Isolation is per pod and per direction. A pod is isolated for ingress iff some policy in
  ITS namespace selects it (spec.podSelector) and has "Ingress" in its effective
  policyTypes; likewise for egress. A non-isolated direction allows everything.
- Policies are additive: an isolated direction allows exactly the union of what the rules
  of all policies selecting the pod (for that direction) allow. There is no deny rule and
  order does not matter.
- A connection needs BOTH the source's egress and the destination's ingress to allow it.
- policyTypes, when omitted (or empty), default as `SetDefaults_NetworkPolicy` in
  pkg/apis/networking/v1/defaults.go does: ["Ingress"], plus "Egress" iff
  `len(spec.egress) != 0`. So `egress: []` does NOT make a policy an egress policy, while
  `egress: [{}]` (allow all egress) does.
- `ingress` absent or `[]` with Ingress in policyTypes: the policy only isolates (allows
  nothing). `ingress: [{}]`: one rule with no `from` and no `ports` = allow all.
- A rule's `from`/`to` absent or empty = every peer (pods AND addresses outside the
  cluster); `ports` absent or empty = every port and protocol.
- Peers: podSelector alone = pods in the POLICY's namespace; namespaceSelector alone = all
  pods of matching namespaces; both in ONE peer = pods matching podSelector inside
  namespaces matching namespaceSelector (AND); separate peers are ORed. `{}` selects
  everything (all pods of the policy's namespace when it is a lone podSelector; all
  namespaces for namespaceSelector).
- ipBlock matches by IP address: inside `cidr` and not inside any `except` entry.
  Upstream leaves it implementation-defined whether pod IPs match ipBlocks ("ipBlock is
  meant for cluster-external IPs"); kind's kindnet (kube-network-policies) matches on the
  packet's address, so a pod whose IP is inside the CIDR DOES match - and so do the
  upstream e2e tests "should allow egress access to server in CIDR block" and "should
  enforce except clause while egress access to server in CIDR block", which put pod IPs
  in ipBlocks. This engine does the same.
- Ports: protocol defaults to TCP; a numeric port matches that port, or the range
  port..endPort inclusive; a named port matches when the DESTINATION pod declares a
  container port of that name and protocol whose number is the connection's port (for
  ingress and egress rules alike; an address outside the cluster has no named ports); an
  entry with a protocol and no port matches every port of that protocol.
- `port` is always the destination POD port, after a Service's DNAT: a policy written on
  the Service port (80) when the pod listens on 8080 does not allow the traffic.
- Traffic from a pod to itself is never blocked (upstream e2e ignores loopback; every
  common plugin allows it). Ingress from the pod's own node (kubelet probes, NodePort
  traffic SNATed to the node) is always allowed, as the API reference states; callers
  pass `Address(NODE_IP)` as the source for that.
- Addresses (`Address`: external clients, nodes) are seen only through ipBlock peers and
  rules without peers; pod/namespace selectors never match them.
"""
from __future__ import annotations

import ipaddress
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence, Union

from grader.k8s.selectors import Selector, compile_selector
from grader.model.objects import NODE_IP, Address, NamespaceInfo, Pod, namespace_labels

Endpoint = Union[Pod, Address]
INGRESS, EGRESS = "Ingress", "Egress"
PROTOCOLS = ("TCP", "UDP", "SCTP")


def effective_policy_types(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """policyTypes after API-server defaulting (see module docstring)."""
    given = [str(t) for t in (spec.get("policyTypes") or [])]
    if given:
        return tuple(t for t in (INGRESS, EGRESS) if t in given)
    return (INGRESS, EGRESS) if len(spec.get("egress") or []) != 0 else (INGRESS,)


# ---------------------------------------------------------------------------- compiled form
@dataclass(frozen=True)
class PortSpec:
    """One entry of a rule's `ports`."""

    index: int
    protocol: str = "TCP"
    port: int | str | None = None      # None: every port of `protocol`
    end_port: int | None = None

    def matches(self, port: int, protocol: str, dst: Endpoint | None) -> bool:
        if protocol != self.protocol:
            return False
        if self.port is None:
            return True
        if isinstance(self.port, int):
            if self.end_port is not None:
                return self.port <= port <= self.end_port
            return port == self.port
        return named_port_matches(self.port, port, protocol, dst)

    def describe(self) -> str:
        if self.port is None:
            return f"all {self.protocol} ports"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol}"
        return f"{self.port}/{self.protocol}"


def named_port_matches(name: str, port: int, protocol: str, dst: Endpoint | None) -> bool:
    """A named port matches when the destination pod declares a container port called
    `name`, of `protocol`, numbered `port` (what kube-network-policies checks)."""
    if not isinstance(dst, Pod):
        return False
    for cp in dst.ports:
        if cp.name == name and cp.protocol == protocol and cp.port == port:
            return True
    return False


@dataclass(frozen=True)
class IPBlock:
    """A peer's ipBlock: a CIDR and the CIDRs it excepts."""

    cidr: str
    excepts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Parsed once into (version, network, mask) integers: the matrix tests every pod IP
        # against every block, and integer masks are what a packet filter compares too.
        def parse(cidr: str) -> tuple[int, int, int]:
            net = ipaddress.ip_network(cidr, strict=False)   # host bits masked, as Go does
            return net.version, int(net.network_address), int(net.netmask)

        object.__setattr__(self, "_net", parse(self.cidr))
        object.__setattr__(self, "_except_nets", tuple(parse(e) for e in self.excepts))

    def contains(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return self.contains_int(addr.version, int(addr))

    def contains_int(self, version: int, ip: int) -> bool:
        """`contains` for an address already parsed to (version, integer)."""
        v, net, mask = self._net  # type: ignore[attr-defined]
        if version != v or ip & mask != net:
            return False
        return not any(version == ev and ip & em == en
                       for ev, en, em in self._except_nets)  # type: ignore[attr-defined]

    def describe(self) -> str:
        if self.excepts:
            return f"ipBlock {self.cidr} except {', '.join(self.excepts)}"
        return f"ipBlock {self.cidr}"


@dataclass(frozen=True)
class Peer:
    """One entry of a rule's `from`/`to`."""

    index: int
    pod_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ip_block: IPBlock | None = None

    def describe(self, policy_ns: str) -> str:
        if self.ip_block is not None:
            return self.ip_block.describe()
        parts = []
        if self.namespace_selector is not None:
            ns = self.namespace_selector
            parts.append("all namespaces" if ns.empty else f"namespaces {ns.describe()}")
        else:
            parts.append(f"namespace {policy_ns}")
        if self.pod_selector is not None and not self.pod_selector.empty:
            parts.append(f"pods {self.pod_selector.describe()}")
        else:
            parts.append("all pods")
        return f"{parts[1]} in {parts[0]}"


@dataclass(frozen=True)
class Rule:
    """One ingress or egress rule of a policy: its peers and ports (empty: all)."""

    direction: str                      # INGRESS or EGRESS
    index: int
    peers: tuple[Peer, ...] = ()        # empty: every peer
    ports: tuple[PortSpec, ...] = ()    # empty: every port

    def matching_port(self, port: int, protocol: str, dst: Endpoint | None) -> PortSpec | None | bool:
        """False if no port entry matches; True if the rule has no ports (all match);
        else the first matching PortSpec."""
        if not self.ports:
            return True
        for ps in self.ports:
            if ps.matches(port, protocol, dst):
                return ps
        return False


@dataclass(frozen=True)
class CompiledPolicy:
    """A NetworkPolicy read once into selectors and rules, to evaluate many connections."""

    namespace: str
    name: str
    pod_selector: Selector
    types: tuple[str, ...]
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: str) -> tuple[Rule, ...]:
        return self.ingress if direction == INGRESS else self.egress


def _compile_port(i: int, p: Mapping[str, Any]) -> PortSpec:
    protocol = str(p.get("protocol") or "TCP").upper()
    port = p.get("port")
    if isinstance(port, str) and port.isdigit():
        port = int(port)                 # tolerate "80"; the API server's schema would coerce
    end = p.get("endPort")
    return PortSpec(i, protocol, port, int(end) if end is not None and isinstance(port, int) else None)


def _compile_peer(i: int, p: Mapping[str, Any]) -> Peer:
    block = p.get("ipBlock")
    if block:
        return Peer(i, ip_block=IPBlock(str(block["cidr"]), tuple(str(e) for e in block.get("except") or ())))
    return Peer(i, compile_selector(p.get("podSelector")), compile_selector(p.get("namespaceSelector")))


def _compile_rules(direction: str, rules: Iterable[Mapping[str, Any]] | None) -> tuple[Rule, ...]:
    key = "from" if direction == INGRESS else "to"
    out = []
    for i, r in enumerate(rules or []):
        r = r or {}
        out.append(Rule(direction, i,
                        tuple(_compile_peer(j, p or {}) for j, p in enumerate(r.get(key) or [])),
                        tuple(_compile_port(j, p or {}) for j, p in enumerate(r.get("ports") or []))))
    return tuple(out)


def compile_policy(obj: Mapping[str, Any]) -> CompiledPolicy:
    """A NetworkPolicy dict (metadata.namespace filled) in the form the engine evaluates."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    selector = compile_selector(spec.get("podSelector") or {})
    assert selector is not None
    return CompiledPolicy(
        namespace=str(meta.get("namespace") or "default"), name=str(meta.get("name") or ""),
        pod_selector=selector, types=effective_policy_types(spec),
        ingress=_compile_rules(INGRESS, spec.get("ingress")),
        egress=_compile_rules(EGRESS, spec.get("egress")),
    )


# ---------------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class RuleMatch:
    """The first rule (in policy-name, rule, peer, port order) that allowed a direction."""

    policy: str                  # "ns/name"
    direction: str               # INGRESS or EGRESS
    rule: int
    peer: int | None             # None: the rule has no from/to (every peer)
    port: int | None             # index into the rule's ports; None: the rule has no ports
    text: str                    # "policy ns/p, ingress rule 0, peer 1 (...), port 80/TCP"


@dataclass(frozen=True)
class DirectionVerdict:
    """One direction of a connection for an isolated pod."""

    direction: str               # INGRESS or EGRESS
    allowed: bool
    isolated_by: tuple[str, ...]  # "ns/name" of every policy isolating the pod this way
    match: RuleMatch | None      # what allowed it (None when denied, or allowed as node traffic)
    explanation: str


@dataclass(frozen=True)
class Verdict:
    """Whether a connection is allowed, why in one sentence, and the verdict of each isolated
    direction."""

    allowed: bool
    explanation: str
    egress: DirectionVerdict | None   # None = source not egress-isolated (or not a pod, or self)
    ingress: DirectionVerdict | None  # None = destination not ingress-isolated (or not a pod, or self)


def _name(ep: Endpoint) -> str:
    if isinstance(ep, Pod):
        return ep.key
    if ep.ip == NODE_IP:
        return f"node {ep.ip}"
    return ep.ip


class PolicyEngine:
    """Evaluates NetworkPolicies for single connections. Policies are compiled once;
    evaluation order is by policy namespace/name so explanations are deterministic."""

    def __init__(
        self, namespaces: Mapping[str, NamespaceInfo], policies: Sequence[Mapping[str, Any]]
    ) -> None:
        self.namespaces: dict[str, NamespaceInfo] = dict(namespaces)
        self.policies: list[CompiledPolicy] = sorted(
            (compile_policy(p) for p in policies), key=lambda p: (p.namespace, p.name))
        self.by_namespace: dict[str, list[CompiledPolicy]] = defaultdict(list)
        for p in self.policies:
            self.by_namespace[p.namespace].append(p)

    # ------------------------------------------------------------------ look-ups
    def namespace_labels(self, ns: str) -> Mapping[str, str]:
        info = self.namespaces.get(ns)
        if info is None:
            return namespace_labels(ns)
        if "kubernetes.io/metadata.name" not in info.labels:
            return namespace_labels(ns, info.labels)
        return info.labels

    def selecting(self, pod: Pod) -> list[CompiledPolicy]:
        """Policies of the pod's namespace whose podSelector selects it (any type)."""
        return [p for p in self.by_namespace.get(pod.namespace, ()) if p.pod_selector.matches(pod.labels)]

    def peer_matches(self, peer: Peer, policy_ns: str, ep: Endpoint) -> bool:
        if peer.ip_block is not None:
            return peer.ip_block.contains(ep.ip)
        if not isinstance(ep, Pod):
            return False
        return self.selector_peer_matches(peer, policy_ns, ep.namespace, ep.labels)

    def selector_peer_matches(self, peer: Peer, policy_ns: str, ns: str, labels: Mapping[str, str]) -> bool:
        """The selector part of a peer against a pod's namespace and labels."""
        if peer.pod_selector is None and peer.namespace_selector is None:
            return False                 # an empty peer; the API server refuses it
        if peer.namespace_selector is None:
            if ns != policy_ns:
                return False
        elif not peer.namespace_selector.matches(self.namespace_labels(ns)):
            return False
        return peer.pod_selector is None or peer.pod_selector.matches(labels)

    # ------------------------------------------------------------------ evaluation
    def check(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> Verdict:
        """Is a connection from `src` to `dst` on pod port `port`/`protocol` allowed?"""
        return self.evaluate(src, dst, port, protocol)

    def evaluate(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP", *,
                 src_name: str | None = None, dst_name: str | None = None,
                 loopback: bool = True) -> Verdict:
        """`check`, with the names used in explanations overridable (the matrix renders one
        explanation per group of identical pods) and the loopback rule switchable."""
        protocol = protocol.upper()
        sname = src_name if src_name is not None else _name(src)
        dname = dst_name if dst_name is not None else _name(dst)
        conn = f"{port}/{protocol}"
        if loopback and isinstance(src, Pod) and isinstance(dst, Pod) and src.key == dst.key:
            return Verdict(
                True,
                f"Allowed: traffic from {sname} to itself is never blocked by NetworkPolicy.",
                None,
                None,
            )
        sentences: list[str] = []
        egress = ingress = None
        if isinstance(src, Pod):
            egress = self._direction(EGRESS, src, dst, dst, port, protocol, sname, dname, conn, sentences)
        else:
            sentences.append(f"{sname} is not a pod: NetworkPolicy does not restrict its egress.")
        if isinstance(dst, Pod):
            ingress = self._direction(INGRESS, dst, src, dst, port, protocol, dname, sname, conn, sentences)
        else:
            sentences.append(f"{dname} is not a pod: NetworkPolicy does not restrict ingress to it.")
        allowed = (egress is None or egress.allowed) and (ingress is None or ingress.allowed)
        head = "Allowed" if allowed else "Denied"
        return Verdict(allowed, f"{head}: {sname} -> {dname} on {conn}. " + " ".join(sentences),
                       egress, ingress)

    def _direction(self, direction: str, subject: Pod, peer_ep: Endpoint, dst: Endpoint, port: int,
                   protocol: str, subject_name: str, peer_name: str, conn: str,
                   sentences: list[str]) -> DirectionVerdict | None:
        """Verdict for the isolated side `subject` (source for egress, destination for
        ingress) against `peer_ep`; appends the explanation sentence."""
        word = direction.lower()
        selecting = self.selecting(subject)
        pols = [p for p in selecting if direction in p.types]
        if not pols:
            if selecting:
                others = ", ".join(p.key for p in selecting)
                sentences.append(
                    f"{subject_name} is not isolated for {word}: the NetworkPolicies selecting it "
                    f"({others}) do not have {direction} in policyTypes."
                )
            else:
                sentences.append(f"{subject_name} is not isolated for {word}: no NetworkPolicy in "
                                 f"{subject.namespace} selects {subject_name}.")
            return None
        keys = tuple(p.key for p in pols)
        iso = f"{subject_name} is isolated for {word} by {', '.join(keys)}"
        if direction == INGRESS and isinstance(peer_ep, Address) and peer_ep.ip == NODE_IP:
            text = f"{iso}, but traffic from the node ({NODE_IP}) is always allowed."
            sentences.append(text)
            return DirectionVerdict(direction, True, keys, None, text)
        match = self._first_match(direction, pols, peer_ep, dst, port, protocol)
        prep = "to" if direction == EGRESS else "from"
        if match is None:
            text = f"{iso}, and no rule of {', '.join(keys)} allows {word} {prep} {peer_name} on {conn}"
            near = self._port_misses(direction, pols, peer_ep)
            if near:
                text += (f" ({'; '.join(near)} - NetworkPolicy ports are pod ports, after a Service's "
                         f"port -> targetPort translation)")
            text += "."
            sentences.append(text)
            return DirectionVerdict(direction, False, keys, None, text)
        text = f"{iso}; {word} {prep} {peer_name} on {conn} is allowed by {match.text}."
        sentences.append(text)
        return DirectionVerdict(direction, True, keys, match, text)

    def _port_misses(self, direction: str, pols: Sequence[CompiledPolicy], peer_ep: Endpoint) -> list[str]:
        """Rules that admit the peer but on other ports: the usual mistake (a Service port,
        a named port the destination lacks), worth pointing at in a denial."""
        out = []
        for pol in pols:
            for rule in pol.rules(direction):
                if not rule.ports:
                    continue
                if rule.peers and not any(self.peer_matches(pr, pol.namespace, peer_ep) for pr in rule.peers):
                    continue
                ports = ", ".join(ps.describe() for ps in rule.ports)
                out.append(f"{pol.key} {direction.lower()} rule {rule.index} admits that peer "
                           f"only on {ports}")
        return out[:3]

    def _first_match(self, direction: str, pols: Sequence[CompiledPolicy], peer_ep: Endpoint,
                     dst: Endpoint, port: int, protocol: str) -> RuleMatch | None:
        word = direction.lower()
        for pol in pols:
            rules = pol.rules(direction)
            for rule in rules:
                ps = rule.matching_port(port, protocol, dst)
                if ps is False:
                    continue
                if rule.peers:
                    peer = next(
                        (pr for pr in rule.peers if self.peer_matches(pr, pol.namespace, peer_ep)), None
                    )
                    if peer is None:
                        continue
                    peer_text = f"peer {peer.index} ({peer.describe(pol.namespace)})"
                else:
                    peer = None
                    peer_text = "every source" if direction == INGRESS else "every destination"
                port_text = "any port" if ps is True else f"port {ps.describe()}"  # type: ignore[union-attr]
                return RuleMatch(
                    pol.key, direction, rule.index, None if peer is None else peer.index,
                    None if ps is True else ps.index,  # type: ignore[union-attr]
                    f"policy {pol.key}, {word} rule {rule.index}, {peer_text}, {port_text}")
        return None
