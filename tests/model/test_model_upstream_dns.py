"""DNS answers pinned to upstream sources, not to the model's own output.

Sources (quoted per test):
- SPEC: kubernetes/dns docs/specification.md (Kubernetes DNS-Based Service Discovery).
- COREDNS: coredns/coredns plugin/kubernetes (parse.go parseRequest, kubernetes.go
  findServices/findPods/endpointHostname/DNSSchemaVersion, reverse.go serviceRecordForIP,
  object/endpoint.go) and plugin/backend_lookup.go (A/SRV/CNAME/TXT/PTR).
- DIG: BIND dig +search (dighost.c): the next search suffix is tried only after NXDOMAIN.
Expected values are derived from the scenario (pod IPs, allocated ClusterIPs, names).
"""
from __future__ import annotations

import pytest
from test_model_kit import deployment, pod, service, statefulset

from grader.k8s.dns_names import candidates
from grader.model.dns import resolve
from grader.model.state import ClusterState

Z = "cluster.local"


@pytest.fixture()
def state() -> ClusterState:
    s = ClusterState()
    s.create_namespace("lab")
    s.apply([deployment("web", {"app": "web"}, replicas=2),
             service("web", {"app": "web"}, ports=[{"name": "http", "port": 80, "targetPort": 8080},
                                                   {"port": 8443, "targetPort": 8080}]),
             statefulset("db", {"app": "db"}, "db", replicas=2),
             service("db", {"app": "db"}, clusterIP="None",
                     ports=[{"name": "pg", "port": 5432, "targetPort": 8080}]),
             service("hl-noports", {"app": "web"}, ports=[], clusterIP="None"),
             service("ext", None, ports=[], type="ExternalName", externalName="db.example.com"),
             service("dangling", None, ports=[], type="ExternalName", externalName=f"nosuch.lab.svc.{Z}"),
             service("ipname", None, ports=[], type="ExternalName", externalName="192.0.2.1")], "lab")
    return s


def ips(state: ClusterState, label: str) -> set[str]:
    return {p.ip for p in state.pods_in("lab") if p.labels.get("app") == label}


# --- SPEC 2.2: dns-version TXT (COREDNS DNSSchemaVersion = "1.1.0")
def test_dns_version_txt(state: ClusterState) -> None:
    ans = resolve(state, f"dns-version.{Z}.", "lab", "TXT")
    assert ans.rcode == "NOERROR" and [r.value for r in ans.records] == ['"1.1.0"']


# --- SPEC 2.3.1 A for a ClusterIP Service; AAAA on an IPv4 Service is NODATA (COREDNS AAAA
# filters the IPv4 item away and returns no error)
def test_cluster_ip_a_and_aaaa_nodata(state: ClusterState) -> None:
    ip = state.service("lab", "web").cluster_ip
    assert resolve(state, f"web.lab.svc.{Z}", "lab").addresses == [ip]
    aaaa = resolve(state, "web", "lab", "AAAA")
    assert (aaaa.rcode, aaaa.records, aaaa.name) == ("NOERROR", (), f"web.lab.svc.{Z}")


# --- SPEC 2.3.2 SRV for a named port, target the Service; COREDNS: a port-qualified A query
# answers the ClusterIP too (findServices matches port/protocol for every query type)
def test_cluster_ip_srv_and_port_qualified_a(state: ClusterState) -> None:
    ip = state.service("lab", "web").cluster_ip
    srv = resolve(state, f"_http._tcp.web.lab.svc.{Z}", "lab", "SRV")
    assert [r.value for r in srv.records] == [f"0 100 80 web.lab.svc.{Z}"]
    assert resolve(state, f"_http._tcp.web.lab.svc.{Z}", "lab", "A").addresses == [ip]
    assert resolve(state, f"_http._udp.web.lab.svc.{Z}", "lab", "SRV").rcode == "NXDOMAIN"
    # COREDNS stripUnderscore: the underscores are optional
    plain = resolve(state, f"http.tcp.web.lab.svc.{Z}", "lab", "SRV")
    assert [r.value for r in plain.records] == [r.value for r in srv.records]


# --- COREDNS: SRV on the bare Service name lists every port (named or not); weight is
# floor(100 / number of records) (backend_lookup.go SRV)
def test_bare_name_srv_lists_every_port(state: ClusterState) -> None:
    srv = resolve(state, f"web.lab.svc.{Z}", "lab", "SRV")
    assert sorted(r.value for r in srv.records) == [f"0 50 80 web.lab.svc.{Z}", f"0 50 8443 web.lab.svc.{Z}"]


# --- SPEC 2.3.3 PTR for a ClusterIP
def test_ptr_for_cluster_ip(state: ClusterState) -> None:
    a, b, c, d = state.service("lab", "web").cluster_ip.split(".")
    ans = resolve(state, f"{d}.{c}.{b}.{a}.in-addr.arpa.", "lab", "PTR")
    assert [r.value for r in ans.records] == [f"web.lab.svc.{Z}"]
    assert resolve(state, "10.0.96.10.in-addr.arpa.", "lab", "PTR").records[0].value == \
        f"kube-dns.kube-system.svc.{Z}"


# --- SPEC 2.4.1 headless A = ready endpoint IPs, per-hostname A; 2.4.2 SRV per endpoint with
# target <hostname>.<svc>; 2.4.3 PTR to <hostname>.<svc>
def test_headless_records(state: ClusterState) -> None:
    db0, db1 = state.pod("lab/db-0"), state.pod("lab/db-1")
    assert set(resolve(state, f"db.lab.svc.{Z}", "lab").addresses) == {db0.ip, db1.ip}
    assert resolve(state, f"db-1.db.lab.svc.{Z}", "lab").addresses == [db1.ip]
    srv = resolve(state, f"_pg._tcp.db.lab.svc.{Z}", "lab", "SRV")
    assert sorted(r.value for r in srv.records) == [
        f"0 50 8080 db-0.db.lab.svc.{Z}", f"0 50 8080 db-1.db.lab.svc.{Z}"]
    a, b, c, d = db1.ip.split(".")
    assert [r.value for r in resolve(state, f"{d}.{c}.{b}.{a}.in-addr.arpa.", "lab", "PTR").records] == [
        f"db-1.db.lab.svc.{Z}"]


def test_headless_without_ready_endpoints_is_nxdomain(state: ClusterState) -> None:
    # SPEC 2.4.1: "If there are no ready endpoints for the headless Service, the answer
    # should be NXDOMAIN."
    state.set_ready("app=db", False, namespace="lab")
    assert resolve(state, f"db.lab.svc.{Z}", "lab").rcode == "NXDOMAIN"
    assert resolve(state, f"db-0.db.lab.svc.{Z}", "lab").rcode == "NXDOMAIN"


def test_headless_without_ports_still_answers_a(state: ClusterState) -> None:
    # COREDNS object/endpoint.go: a slice without ports gets the sentinel port -1, so A works
    # and SRV (port -1 skipped) is empty
    assert set(resolve(state, f"hl-noports.lab.svc.{Z}", "lab").addresses) == ips(state, "web")
    srv = resolve(state, f"hl-noports.lab.svc.{Z}", "lab", "SRV")
    assert (srv.rcode, srv.records) == ("NOERROR", ())


def test_endpoint_names_without_hostname_are_dashed_ips_even_behind_a_cluster_ip(state: ClusterState) -> None:
    # COREDNS endpointHostname (dashed IP) and findServices: `r.endpoint != ""` takes the
    # endpoint branch for any Service, not only headless ones; PTR covers every Service's
    # ready endpoints (reverse.go serviceRecordForIP)
    p = sorted(ips(state, "web"))[0]
    name = f"{p.replace('.', '-')}.web.lab.svc.{Z}"
    assert resolve(state, name, "lab").addresses == [p]
    a, b, c, d = p.split(".")
    ptr = {r.value for r in resolve(state, f"{d}.{c}.{b}.{a}.in-addr.arpa.", "lab", "PTR").records}
    assert ptr == {name, f"{p.replace('.', '-')}.hl-noports.lab.svc.{Z}"}


def test_pod_hostname_and_subdomain(state: ClusterState) -> None:
    # kubernetes.io "DNS for Services and Pods": hostname+subdomain gives
    # <hostname>.<subdomain>.<ns>.svc only when a Service named like the subdomain selects it
    state.apply([pod("solo", {"app": "solo"}, hostname="box", subdomain="grp")], "lab")
    assert resolve(state, f"box.grp.lab.svc.{Z}", "lab").rcode == "NXDOMAIN"
    state.apply([service("grp", {"app": "solo"}, clusterIP="None")], "lab")
    assert resolve(state, f"box.grp.lab.svc.{Z}", "lab").addresses == [state.pod("lab/solo").ip]


# --- SPEC 2.5 ExternalName CNAME; COREDNS A(): an in-zone target that does not resolve drops
# the CNAME (NODATA); SRV on it is NODATA; an IP externalName is not a CNAME (NXDOMAIN)
def test_external_name(state: ClusterState) -> None:
    ans = resolve(state, f"ext.lab.svc.{Z}", "lab", "CNAME")
    assert [(r.rtype, r.value) for r in ans.records] == [("CNAME", "db.example.com")]
    dangling = resolve(state, f"dangling.lab.svc.{Z}", "lab")
    assert (dangling.rcode, dangling.records) == ("NOERROR", ())
    srv = resolve(state, f"ext.lab.svc.{Z}", "lab", "SRV")
    assert (srv.rcode, srv.records) == ("NOERROR", ())
    assert resolve(state, f"_http._tcp.ext.lab.svc.{Z}", "lab", "SRV").rcode == "NXDOMAIN"
    assert resolve(state, f"ipname.lab.svc.{Z}", "lab").rcode == "NXDOMAIN"


# --- SPEC 2.6 / COREDNS findPods (pods insecure)
def test_pod_records(state: ClusterState) -> None:
    assert resolve(state, f"10-244-0-99.lab.pod.{Z}", "lab").addresses == ["10.244.0.99"]
    assert resolve(state, f"10-244-0-99.nowhere.pod.{Z}", "lab").rcode == "NXDOMAIN"
    assert resolve(state, f"not-an-ip.lab.pod.{Z}", "lab").rcode == "NXDOMAIN"
    empty = resolve(state, f"lab.pod.{Z}", "lab")                # NODATA: namespace exists
    assert (empty.rcode, empty.records) == ("NOERROR", ())


# --- COREDNS parseRequest: apex and namespace names exist without records; a label other
# than svc/pod or too many labels is NXDOMAIN
@pytest.mark.parametrize("name,rcode", [
    (f"{Z}.", "NOERROR"), (f"svc.{Z}.", "NOERROR"), (f"lab.svc.{Z}.", "NOERROR"),
    (f"nowhere.svc.{Z}.", "NXDOMAIN"), (f"web.lab.foo.{Z}.", "NXDOMAIN"),
    (f"a.b.c.web.lab.svc.{Z}.", "NXDOMAIN"), (f"nosuch.lab.svc.{Z}.", "NXDOMAIN"),
])
def test_name_existence(state: ClusterState, name: str, rcode: str) -> None:
    ans = resolve(state, name, "lab")
    assert ans.rcode == rcode and ans.records == ()


def test_txt_on_a_service_is_nodata(state: ClusterState) -> None:
    # COREDNS Services(TXT): an existing record of another type -> empty NOERROR
    ans = resolve(state, f"web.lab.svc.{Z}", "lab", "TXT")
    assert (ans.rcode, ans.records) == ("NOERROR", ())
    assert resolve(state, f"nosuch.lab.svc.{Z}", "lab", "TXT").rcode == "NXDOMAIN"


# --- SPEC 2.1: comparisons are case-insensitive; COREDNS answers with the question's case
def test_case_insensitive_and_answer_keeps_case(state: ClusterState) -> None:
    ip = state.service("lab", "web").cluster_ip
    ans = resolve(state, "WEB.Lab", "lab")
    assert ans.addresses == [ip]
    assert ans.name == f"WEB.Lab.svc.{Z}" and ans.records[0].name == f"WEB.Lab.svc.{Z}"


# --- DIG +search: candidates, ndots:5, absolute names, stop at the first non-NXDOMAIN
def test_search_order_and_ndots(state: ClusterState) -> None:
    assert candidates("web", "lab") == [f"web.lab.svc.{Z}", f"web.svc.{Z}", f"web.{Z}", "web"]
    assert candidates("a.b.c.d.e", "lab")[0] == f"a.b.c.d.e.lab.svc.{Z}"   # 4 dots < ndots
    assert candidates("a.b.c.d.e.f", "lab")[0] == "a.b.c.d.e.f"               # 5 dots: as given first
    assert candidates("a.b.c.d.e.f", "lab")[1:] == [f"a.b.c.d.e.f.{s}" for s in
                                                    (f"lab.svc.{Z}", f"svc.{Z}", Z)]
    assert candidates(f"web.lab.svc.{Z}.", "lab") == [f"web.lab.svc.{Z}"]


def test_dig_stops_at_the_first_answer_that_is_not_nxdomain(state: ClusterState) -> None:
    # "lab" from namespace lab: lab.lab.svc -> NXDOMAIN, lab.svc.cluster.local -> NODATA (the
    # namespace exists): dig prints that NOERROR answer and stops
    ans = resolve(state, "lab", "lab")
    assert (ans.rcode, ans.name, ans.records) == ("NOERROR", f"lab.svc.{Z}", ())
    # 5+ dots: asked as given first; a public name that the (absent) upstream cannot answer
    # is SERVFAIL and dig stops there
    assert resolve(state, "a.b.c.d.example.com", "lab").rcode == "SERVFAIL"
