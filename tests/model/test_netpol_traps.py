"""The classic NetworkPolicy traps, each pinned by a small scenario written from the
concept page (kubernetes.io/docs/concepts/services-networking/network-policies/) and the
networking.k8s.io/v1 API reference, and the engine's explanations for them."""
from __future__ import annotations

import pytest

from grader.model.netpol import PolicyEngine, effective_policy_types
from grader.model.objects import NODE_IP, Address, ContainerPort, NamespaceInfo, Pod, namespace_labels


def ns_info(*names, **labels_by_ns):
    return {n: NamespaceInfo(n, namespace_labels(n, labels_by_ns.get(n))) for n in names}


NSS = ns_info("default", "prod", "kube-system", prod={"env": "prod"})
WEB = Pod("default", "web", "10.244.0.10", {"app": "web"},
          (ContainerPort(8080, "TCP", "http"),), frozenset({(8080, "TCP")}))
API = Pod("default", "api", "10.244.0.11", {"app": "api"},
          (ContainerPort(9090, "TCP", "http"),), frozenset({(9090, "TCP")}))
CLIENT = Pod("default", "client", "10.244.0.12", {"app": "client"})
PROD_CLIENT = Pod("prod", "client", "10.244.0.13", {"app": "client"})
COREDNS = Pod("kube-system", "coredns-0", "10.244.0.2", {"k8s-app": "kube-dns"},
              (ContainerPort(53, "UDP", "dns"), ContainerPort(53, "TCP", "dns-tcp")),
              frozenset({(53, "UDP"), (53, "TCP")}))
EXTERNAL = Address("203.0.113.7")


def np(name, spec, ns="default"):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def engine(*policies):
    return PolicyEngine(NSS, list(policies))


# ------------------------------------------------------------------ policyTypes defaulting
@pytest.mark.parametrize("spec,types", [
    ({"podSelector": {}}, ("Ingress",)),
    ({"podSelector": {}, "ingress": [{}]}, ("Ingress",)),
    ({"podSelector": {}, "egress": []}, ("Ingress",)),          # len(egress) == 0: no Egress
    ({"podSelector": {}, "egress": [{}]}, ("Ingress", "Egress")),
    ({"podSelector": {}, "policyTypes": [], "egress": [{}]}, ("Ingress", "Egress")),
    ({"podSelector": {}, "policyTypes": ["Egress"]}, ("Egress",)),
    ({"podSelector": {}, "policyTypes": ["Egress", "Ingress"]}, ("Ingress", "Egress")),
])
def test_policy_types_default_like_the_api_server(spec, types):
    assert effective_policy_types(spec) == types


def test_egress_rules_without_policy_types_also_isolate_ingress():
    # policyTypes defaults to [Ingress, Egress]; with no ingress rules, ingress is denied
    e = engine(np("egress-only-by-accident", {"podSelector": {"matchLabels": {"app": "web"}}, "egress": [{}]}))
    assert e.check(WEB, API, 9090).allowed
    v = e.check(CLIENT, WEB, 8080)
    assert not v.allowed and v.ingress is not None and not v.ingress.allowed


# ------------------------------------------------------------------ ingress: [] vs absent vs [{}]
def test_ingress_empty_list_allows_nothing():
    e = engine(np("p", {"podSelector": {}, "ingress": []}))
    assert not e.check(CLIENT, WEB, 8080).allowed


def test_ingress_key_absent_with_ingress_type_allows_nothing():
    e = engine(np("p", {"podSelector": {}, "policyTypes": ["Ingress"]}))
    assert not e.check(CLIENT, WEB, 8080).allowed


def test_ingress_one_empty_rule_allows_everything_including_outside():
    e = engine(np("deny", {"podSelector": {}}), np("allow-all", {"podSelector": {}, "ingress": [{}]}))
    assert e.check(CLIENT, WEB, 8080).allowed
    assert e.check(PROD_CLIENT, WEB, 8080).allowed
    assert e.check(EXTERNAL, WEB, 8080).allowed
    assert e.check(CLIENT, WEB, 8080, "UDP").allowed


def test_rule_with_empty_from_list_matches_all_sources():
    e = engine(np("p", {"podSelector": {}, "ingress": [{"from": [], "ports": [{"port": 8080}]}]}))
    assert e.check(EXTERNAL, WEB, 8080).allowed
    assert not e.check(EXTERNAL, WEB, 8081).allowed


# ------------------------------------------------------------------ egress-only policies
def test_egress_only_policy_does_not_isolate_ingress():
    e = engine(np("deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]}))
    v = e.check(PROD_CLIENT, WEB, 8080)
    assert v.allowed and v.ingress is None
    v = e.check(WEB, PROD_CLIENT, 80)
    assert not v.allowed and v.egress is not None and v.egress.isolated_by == ("default/deny-egress",)
    v = e.check(PROD_CLIENT, WEB, 8080)
    assert ("default/web is not isolated for ingress: the NetworkPolicies selecting it "
            "(default/deny-egress) do not have Ingress in policyTypes") in v.explanation


def test_default_deny_all_blocks_both_directions_but_not_self():
    e = engine(np("default-deny-all", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
    assert not e.check(CLIENT, WEB, 8080).allowed
    assert not e.check(PROD_CLIENT, WEB, 8080).allowed
    assert not e.check(WEB, PROD_CLIENT, 80).allowed
    v = e.check(WEB, WEB, 8080)
    assert v.allowed and "itself" in v.explanation


# ------------------------------------------------------------------ peers
def test_pod_selector_peer_is_limited_to_the_policy_namespace():
    e = engine(np("from-clients", {"podSelector": {"matchLabels": {"app": "web"}},
                                   "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}]}))
    assert e.check(CLIENT, WEB, 8080).allowed
    assert not e.check(PROD_CLIENT, WEB, 8080).allowed      # same labels, other namespace


def test_one_peer_with_both_selectors_is_AND_two_peers_is_OR():
    both = {"namespaceSelector": {"matchLabels": {"env": "prod"}},
            "podSelector": {"matchLabels": {"app": "client"}}}
    e_and = engine(np("and", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [both]}]}))
    assert e_and.check(PROD_CLIENT, WEB, 8080).allowed
    assert not e_and.check(CLIENT, WEB, 8080).allowed       # right pod, wrong namespace
    two = [{"namespaceSelector": {"matchLabels": {"env": "prod"}}},
           {"podSelector": {"matchLabels": {"app": "client"}}}]
    e_or = engine(np("or", {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": two}]}))
    assert e_or.check(PROD_CLIENT, WEB, 8080).allowed
    assert e_or.check(CLIENT, WEB, 8080).allowed
    assert not e_or.check(API, WEB, 8080).allowed
    v = e_or.check(CLIENT, WEB, 8080)
    assert "policy default/or, ingress rule 0, peer 1" in v.explanation


def test_selectors_never_match_addresses_only_ipblock_does():
    e = engine(np("p", {"podSelector": {}, "ingress": [{"from": [
        {"namespaceSelector": {}}, {"podSelector": {}}, {"ipBlock": {"cidr": "198.51.100.0/24"}}]}]}))
    assert e.check(PROD_CLIENT, WEB, 8080).allowed            # namespaceSelector {} = every namespace
    assert not e.check(EXTERNAL, WEB, 8080).allowed           # 203.0.113.7: no selector matches it
    v = e.check(Address("198.51.100.20"), WEB, 8080)
    assert v.allowed and "peer 2 (ipBlock 198.51.100.0/24)" in v.explanation


def test_ipblock_except_removes_addresses():
    e = engine(np("p", {"podSelector": {}, "ingress": [{"from": [
        {"ipBlock": {"cidr": "203.0.113.0/24", "except": ["203.0.113.0/29"]}}]}]}))
    assert not e.check(Address("203.0.113.7"), WEB, 8080).allowed    # in the except /29
    assert e.check(Address("203.0.113.8"), WEB, 8080).allowed
    assert not e.check(Address("198.51.100.1"), WEB, 8080).allowed
    assert not e.check(CLIENT, WEB, 8080).allowed                     # pod IP outside the block


def test_ipblock_matches_pod_ips_like_kindnet():
    e = engine(np("p", {"podSelector": {"matchLabels": {"app": "web"}},
                        "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/16", "except": ["10.244.0.13/32"]}}]}]}))
    assert e.check(CLIENT, WEB, 8080).allowed
    assert not e.check(PROD_CLIENT, WEB, 8080).allowed


def test_node_traffic_is_always_allowed_for_ingress():
    e = engine(np("deny", {"podSelector": {}}))
    v = e.check(Address(NODE_IP), WEB, 8080)
    assert v.allowed and "node" in v.explanation
    assert not e.check(Address("172.18.0.3"), WEB, 8080).allowed


def test_egress_to_outside_needs_an_ipblock():
    e = engine(np("egress", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"namespaceSelector": {}}]},
        {"to": [{"ipBlock": {"cidr": "198.51.100.0/24"}}], "ports": [{"port": 443}]}]}))
    assert e.check(WEB, PROD_CLIENT, 80).allowed
    assert not e.check(WEB, EXTERNAL, 443).allowed
    v = e.check(WEB, Address("198.51.100.9"), 443)
    assert v.allowed and "egress rule 1, peer 0" in v.explanation
    assert not e.check(WEB, Address("198.51.100.9"), 80).allowed


# ------------------------------------------------------------------ ports
def test_policy_on_the_service_port_does_not_allow_the_pod_port():
    # A Service maps 80 -> targetPort 8080; policies see the pod port after DNAT.
    e = engine(np("allow-80", {"podSelector": {"matchLabels": {"app": "web"}},
                               "ingress": [{"ports": [{"port": 80}]}]}))
    assert not e.check(CLIENT, WEB, 8080).allowed
    e2 = engine(np("allow-8080", {"podSelector": {"matchLabels": {"app": "web"}},
                                  "ingress": [{"ports": [{"port": 8080}]}]}))
    assert e2.check(CLIENT, WEB, 8080).allowed


def test_named_port_resolves_per_destination_pod():
    # "http" is 8080 on web and 9090 on api; client has no such port at all.
    e = engine(np("allow-http", {"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]}))
    assert e.check(CLIENT, WEB, 8080).allowed
    assert not e.check(CLIENT, WEB, 9090).allowed
    assert e.check(CLIENT, API, 9090).allowed
    assert not e.check(WEB, CLIENT, 8080).allowed        # the destination lacks the named port


def test_named_port_in_egress_resolves_against_destination():
    e = engine(np("egress-http", {"podSelector": {"matchLabels": {"app": "client"}},
                                  "policyTypes": ["Egress"], "egress": [{"ports": [{"port": "http"}]}]}))
    assert e.check(CLIENT, WEB, 8080).allowed
    assert e.check(CLIENT, API, 9090).allowed
    assert not e.check(CLIENT, API, 8080).allowed
    assert not e.check(CLIENT, Address("198.51.100.9"), 8080).allowed   # addresses have no named ports


def test_named_port_protocol_must_match():
    e = engine(np("dns-udp-by-name", {"podSelector": {}, "ingress": [{"ports": [{"port": "dns", "protocol": "UDP"}]}]},
                  ns="kube-system"))
    assert e.check(CLIENT, COREDNS, 53, "UDP").allowed
    assert not e.check(CLIENT, COREDNS, 53, "TCP").allowed
    e2 = engine(np("dns-by-name-tcp", {"podSelector": {}, "ingress": [{"ports": [{"port": "dns"}]}]},
                   ns="kube-system"))
    assert not e2.check(CLIENT, COREDNS, 53, "UDP").allowed    # protocol defaults to TCP; "dns" is UDP


def test_endport_range():
    e = engine(np("range", {"podSelector": {}, "ingress": [{"ports": [{"port": 8000, "endPort": 8080}]}]}))
    assert e.check(CLIENT, WEB, 8000).allowed
    assert e.check(CLIENT, WEB, 8080).allowed
    assert not e.check(CLIENT, WEB, 8081).allowed
    assert not e.check(CLIENT, WEB, 7999).allowed
    assert not e.check(CLIENT, WEB, 8040, "UDP").allowed


def test_dns_egress_to_kube_system():
    deny = np("default-deny-egress", {"podSelector": {}, "policyTypes": ["Egress"]})
    dns = np("allow-dns", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]})
    e = engine(deny)
    assert not e.check(CLIENT, COREDNS, 53, "UDP").allowed
    e = engine(deny, dns)
    assert e.check(CLIENT, COREDNS, 53, "UDP").allowed
    assert e.check(CLIENT, COREDNS, 53, "TCP").allowed
    assert not e.check(CLIENT, COREDNS, 9153).allowed
    assert not e.check(CLIENT, WEB, 8080).allowed
    v = e.check(CLIENT, COREDNS, 53, "TCP")
    assert "policy default/allow-dns, egress rule 0, peer 0" in v.explanation and "53/TCP" in v.explanation


# ------------------------------------------------------------------ explanations
def test_explanations_name_isolating_policies_and_missing_rules():
    e = engine(np("deny", {"podSelector": {}}),
               np("allow-api", {"podSelector": {"matchLabels": {"app": "web"}},
                                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}]}]}))
    v = e.check(CLIENT, WEB, 8080)
    assert not v.allowed
    assert v.ingress is not None and v.ingress.isolated_by == ("default/allow-api", "default/deny")
    assert "isolated for ingress by default/allow-api, default/deny" in v.explanation
    assert "no rule of default/allow-api, default/deny allows ingress from default/client on 8080/TCP" in v.explanation
    ok = e.check(API, WEB, 8080)
    assert ok.allowed and ok.ingress.match is not None
    assert (ok.ingress.match.policy, ok.ingress.match.rule, ok.ingress.match.peer) == ("default/allow-api", 0, 0)


def test_explanation_when_not_isolated():
    v = engine().check(CLIENT, PROD_CLIENT, 80)
    assert v.allowed and v.egress is None and v.ingress is None
    assert "prod/client is not isolated for ingress: no NetworkPolicy in prod selects prod/client" in v.explanation


def test_policies_are_additive_regardless_of_order():
    a = np("a", {"podSelector": {}, "ingress": []})
    b = np("b", {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}]})
    assert engine(a, b).check(CLIENT, WEB, 8080).allowed
    assert engine(b, a).check(CLIENT, WEB, 8080).explanation == engine(a, b).check(CLIENT, WEB, 8080).explanation
