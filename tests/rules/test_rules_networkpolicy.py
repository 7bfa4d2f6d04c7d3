"""NetworkPolicy rules: peers, ports/endPort, ipBlock, selectors, policyTypes."""
from __future__ import annotations

import pytest

from grader.manifests import check


def policy(spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "np"}, "spec": {"podSelector": {}, **spec}}


def issues(obj: dict) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(obj)[1]]


def ingress(peer: dict | None = None, ports: list | None = None) -> dict:
    rule: dict = {}
    if peer is not None:
        rule["from"] = [peer]
    if ports is not None:
        rule["ports"] = ports
    return policy({"ingress": [rule]})


def test_valid_policy_with_and_peer_and_named_port():
    peer = {"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": {"matchLabels": {"app": "x"}}}
    assert issues(ingress(peer, [{"port": "http"}, {"protocol": "UDP", "port": 53}])) == []


def test_deny_all_is_valid():
    assert issues(policy({"policyTypes": ["Ingress", "Egress"]})) == []


def test_end_port_rules():
    assert issues(ingress(ports=[{"port": 30000, "endPort": 32767}])) == []
    assert issues(ingress(ports=[{"endPort": 90}])) == [
        ("spec.ingress[0].ports[0].endPort", "endPort needs 'port' as the start of the range")]
    assert issues(ingress(ports=[{"port": "http", "endPort": 90}])) == [
        ("spec.ingress[0].ports[0].endPort", "endPort needs a numeric 'port', but port is 'http'")]
    assert issues(ingress(ports=[{"port": 100, "endPort": 90}])) == [
        ("spec.ingress[0].ports[0].endPort", "endPort 90 must be greater than or equal to port 100")]


def test_port_protocol_and_range():
    got = issues(ingress(ports=[{"port": 0, "protocol": "ICMP"}]))
    assert [p for p, _ in got] == ["spec.ingress[0].ports[0].port", "spec.ingress[0].ports[0].protocol"]


def test_ip_block():
    assert issues(ingress({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0/24"]}})) == []
    got = issues(ingress({"ipBlock": {"cidr": "10.0.0.0/33"}}))
    assert [p for p, _ in got] == ["spec.ingress[0].from[0].ipBlock.cidr"]
    got = issues(ingress({"ipBlock": {"cidr": "10.0.0.0"}}))
    assert "write an address and a prefix length" in got[0][1]


@pytest.mark.parametrize("bad", ["10.0.0.0/16", "10.1.0.0/24", "fd00::/64", "10.0.0.0/8"])
def test_ip_block_except_must_be_strictly_inside(bad):
    got = issues(ingress({"ipBlock": {"cidr": "10.0.0.0/16", "except": [bad]}}))
    assert got == [("spec.ingress[0].from[0].ipBlock.except[0]",
                    f"'{bad}' must be a strict subset of cidr '10.0.0.0/16' (inside it, with a longer prefix)")]


def test_ip_block_cannot_mix_with_selectors_and_peer_cannot_be_empty():
    got = issues(ingress({"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}))
    assert [p for p, _ in got] == ["spec.ingress[0].from[0]"] and "cannot be combined" in got[0][1]
    got = issues(ingress({}))
    assert got[0][0] == "spec.ingress[0].from[0]" and got[0][1].startswith("must specify a peer")


def test_label_selector_operators():
    ok = {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}
    assert issues(ingress(ok)) == []
    no_values = {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}}
    assert issues(ingress(no_values)) == [(
        "spec.ingress[0].from[0].podSelector.matchExpressions[0].values",
        "required: operator 'In' needs a non-empty list of values")]
    extra = {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["a"]}]}}
    assert [p for p, _ in issues(ingress(extra))] == ["spec.ingress[0].from[0].podSelector.matchExpressions[0].values"]
    bad_op = {"podSelector": {"matchExpressions": [{"key": "app", "operator": "in", "values": ["a"]}]}}
    assert "did you mean 'In'?" in issues(ingress(bad_op))[0][1]


def test_policy_types():
    """ValidateNetworkPolicySpec: at most two entries, each Ingress or Egress; a repeated
    value is not refused by the API server."""
    assert issues(policy({"policyTypes": ["Ingress", "Ingress"]})) == []
    got = issues(policy({"policyTypes": ["Ingress", "egress"]}))
    assert [p for p, _ in got] == ["spec.policyTypes[1]"]
    got = issues(policy({"policyTypes": ["Ingress", "Ingress", "Egress"]}))
    assert [p for p, _ in got] == ["spec.policyTypes"]
