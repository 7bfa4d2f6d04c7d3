"""Allocation, differential: the same Services applied, in the same order, through the
offline model and through the live backend on the real API server. ClusterIPs and
NodePorts that are asked for, taken, out of range, released, kept on update, shared by
protocols: the verdicts and the allocated values must agree (dynamic values are random
upstream, so for those the band they come from is compared).
"""
from __future__ import annotations

import ipaddress
from typing import Iterator

import pytest

from grader.cluster.live import LiveNamespace
from grader.cluster.offline import OfflineCluster, OfflineNamespace
from grader.manifests import ManifestError
from tests.controlplane.upstream import ControlPlane, namespace_name

pytestmark = pytest.mark.controlplane


def service(name: str, *, type_: str = "ClusterIP", cluster_ip: str | None = None,
            ports: list[dict] | None = None) -> dict:
    spec: dict = {"type": type_, "selector": {"app": name},
                  "ports": ports or [{"name": "http", "port": 80, "targetPort": 8080}]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def nodeport(name: str, node_port: int | None = None, **kw) -> dict:
    port = {"name": "http", "port": 80, "targetPort": 8080}
    if node_port is not None:
        port["nodePort"] = node_port
    return service(name, type_="NodePort", ports=[port], **kw)


class Pair:
    """One namespace on each backend; every step runs on both and must give the same verdict."""

    def __init__(self, offline: OfflineNamespace, live: LiveNamespace, cp: ControlPlane) -> None:
        self.offline, self.live, self.cp = offline, live, cp

    def apply(self, obj: dict) -> tuple[str | None, str | None]:
        """(offline error, live error); None where the apply succeeded. Offline runs the
        whole pipeline a learner gets (validation, sandbox, model); live skips our checks
        (apply_objects), so the verdict is the API server's own."""
        out = []
        for apply in (lambda: self.offline.apply(obj), lambda: self.live.apply_objects([obj])):
            try:
                apply()
                out.append(None)
            except ManifestError as exc:
                out.append(str(exc))
        return out[0], out[1]

    def spec(self, name: str) -> tuple[dict, dict]:
        """(offline, live) spec of the Service `name` as stored."""
        model = self.offline.state.service(self.offline.name, name)
        assert model is not None
        offline = {"clusterIP": model.cluster_ip or ("None" if model.headless else None),
                   "nodePorts": [p.node_port for p in model.ports]}
        code, body = self.cp.request("GET", f"/api/v1/namespaces/{self.live.name}/services/{name}")
        assert code == 200, body
        live = {"clusterIP": body["spec"].get("clusterIP"),
                "nodePorts": [p.get("nodePort") for p in body["spec"]["ports"]]}
        return offline, live

    def accepted(self, obj: dict) -> tuple[dict, dict]:
        off, live = self.apply(obj)
        assert off is None and live is None, f"offline: {off}\nlive: {live}"
        return self.spec(obj["metadata"]["name"])

    def refused(self, obj: dict, phrase: str) -> None:
        off, live = self.apply(obj)
        assert off is not None and live is not None, f"offline: {off}\nlive: {live}"
        assert phrase in live, f"the API server says: {live}"
        assert phrase in off, f"the API server says {live!r}; the model says {off!r}"
        if "the API server refused it" in off:   # the model's allocator, not our validation
            # it words the refusal as the API server does (after the file/document prefix)
            assert off.split(": ", 1)[1] == live.split(": ", 1)[1], f"\n  model:    {off}\n  upstream: {live}"


@pytest.fixture
def pair(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[Pair]:
    name = namespace_name("cp-alloc", request)
    live_cluster = control_plane.live_cluster()
    live = live_cluster.namespace(name)
    offline = OfflineCluster().namespace(name)
    yield Pair(offline, live, control_plane)
    # free the allocations now (namespace deletion releases them only when it finishes)
    for svc in control_plane.request("GET", f"/api/v1/namespaces/{name}/services")[1].get("items", []):
        control_plane.request("DELETE", f"/api/v1/namespaces/{name}/services/{svc['metadata']['name']}")
    live.delete()


def test_requested_cluster_ip_taken_and_out_of_range(pair: Pair):
    off, live = pair.accepted(service("a", cluster_ip="10.96.0.100"))
    assert off["clusterIP"] == live["clusterIP"] == "10.96.0.100"
    pair.refused(service("b", cluster_ip="10.96.0.100"), "provided IP is already allocated")
    pair.refused(service("c", cluster_ip="10.97.0.1"), "is not in the valid range. The range of valid IPs is 10.96.0.0/16")
    pair.refused(service("d", cluster_ip="10.96.0.10"), "provided IP is already allocated")   # kube-dns
    pair.refused(service("e", cluster_ip="10.96.0.1"), "provided IP is already allocated")    # kubernetes


@pytest.mark.parametrize("ip", ["10.96.0.0", "10.96.255.255"])
def test_network_and_broadcast_addresses_are_not_allocatable(pair: Pair, ip: str):
    pair.refused(service("edge", cluster_ip=ip), "is not in the valid range. The range of valid IPs is 10.96.0.0/16")


def test_dynamic_cluster_ips_come_from_the_upper_band(pair: Pair):
    """KEP-3070: a /16 keeps its first 256 addresses for requested IPs."""
    for name in ("d1", "d2", "d3"):
        off, live = pair.accepted(service(name))
        for ip in (off["clusterIP"], live["clusterIP"]):
            addr = ipaddress.ip_address(ip)
            assert addr in ipaddress.ip_network("10.96.0.0/16")
            assert addr not in ipaddress.ip_network("10.96.0.0/24"), ip


def test_cluster_ip_is_immutable(pair: Pair):
    pair.accepted(service("fixed", cluster_ip="10.96.0.101"))
    pair.refused(service("fixed", cluster_ip="10.96.0.102"), "may not change once set")


def test_headless_gets_no_cluster_ip(pair: Pair):
    off, live = pair.accepted(service("hl", cluster_ip="None"))
    assert off["clusterIP"] == live["clusterIP"] == "None"


def test_requested_node_port_taken_and_out_of_range(pair: Pair):
    off, live = pair.accepted(nodeport("np1", 30007))
    assert off["nodePorts"] == live["nodePorts"] == [30007]
    pair.refused(nodeport("np2", 30007), "provided port is already allocated")
    pair.refused(nodeport("np3", 29999), "not in the valid range")
    pair.refused(nodeport("np4", 32768), "not in the valid range")


def test_dynamic_node_ports_come_from_the_upper_band(pair: Pair):
    """KEP-3668: 30000-30085 are kept for requested ports."""
    for name in ("dn1", "dn2"):
        off, live = pair.accepted(nodeport(name))
        for port in off["nodePorts"] + live["nodePorts"]:
            assert 30086 <= port <= 32767, port


def test_same_port_number_two_protocols_share_one_node_port(pair: Pair):
    ports = [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]
    off, live = pair.accepted(service("dns", type_="NodePort", ports=ports))
    assert len(set(off["nodePorts"])) == 1 and len(set(live["nodePorts"])) == 1, (off, live)


def test_update_without_node_port_keeps_it_and_type_change_releases_it(pair: Pair):
    off, live = pair.accepted(nodeport("keep", 30009))
    off2, live2 = pair.accepted(nodeport("keep"))          # re-applied without the nodePort
    assert off2["nodePorts"] == live2["nodePorts"] == [30009]
    off3, live3 = pair.accepted(service("keep"))           # NodePort -> ClusterIP
    assert off3["nodePorts"] == live3["nodePorts"] == [None]
    off4, live4 = pair.accepted(nodeport("other", 30009))  # released, so free again
    assert off4["nodePorts"] == live4["nodePorts"] == [30009]


def test_load_balancer_gets_a_node_port_unless_told_not_to(pair: Pair):
    off, live = pair.accepted(service("lb", type_="LoadBalancer"))
    assert all(30086 <= p <= 32767 for p in off["nodePorts"] + live["nodePorts"]), (off, live)
    obj = service("lb2", type_="LoadBalancer")
    obj["spec"]["allocateLoadBalancerNodePorts"] = False
    off, live = pair.accepted(obj)
    assert off["nodePorts"] == live["nodePorts"] == [None]
