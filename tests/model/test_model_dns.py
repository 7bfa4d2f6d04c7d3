"""DNS as a pod sees it (kubernetes.io "DNS for Services and Pods")."""
from __future__ import annotations

import pytest
from test_model_kit import deployment, service, statefulset

from grader.k8s.dns_names import candidates
from grader.model.dns import resolv_conf, resolve
from grader.model.state import ClusterState


@pytest.fixture()
def state() -> ClusterState:
    s = ClusterState()
    for ns in ("lab", "other"):
        s.create_namespace(ns)
    s.apply([deployment("client", {"app": "client"}),
             deployment("backend", {"app": "backend"}, replicas=3),
             service("backend", {"app": "backend"}),
             service("backend-hl", {"app": "backend"}, clusterIP="None"),
             service("ext", None, ports=[], type="ExternalName", externalName="db.example.com"),
             service("alias", None, ports=[], type="ExternalName", externalName="backend.lab.svc.cluster.local"),
             statefulset("db", {"app": "db"}, "db", replicas=2),
             service("db", {"app": "db"}, clusterIP="None",
                     ports=[{"name": "pg", "port": 5432, "targetPort": 8080}])], "lab")
    s.apply([service("only-there", {"app": "x"})], "other")
    return s


def test_resolv_conf_search_list_and_ndots() -> None:
    assert resolv_conf("lab").splitlines() == [
        "search lab.svc.cluster.local svc.cluster.local cluster.local",
        "nameserver 10.96.0.10", "options ndots:5"]
    assert candidates("web", "lab")[0] == "web.lab.svc.cluster.local"
    assert candidates("web", "lab")[-1] == "web"
    assert candidates("a.b.c.d.e.f", "lab")[0] == "a.b.c.d.e.f"     # >= 5 dots: as given first
    assert candidates("web.lab.svc.cluster.local.", "lab") == ["web.lab.svc.cluster.local"]


@pytest.mark.parametrize("name", ["backend", "backend.lab", "backend.lab.svc", "backend.lab.svc.cluster.local",
                                  "backend.lab.svc.cluster.local."])
def test_every_service_name_form_gives_the_cluster_ip(state: ClusterState, name: str) -> None:
    ans = resolve(state, name, "lab")
    assert ans.rcode == "NOERROR"
    assert ans.name == "backend.lab.svc.cluster.local"
    assert ans.addresses == [state.service("lab", "backend").cluster_ip]
    assert all(r.name == "backend.lab.svc.cluster.local" for r in ans.records)


def test_short_name_from_another_namespace_is_nxdomain(state: ClusterState) -> None:
    assert resolve(state, "only-there", "lab").rcode == "NXDOMAIN"
    assert resolve(state, "only-there.other", "lab").addresses == [state.service("other", "only-there").cluster_ip]
    assert resolve(state, "nosuch", "lab").rcode == "NXDOMAIN"
    assert resolve(state, "backend.nonexistent-ns", "lab").rcode == "NXDOMAIN"


def test_headless_answers_ready_pod_ips(state: ClusterState) -> None:
    backend_ips = {p.ip for p in state.pods_in("lab") if p.labels.get("app") == "backend"}
    assert set(resolve(state, "backend-hl", "lab").addresses) == backend_ips
    sick = next(p for p in state.pods_in("lab") if p.labels.get("app") == "backend")
    state.set_ready(sick.name, False, namespace="lab")
    assert set(resolve(state, "backend-hl", "lab").addresses) == backend_ips - {sick.ip}
    state.set_ready("app=backend", False, namespace="lab")
    assert resolve(state, "backend-hl", "lab").rcode == "NXDOMAIN"     # no ready endpoint at all
    assert resolve(state, "backend", "lab").ok                          # ClusterIP still resolves


def test_statefulset_pod_names_resolve_through_the_headless_service(state: ClusterState) -> None:
    db0 = state.pod("lab/db-0")
    for name in ("db-0.db", "db-0.db.lab", "db-0.db.lab.svc.cluster.local"):
        ans = resolve(state, name, "lab")
        assert ans.addresses == [db0.ip] and ans.name == "db-0.db.lab.svc.cluster.local"
    assert resolve(state, "db-7.db", "lab").rcode == "NXDOMAIN"


def test_srv_for_named_ports(state: ClusterState) -> None:
    svc = state.service("lab", "backend")
    ans = resolve(state, "_http._tcp.backend", "lab", "SRV")
    assert [r.value for r in ans.records] == ["0 100 80 backend.lab.svc.cluster.local"]
    assert svc.ports[0].name == "http"
    hl = resolve(state, "_pg._tcp.db.lab.svc.cluster.local", "lab", "SRV")
    targets = sorted(r.value.split()[-1] for r in hl.records)
    assert targets == ["db-0.db.lab.svc.cluster.local", "db-1.db.lab.svc.cluster.local"]
    assert all(r.value.split()[2] == "8080" for r in hl.records)       # the pod port
    assert resolve(state, "_nope._tcp.backend", "lab", "SRV").rcode == "NXDOMAIN"


def test_headless_srv_target_without_hostname_is_the_dashed_ip(state: ClusterState) -> None:
    ans = resolve(state, "_http._tcp.backend-hl", "lab", "SRV")
    ips = {p.ip for p in state.pods_in("lab") if p.labels.get("app") == "backend"}
    assert {r.value.split()[-1] for r in ans.records} == {
        f"{ip.replace('.', '-')}.backend-hl.lab.svc.cluster.local" for ip in ips}


def test_external_name_is_a_cname(state: ClusterState) -> None:
    ans = resolve(state, "ext", "lab")
    assert ans.rcode == "NOERROR" and ans.addresses == []
    assert [(r.name, r.rtype, r.value) for r in ans.records] == [
        ("ext.lab.svc.cluster.local", "CNAME", "db.example.com")]
    inside = resolve(state, "alias", "lab")
    assert inside.records[0].rtype == "CNAME"
    assert inside.addresses == [state.service("lab", "backend").cluster_ip]   # followed in-cluster


def test_pod_a_records(state: ClusterState) -> None:
    p = state.pods_in("lab")[0]
    dashed = p.ip.replace(".", "-")
    assert resolve(state, f"{dashed}.lab.pod.cluster.local", "other").addresses == [p.ip]
    assert resolve(state, f"{dashed}.nowhere.pod.cluster.local", "lab").rcode == "NXDOMAIN"


def test_ptr_for_a_cluster_ip(state: ClusterState) -> None:
    ip = state.service("lab", "backend").cluster_ip
    rev = ".".join(reversed(ip.split("."))) + ".in-addr.arpa"
    assert resolve(state, rev + ".", "lab", "PTR").records[0].value == "backend.lab.svc.cluster.local"


def test_system_names(state: ClusterState) -> None:
    assert resolve(state, "kubernetes.default", "lab").addresses == ["10.96.0.1"]
    assert resolve(state, "kube-dns.kube-system", "lab").addresses == ["10.96.0.10"]


def test_dns_itself_is_traffic_that_policy_can_drop(state: ClusterState) -> None:
    from test_model_kit import netpol

    from grader.model.dns import lookup
    client = state.find_pods("app=client", "lab")[0]
    assert lookup(state, "backend", client).ok
    state.apply([netpol("no-egress", {"app": "client"}, policyTypes=["Egress"])], "lab")
    assert lookup(state, "backend", client).rcode == "TIMEOUT"
    other = state.find_pods("app=backend", "lab")[0]
    assert lookup(state, "backend", other).ok                  # only the isolated pod loses DNS
    state.delete("netpol", "no-egress", "lab")
    state.apply([netpol("coredns-closed", {"k8s-app": "kube-dns"}, policyTypes=["Ingress"])], "kube-system")
    assert lookup(state, "backend", client).rcode == "TIMEOUT"
