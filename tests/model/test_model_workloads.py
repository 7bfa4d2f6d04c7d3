"""What a container listens on, pod drafts from workloads, netexec's answers, allocators."""
from __future__ import annotations

import pytest
from test_model_kit import AGNHOST, deployment, statefulset

from grader.model.ipam import AllocationError, IntPool, IPPool, safe_encode
from grader.model.objects import Pod
from grader.model.server import OFFLINE_NOW, http_answer
from grader.model.workloads import container_servers, pods_for, template_hash


def test_netexec_listens_on_its_flags_not_on_declared_ports() -> None:
    c = {"image": AGNHOST, "args": ["netexec", "--http-port=9000"], "ports": [{"containerPort": 80}]}
    assert set(container_servers(c)) == {(9000, "TCP"), (8081, "UDP")}
    defaults = {"image": AGNHOST, "args": ["netexec"]}
    assert set(container_servers(defaults)) == {(8080, "TCP"), (8081, "UDP")}
    split_flag = {"image": AGNHOST, "args": ["netexec", "--http-port", "7000", "--udp-port=-1"]}
    assert set(container_servers(split_flag)) == {(7000, "TCP")}


def test_other_images_serve_their_declared_ports() -> None:
    c = {"image": "nginx:1.27", "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]}
    assert set(container_servers(c)) == {(80, "TCP"), (53, "UDP")}
    assert container_servers({"image": AGNHOST, "args": ["pause"]}) == {}


def serve_hostname(*flags: str) -> dict:
    return {"image": AGNHOST, "args": ["serve-hostname", *flags], "ports": [{"containerPort": 80}]}


def test_serve_hostname_listens_where_its_flags_say() -> None:
    """upstream serve_hostname.go: --http defaults to true, --port to 9376; raw --tcp/--udp only
    with --http=false (with HTTP on too it exits at start); declared ports open nothing."""
    assert container_servers(serve_hostname()) == {(9376, "TCP"): "serve-hostname"}
    assert container_servers(serve_hostname("--port=8080")) == {(8080, "TCP"): "serve-hostname"}
    assert set(container_servers(serve_hostname("--port", "7000", "--http"))) == {(7000, "TCP")}
    assert set(container_servers(serve_hostname("--http=false", "--udp"))) == {(9376, "UDP")}
    assert set(container_servers(serve_hostname("--http=0", "--tcp", "--udp"))) == {(9376, "TCP"), (9376, "UDP")}
    assert container_servers(serve_hostname("--udp")) == {}             # --http still true: exits
    assert container_servers(serve_hostname("--tcp=T")) == {}
    assert container_servers(serve_hostname("--http=no")) == {}         # not a Go bool: usage error
    assert container_servers(serve_hostname("--http=false")) == {}      # serves nothing, waits


def test_serve_hostname_answers_its_hostname_on_every_path() -> None:
    p = Pod("lab", "shop-5d8f7c9b4-x2x7q", "10.244.0.5")
    for path in ("/", "/api/items", "/hostname", "/clientip", "/healthz", "/echo?msg=hi"):
        assert http_answer(p, path, "10.244.0.9", 40000, server="serve-hostname") == "shop-5d8f7c9b4-x2x7q"
    named = Pod("lab", "db-0", "10.244.0.6", hostname="primary")
    assert http_answer(named, "/x", "x", 1, server="serve-hostname") == "primary"


def test_template_hash_changes_with_the_template_only() -> None:
    t1 = deployment("a", {"app": "a"})["spec"]["template"]
    t2 = deployment("b", {"app": "a"})["spec"]["template"]
    t3 = deployment("a", {"app": "a", "v": "2"})["spec"]["template"]
    assert template_hash(t1) == template_hash(t2) != template_hash(t3)
    assert len(template_hash(t1)) == 10


def test_zero_replicas_and_statefulset_labels() -> None:
    assert pods_for(deployment("a", {"app": "a"}, replicas=0), "lab") == []
    drafts = pods_for(statefulset("db", {"app": "db"}, "db"), "lab")
    assert [d.labels["apps.kubernetes.io/pod-index"] for d in drafts] == ["0", "1"]


def test_netexec_answers() -> None:
    p = Pod("lab", "web-1", "10.244.0.5")
    assert http_answer(p, "/hostname", "10.244.0.9", 40000) == "web-1"
    assert http_answer(p, "/clientip", "10.244.0.9", 40000) == "10.244.0.9:40000"
    assert http_answer(p, "/echo?msg=hi%20there", "x", 1) == "hi there"
    assert http_answer(p, "/healthz", "x", 1) == ""
    assert http_answer(p, "/", "x", 1) == OFFLINE_NOW
    named = Pod("lab", "db-0", "10.244.0.6", hostname="primary")
    assert http_answer(named, "/hostname", "x", 1) == "primary"


def test_int_pool_probes_on_collision_and_refuses_taken_values() -> None:
    pool = IntPool(1, 3)
    values = {pool.allocate(k) for k in "abc"}
    assert values == {1, 2, 3}
    with pytest.raises(AllocationError):
        pool.allocate("d")
    with pytest.raises(AllocationError, match="already allocated"):
        pool.reserve("e", pool.get("a"))
    freed = pool.get("a")
    pool.release("a")
    assert pool.reserve("e", freed) == freed and pool.by_value[freed] == "e"


def test_ip_pool_stays_inside_its_network() -> None:
    pool = IPPool("10.244.0.0/24", dynamic_offset=2)
    ips = {pool.allocate(str(i)) for i in range(100)}
    assert len(ips) == 100 and "10.244.0.0" not in ips and "10.244.0.1" not in ips
    assert safe_encode("x", length=5) == safe_encode("x", length=5) != safe_encode("y", length=5)


def test_a_workload_selector_cannot_change_but_its_template_can() -> None:
    from grader.model.state import ApplyError, ClusterState
    state = ClusterState()
    state.apply([deployment("api", {"app": "api"})], "default")
    relabelled = deployment("api", {"app": "api-server"})
    with pytest.raises(ApplyError, match=r'Deployment.apps "api" is invalid: spec.selector: .*field is immutable'):
        state.apply([relabelled], "default")
    assert [p.labels["app"] for p in state.pods_in("default")] == ["api"]     # nothing half-applied
    rolled = deployment("api", {"app": "api"})
    rolled["spec"]["template"]["metadata"]["labels"]["track"] = "stable"
    assert state.apply([rolled], "default") == ["deployment.apps/api configured"]
