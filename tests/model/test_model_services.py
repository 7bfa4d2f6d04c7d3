"""Service defaulting and allocation, with the API server's refusals."""
from __future__ import annotations

import ipaddress

import pytest
from test_model_kit import service

from grader.model.objects import ContainerPort, Pod
from grader.model.services import (
    KIND_HOST_PORTS,
    LB_POOL,
    NODE_PORT_RANGE,
    SERVICE_CIDR,
    ServicePort,
    resolve_target_port,
)
from grader.model.state import ApplyError, ClusterState


@pytest.fixture()
def state() -> ClusterState:
    s = ClusterState()
    s.create_namespace("lab")
    return s


def test_defaults_protocol_tcp_target_port_equals_port_type_clusterip(state: ClusterState) -> None:
    state.apply([service("s", {"app": "s"}, ports=[{"port": 8080}])], "lab")
    svc = state.service("lab", "s")
    assert svc.type == "ClusterIP"
    assert (svc.ports[0].protocol, svc.ports[0].target_port) == ("TCP", 8080)
    assert ipaddress.ip_address(svc.cluster_ip) in ipaddress.ip_network(SERVICE_CIDR)


def test_cluster_ips_are_unique_deterministic_and_kept_on_reapply(state: ClusterState) -> None:
    objs = [service(f"s{i}", {"app": "s"}) for i in range(30)]
    state.apply(objs, "lab")
    ips = [state.service("lab", f"s{i}").cluster_ip for i in range(30)]
    assert len(set(ips)) == 30
    state.apply(objs, "lab")
    assert ips == [state.service("lab", f"s{i}").cluster_ip for i in range(30)]
    other = ClusterState()
    other.create_namespace("lab")
    other.apply(objs, "lab")
    assert ips == [other.service("lab", f"s{i}").cluster_ip for i in range(30)]


def test_fixed_cluster_ip_is_honoured_and_a_duplicate_refused(state: ClusterState) -> None:
    state.apply([service("a", {"app": "a"}, clusterIP="10.96.5.5")], "lab")
    assert state.service("lab", "a").cluster_ip == "10.96.5.5"
    with pytest.raises(ApplyError, match="provided IP is already allocated"):
        state.apply([service("b", {"app": "b"}, clusterIP="10.96.5.5")], "lab")
    with pytest.raises(ApplyError, match="not in the valid range"):
        state.apply([service("c", {"app": "c"}, clusterIP="192.168.1.1")], "lab")
    with pytest.raises(ApplyError, match="may not change once set"):
        state.apply([service("a", {"app": "a"}, clusterIP="10.96.5.6")], "lab")


def test_headless_has_no_cluster_ip(state: ClusterState) -> None:
    state.apply([service("h", {"app": "h"}, clusterIP="None")], "lab")
    svc = state.service("lab", "h")
    assert svc.headless and svc.cluster_ip is None


def test_node_port_auto_allocated_in_range_and_fixed_one_honoured(state: ClusterState) -> None:
    state.apply([service("auto", {"app": "a"}, type="NodePort"),
                 service("fixed", {"app": "a"}, type="NodePort",
                         ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}])], "lab")
    auto = state.service("lab", "auto").ports[0].node_port
    assert NODE_PORT_RANGE[0] <= auto <= NODE_PORT_RANGE[1]
    assert state.service("lab", "fixed").ports[0].node_port == 30080
    state.apply([service("auto", {"app": "a"}, type="NodePort")], "lab")
    assert state.service("lab", "auto").ports[0].node_port == auto     # kept on re-apply


def test_duplicate_node_port_uses_the_api_server_wording(state: ClusterState) -> None:
    state.apply([service("first", {"app": "a"}, type="NodePort",
                         ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}])], "lab")
    with pytest.raises(ApplyError) as err:
        state.apply([service("x", {"app": "a"}, type="NodePort",
                             ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}])], "lab")
    assert str(err.value) == ('Service "x" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                              "provided port is already allocated")
    assert state.service("lab", "x") is None


def test_node_port_out_of_range_is_refused(state: ClusterState) -> None:
    with pytest.raises(ApplyError, match="The range of valid ports is 30000-32767"):
        state.apply([service("x", {"app": "a"}, type="NodePort",
                             ports=[{"port": 80, "nodePort": 8080}])], "lab")


def test_deleting_a_service_frees_its_node_port(state: ClusterState) -> None:
    fixed = service("a", {"app": "a"}, type="NodePort", ports=[{"port": 80, "nodePort": 30081}])
    state.apply([fixed], "lab")
    state.delete("svc", "a", "lab")
    state.apply([service("b", {"app": "a"}, type="NodePort", ports=[{"port": 80, "nodePort": 30081}])], "lab")
    assert state.service("lab", "b").ports[0].node_port == 30081


def test_switching_to_clusterip_releases_node_ports(state: ClusterState) -> None:
    state.apply([service("a", {"app": "a"}, type="NodePort", ports=[{"port": 80, "nodePort": 30082}])], "lab")
    state.apply([service("a", {"app": "a"}, ports=[{"port": 80}])], "lab")
    assert state.service("lab", "a").ports[0].node_port is None
    state.apply([service("b", {"app": "a"}, type="NodePort", ports=[{"port": 80, "nodePort": 30082}])], "lab")


def test_load_balancer_gets_a_node_port_and_an_external_ip_from_the_pool(state: ClusterState) -> None:
    state.apply([service("lb1", {"app": "a"}, type="LoadBalancer"),
                 service("lb2", {"app": "a"}, type="LoadBalancer")], "lab")
    lo, hi = (int(ipaddress.ip_address(x)) for x in LB_POOL)
    ips = []
    for name in ("lb1", "lb2"):
        svc = state.service("lab", name)
        assert svc.ports[0].node_port is not None and svc.cluster_ip is not None
        assert lo <= int(ipaddress.ip_address(svc.load_balancer_ip)) <= hi
        ips.append(svc.load_balancer_ip)
    assert ips[0] != ips[1]


def test_external_name_has_no_cluster_ip(state: ClusterState) -> None:
    state.apply([service("ext", None, ports=[], type="ExternalName", externalName="db.example.com")], "lab")
    svc = state.service("lab", "ext")
    assert svc.cluster_ip is None and svc.external_name == "db.example.com"
    assert state.endpoints("lab", "ext") == []


def test_named_target_port_resolves_per_pod_and_protocol() -> None:
    sp = ServicePort(port=80, name="web", target_port="http")
    a = Pod("lab", "a", "10.244.0.2", ports=(ContainerPort(8080, "TCP", "http"),))
    b = Pod("lab", "b", "10.244.0.3", ports=(ContainerPort(9090, "TCP", "http"),))
    c = Pod("lab", "c", "10.244.0.4", ports=(ContainerPort(8080, "UDP", "http"),))
    assert [resolve_target_port(sp, p) for p in (a, b, c)] == [8080, 9090, None]


def test_kind_host_ports_are_the_course_range() -> None:
    assert KIND_HOST_PORTS == tuple(range(30080, 30090))


def test_kind_host_ports_match_the_kind_config_module() -> None:
    kind = pytest.importorskip("grader.kind")
    assert KIND_HOST_PORTS == tuple(kind.COURSE_NODEPORTS)
