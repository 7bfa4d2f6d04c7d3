"""The probe pipeline: DNS -> Service -> endpoint -> NetworkPolicy -> listener -> answer."""
from __future__ import annotations

import pytest
from test_model_kit import client_and_backend, deployment, netpol, pod, service

from grader.cluster.base import Status
from grader.model.connectivity import EXTERNAL_CLIENT_IP, POD_GATEWAY, parse_target, probe, probe_external
from grader.model.objects import NODE_IP
from grader.model.state import ClusterState


@pytest.fixture()
def state() -> ClusterState:
    return client_and_backend()


def client(state: ClusterState):
    return state.find_pods("app=client", "lab")[0]


def backends(state: ClusterState):
    return [p for p in state.pods_in("lab") if p.labels["app"] == "backend"]


def test_parse_target() -> None:
    assert parse_target("backend:80/hostname") == ("backend", 80, "/hostname")
    assert parse_target("http://10.0.0.1:8080/echo?msg=hi") == ("10.0.0.1", 8080, "/echo?msg=hi")
    assert parse_target("backend:80") == ("backend", 80, None)
    with pytest.raises(ValueError):
        parse_target("backend")


def test_service_round_robins_over_every_ready_endpoint(state: ClusterState) -> None:
    seen = [probe(state, client(state), "backend:80/hostname") for _ in range(6)]
    assert all(o.status is Status.OK for o in seen)
    assert {o.body for o in seen} == {p.name for p in backends(state)}
    assert all(o.pod == f"lab/{o.body}" for o in seen)
    assert all(o.ip == state.service("lab", "backend").cluster_ip for o in seen)


def test_not_ready_pod_gets_no_traffic(state: ClusterState) -> None:
    sick = backends(state)[0]
    state.set_ready(sick.name, False, namespace="lab")
    hits = {probe(state, client(state), "backend:80/hostname").body for _ in range(6)}
    assert hits == {p.name for p in backends(state)} - {sick.name}


def test_no_ready_endpoints(state: ClusterState) -> None:
    state.set_ready("app=backend", False, namespace="lab")
    out = probe(state, client(state), "backend:80")
    assert out.status is Status.NO_ENDPOINTS and "not Ready" in out.reason


def test_selector_matching_nothing_is_explained(state: ClusterState) -> None:
    state.apply([service("typo", {"app": "backnd"})], "lab")
    out = probe(state, client(state), "typo:80")
    assert out.status is Status.NO_ENDPOINTS and "app=backnd" in out.reason


def test_unknown_name_is_a_dns_error(state: ClusterState) -> None:
    out = probe(state, client(state), "nosuch:80")
    assert out.status is Status.DNS_ERROR and "NXDOMAIN" in out.reason


def test_undeclared_service_port_times_out(state: ClusterState) -> None:
    assert probe(state, client(state), "backend:8080").status is Status.TIMEOUT


def test_wrong_target_port_is_refused_by_the_pod(state: ClusterState) -> None:
    state.apply([service("wrong", {"app": "backend"}, ports=[{"port": 80, "targetPort": 9999}])], "lab")
    out = probe(state, client(state), "wrong:80")
    assert out.status is Status.REFUSED and "9999" in out.reason


def test_pod_ip_direct_and_pod_dns_name(state: ClusterState) -> None:
    b = backends(state)[0]
    assert probe(state, client(state), f"{b.ip}:8080/hostname").body == b.name
    dashed = b.ip.replace(".", "-")
    assert probe(state, client(state), f"{dashed}.lab.pod.cluster.local:8080/hostname").body == b.name
    assert probe(state, client(state), f"{b.ip}:80").status is Status.REFUSED


def test_http_answers_of_netexec(state: ClusterState) -> None:
    c = client(state)
    assert probe(state, c, "backend:80/echo?msg=hello").body == "hello"
    ip, port = probe(state, c, "backend:80/clientip").body.rsplit(":", 1)
    assert ip == c.ip and port.isdigit()
    assert probe(state, c, "backend:80/healthz").status is Status.OK


def test_hairpin_through_own_service_works(state: ClusterState) -> None:
    b = backends(state)[0]
    state.apply([service("self", {"app": "backend"}), ], "lab")
    state.set_ready("app=backend", False, namespace="lab")
    state.set_ready(b.name, True, namespace="lab")
    out = probe(state, state.pod(b.key), "self:80/clientip")
    assert out.status is Status.OK and out.pod == b.key
    assert out.body.split(":")[0] == POD_GATEWAY


def test_session_affinity_client_ip_sticks(state: ClusterState) -> None:
    state.apply([service("sticky", {"app": "backend"}, sessionAffinity="ClientIP")], "lab")
    hits = {probe(state, client(state), "sticky:80/hostname").body for _ in range(5)}
    assert len(hits) == 1


def test_cross_namespace_needs_the_namespace_in_the_name(state: ClusterState) -> None:
    state.create_namespace("other")
    state.apply([deployment("remote", {"app": "remote"}), service("remote", {"app": "remote"})], "other")
    assert probe(state, client(state), "remote:80").status is Status.DNS_ERROR
    assert probe(state, client(state), "remote.other:80/hostname").ok


def test_external_name_without_internet(state: ClusterState) -> None:
    state.apply([service("ext", None, ports=[], type="ExternalName", externalName="api.example.com")], "lab")
    out = probe(state, client(state), "ext:443")
    assert out.status is Status.DNS_ERROR and "api.example.com" in out.reason


def test_udp_to_netexec_udp_port(state: ClusterState) -> None:
    state.apply([pod("u", {"app": "u"}, udp_port=5353), service("u", {"app": "u"},
                 ports=[{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353}])], "lab")
    assert probe(state, client(state), "u:53", protocol="UDP").ok
    assert probe(state, client(state), "u:53", protocol="TCP").status is Status.TIMEOUT


def test_declared_port_that_netexec_does_not_serve_is_refused(state: ClusterState) -> None:
    state.apply([pod("liar", {"app": "liar"}, http_port=8080, ports=[{"containerPort": 9000}])], "lab")
    ip = state.pod("lab/liar").ip
    assert probe(state, client(state), f"{ip}:9000").status is Status.REFUSED
    assert probe(state, client(state), f"{ip}:8080").ok


# ------------------------------------------------------------------ from outside the cluster
def nodeport_state(policy: str = "Cluster", node_port: int = 30080) -> ClusterState:
    s = ClusterState()
    s.create_namespace("lab")
    s.apply([deployment("web", {"app": "web"}, replicas=2),
             service("web", {"app": "web"}, type="NodePort", externalTrafficPolicy=policy,
                     ports=[{"port": 80, "targetPort": 8080, "nodePort": node_port}])], "lab")
    return s


def test_nodeport_from_localhost_is_snatted_to_the_node_ip() -> None:
    s = nodeport_state()
    out = probe_external(s, 30080, path="/clientip")
    assert out.ok and out.body.split(":")[0] == NODE_IP


def test_external_traffic_policy_local_preserves_the_client_ip() -> None:
    out = probe_external(nodeport_state("Local"), 30080, path="/clientip")
    assert out.ok and out.body.split(":")[0] == EXTERNAL_CLIENT_IP


def test_localhost_reaches_only_mapped_node_ports() -> None:
    s = nodeport_state(node_port=31000)
    assert probe_external(s, 31000).status is Status.REFUSED
    assert probe_external(s, 31000, host=NODE_IP).ok
    assert probe_external(s, 30081).status is Status.REFUSED        # mapped, but no Service uses it


def test_load_balancer_ip_serves_the_service_port() -> None:
    s = ClusterState()
    s.create_namespace("lab")
    s.apply([deployment("web", {"app": "web"}), service("lb", {"app": "web"}, type="LoadBalancer")], "lab")
    ip = s.service("lab", "lb").load_balancer_ip
    assert probe_external(s, 80, host=ip, path="/hostname").ok
    assert probe_external(s, 8080, host=ip).status is Status.TIMEOUT


def lb_state(policy: str) -> tuple[ClusterState, str]:
    s = ClusterState()
    s.create_namespace("lab")
    s.apply([deployment("web", {"app": "web"}),
             service("lb", {"app": "web"}, type="LoadBalancer", externalTrafficPolicy=policy)], "lab")
    return s, s.service("lab", "lb").load_balancer_ip


# cloud-provider-kind's Envoy owns the LoadBalancer IP and opens its own connection to a node's
# nodePort (its pkg/loadbalancer/proxy.go), so the learner's machine never reaches the pod.
def test_load_balancer_with_cluster_policy_shows_the_node_address() -> None:
    s, ip = lb_state("Cluster")
    out = probe_external(s, 80, host=ip, path="/clientip")
    assert out.ok and out.body.split(":")[0] == NODE_IP


def test_load_balancer_with_local_policy_shows_envoys_address_not_the_learners() -> None:
    s, ip = lb_state("Local")
    out = probe_external(s, 80, host=ip, path="/clientip")
    assert out.ok and out.body.split(":")[0] == ip != EXTERNAL_CLIENT_IP


def test_policy_judges_load_balancer_traffic_as_coming_from_envoy() -> None:
    s, ip = lb_state("Cluster")
    s.apply([DENY_ALL_INGRESS, netpol("from-host", {"app": "web"}, ingress=[
        {"from": [{"ipBlock": {"cidr": f"{EXTERNAL_CLIENT_IP}/32"}}]}])], "lab")
    assert probe_external(s, 80, host=ip).status is Status.TIMEOUT
    s.apply([netpol("from-envoy", {"app": "web"}, ingress=[{"from": [{"ipBlock": {"cidr": f"{ip}/32"}}]}])],
            "lab")
    assert probe_external(s, 80, host=ip).ok


def test_cluster_ip_is_not_reachable_from_outside(state: ClusterState) -> None:
    ip = state.service("lab", "backend").cluster_ip
    assert probe_external(state, 80, host=ip).status is Status.TIMEOUT


# ------------------------------------------------------------------ NetworkPolicy (needs grader.model.netpol)
def test_deny_all_ingress_times_out_with_the_engines_explanation(state: ClusterState) -> None:
    state.apply([netpol("deny", {}, policyTypes=["Ingress"])], "lab")
    out = probe(state, client(state), "backend:80")
    assert out.status is Status.TIMEOUT and "NetworkPolicy" in out.reason


def test_policy_applies_to_the_pod_port_not_the_service_port(state: ClusterState) -> None:
    allow = lambda port: netpol(f"allow-{port}", {"app": "backend"}, policyTypes=["Ingress"],  # noqa: E731
                                ingress=[{"ports": [{"port": port}]}])
    state.apply([allow(80)], "lab")
    assert probe(state, client(state), "backend:80").status is Status.TIMEOUT
    state.delete("netpol", "allow-80", "lab")
    state.apply([allow(8080)], "lab")
    assert probe(state, client(state), "backend:80").ok


def test_egress_policy_without_dns_breaks_name_resolution(state: ClusterState) -> None:
    state.apply([netpol("only-backend", {"app": "client"}, policyTypes=["Egress"],
                        egress=[{"to": [{"podSelector": {"matchLabels": {"app": "backend"}}}]}])], "lab")
    out = probe(state, client(state), "backend:80")
    assert out.status is Status.DNS_ERROR and "timed out" in out.reason
    assert probe(state, client(state), f"{backends(state)[0].ip}:8080").ok
    state.apply([netpol("dns", {"app": "client"}, policyTypes=["Egress"],
                        egress=[{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}])], "lab")
    assert probe(state, client(state), "backend:80").ok


def test_coredns_with_no_ready_pod_fails_the_lookup_at_once_not_by_timeout(state: ClusterState) -> None:
    # kube-dns without endpoints: kube-proxy rejects the query (live, dig says "connection
    # refused"); a dropped query is the NetworkPolicy case above, which times out.
    state.set_ready("k8s-app=kube-dns", False, namespace="kube-system")
    out = probe(state, client(state), "backend:80")
    assert out.status is Status.DNS_ERROR
    assert "rejects the query" in out.reason and "timed out" not in out.reason


# NetworkPolicy judges the client before SNAT (kindnet filters ahead of source NAT), so
# external traffic is policed by the learner machine's address, never waved through as "node".
DENY_ALL_INGRESS = netpol("deny-all", {}, policyTypes=["Ingress"])


@pytest.mark.parametrize("traffic_policy", ["Cluster", "Local"])
def test_deny_all_ingress_also_stops_nodeport_traffic(traffic_policy: str) -> None:
    s = nodeport_state(traffic_policy)
    s.apply([DENY_ALL_INGRESS], "lab")
    out = probe_external(s, 30080)
    assert out.status is Status.TIMEOUT
    assert "deny-all" in out.reason


def test_ip_block_for_the_learner_machine_reopens_the_nodeport() -> None:
    s = nodeport_state()
    s.apply([DENY_ALL_INGRESS, netpol("from-host", {"app": "web"}, ingress=[
        {"from": [{"ipBlock": {"cidr": f"{EXTERNAL_CLIENT_IP}/32"}}]}])], "lab")
    out = probe_external(s, 30080, path="/clientip")
    assert out.ok
    assert out.body.split(":")[0] == NODE_IP      # the pod still sees the SNATed address


def test_pod_calling_a_nodeport_is_judged_as_itself_not_the_node() -> None:
    s = nodeport_state()
    s.apply([deployment("client", {"app": "client"}),
             netpol("only-client", {"app": "web"}, ingress=[
                 {"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}])], "lab")
    frm = s.find_pods("app=client", "lab")[0]
    assert probe(s, frm, f"{NODE_IP}:30080").ok
    assert probe_external(s, 30080).status is Status.TIMEOUT
