"""NetworkPolicy truth tables in the style of the upstream e2e suite for what that suite
does NOT test (the suite itself is replayed case by case in test_netpol_upstream.py):
endPort ranges (the upstream e2e test for them, kubernetes/kubernetes PR #100291, was never
merged; the semantics are the KEP-2079 / API reference ones: port..endPort inclusive, same
protocol), policies of one namespace never selecting another's pods, and "no policy, no
isolation" on every protocol. Same model: namespaces x, y, z with pods a, b, c labelled
pod=<name>, every pod serving 80 and 81 on TCP, UDP and SCTP through container ports named
serve-<port>-<protocol>; each test starts from "everything allowed" and states the
exceptions. Loopback is not compared (as upstream), but asserted allowed.
"""
from __future__ import annotations

import pytest

from grader.model.matrix import compute_matrix
from grader.model.objects import ContainerPort, NamespaceInfo, Pod, namespace_labels

NSS = ("x", "y", "z")
PODS = ("a", "b", "c")
PROTOCOLS = ("TCP", "UDP", "SCTP")


def make_cluster(pod_strings=None):
    pod_strings = pod_strings or [f"{n}/{p}" for n in NSS for p in PODS]
    ports = tuple(ContainerPort(port, proto, f"serve-{port}-{proto.lower()}")
                  for port in (80, 81) for proto in PROTOCOLS)
    listening = frozenset((p.port, p.protocol) for p in ports)
    pods = []
    for i, s in enumerate(pod_strings):
        ns, name = s.split("/")
        pods.append(Pod(ns, name, f"10.244.0.{10 + i}", {"pod": name}, ports, listening))
    nss = {n: NamespaceInfo(n, namespace_labels(n, {"ns": n})) for n in NSS}
    return pods, nss


def policy(name, ns="x", pod_selector=None, ingress=None, egress=None, types=None):
    spec = {"podSelector": pod_selector if pod_selector is not None else {}}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types is not None:
        spec["policyTypes"] = types
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def ns_sel(name):
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def pod_sel(name):
    return {"matchLabels": {"pod": name}}


class Reachability:
    """Expected truth table, with the upstream helpers' meanings."""

    def __init__(self, pods, default=True):
        self.keys = [p.key for p in pods]
        self.expected = {(f, t): default for f in self.keys for t in self.keys}

    @staticmethod
    def _match(key, ns=None, pod=None):
        n, p = key.split("/")
        return (ns is None or n == ns) and (pod is None or p == pod)

    def expect_peer(self, frm: dict, to: dict, allowed: bool):
        for f in self.keys:
            for t in self.keys:
                if self._match(f, **frm) and self._match(t, **to):
                    self.expected[(f, t)] = allowed

    def expect_all_ingress(self, pod, allowed):
        for f in self.keys:
            self.expected[(f, pod)] = allowed

    def expect_all_egress(self, pod, allowed):
        for t in self.keys:
            self.expected[(pod, t)] = allowed

    def expect(self, f, t, allowed):
        self.expected[(f, t)] = allowed


def validate(pods, nss, policies, reach, port=80, protocol="TCP"):
    m = compute_matrix(pods, nss, policies, ports=[port], protocols=[protocol])
    wrong = []
    for r in m.results:
        if r.src == r.dst:
            assert r.allowed, f"loopback must be allowed: {r.reason}"
            continue
        if r.allowed != reach.expected[(r.src, r.dst)]:
            wrong.append(f"{r.src} -> {r.dst} {port}/{protocol}: got {r.allowed}: {r.reason}")
    assert not wrong, "\n".join(wrong)
    return m


def test_endport_range_is_inclusive():
    pods, nss = make_cluster(["x/a", "y/a"])
    p = policy("allow-80-81", pod_selector=pod_sel("a"), ingress=[{"ports": [{"port": 80, "endPort": 81}]}])
    validate(pods, nss, [p], Reachability(pods), port=80)
    validate(pods, nss, [p], Reachability(pods), port=81)
    only81 = policy("allow-81-90", pod_selector=pod_sel("a"), ingress=[{"ports": [{"port": 81, "endPort": 90}]}])
    r = Reachability(pods)
    r.expect_all_ingress("x/a", False)
    validate(pods, nss, [only81], r, port=80)
    validate(pods, nss, [only81], Reachability(pods), port=81)


def test_policy_in_one_namespace_never_selects_pods_of_another():
    pods, nss = make_cluster(["x/a", "y/a"])
    p = policy("deny-all-in-y", ns="y", ingress=[])
    r = Reachability(pods)
    r.expect_all_ingress("y/a", False)
    validate(pods, nss, [p], r)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_no_policies_everything_allowed(protocol):
    pods, nss = make_cluster()
    validate(pods, nss, [], Reachability(pods), protocol=protocol)


def test_endport_range_with_a_pod_selector_peer():
    # the scenario reviewers asked of the unmerged upstream test: ingress from pod=b on 80-82
    pods, nss = make_cluster()
    p = policy("allow-b-80-82", pod_selector=pod_sel("a"),
               ingress=[{"from": [{"podSelector": pod_sel("b")}], "ports": [{"port": 80, "endPort": 82}]}])
    for port in (80, 81):
        r = Reachability(pods)
        r.expect_all_ingress("x/a", False)
        r.expect("x/b", "x/a", True)
        validate(pods, nss, [p], r, port=port)


def test_endport_range_in_egress_and_per_protocol():
    pods, nss = make_cluster(["x/a", "x/b", "y/a"])
    p = policy("egress-81-85-udp", pod_selector=pod_sel("a"), types=["Egress"],
               egress=[{"ports": [{"port": 81, "endPort": 85, "protocol": "UDP"}]}])
    validate(pods, nss, [p], Reachability(pods), port=81, protocol="UDP")
    for port, protocol in ((80, "UDP"), (81, "TCP"), (81, "SCTP")):
        r = Reachability(pods)
        r.expect_all_egress("x/a", False)
        validate(pods, nss, [p], r, port=port, protocol=protocol)
