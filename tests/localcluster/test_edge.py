"""LoadBalancer, Ingress and Gateway on the local cluster: the classes, the address pool and
the publisher's choice of nodes agree with the course (and with the offline model)."""
from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Iterator

import pytest

from grader.cluster.base import Status
from grader.cluster.live import LiveCluster
from grader.kind import LOCAL_CONTEXT, loopback_alias
from grader.localcluster import edge, publish
from grader.model.bootstrap import builtin_objects
from grader.model.services import LB_POOL


def test_classes_are_named_as_cloud_provider_kind_names_them_in_the_model() -> None:
    model = {(o["kind"], o["metadata"]["name"]): o for o in builtin_objects()
             if o["kind"] in ("IngressClass", "GatewayClass")}
    ours = {(o["kind"], o["metadata"]["name"]): o for _, o in edge.classes_and_pool()
            if o["kind"] in ("IngressClass", "GatewayClass")}
    assert set(ours) == set(model)
    default = "ingressclass.kubernetes.io/is-default-class"
    assert ours[("IngressClass", "cloud-provider-kind")]["metadata"]["annotations"][default] == \
        model[("IngressClass", "cloud-provider-kind")]["metadata"]["annotations"][default] == "true"
    assert ours[("GatewayClass", "cloud-provider-kind")]["spec"]["controllerName"] == edge.TRAEFIK_GATEWAY_CONTROLLER


def test_loadbalancer_pool_is_the_models_and_traefik_sits_outside_it() -> None:
    pool = next(o for _, o in edge.classes_and_pool() if o["kind"] == "IPAddressPool")
    assert pool["spec"]["addresses"] == [f"{LB_POOL[0]}-{LB_POOL[1]}"]
    last = int(LB_POOL[1].rsplit(".", 1)[1])
    assert int(edge.EDGE_IP.rsplit(".", 1)[1]) > last


def test_traefik_listens_where_it_reports_for_gateways_and_ingresses() -> None:
    argv = edge.traefik_argv(Path("/bin/traefik"))
    assert f"--entryPoints.web80.address={edge.EDGE_IP}:80" in argv
    assert f"--providers.kubernetesGateway.statusAddress.ip={edge.EDGE_IP}" in argv
    assert f"--providers.kubernetesIngress.ingressEndpoint.ip={edge.EDGE_IP}" in argv


def test_loopback_alias_keeps_the_host_part_and_ignores_other_networks() -> None:
    assert loopback_alias("172.18.0.100") == "127.18.0.100"
    assert loopback_alias("172.18.3.7") == "127.18.3.7"
    assert loopback_alias("172.19.0.100") is None
    assert loopback_alias("10.96.0.1") is None
    assert loopback_alias("example.org") is None


def _node(name: str, ip: str) -> dict:
    return {"metadata": {"name": name}, "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}


NODES = [_node("svclab-control-plane", "172.18.0.2"), _node("svclab-worker", "172.18.0.3")]


def _svc(policy: str = "Cluster", ip: str = "172.18.0.100", protocol: str = "TCP") -> dict:
    return {"metadata": {"name": "web", "namespace": "shop"},
            "spec": {"type": "LoadBalancer", "externalTrafficPolicy": policy,
                     "ports": [{"port": 80, "nodePort": 31000, "protocol": protocol}]},
            "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}


def _slice(node: str, ready: bool, namespace: str = "shop") -> dict:
    return {"metadata": {"namespace": namespace, "labels": {"kubernetes.io/service-name": "web"}},
            "endpoints": [{"nodeName": node, "conditions": {"ready": ready}}]}


def test_cluster_policy_sends_to_the_nodeport_on_every_node() -> None:
    [pub] = publish.lb_publications([_svc()], [], NODES)
    assert (pub.address, pub.port) == ("172.18.0.100", 80)
    assert pub.targets == (("172.18.0.2", 31000), ("172.18.0.3", 31000))


def test_local_policy_sends_only_to_nodes_with_a_ready_endpoint_of_that_service() -> None:
    slices = [_slice("svclab-worker", True), _slice("svclab-control-plane", False),
              _slice("svclab-control-plane", True, namespace="elsewhere")]
    [pub] = publish.lb_publications([_svc("Local")], slices, NODES)
    assert pub.targets == (("172.18.0.3", 31000),)


def test_source_ranges_that_leave_out_the_learner_publish_an_address_that_closes() -> None:
    """cloud-provider-kind's Envoy has a filter chain only for loadBalancerSourceRanges: a
    source outside them is accepted and closed; the publisher connects from 172.18.0.1."""
    shut = _svc()
    shut["spec"]["loadBalancerSourceRanges"] = ["203.0.113.0/24"]
    [pub] = publish.lb_publications([shut], [], NODES)
    assert pub.targets == ()
    open_ = _svc()
    open_["spec"]["loadBalancerSourceRanges"] = ["198.51.100.0/24", " 172.18.0.1/32"]
    [pub] = publish.lb_publications([open_], [], NODES)
    assert len(pub.targets) == 2


def test_node_ports_and_health_check_ports_are_published_on_every_node_address() -> None:
    svc = _svc("Local")
    svc["spec"]["healthCheckNodePort"] = 32000
    clusterip = {"metadata": {"name": "c", "namespace": "shop"},
                 "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}}
    pubs = publish.node_port_publications([svc, clusterip], NODES)
    assert {(p.address, p.port, p.targets) for p in pubs} == {
        (ip, port, ((ip, port),)) for ip in ("172.18.0.2", "172.18.0.3") for port in (31000, 32000)}


def test_udp_ports_pending_and_foreign_addresses_are_not_published() -> None:
    pending = _svc()
    pending["status"] = {}
    assert publish.lb_publications([_svc(protocol="UDP"), pending, _svc(ip="10.0.0.5")], [], NODES) == []
    clusterip = _svc()
    clusterip["spec"]["type"] = "ClusterIP"
    assert publish.lb_publications([clusterip], [], NODES) == []


class _NoNetns:
    def socket_inside(self) -> socket.socket:
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)


@pytest.fixture
def upstream() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(100)
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def test_live_backend_reaches_a_published_address_through_its_loopback_alias(upstream: int) -> None:
    """The publisher serves 172.18.0.240:<port> on 127.18.0.240; the live backend, on the
    local cluster's context, asks for 172.18.0.240 and reports that address."""
    fixed = [publish.Published("172.18.0.240", upstream, (("127.0.0.1", upstream),))]
    publisher = publish.Publisher(_NoNetns(), None, fixed)  # type: ignore[arg-type]
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(publisher.reconcile(), loop).result(5)
    local = LiveCluster(context=LOCAL_CONTEXT, api=object(), progress=False)  # type: ignore[arg-type]
    out = local.probe_external(upstream, host="172.18.0.240", path="/")
    assert out.status is Status.OK and out.body == "ok" and out.ip == "172.18.0.240"
    # on kind the Docker network is on this machine: the address itself is connected to
    kind = LiveCluster(context="kind-svclab", api=object(), progress=False)  # type: ignore[arg-type]
    assert kind._reachable("172.18.0.240") == "172.18.0.240"
    assert local._reachable("10.96.0.1") == "10.96.0.1"


class _PodsApi:
    """Answers list_pods like the API server: a field selector value with '=' is refused."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def list_pods(self, namespace: str, field_selector: str = "") -> tuple[list[dict], None]:
        value = field_selector.split("=", 1)[1]
        if "=" in value or " " in value:
            raise ValueError("invalid field selector")
        self.asked.append(value)
        return ([{"metadata": {"name": value}}] if value == "web-1" else []), None


def test_only_a_pod_name_body_is_looked_up_as_a_pod() -> None:
    api = _PodsApi()
    live = LiveCluster(context=LOCAL_CONTEXT, api=api, progress=False)  # type: ignore[arg-type]
    live._namespaces.append("shop")
    assert live._find_pod("web-1") == "shop/web-1"
    # agnhost's answer on an unknown path (e.g. /api/hostname behind an /api prefix rule)
    assert live._find_pod("NOW: 2026-12-06 08:25:11.1 +0000 UTC m=+12.345") is None
    assert api.asked == ["web-1"]
