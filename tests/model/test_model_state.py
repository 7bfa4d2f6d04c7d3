"""ClusterState: a fresh cluster looks like a new kind cluster, apply is idempotent and all
or nothing, workloads become pods the way their controllers name them."""
from __future__ import annotations

import ipaddress

import pytest
from test_model_kit import deployment, pod, service, statefulset

from grader.model.ipam import NAME_ALPHABET
from grader.model.state import ApplyError, ClusterState, NotFound


@pytest.fixture()
def state() -> ClusterState:
    s = ClusterState()
    s.create_namespace("lab")
    return s


def test_fresh_cluster_has_the_kind_defaults() -> None:
    s = ClusterState()
    assert {"default", "kube-system"} <= set(s.namespaces)
    for name, info in s.namespaces.items():
        assert info.labels["kubernetes.io/metadata.name"] == name
    k8s = s.service("default", "kubernetes")
    assert k8s.cluster_ip == "10.96.0.1"
    assert [(p.name, p.port, p.target_port) for p in k8s.ports] == [("https", 443, 6443)]
    dns = s.service("kube-system", "kube-dns")
    assert dns.cluster_ip == "10.96.0.10"
    assert {(p.name, p.port, p.protocol) for p in dns.ports} == {
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")}
    coredns = [p for p in s.pods if p.labels.get("k8s-app") == "kube-dns"]
    assert coredns and all(p.namespace == "kube-system" for p in coredns)
    assert all(p.listens(53, "UDP") and p.listens(53, "TCP") for p in coredns)


def test_namespaces_get_the_metadata_name_label(state: ClusterState) -> None:
    state.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team", "labels": {"env": "dev"}}}])
    assert state.namespaces["team"].labels == {"env": "dev", "kubernetes.io/metadata.name": "team"}


def test_apply_reports_created_unchanged_configured(state: ClusterState) -> None:
    objs = [deployment("web", {"app": "web"}), service("web", {"app": "web"})]
    # dependency order (Services before workloads), as the live backend applies them
    assert state.apply(objs, "lab") == ["service/web created", "deployment.apps/web created"]
    assert state.apply(objs, "lab") == ["service/web unchanged", "deployment.apps/web unchanged"]
    objs[1]["spec"]["ports"][0]["port"] = 81
    assert state.apply(objs, "lab") == ["service/web configured", "deployment.apps/web unchanged"]


def test_apply_into_a_missing_namespace_is_refused(state: ClusterState) -> None:
    with pytest.raises(ApplyError, match='namespaces "nope" not found'):
        state.apply([service("x", {"app": "x"})], "nope")


def test_deployment_pods_are_named_like_the_controller_and_stable() -> None:
    a, b = ClusterState(), ClusterState()
    for s in (a, b):
        s.apply([deployment("web", {"app": "web"}, replicas=3)])
    names = [p.name for p in a.pods_in("default")]
    assert names == [p.name for p in b.pods_in("default")]          # reruns give the same names
    assert [p.ip for p in a.pods_in("default")] == [p.ip for p in b.pods_in("default")]
    assert len(names) == 3 and len(set(names)) == 3
    for n in names:
        prefix, template_hash, suffix = n.rsplit("-", 2)
        assert prefix == "web" and len(template_hash) == 10 and len(suffix) == 5
        assert set(template_hash + suffix) <= set(NAME_ALPHABET)
    assert all(p.labels["pod-template-hash"] == names[0].split("-")[1] for p in a.pods_in("default"))
    assert all(p.owner == "Deployment/web" for p in a.pods_in("default"))


def test_scaling_keeps_existing_pods_and_a_template_change_rolls_them(state: ClusterState) -> None:
    state.apply([deployment("web", {"app": "web"}, replicas=2)], "lab")
    before = {p.name: p.ip for p in state.pods_in("lab")}
    state.apply([deployment("web", {"app": "web"}, replicas=4)], "lab")
    after = {p.name: p.ip for p in state.pods_in("lab")}
    assert len(after) == 4 and all(after[n] == ip for n, ip in before.items())
    v2 = deployment("web", {"app": "web"}, replicas=4)     # the selector is immutable; the template is not
    v2["spec"]["template"]["metadata"]["labels"]["version"] = "2"
    state.apply([v2], "lab")
    rolled = {p.name for p in state.pods_in("lab")}
    assert len(rolled) == 4 and not rolled & set(after)
    v2["spec"]["replicas"] = 1
    state.apply([v2], "lab")
    assert len(state.pods_in("lab")) == 1


def test_pod_ips_are_unique_and_in_the_pod_cidr(state: ClusterState) -> None:
    state.apply([deployment("a", {"app": "a"}, replicas=20), deployment("b", {"app": "b"}, replicas=20)], "lab")
    ips = [p.ip for p in state.pods]
    assert len(set(ips)) == len(ips)
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.244.0.0/16") for ip in ips)


def test_statefulset_pods_are_ordinal_with_hostname_and_subdomain(state: ClusterState) -> None:
    state.apply([statefulset("db", {"app": "db"}, "db-hl", replicas=3)], "lab")
    pods = state.pods_in("lab")
    assert [p.name for p in pods] == ["db-0", "db-1", "db-2"]
    assert all(p.hostname == p.name and p.subdomain == "db-hl" for p in pods)
    assert pods[1].labels["statefulset.kubernetes.io/pod-name"] == "db-1"


def test_bare_pod_keeps_its_name_hostname_and_subdomain(state: ClusterState) -> None:
    state.apply([pod("solo", {"app": "solo"}, hostname="box", subdomain="grp")], "lab")
    (p,) = state.pods_in("lab")
    assert (p.name, p.hostname, p.subdomain, p.owner) == ("solo", "box", "grp", None)


def test_label_change_reevaluates_selection(state: ClusterState) -> None:
    state.apply([pod("p", {"app": "old"}), service("svc", {"app": "new"})], "lab")
    assert state.endpoints("lab", "svc") == []
    state.apply([pod("p", {"app": "new"})], "lab")
    assert [e.pod for e in state.endpoints("lab", "svc")] == ["lab/p"]


def test_deleting_a_deployment_deletes_its_pods(state: ClusterState) -> None:
    state.apply([deployment("web", {"app": "web"}, replicas=2), pod("keep", {"app": "x"})], "lab")
    state.delete("deployment", "web", "lab")
    assert [p.name for p in state.pods_in("lab")] == ["keep"]
    with pytest.raises(NotFound, match='deployments.apps "web" not found'):
        state.delete("deploy", "web", "lab")


def test_deleting_a_namespace_removes_everything_in_it(state: ClusterState) -> None:
    state.apply([deployment("web", {"app": "web"}), service("web", {"app": "web"})], "lab")
    state.delete_namespace("lab")
    assert "lab" not in state.namespaces
    assert not state.pods_in("lab") and state.service("lab", "web") is None
    with pytest.raises(ApplyError, match="may not be deleted"):
        state.delete_namespace("kube-system")


def test_set_ready_by_selector_and_new_pods_start_ready(state: ClusterState) -> None:
    state.apply([deployment("web", {"app": "web"}, replicas=2)], "lab")
    changed = state.set_ready("app=web", False, namespace="lab")
    assert len(changed) == 2 and not any(p.ready for p in state.pods_in("lab"))
    state.apply([deployment("web", {"app": "web"}, replicas=3)], "lab")
    assert sorted(p.ready for p in state.pods_in("lab")) == [False, False, True]
    with pytest.raises(NotFound, match="no pod matches"):
        state.set_ready("app=nothing", True, namespace="lab")


def test_policies_are_listed_with_their_namespace(state: ClusterState) -> None:
    np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny"},
          "spec": {"podSelector": {}}}
    state.apply([np], "lab")
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in state.policies] == [("lab", "deny")]


def test_from_objects_creates_namespaces_with_their_labels() -> None:
    s = ClusterState.from_objects([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "prod", "labels": {"team": "a"}}},
        {**service("api", {"app": "api"}), "metadata": {"name": "api", "namespace": "prod"}},
        {**pod("p", {"app": "api"}), "metadata": {"name": "p", "namespace": "other", "labels": {"app": "x"}}},
    ])
    assert s.namespaces["prod"].labels["team"] == "a"
    assert "other" in s.namespaces and s.service("prod", "api") is not None


def test_failed_apply_changes_nothing(state: ClusterState) -> None:
    state.apply([service("a", {"app": "a"}, type="NodePort",
                         ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}])], "lab")
    before = (list(state.pods), list(state.services))
    with pytest.raises(ApplyError):
        state.apply([deployment("new", {"app": "new"}),
                     service("b", {"app": "b"}, type="NodePort",
                             ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}])], "lab")
    assert (list(state.pods), list(state.services)) == before
    assert state.get("Deployment", "new", "lab") is None


def test_the_store_and_its_callers_never_share_a_part(state: ClusterState) -> None:
    """apply copies what it is given and every read hands out a copy (grader.model.objects'
    copy_object instead of copy.deepcopy): changing either side changes nothing in the other."""
    np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web"},
          "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}}
    state.apply([np], "lab")
    np["spec"]["podSelector"]["matchLabels"]["app"] = "changed"
    np["spec"]["policyTypes"].append("Egress")
    for read in (state.get("NetworkPolicy", "web", "lab"), state.objects("NetworkPolicy")[0], state.policies[0]):
        assert read is not None
        assert read["spec"] == {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}
        read["spec"]["podSelector"]["matchLabels"]["app"] = "mutated"
        read["spec"]["policyTypes"].clear()
    assert state.get("NetworkPolicy", "web", "lab")["spec"]["policyTypes"] == ["Ingress"]  # type: ignore[index]


def test_copy_object_deep_copies_what_is_not_plain_data() -> None:
    from collections import OrderedDict

    from grader.model.objects import copy_object

    inner = OrderedDict(a=[1, 2])
    obj = {"kind": "ConfigMap", "data": inner, "pair": (["x"], 1), "n": 1.5, "ok": True, "none": None}
    copied = copy_object(obj)
    assert copied == obj
    assert type(copied["data"]) is OrderedDict and copied["data"] is not inner
    assert copied["data"]["a"] is not inner["a"] and copied["pair"][0] is not obj["pair"][0]


def test_a_refused_from_objects_gives_no_state_and_its_error_names_the_object() -> None:
    clash = [{"port": 80, "targetPort": 8080, "nodePort": 30080}]
    with pytest.raises(ApplyError) as err:
        ClusterState.from_objects([service("a", {"app": "a"}, type="NodePort", ports=clash),
                                   service("b", {"app": "b"}, type="NodePort", ports=clash)])
    assert (err.value.kind, err.value.name) == ("Service", "b")


def test_endpoint_choice_is_seeded_as_before_and_made_on_first_use() -> None:
    import random

    s = ClusterState(seed=7)
    assert s._rng is None                       # nothing random has been asked for yet
    expected = random.Random(7)
    assert [s.rng.random() for _ in range(3)] == [expected.random() for _ in range(3)]
    assert s.rng is s.rng


def test_names_and_addresses_hash_with_sha256_as_before() -> None:
    """grader.model.ipam takes CPython's own SHA-256 rather than OpenSSL's (start-up): the
    digests, hence every generated name and address, are the same."""
    import hashlib

    from grader.model.ipam import safe_encode, stable_int

    assert stable_int("Service", "lab/web") == int.from_bytes(
        hashlib.sha256("Service\x00lab/web".encode()).digest()[:8], "big")
    n = int.from_bytes(hashlib.sha256("pod-suffix\x01web\x010".encode()).digest(), "big")
    expected = ""
    for _ in range(5):
        n, r = divmod(n, len(NAME_ALPHABET))
        expected += NAME_ALPHABET[r]
    assert safe_encode("pod-suffix", "web", "0", length=5) == expected
