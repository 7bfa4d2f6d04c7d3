"""Every reachability case of the upstream NetworkPolicy e2e suite, replayed on the engine.

Source: kubernetes/kubernetes test/e2e/network/netpol/network_policy.go (the "Netpol"
suite: the TCP context, the UDP context and the SCTP context), with its helpers
reachability.go (Peer matching, ExpectPeer / ExpectAllIngress / ExpectAllEgress / Expect),
model.go (namespace label {"ns": <name>}, pod label {"pod": <name>}, one container per
port x protocol whose port is named serve-<port>-<protocol>) and the SetSpecIngressRules /
SetSpecEgressRules helpers (each adds its policy type to spec.policyTypes, so an egress-only
policy there is `policyTypes: [Egress]`).

Two generations of that file are replayed:

- "subset": the current file, where each test names the pods it creates (x/a, x/b, y/a ...)
  and declares only the ports and protocols it probes;
- "full": the earlier 3x3 model (every test: x, y, z each with a, b, c) used from the
  suite's introduction until the per-test topologies. Where the two generations wrote
  different expectation calls for the same policy (the full model has more pods, e.g.
  x/c in "ingress traffic for a target"), the calls of both are applied; they never
  disagree on a pod both contain.

Namespaces carry only the labels the suite sets ({"ns": <name>}); the immutable
kubernetes.io/metadata.name label is the API server's to add (and the engine's, offline).
Pod IPs are fixed per pod so ipBlock cases can be written against them.

Loopback (a pod to itself) is excluded from the comparison exactly as upstream does
(ignoreLoopback = true); the engine's own rule (self traffic is allowed) is asserted
separately. Each table is checked twice: through the grouped matrix (compute_matrix) and
pair by pair through PolicyEngine.check, so both evaluation paths answer like upstream.

The manifests and tables are written here from the upstream tests' meaning; no upstream
text is copied.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, Iterable

import pytest

from grader.model.matrix import compute_matrix
from grader.model.netpol import PolicyEngine
from grader.model.objects import Address, ContainerPort, NamespaceInfo, Pod

NSS = ("x", "y", "z")
NAMES = ("a", "b", "c")
ALL_PODS = tuple(f"{n}/{p}" for n in NSS for p in NAMES)
TCP, UDP, SCTP = "TCP", "UDP", "SCTP"
META = "kubernetes.io/metadata.name"


def pod_ip(key: str) -> str:
    """Fixed per pod: x/a=10.244.1.10, x/b=10.244.1.11, ..., z/c=10.244.3.12."""
    ns, name = key.split("/")
    return f"10.244.{NSS.index(ns) + 1}.{10 + NAMES.index(name)}"


# ---------------------------------------------------------------------------- cluster model
@dataclass
class Cluster:
    pods: list[Pod]
    namespaces: dict[str, NamespaceInfo]

    def pod(self, key: str) -> Pod:
        return next(p for p in self.pods if p.key == key)


def build(pod_keys: Iterable[str], ports: Iterable[int], protocols: Iterable[str],
          pod_labels: dict[str, dict[str, str]] | None = None,
          ns_labels: dict[str, dict[str, str]] | None = None) -> Cluster:
    decl = tuple(ContainerPort(port, proto, f"serve-{port}-{proto.lower()}")
                 for port in ports for proto in protocols)
    listening = frozenset((c.port, c.protocol) for c in decl)
    pods = []
    for key in pod_keys:
        ns, name = key.split("/")
        labels = {"pod": name, **(pod_labels or {}).get(key, {})}
        pods.append(Pod(ns, name, pod_ip(key), labels, decl, listening))
    nss = {n: NamespaceInfo(n, {"ns": n, **(ns_labels or {}).get(n, {})}) for n in NSS}
    return Cluster(pods, nss)


# ---------------------------------------------------------------------------- expectations
@dataclass(frozen=True)
class Peer:
    """reachability.go Peer: an empty field matches everything."""

    ns: str = ""
    pod: str = ""

    def matches(self, key: str) -> bool:
        ns, name = key.split("/")
        return (not self.ns or self.ns == ns) and (not self.pod or self.pod == name)


class Reach:
    """The expected truth table, starting from "everything allowed", as NewReachability."""

    def __init__(self, keys: Iterable[str]):
        self.keys = list(keys)
        self.table = {(f, t): True for f in self.keys for t in self.keys}

    def peer(self, frm: Peer, to: Peer, ok: bool) -> "Reach":
        for f in self.keys:
            if frm.matches(f):
                for t in self.keys:
                    if to.matches(t):
                        self.table[(f, t)] = ok
        return self

    def ingress(self, key: str, ok: bool) -> "Reach":
        if key in self.keys:
            for f in self.keys:
                self.table[(f, key)] = ok
        return self

    def egress(self, key: str, ok: bool) -> "Reach":
        if key in self.keys:
            for t in self.keys:
                self.table[(key, t)] = ok
        return self

    def pair(self, frm: str, to: str, ok: bool) -> "Reach":
        if frm in self.keys and to in self.keys:
            self.table[(frm, to)] = ok
        return self


Expect = Callable[[Reach], Reach]


def allow_all(r: Reach) -> Reach:
    return r


@dataclass
class Step:
    """One state of the cluster (policies, label changes) and the probes made in it."""

    policies: list[dict]
    probes: list[tuple[int, str, Expect]]
    pod_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    ns_labels: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Case:
    name: str                       # the upstream It(...) title
    pods: tuple[str, ...]           # the current file's per-test topology
    ports: tuple[int, ...]
    protocols: tuple[str, ...]
    steps: Callable[[Cluster], list[Step]]   # built against the cluster (ipBlock cases need IPs)


# ---------------------------------------------------------------------------- manifests
def netpol(name: str, ns: str = "x", select: dict | None = None, *, ingress: list | None = None,
           egress: list | None = None, types: list[str] | None = None) -> dict:
    """A NetworkPolicy as the suite's helpers build it: `ingress`/`egress` given (even
    empty) add that type to policyTypes, unless `types` is spelled out."""
    spec: dict = {"podSelector": select if select is not None else {}}
    if types is None:
        types = ([] if ingress is None else ["Ingress"]) + ([] if egress is None else ["Egress"])
    spec["policyTypes"] = types
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def labels(**kv: str) -> dict:
    return {"matchLabels": dict(kv)}


def pod_is(name: str) -> dict:
    return {"matchLabels": {"pod": name}}


def ns_is(name: str) -> dict:
    return {"matchLabels": {META: name}}


def expr(key: str, op: str, *values: str) -> dict:
    e: dict = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return {"matchExpressions": [e]}


def port(p: int | str | None = None, protocol: str | None = None) -> dict:
    out: dict = {}
    if p is not None:
        out["port"] = p
    if protocol is not None:
        out["protocol"] = protocol
    return out


def large_cidr(ip: str) -> str:
    """makeLargeCIDRForIP: the /4 containing the IP."""
    return str(ipaddress.ip_network(f"{ip}/4", strict=False))


# ---------------------------------------------------------------------------- the cases
X_A, X_B, X_C, Y_A, Y_B, Z_A = "x/a", "x/b", "x/c", "y/a", "y/b", "z/a"


def _steps(*steps: Step) -> Callable[[Cluster], list[Step]]:
    return lambda _c: list(steps)


def one(policies: list[dict], port_: int, proto: str, expect: Expect) -> Callable[[Cluster], list[Step]]:
    return _steps(Step(policies, [(port_, proto, expect)]))


DENY_INGRESS_X = [netpol("deny-ingress", ingress=[])]
NS_NOT_X = expr(META, "NotIn", "x")
def BOTH_X_Y_ONLY_FROM_Y_TO_XA(r: Reach) -> Reach:  # an Expect, named like the constants beside it
    return r.peer(Peer("x"), Peer("x", "a"), False).peer(Peer("z"), Peer("x", "a"), False)


def _stacked(_c: Cluster) -> list[Step]:
    p81 = netpol("allow-client-a-via-ns-selector", select=pod_is("a"),
                 ingress=[{"from": [{"namespaceSelector": ns_is("y")}], "ports": [port(81, TCP)]}])
    p80 = netpol("allow-client-a-via-ns-selector-80", select=pod_is("a"),
                 ingress=[{"from": [{"namespaceSelector": ns_is("y")}], "ports": [port(80, TCP)]}])
    def allow(r: Reach) -> Reach:
        return r.peer(Peer("x"), Peer("x", "a"), False).peer(
            Peer("y"), Peer("x", "a"), True).peer(Peer("z"), Peer("x", "a"), False)
    return [Step([p81], [(81, TCP, allow), (80, TCP, lambda r: r.ingress(X_A, False))]),
            Step([p81, p80], [(80, TCP, allow)])]


def _egress_cidr(c: Cluster) -> list[Step]:
    p = netpol("allow-client-a-via-cidr-egress-rule", select=pod_is("a"),
               egress=[{"to": [{"ipBlock": {"cidr": f"{pod_ip(Y_B)}/32"}}]}])
    return [Step([p], [(80, TCP, lambda r: r.egress(X_A, False).pair(X_A, Y_B, True))])]


def _except(cidr_of: Callable[[], str]) -> Callable[[Cluster], list[Step]]:
    def steps(_c: Cluster) -> list[Step]:
        p = netpol("allow-client-a-via-cidr-egress-rule", select=pod_is("a"),
                   egress=[{"to": [{"ipBlock": {"cidr": cidr_of(), "except": [f"{pod_ip(X_B)}/32"]}}]}])
        return [Step([p], [(80, TCP, lambda r: r.pair(X_A, X_B, False))])]
    return steps


def _overlap(cidr_of: Callable[[], str]) -> Callable[[Cluster], list[Step]]:
    def steps(c: Cluster) -> list[Step]:
        first = _except(cidr_of)(c)[0]
        # same name: UpdatePolicy replaces the first policy
        replaced = netpol("allow-client-a-via-cidr-egress-rule", select=pod_is("a"),
                          egress=[{"to": [{"ipBlock": {"cidr": f"{pod_ip(X_B)}/32"}}]}])
        return [first, Step([replaced], [(80, TCP, lambda r: r.egress(X_A, False).pair(X_A, X_B, True))])]
    return steps


def _client_side_egress_deny(_c: Cluster) -> list[Step]:
    from_xa = [{"from": [{"namespaceSelector": ns_is("x"), "podSelector": pod_is("a")}]}]
    pols = [netpol("allow-to-ns-y-pod-a", select=pod_is("a"),
                   egress=[{"to": [{"namespaceSelector": ns_is("y"), "podSelector": pod_is("a")}]}]),
            netpol("allow-from-xa-on-ya-match-selector", "y", pod_is("a"), ingress=from_xa),
            netpol("allow-from-xa-on-yb-match-selector", "y", pod_is("b"), ingress=from_xa)]
    def expect(r: Reach) -> Reach:
        return r.peer(Peer("x", "a"), Peer(), False).peer(Peer(), Peer("y", "a"), False).peer(
            Peer("x", "a"), Peer("y", "a"), True).peer(Peer(), Peer("y", "b"), False)
    return [Step(pols, [(80, TCP, expect)])]


def _ns_selector_and_pod(proto: str) -> Callable[[Cluster], list[Step]]:
    return one([netpol("allow-ns-y-pod-a-via-namespace-pod-selector", select=pod_is("a"),
                       ingress=[{"from": [{"namespaceSelector": ns_is("y"), "podSelector": pod_is("a")}]}])],
               80, proto, lambda r: r.ingress(X_A, False).pair(Y_A, X_A, True))


def _ports_81(proto: str, name: str) -> Callable[[Cluster], list[Step]]:
    return one([netpol(name, select=pod_is("a"),
                       ingress=[{"from": [{"namespaceSelector": ns_is("y")}], "ports": [port(81, proto)]}])],
               81, proto, lambda r: r.peer(Peer("x"), Peer("x", "a"), False).peer(
                   Peer("y"), Peer("x", "a"), True).peer(Peer("z"), Peer("x", "a"), False))


CASES: list[Case] = [
    # ---------------------------------------------------------------- TCP context
    Case("should support a 'default-deny-ingress' policy", (X_A, X_B, Y_A, Y_B), (80,), (TCP,),
         one(DENY_INGRESS_X, 80, TCP, lambda r: r.peer(Peer(), Peer("x"), False))),
    Case("should support a 'default-deny-all' policy", (X_A, X_B, Y_A), (80,), (TCP,),
         _steps(Step([netpol("deny-all", ingress=[], egress=[])],
                     [(80, TCP, lambda r: r.peer(Peer(), Peer("x"), False).peer(Peer("x"), Peer(), False))]),
                # the suite's first generation: deny all, but allow egress UDP 53 (DNS)
                Step([netpol("deny-all-tcp-allow-dns", ingress=[], egress=[{"ports": [port(53, UDP)]}])],
                     [(80, TCP, lambda r: r.peer(Peer(), Peer("x"), False).peer(Peer("x"), Peer(), False))]))),
    Case("should enforce policy to allow traffic from pods within server namespace based on PodSelector",
         (X_A, X_B, X_C, Y_A), (80,), (TCP,),
         one([netpol("x-a-allows-x-b", select=pod_is("a"), ingress=[{"from": [{"podSelector": pod_is("b")}]}])],
             80, TCP, lambda r: r.ingress(X_A, False).pair(X_B, X_A, True))),
    Case("should enforce policy to allow ingress traffic for a target", (X_A, X_B, Y_A), (80,), (TCP,),
         one([netpol("deny-all", ingress=[]),
              netpol("allow-all-to-a", select=pod_is("a"),
                     ingress=[{"from": [{"podSelector": {}, "namespaceSelector": {}}]}])],
             80, TCP, lambda r: r.ingress(X_A, True).ingress(X_B, False).ingress(X_C, False))),
    Case("should enforce policy to allow ingress traffic from pods in all namespaces", (X_A, X_B, Y_A, Z_A),
         (80,), (TCP,),
         one([netpol("allow-from-another-ns", select=pod_is("a"),
                     ingress=[{"from": [{"namespaceSelector": {"matchLabels": {}}}]}])], 80, TCP, allow_all)),
    Case("should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector",
         (X_A, X_B, Y_A, Z_A), (80,), (TCP,),
         one([netpol("allow-client-a-via-ns-selector", select=pod_is("a"),
                     ingress=[{"from": [{"namespaceSelector": ns_is("y")}]}])], 80, TCP, BOTH_X_Y_ONLY_FROM_Y_TO_XA)),
    Case("should enforce policy based on PodSelector with MatchExpressions", (X_A, X_B, Y_A), (80,), (TCP,),
         one([netpol("x-a-allows-x-b", select=pod_is("a"),
                     ingress=[{"from": [{"podSelector": expr("pod", "In", "b")}]}])],
             80, TCP, lambda r: r.ingress(X_A, False).pair(X_B, X_A, True))),
    Case("should enforce policy based on NamespaceSelector with MatchExpressions", (X_A, X_B, Y_A, Z_A),
         (80,), (TCP,),
         one([netpol("allow-ns-y-match-selector", select=pod_is("a"),
                     ingress=[{"from": [{"namespaceSelector": expr(META, "In", "y")}]}])],
             80, TCP, BOTH_X_Y_ONLY_FROM_Y_TO_XA)),
    Case("should enforce policy based on PodSelector or NamespaceSelector", (X_A, X_B, X_C, Y_A), (80,), (TCP,),
         one([netpol("allow-ns-y-match-selector", select=pod_is("a"),
                     ingress=[{"from": [{"namespaceSelector": NS_NOT_X}, {"podSelector": pod_is("b")}]}])],
             80, TCP, lambda r: r.pair(X_A, X_A, False).pair(X_C, X_A, False))),
    Case("should enforce policy based on PodSelector and NamespaceSelector", (X_A, X_B, Y_A, Y_B, "z/b"),
         (80,), (TCP,),
         one([netpol("allow-ns-y-podselector-and-nsselector", select=pod_is("a"),
                     ingress=[{"from": [{"namespaceSelector": NS_NOT_X, "podSelector": pod_is("b")}]}])],
             80, TCP, lambda r: r.ingress(X_A, False).pair(Y_B, X_A, True).pair("z/b", X_A, True))),
    Case("should enforce policy based on Multiple PodSelectors and NamespaceSelectors",
         (X_A, X_B, Y_A, Y_B, "y/c"), (80,), (TCP,),
         one([netpol("allow-ns-y-z-pod-b-c", select=pod_is("a"),
                     ingress=[{"from": [{"namespaceSelector": NS_NOT_X,
                                         "podSelector": expr("pod", "In", "b", "c")}]}])],
             80, TCP, lambda r: r.peer(Peer("x"), Peer("x", "a"), False).pair(Y_A, X_A, False).pair(Z_A, X_A, False))),
    Case("should enforce policy based on any PodSelectors", (X_A, X_B, X_C), (80,), (TCP,),
         one([netpol("allow-ns-x-pod-b-c", select=pod_is("a"),
                     ingress=[{"from": [{"podSelector": pod_is("b")}, {"podSelector": pod_is("c")}]}])],
             80, TCP, lambda r: r.ingress(X_A, False).pair(X_B, X_A, True).pair(X_C, X_A, True))),
    Case("should enforce policy to allow traffic only from a pod in a different namespace based on "
         "PodSelector and NamespaceSelector", (X_A, X_B, Y_A, Y_B, Z_A), (80,), (TCP,),
         _ns_selector_and_pod(TCP)),
    Case("should enforce policy based on Ports", (X_A, X_B, Y_A, Y_B, Z_A), (81,), (TCP,),
         _ports_81(TCP, "allow-client-a-via-ns-selector")),
    Case("should enforce multiple, stacked policies with overlapping podSelectors", (X_A, X_B, Y_A, Y_B, Z_A),
         (80, 81), (TCP,), _stacked),
    Case("should support allow-all policy", (X_A, X_B, Y_A), (80, 81), (TCP,),
         _steps(Step([netpol("allow-all", ingress=[{}])], [(80, TCP, allow_all), (81, TCP, allow_all)]))),
    Case("should allow ingress access on one named port", (X_A, X_B, Y_A), (80, 81), (TCP,),
         _steps(Step([netpol("allow-all", ingress=[{"ports": [port("serve-81-tcp")]}])],
                     [(81, TCP, allow_all), (80, TCP, lambda r: r.peer(Peer(), Peer("x"), False))]))),
    Case("should allow ingress access from namespace on one named port", (X_A, X_B, Y_A, Z_A), (80, 81), (TCP,),
         _steps(Step([netpol("allow-client-a-via-ns-selector-80", select=pod_is("a"),
                             ingress=[{"from": [{"namespaceSelector": ns_is("y")}],
                                       "ports": [port("serve-80-tcp", TCP)]}])],
                     [(80, TCP, BOTH_X_Y_ONLY_FROM_Y_TO_XA), (81, TCP, lambda r: r.ingress(X_A, False))]))),
    Case("should allow egress access on one named port", (X_A, Y_A), (80, 81), (TCP,),
         _steps(Step([netpol("allow-egress", egress=[{"ports": [port("serve-80-tcp")]}])],
                     [(80, TCP, allow_all), (81, TCP, lambda r: r.peer(Peer("x"), Peer(), False))]),
                # the first generation's GetAllowEgressByPort also allowed UDP 53
                Step([netpol("allow-egress", egress=[{"ports": [port("serve-80-tcp"), port(53, UDP)]}])],
                     [(80, TCP, allow_all), (81, TCP, lambda r: r.peer(Peer("x"), Peer(), False))]))),
    Case("should enforce updated policy", (X_A, Y_A), (81,), (TCP,),
         _steps(Step([netpol("allow-all-mutate-to-deny-all", ingress=[{}])], [(81, TCP, allow_all)]),
                Step([netpol("allow-all-mutate-to-deny-all", ingress=[])],
                     [(81, TCP, lambda r: r.peer(Peer(), Peer("x"), False))]))),
    Case("should allow ingress access from updated namespace", (X_A, Y_A), (80,), (TCP,),
         _steps(Step([netpol("allow-client-a-via-ns-selector", select=pod_is("a"),
                             ingress=[{"from": [{"namespaceSelector": labels(ns2="updated")}]}])],
                     [(80, TCP, lambda r: r.ingress(X_A, False))]),
                Step([netpol("allow-client-a-via-ns-selector", select=pod_is("a"),
                             ingress=[{"from": [{"namespaceSelector": labels(ns2="updated")}]}])],
                     [(80, TCP, lambda r: r.ingress(X_A, False).peer(Peer("y"), Peer(), True))],
                     ns_labels={"y": {"ns2": "updated"}}))),
    Case("should allow ingress access from updated pod", (X_A, X_B), (80,), (TCP,),
         _steps(Step([netpol("allow-client-a-via-pod-selector", select=pod_is("a"),
                             ingress=[{"from": [{"podSelector": labels(pod="b", pod2="updated")}]}])],
                     [(80, TCP, lambda r: r.ingress(X_A, False))]),
                Step([netpol("allow-client-a-via-pod-selector", select=pod_is("a"),
                             ingress=[{"from": [{"podSelector": labels(pod="b", pod2="updated")}]}])],
                     [(80, TCP, lambda r: r.ingress(X_A, False).pair(X_B, X_A, True))],
                     pod_labels={X_B: {"pod2": "updated"}}))),
    Case("should deny ingress from pods on other namespaces", (X_A, X_B, Y_A, Z_A), (80,), (TCP,),
         one([netpol("deny-empty-policy", ingress=[{"from": [{"podSelector": {"matchLabels": {}}}]}])],
             80, TCP, lambda r: r.peer(Peer("y"), Peer("x"), False).peer(Peer("z"), Peer("x"), False))),
    Case("should deny ingress access to updated pod", (X_A, Y_A), (80,), (TCP,),
         _steps(Step([netpol("deny-ingress-via-label-selector", select=labels(target="isolated"), ingress=[])],
                     [(80, TCP, allow_all)]),
                Step([netpol("deny-ingress-via-label-selector", select=labels(target="isolated"), ingress=[])],
                     [(80, TCP, lambda r: r.ingress(X_A, False))], pod_labels={X_A: {"target": "isolated"}}))),
    Case("should deny egress from pods based on PodSelector", (X_A, X_B, Y_A), (80,), (TCP,),
         one([netpol("deny-egress-pod-a", select=pod_is("a"), egress=[])], 80, TCP,
             lambda r: r.egress(X_A, False))),
    Case("should deny egress from all pods in a namespace", (X_A, X_B, Y_A), (80,), (TCP,),
         one([netpol("deny-egress-ns-x", egress=[])], 80, TCP, lambda r: r.peer(Peer("x"), Peer(), False))),
    Case("should work with Ingress, Egress specified together", (X_A, X_B, X_C, Y_A), (80, 81), (TCP,),
         _steps(*[Step([netpol("allow-client-a-via-pod-selector", select=pod_is("a"),
                               ingress=[{"from": [{"podSelector": pod_is("b")}]}],
                               egress=[{"ports": ports}], types=["Egress", "Ingress"])],
                       [(80, TCP, lambda r: r.ingress(X_A, False).pair(X_B, X_A, True)),
                        (81, TCP, lambda r: r.ingress(X_A, False).egress(X_A, False).pair(X_B, X_A, True))])
                  # current generation: egress on 80; the first one also allowed UDP 53
                  for ports in ([port(80)], [port(80), port(53, UDP)])])),
    Case("should support denying of egress traffic on the client side (even if the server explicitly "
         "allows this traffic)", (X_A, Y_A, Y_B), (80,), (TCP,), _client_side_egress_deny),
    Case("should enforce egress policy allowing traffic to a server in a different namespace based on "
         "PodSelector and NamespaceSelector", (X_A, Y_A, Y_B), (80,), (TCP,),
         one([netpol("allow-to-ns-y-pod-a", select=pod_is("a"),
                     egress=[{"to": [{"namespaceSelector": ns_is("y"), "podSelector": pod_is("a")}]}])],
             80, TCP, lambda r: r.egress(X_A, False).pair(X_A, Y_A, True))),
    Case("should enforce ingress policy allowing any port traffic to a server on a specific protocol",
         (X_A, Y_A), (80,), (TCP, UDP),
         _steps(Step([netpol("allow-ingress-by-proto", select=pod_is("a"), ingress=[{"ports": [port(None, TCP)]}])],
                     [(80, TCP, allow_all), (80, UDP, lambda r: r.peer(Peer(), Peer("x", "a"), False))]))),
    Case("should enforce multiple ingress policies with ingress allow-all policy taking precedence",
         (X_A, Y_A), (81,), (TCP,),
         _steps(Step([netpol("allow-ingress-port-80", ingress=[{"ports": [port(80)]}])],
                     [(81, TCP, lambda r: r.peer(Peer(), Peer("x"), False))]),
                Step([netpol("allow-ingress-port-80", ingress=[{"ports": [port(80)]}]),
                      netpol("allow-ingress", ingress=[{}])], [(81, TCP, allow_all)]))),
    Case("should enforce multiple egress policies with egress allow-all policy taking precedence",
         (X_A, Y_A), (81,), (TCP,),
         _steps(Step([netpol("allow-egress-port-80", egress=[{"ports": [port(80)]}])],
                     [(81, TCP, lambda r: r.peer(Peer("x"), Peer(), False))]),
                Step([netpol("allow-egress-port-80", egress=[{"ports": [port(80)]}]),
                      netpol("allow-egress", egress=[{}])], [(81, TCP, allow_all)]))),
    Case("should stop enforcing policies after they are deleted", (X_A, Y_A), (80,), (TCP,),
         _steps(Step([netpol("deny-all", ingress=[], egress=[])],
                     [(80, TCP, lambda r: r.peer(Peer("x"), Peer(), False).peer(Peer(), Peer("x"), False))]),
                Step([], [(80, TCP, allow_all)]))),
    Case("should allow egress access to server in CIDR block", (X_A, Y_A, Y_B), (80,), (TCP,), _egress_cidr),
    Case("should enforce except clause while egress access to server in CIDR block", (X_A, X_B, X_C),
         (80,), (TCP,), _except(lambda: large_cidr(pod_ip(X_B)))),
    Case("should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed", (X_A, X_B, X_C),
         (80,), (TCP,), _overlap(lambda: large_cidr(pod_ip(X_B)))),
    Case("should enforce policies to check ingress and egress policies can be controlled independently "
         "based on PodSelector", (X_A, X_B, Y_A), (80,), (TCP,),
         _steps(Step([netpol("allow-egress-for-target", select=pod_is("a"), egress=[{}])], [(80, TCP, allow_all)]),
                Step([netpol("allow-egress-for-target", select=pod_is("a"), egress=[{}]),
                      netpol("deny-ingress-via-label-selector", select=pod_is("a"), ingress=[])],
                     [(80, TCP, lambda r: r.ingress(X_A, False))]))),
    Case("should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't "
         "support SCTP", (X_A, Y_A), (81,), (TCP,),
         one(DENY_INGRESS_X + [netpol("allow-only-sctp-ingress-on-port-81", select=pod_is("a"),
                                      ingress=[{"ports": [port(81, SCTP)]}])],
             81, TCP, lambda r: r.peer(Peer(), Peer("x"), False))),
    Case("should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin "
         "doesn't support SCTP", (X_A, Y_A), (81,), (TCP,),
         one([netpol("allow-only-sctp-ingress-on-port-80", select=pod_is("a"), ingress=[{"ports": [port(80, SCTP)]}])],
             81, TCP, lambda r: r.ingress(X_A, False))),
    Case("should not allow access by TCP when a policy specifies only UDP", (X_A, Y_A), (81,), (TCP,),
         one([netpol("allow-only-udp-ingress-on-port-81", select=pod_is("a"), ingress=[{"ports": [port(81, UDP)]}])],
             81, TCP, lambda r: r.ingress(X_A, False))),
    Case("should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default "
         "ns label", (X_A, X_B, Y_A, Z_A), (80,), (TCP,),
         one([netpol("allow-client-a-via-ns-selector-for-immutable-ns-label", select=pod_is("a"),
                     ingress=[{"from": [{"namespaceSelector": ns_is("y")}]}])], 80, TCP, BOTH_X_Y_ONLY_FROM_Y_TO_XA)),
    Case("should enforce policy based on NamespaceSelector with MatchExpressions using default ns label",
         (X_A, X_B, Y_A, Z_A), (80,), (TCP,),
         one([netpol("allow-ns-y-match-selector-for-immutable-ns-label", select=pod_is("a"),
                     egress=[{"to": [{"namespaceSelector": expr(META, "NotIn", "y")}]}])],
             80, TCP, lambda r: r.peer(Peer("x", "a"), Peer("y"), False))),
    # ---------------------------------------------------------------- UDP context
    Case("UDP: should support a 'default-deny-ingress' policy", (X_A, X_B, Y_A, Y_B), (80,), (UDP,),
         one([netpol("deny-all", ingress=[])], 80, UDP, lambda r: r.peer(Peer(), Peer("x"), False))),
    Case("UDP: should enforce policy based on Ports", (X_A, X_B, Y_A, Z_A), (81,), (UDP,),
         _ports_81(UDP, "allow-ingress-on-port-81-ns-x")),
    Case("UDP: should enforce policy to allow traffic only from a pod in a different namespace based on "
         "PodSelector and NamespaceSelector", (X_A, X_B, Y_A), (80,), (UDP,), _ns_selector_and_pod(UDP)),
    # ---------------------------------------------------------------- SCTP context
    Case("SCTP: should support a 'default-deny-ingress' policy", (X_A, X_B, Y_A, Y_B), (80,), (SCTP,),
         one([netpol("deny-all", ingress=[])], 80, SCTP, lambda r: r.peer(Peer(), Peer("x"), False))),
    Case("SCTP: should enforce policy based on Ports", (X_A, X_B, Y_A, Z_A), (81,), (SCTP,),
         _ports_81(SCTP, "allow-ingress-on-port-81-ns-x")),
    Case("SCTP: should enforce policy to allow traffic only from a pod in a different namespace based on "
         "PodSelector and NamespaceSelector", (X_A, X_B, Y_A), (80,), (SCTP,), _ns_selector_and_pod(SCTP)),
]

# The first generation's ipBlock cases built the large CIDR from x/a's IP with host bits
# set ("<x/a IP>/4"), which the API server (net.ParseCIDR) accepts and masks.
FIRST_GENERATION_EXTRA = [
    Case("should enforce except clause while egress access to server in CIDR block (first generation CIDR)",
         (X_A, X_B, X_C), (80,), (TCP,), _except(lambda: f"{pod_ip(X_A)}/4")),
    Case("should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed (first "
         "generation CIDR)", (X_A, X_B, X_C), (80,), (TCP,), _overlap(lambda: f"{pod_ip(X_A)}/4")),
]


def test_every_upstream_case_is_here():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)) == 48


# ---------------------------------------------------------------------------- the replay
def run_case(case: Case, topology: str) -> None:
    keys = case.pods if topology == "subset" else ALL_PODS
    base = build(keys, case.ports, case.protocols)
    for i, step in enumerate(case.steps(base)):
        cluster = build(keys, case.ports, case.protocols, step.pod_labels, step.ns_labels)
        engine = PolicyEngine(cluster.namespaces, step.policies)
        for port_, proto, expect in step.probes:
            reach = expect(Reach(keys))
            matrix = compute_matrix(cluster.pods, cluster.namespaces, step.policies, ports=[port_], protocols=[proto])
            wrong = []
            for src in cluster.pods:
                for dst in cluster.pods:
                    grouped = matrix.lookup(src.key, dst.key, port_, proto)
                    single = engine.check(src, dst, port_, proto)
                    assert grouped.allowed == single.allowed, grouped.reason
                    if src.key == dst.key:
                        assert single.allowed, single.explanation      # the engine's loopback rule
                        continue                                       # upstream: ignoreLoopback
                    if single.allowed != reach.table[(src.key, dst.key)]:
                        wrong.append(f"  {src.key} -> {dst.key}: engine {single.allowed}, upstream "
                                     f"{reach.table[(src.key, dst.key)]}: {single.explanation}")
            assert not wrong, f"{case.name} [{topology}] step {i} {port_}/{proto}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("topology", ["subset", "full"])
@pytest.mark.parametrize("case", CASES + FIRST_GENERATION_EXTRA, ids=lambda c: c.name)
def test_upstream_e2e_case(case: Case, topology: str) -> None:
    run_case(case, topology)


def test_namespace_name_label_is_added_like_the_api_server():
    # The suite's namespaces carry only {"ns": name}; selecting by kubernetes.io/metadata.name
    # must still work (the API server sets it on every namespace).
    c = build(ALL_PODS, (80,), (TCP,))
    assert all(META not in info.labels for info in c.namespaces.values())
    e = PolicyEngine(c.namespaces, [netpol("p", select=pod_is("a"),
                                           ingress=[{"from": [{"namespaceSelector": ns_is("y")}]}])])
    assert e.check(c.pod(Y_A), c.pod(X_A), 80).allowed
    assert not e.check(c.pod(Z_A), c.pod(X_A), 80).allowed


def test_upstream_reachability_helpers_mean_what_upstream_means():
    r = Reach(["x/a", "x/b", "y/a"]).peer(Peer(), Peer("x", "a"), False).pair("x/b", "x/a", True)
    assert r.table[("y/a", "x/a")] is False and r.table[("x/b", "x/a")] is True
    assert r.table[("x/a", "y/a")] is True
    r = Reach(["x/a", "y/a"]).egress("x/a", False).ingress("z/c", False)   # absent pods are ignored
    assert r.table == {("x/a", "x/a"): False, ("x/a", "y/a"): False, ("y/a", "x/a"): True, ("y/a", "y/a"): True}


# ---------------------------------------------------------------------------- edge semantics
# Each decided by upstream code, cited: SetDefaults_NetworkPolicy / SetDefaults_NetworkPolicyPort
# (pkg/apis/networking/v1/defaults.go), labels.Selector (k8s.io/apimachinery), the reference
# evaluators kube-network-policies (pkg/networkpolicy/networkpolicy.go: evaluatePorts,
# evaluateIPBlocks, evaluateSelectors) and policy-assistant's matcher
# (kubernetes-sigs/network-policy-api cmd/policy-assistant/pkg/matcher/builder.go).
EDGE = build(ALL_PODS, (80, 81), (TCP, UDP))


class Edge:
    """The engine and the grouped matrix over EDGE for some policies; `ok` asks both."""

    def __init__(self, *policies: dict) -> None:
        self.policies = list(policies)
        self.engine = PolicyEngine(EDGE.namespaces, self.policies)

    def check(self, src, dst, port_: int = 80, proto: str = TCP):
        return self.engine.check(src, dst, port_, proto)


def raw(name: str, spec: dict, ns: str = "x") -> dict:
    """A NetworkPolicy exactly as written (no policyTypes added)."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def ok(e: Edge, src: str, dst: str, port_: int = 80, proto: str = TCP) -> bool:
    v = e.engine.check(EDGE.pod(src), EDGE.pod(dst), port_, proto)
    m = compute_matrix(EDGE.pods, EDGE.namespaces, e.policies, ports=[port_], protocols=[proto])
    assert m.lookup(src, dst, port_, proto).allowed == v.allowed
    return v.allowed


def test_egress_empty_list_without_policy_types_is_an_ingress_policy():
    # len(egress) == 0 -> policyTypes [Ingress]: ingress isolated (no ingress rules: deny),
    # egress untouched.
    e = Edge(raw("p", {"podSelector": pod_is("a"), "egress": []}))
    assert not ok(e, Y_A, X_A)
    assert ok(e, X_A, Y_A)


def test_egress_one_empty_rule_without_policy_types_isolates_both_and_allows_all_egress():
    e = Edge(raw("p", {"podSelector": pod_is("a"), "egress": [{}]}))
    assert ok(e, X_A, Y_A) and ok(e, X_A, Y_A, 81, UDP)      # egress: one rule, no to/ports = all
    assert not ok(e, Y_A, X_A)                               # Ingress defaulted in, no rules


def test_policy_types_egress_only_ignores_ingress_rules():
    e = Edge(raw("p", {"podSelector": pod_is("a"), "policyTypes": ["Egress"],
                            "ingress": [{"from": [{"podSelector": pod_is("b")}]}], "egress": []}))
    assert ok(e, Y_A, X_A)                                   # not ingress-isolated
    assert not ok(e, X_A, Y_A)


@pytest.mark.parametrize("rule", [{"from": [], "ports": [port(80)]}, {"ports": [port(80)]}])
def test_from_empty_list_and_from_absent_both_mean_every_source(rule):
    e = Edge(raw("p", {"podSelector": pod_is("a"), "ingress": [rule]}))
    assert ok(e, Y_B, X_A, 80) and ok(e, "z/c", X_A, 80)
    assert not ok(e, Y_B, X_A, 81)
    assert e.check(Address("203.0.113.9"), EDGE.pod(X_A)).allowed   # outside the cluster too


@pytest.mark.parametrize("entry,tcp80,tcp81,udp80", [
    ({"protocol": "UDP"}, False, False, True),               # protocol only: every UDP port
    ({}, True, True, False),                                  # protocol defaults to TCP, every port
    ({"port": 80}, True, False, False),
    ({"port": "serve-81-udp"}, False, False, False),          # name is UDP, protocol defaults TCP
    ({"port": "serve-81-udp", "protocol": "UDP"}, False, False, False),   # resolves to 81/UDP only
    ({"port": "serve-80-udp", "protocol": "UDP"}, False, False, True),
    ({"port": "no-such-port"}, False, False, False),
    ({"port": 80, "endPort": 81}, True, True, False),
    ({"port": "serve-80-tcp", "endPort": 81}, True, False, False),   # invalid; endPort ignored
])
def test_port_entries(entry, tcp80, tcp81, udp80):
    e = Edge(raw("p", {"podSelector": pod_is("a"), "ingress": [{"ports": [entry]}]}))
    assert (ok(e, Y_A, X_A, 80, TCP), ok(e, Y_A, X_A, 81, TCP), ok(e, Y_A, X_A, 80, UDP)) == (tcp80, tcp81, udp80)


def test_named_port_is_resolved_on_the_destination_in_egress_rules_too():
    decl = (ContainerPort(8080, TCP, "http"),)
    web = Pod("y", "web", "10.244.2.50", {"pod": "web"}, decl, frozenset({(8080, TCP)}))
    plain = Pod("y", "plain", "10.244.2.51", {"pod": "plain"})
    e = PolicyEngine(EDGE.namespaces, [raw("p", {"podSelector": pod_is("a"), "policyTypes": ["Egress"],
                                                 "egress": [{"ports": [{"port": "http"}]}]})])
    assert e.check(EDGE.pod(X_A), web, 8080).allowed
    assert not e.check(EDGE.pod(X_A), plain, 8080).allowed   # the source's ports do not matter


def test_ipblock_except_is_exact_and_inclusive():
    xb = pod_ip(X_B)
    e = Edge(raw("p", {"podSelector": pod_is("a"), "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": [f"{xb}/32", "10.244.3.0/24"]}}]}]}))
    assert not ok(e, X_A, X_B)                               # the excepted /32 itself
    assert ok(e, X_A, X_C)                                   # its neighbour
    assert not ok(e, X_A, Z_A)                               # inside the excepted /24
    assert ok(e, X_A, Y_A)
    # an except equal to the cidr (the API server refuses it: must be a strict subset)
    # leaves nothing
    e2 = Edge(raw("p", {"podSelector": pod_is("a"), "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.0.0/16"]}}]}]}))
    assert not ok(e2, X_A, Y_A)


def test_ipblock_cidr_with_host_bits_is_masked_like_net_parse_cidr():
    e = Edge(raw("p", {"podSelector": pod_is("a"), "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": f"{pod_ip(Y_B)}/24"}}]}]}))
    assert ok(e, X_A, Y_A) and ok(e, X_A, "y/c") and not ok(e, X_A, X_B)


def test_empty_namespace_selector_with_pod_selector_in_one_peer_is_that_pod_everywhere():
    e = Edge(raw("p", {"podSelector": pod_is("a"), "ingress": [
        {"from": [{"namespaceSelector": {}, "podSelector": pod_is("b")}]}]}))
    assert ok(e, X_B, X_A) and ok(e, Y_B, X_A) and ok(e, "z/b", X_A)
    assert not ok(e, Y_A, X_A) and not ok(e, X_C, X_A)


def test_empty_pod_selector_alone_is_the_policy_namespace_only():
    e = Edge(raw("p", {"podSelector": pod_is("a"), "ingress": [{"from": [{"podSelector": {}}]}]}))
    assert ok(e, X_B, X_A) and not ok(e, Y_B, X_A)


def test_not_in_and_does_not_exist_match_pods_without_the_key():
    # labels.Selector: NotIn and DoesNotExist hold when the key is absent.
    tagged = build(ALL_PODS, (80,), (TCP,), pod_labels={Y_A: {"tier": "db"}, Y_B: {"tier": "web"}},
                   ns_labels={"z": {"team": "blue"}})
    pol = raw("p", {"podSelector": pod_is("a"), "ingress": [{"from": [
        {"namespaceSelector": expr("team", "DoesNotExist"),
         "podSelector": expr("tier", "NotIn", "db")}]}]})
    e = PolicyEngine(tagged.namespaces, [pol])
    src = {p.key: p for p in tagged.pods}
    assert e.check(src[Y_B], src[X_A], 80).allowed          # tier=web: NotIn db
    assert e.check(src["y/c"], src[X_A], 80).allowed        # no tier label at all: NotIn holds
    assert not e.check(src[Y_A], src[X_A], 80).allowed      # tier=db
    assert not e.check(src["z/b"], src[X_A], 80).allowed    # namespace z has team
    # and as the policy's own podSelector: NotIn selects pods lacking the key
    iso = PolicyEngine(tagged.namespaces, [raw("deny", {"podSelector": expr("tier", "NotIn", "db"),
                                                         "ingress": []}, ns="y")])
    assert not iso.check(src[X_A], src["y/c"], 80).allowed
    assert iso.check(src[X_A], src[Y_A], 80).allowed


def test_policies_never_select_pods_of_another_namespace():
    e = Edge(raw("deny-everything-in-y", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, ns="y"))
    assert ok(e, X_A, X_B) and ok(e, Z_A, X_A)
    assert not ok(e, X_A, Y_A) and not ok(e, Y_A, X_A)


def test_ingress_rules_are_not_egress_permissions():
    # A connection needs the source's egress AND the destination's ingress; an ingress
    # allow on the server never opens the client's isolated egress (upstream "denying of
    # egress traffic on the client side").
    e = Edge(raw("deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]}),
                  raw("allow-in", {"podSelector": {}, "ingress": [{}]}, ns="y"))
    assert not ok(e, X_A, Y_A)
    assert ok(e, Y_A, X_A)
