"""Offline and live must read the same input the same way (probe targets, label
selectors, which pod `frm` picks, port-less headless endpoints), and pods must live and
die as on a real node (replacements after delete, kubelet's maxPods, bookkeeping)."""
from __future__ import annotations

import pytest
from test_model_kit import client_and_backend, deployment, service

from grader.cluster import base
from grader.cluster import exec_parsing as xp
from grader.cluster.base import Status
from grader.cluster.offline import OfflineCluster
from grader.model import connectivity
from grader.model.state import ClusterState


# ------------------------------------------------------------------ probe targets
@pytest.mark.parametrize("text, expected", [
    ("backend:80", ("backend", 80, None)),
    ("backend:80/hostname", ("backend", 80, "/hostname")),
    ("http://backend:80/hostname", ("backend", 80, "/hostname")),
    ("HTTP://backend:8080/echo?msg=hi", ("backend", 8080, "/echo?msg=hi")),
    ("http://backend", ("backend", 80, "/")),
    ("backend/hostname", ("backend", 80, "/hostname")),
    ("[fd00::1]:80", ("fd00::1", 80, None)),
    ("[fd00::1]:80/x", ("fd00::1", 80, "/x")),
    ("10.96.0.5:65535", ("10.96.0.5", 65535, None)),
])
def test_both_backends_parse_targets_alike(text: str, expected: tuple) -> None:
    assert base.parse_target(text) == expected
    assert connectivity.parse_target(text) == expected
    t = xp.parse_target(text)
    assert (t.host, t.port, t.path) == expected


@pytest.mark.parametrize("bad", ["backend", "backend:", "backend:70000", "backend:0", ":80",
                                 "backend:http", "https://backend:443/", "[backend]:80",
                                 "fd00::1:80", "[fd00::1]80"])
def test_both_backends_refuse_the_same_targets(bad: str) -> None:
    for parse in (base.parse_target, connectivity.parse_target, xp.parse_target):
        with pytest.raises(ValueError, match="probe target"):
            parse(bad)


def test_out_of_range_port_names_the_target() -> None:
    with pytest.raises(ValueError, match=r"'backend:70000'.*1-65535"):
        base.parse_target("backend:70000")


def test_is_ip_covers_both_families() -> None:
    assert base.is_ip("10.0.0.1") and base.is_ip("fd00::1")
    assert not base.is_ip("backend") and not base.is_ip("[fd00::1]") and not base.is_ip("")
    assert xp.is_ip is base.is_ip


@pytest.fixture()
def lab() -> ClusterState:
    return client_and_backend()


def test_offline_probe_to_an_unknown_address_times_out(lab: ClusterState) -> None:
    client = lab.find_pods("app=client", "lab")[0]
    for target in ("1.2.3.4:80", "[fd00::1]:80"):
        out = connectivity.probe(lab, client, target)
        assert out.status is Status.TIMEOUT and "nothing in the (offline) cluster" in out.reason


def test_offline_http_url_probe(lab: ClusterState) -> None:
    client = lab.find_pods("app=client", "lab")[0]
    out = connectivity.probe(lab, client, "http://backend:80/hostname")
    assert out.ok and out.body and out.pod == f"lab/{out.body}"


# ------------------------------------------------------------------ one selector parser
from grader.k8s.selectors import SelectorError, is_selector, parse_selector  # noqa: E402


@pytest.mark.parametrize("text, labels, expected", [
    ("app=notinuse", {"app": "notinuse"}, True),
    ("app=notinuse", {"app": "web"}, False),
    ("winter=in", {"winter": "in"}, True),
    ("app==web", {"app": "web"}, True),
    ("app!=web", {}, True),
    ("app in (web, api),!canary", {"app": "api"}, True),
    ("app notin (web,api)", {"app": "db"}, True),
    ("app notin (web,api)", {"app": "web"}, False),
    ("tier", {"tier": "x"}, True),
    ("!tier", {"tier": "x"}, False),
])
def test_kubectl_selector_syntax(text: str, labels: dict, expected: bool) -> None:
    assert parse_selector(text).matches(labels) is expected


@pytest.mark.parametrize("bad", ["=web", "app in (web", "a b", "!a=b", "a=(x)"])
def test_malformed_selectors_are_refused(bad: str) -> None:
    with pytest.raises(SelectorError):
        parse_selector(bad)


@pytest.mark.parametrize("text, expected", [
    ("app=web", True), ("!canary", True), ("tier in (a,b)", True), ("a=b,c", True),
    ("app!=db", True), ("backend-7d9f-abcde", False), ("lab/backend-0", False), ("web", False),
])
def test_is_selector(text: str, expected: bool) -> None:
    assert is_selector(text) is expected


def test_find_pods_takes_set_based_selectors(lab: ClusterState) -> None:
    names = {p.labels["app"] for p in lab.find_pods("app in (client,backend)", "lab")}
    assert names == {"client", "backend"}
    assert {p.labels["app"] for p in lab.find_pods("app notin (backend)", "lab")} == {"client"}
    assert len(lab.find_pods("!app", "lab")) == 0


from tests.fakes.kube_client import NS, World  # noqa: E402
from tests.fakes.kube_client import pod as live_pod  # noqa: E402


def test_live_frm_reads_set_based_selectors_as_selectors() -> None:
    w = World()
    w.core.pods = [live_pod("front-a", "10.244.0.7", {"app": "front"})]
    with pytest.raises(LookupError, match="no Ready pod matches"):
        w.ns()._client_pod("app in (ghost)")      # a selector, not a pod name
    assert ("list_namespaced_pod", (NS,), {"label_selector": "app in (ghost)"}) in w.rec.calls
    with pytest.raises(SelectorError):
        w.ns()._client_pod("app in (front")


# ------------------------------------------------------------------ pods are mortal
def _backend_eps(ns):
    return sorted((e.pod, e.ip) for e in ns.endpoints("backend"))


@pytest.fixture()
def ns():
    n = OfflineCluster().namespace("lab")
    n.apply_objects([deployment("frontend", {"app": "frontend"}),
                     deployment("backend", {"app": "backend"}, replicas=3),
                     service("backend", {"app": "backend"})])
    return n


def test_deleting_a_deployment_pod_brings_a_replacement(ns) -> None:
    before = _backend_eps(ns)
    victim_key, victim_ip = before[0]
    victim = victim_key.split("/")[1]
    ns.delete("pod", victim)
    after = _backend_eps(ns)
    assert len(after) == len(before) == 3
    assert victim_key not in {k for k, _ in after} and victim_ip not in {ip for _, ip in after}
    new = sorted(set(after) - set(before))
    assert len(new) == 1
    new_name = new[0][0].split("/")[1]
    assert new_name.rsplit("-", 1)[0] == victim.rsplit("-", 1)[0] != new_name   # same ReplicaSet
    assert len(new_name.rsplit("-", 1)[1]) == 5
    assert set(before) - {(victim_key, victim_ip)} <= set(after)             # the others untouched
    out = ns.probe("backend:80/hostname", frm="app=frontend")
    assert out.ok
    # the replacement can be deleted too, and a fresh state does the same (deterministic)
    ns.delete("pod", new_name)
    assert len(_backend_eps(ns)) == 3 and new[0] not in _backend_eps(ns)
    other = OfflineCluster().namespace("lab")
    other.apply_objects([deployment("frontend", {"app": "frontend"}),
                         deployment("backend", {"app": "backend"}, replicas=3),
                         service("backend", {"app": "backend"})])
    other.delete("pod", victim)
    assert _backend_eps(other) == after


def test_deleting_a_statefulset_pod_keeps_its_name_not_its_ip() -> None:
    from test_model_kit import statefulset
    n = OfflineCluster().namespace("lab")
    n.apply_objects([statefulset("db", {"app": "db"}, "db", replicas=2),
                     service("db", {"app": "db"}, clusterIP="None")])
    before = {p.name: p.ip for p in n.pods()}
    n.delete("pod", "db-0")
    after = {p.name: p.ip for p in n.pods()}
    assert set(after) == {"db-0", "db-1"}
    assert after["db-0"] != before["db-0"] and after["db-1"] == before["db-1"]
    assert sorted(n.lookup("db-0.db", frm="db-1").addresses) == [after["db-0"]]


def test_deleting_a_bare_pod_deletes_it() -> None:
    from test_model_kit import pod
    n = OfflineCluster().namespace("lab")
    n.apply_objects([pod("solo", {"app": "solo"})])
    n.delete("pod", "solo")
    assert n.pods() == []
    from grader.model.state import NotFound
    with pytest.raises(NotFound):
        n.delete("pod", "solo")


# ------------------------------------------------------------------ kubelet's maxPods
def test_pods_beyond_max_pods_stay_pending() -> None:
    cluster = OfflineCluster()
    cluster.state.create_namespace("lab")             # no guardrails: the node is the limit here
    n = cluster.namespace("lab", fresh=False)
    n.apply_objects([deployment("client", {"app": "client"}),
                     deployment("web", {"app": "web"}, replicas=300),
                     service("web", {"app": "web"})])
    state = n.state
    running = [p for p in state.pods if p.ip]
    assert len(running) == state.max_pods == 110
    client = state.find_pods("app=client", "lab")[0]
    assert client.ip                                       # existing pods come first (by name here)
    pending = [p for p in state.pods_in("lab") if not p.ip]
    assert pending and all(p.pending and not p.ready and "Too many pods" in p.pending_reason
                           for p in pending)
    eps = n.endpoints("web")
    assert {e.ip for e in eps} == {p.ip for p in state.pods_in("lab") if p.ip and p.labels["app"] == "web"}
    assert "" not in {e.ip for e in eps}
    assert n.probe("web:80/hostname", frm="app=client").ok
    with pytest.raises(TimeoutError, match=r"0/1 nodes are available: 1 Too many pods") as err:
        n.wait_ready()
    assert f"pod/{pending[0].name}" in str(err.value)
    with pytest.raises(LookupError, match="Pending"):
        n.probe("web:80", frm=pending[0].name)
    assert all(p.ip for p in n.matrix().pods)
    # a running pod keeps its IP when more pods queue up; scaling down lets Pending ones run
    ips = {p.key: p.ip for p in running}
    n.apply_objects([deployment("more", {"app": "more"}, replicas=5)])
    assert {p.key: p.ip for p in state.pods if p.ip} == ips
    n.apply_objects([deployment("web", {"app": "web"}, replicas=10)])
    assert all(p.ip for p in state.pods) and len(state.pods) == 2 + 1 + 10 + 5
    n.wait_ready()


def test_pending_pods_do_not_resolve_nor_match_the_empty_ip() -> None:
    s = ClusterState(max_pods=3)                           # coredns x2 + one more
    s.create_namespace("lab")
    s.apply([deployment("web", {"app": "web"}, replicas=2), service("web", {"app": "web"}, clusterIP="None")], "lab")
    assert sorted(bool(p.ip) for p in s.pods_in("lab")) == [False, True]
    assert s.pod_by_ip("") is None
    from grader.model import dns
    running = next(p for p in s.pods_in("lab") if p.ip)
    assert dns.lookup(s, "web", running, "A").addresses == [running.ip]


# ------------------------------------------------------------------ frm prefers Ready
def test_offline_frm_prefers_the_first_ready_pod(ns) -> None:
    first, second = sorted(p.name for p in ns.state.pods_in("lab") if p.labels["app"] == "backend")[:2]
    ns.set_ready(first, False)
    assert ns.pod("app=backend").name == second
    ns.set_ready("app=backend", False)
    assert ns.pod("app=backend").name == first            # none Ready: the first match


# ------------------------------------------------------------------ port-less headless Services
def test_portless_headless_service_has_endpoints_offline() -> None:
    n = OfflineCluster().namespace("lab")
    n.apply_objects([deployment("web", {"app": "web"}, replicas=2),
                     service("hl", {"app": "web"}, ports=[], clusterIP="None")])
    ips = sorted((p.ip for p in n.pods()), key=base.ip_sort_key)
    eps = n.endpoints("hl")
    assert [(e.ip, e.port) for e in eps] == [(ip, 0) for ip in ips]
    assert all(e.pod and e.ready for e in eps)
    assert sorted(n.lookup("hl", frm=n.pods()[0].name).addresses, key=base.ip_sort_key) == ips
    assert n.get_endpoints("hl").splitlines()[1].split()[1] == ",".join(sorted(ips))
    n.set_ready(n.pods()[0].name, False)
    assert [e.ready for e in n.endpoints("hl")].count(False) == 1


def test_portless_headless_service_has_endpoints_live() -> None:
    w = World()
    w.core.services["hl"] = {"metadata": {"name": "hl"}, "spec": {"clusterIP": "None", "selector": {"app": "web"}}}
    w.discovery.slices["hl"] = [{"addressType": "IPv4", "endpoints": [
        {"addresses": ["10.244.0.9"], "conditions": {"ready": False},
         "targetRef": {"kind": "Pod", "name": "web-b", "namespace": NS}},
        {"addresses": ["10.244.0.10"], "conditions": {"ready": True},
         "targetRef": {"kind": "Pod", "name": "web-a", "namespace": NS}}]}]
    eps = w.ns().endpoints("hl")
    assert [(e.ip, e.port, e.pod, e.ready) for e in eps] == [
        ("10.244.0.9", 0, f"{NS}/web-b", False), ("10.244.0.10", 0, f"{NS}/web-a", True)]


def test_portless_slice_of_a_service_with_ports_is_no_endpoint_live() -> None:
    w = World()
    w.core.services["s"] = {"metadata": {"name": "s"}, "spec": {"ports": [{"name": "x", "port": 80}]}}
    w.discovery.slices["s"] = [{"addressType": "IPv4", "endpoints": [{"addresses": ["10.244.0.9"]}]}]
    assert w.ns().endpoints("s") == []


# ------------------------------------------------------------------ one IP sort key
def test_ip_sort_key_orders_numerically_then_ipv6_then_text() -> None:
    ips = ["10.244.0.12", "", "fd00::1", "10.244.0.3", "9.9.9.9"]
    assert sorted(ips, key=base.ip_sort_key) == ["9.9.9.9", "10.244.0.3", "10.244.0.12", "fd00::1", ""]


# ------------------------------------------------------------------ matrix reuses the engine
def test_offline_matrix_uses_the_state_engine(ns, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.model import matrix, netpol
    ns.state.policy_engine()                               # built and cached
    built = []
    real_init = netpol.PolicyEngine.__init__

    def counting(self, *a, **kw):
        built.append(1)
        real_init(self, *a, **kw)
    monkeypatch.setattr(netpol.PolicyEngine, "__init__", counting)
    m = ns.matrix()
    assert built == [] and len(m.pods) == 4
    assert isinstance(m, matrix.GroupedMatrix)


# ------------------------------------------------------------------ ClusterState bookkeeping
def test_unchanged_apply_keeps_the_generation(lab: ClusterState) -> None:
    objs = [deployment("client", {"app": "client"}), deployment("backend", {"app": "backend"}, replicas=3),
            service("backend", {"app": "backend"})]
    engine = lab.policy_engine()
    gen = lab.generation
    assert all(line.endswith("unchanged") for line in lab.apply(objs, "lab"))
    assert lab.create_namespace("lab") == "unchanged"
    assert lab.generation == gen and lab.policy_engine() is engine
    lab.apply([deployment("backend", {"app": "backend"}, replicas=2)], "lab")
    assert lab.generation == gen + 1 and lab.policy_engine() is not engine
    assert lab.create_namespace("lab", {"team": "a"}) == "configured" and lab.generation == gen + 2


def test_engine_cache_starts_empty() -> None:
    assert ClusterState()._engine_cache is None


def test_from_objects_uses_declared_namespace_labels() -> None:
    s = ClusterState.from_objects([
        deployment("w", {"app": "w"}) | {"metadata": {"name": "w", "namespace": "team"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "labels": {"env": "x"}}},
        deployment("v", {"app": "v"}) | {"metadata": {"name": "v", "namespace": "other"}},
    ])
    assert s.namespaces["team"].labels["env"] == "x"
    assert "other" in s.namespaces and len(s.pods_in("team")) == len(s.pods_in("other")) == 1


def test_a_fresh_namespace_replays_the_same_replacement_names() -> None:
    cluster = OfflineCluster()
    names = []
    for _ in range(2):
        n = cluster.namespace("lab")                       # fresh: deleted and made again
        n.apply_objects([deployment("backend", {"app": "backend"}, replicas=2)])
        n.delete("pod", n.pods()[0].name)
        names.append(sorted((p.name, p.ip) for p in n.pods()))
    assert names[0] == names[1]
