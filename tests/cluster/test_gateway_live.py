"""The live backend's Ingress and Gateway API methods at the kubernetes client boundary
(NetworkingV1Api, CustomObjectsApi, bound to the installed client's signatures) and its
HTTP request through a real socket to a loopback server standing in for the Envoy proxy."""
from __future__ import annotations

import http.server
import threading
from typing import Any, Iterator

import pytest
from kubernetes import client as k8s
from kubernetes.client import ApiClient

from grader.cluster import live, live_api
from grader.observations import Status
from tests.fakes.kube_client import NS, FakeCore, Recorder, World, not_found_error, pod, real

GROUP = "gateway.networking.k8s.io"


class FakeNetworking:
    def __init__(self, rec: Recorder) -> None:
        self.rec, self.ingresses = rec, {}

    @real(k8s.NetworkingV1Api.read_namespaced_ingress)
    def read_namespaced_ingress(self, name: str, namespace: str) -> dict:
        self.rec.record("read_namespaced_ingress", name, namespace)
        if (namespace, name) not in self.ingresses:
            raise not_found_error()
        return self.ingresses[(namespace, name)]


class FakeCustom:
    def __init__(self, rec: Recorder) -> None:
        self.rec, self.objects, self.cluster_objects = rec, {}, {}

    @real(k8s.CustomObjectsApi.get_namespaced_custom_object)
    def get_namespaced_custom_object(self, group: str, version: str, namespace: str, plural: str,
                                     name: str) -> dict:
        self.rec.record("get_namespaced_custom_object", group, version, namespace, plural, name)
        try:
            return self.objects[(group, version, namespace, plural, name)]
        except KeyError:
            raise not_found_error() from None

    @real(k8s.CustomObjectsApi.get_cluster_custom_object)
    def get_cluster_custom_object(self, group: str, version: str, plural: str, name: str) -> dict:
        self.rec.record("get_cluster_custom_object", group, version, plural, name)
        try:
            return self.cluster_objects[(group, version, plural, name)]
        except KeyError:
            raise not_found_error() from None


@pytest.fixture
def world():
    rec = Recorder()
    core, net, custom = FakeCore(rec), FakeNetworking(rec), FakeCustom(rec)
    api = live_api.LiveApi(ApiClient(), core=core, apps=object(), discovery=object(), version=object(),
                    dynamic=object(), stream=lambda *a, **k: None, watch_factory=object,
                    custom=custom, networking=net)
    cluster = live.LiveCluster(api=api, progress=False)
    return cluster, live.LiveNamespace(cluster, NS), core, net, custom


def test_ingress_address_comes_from_status_load_balancer(world) -> None:
    cluster, ns, _, net, _ = world
    net.ingresses[(NS, "shop")] = {"metadata": {"name": "shop"},
                                   "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.4"}]}}}
    net.ingresses[(NS, "pending")] = {"metadata": {"name": "pending"}, "status": {"loadBalancer": {}}}
    assert ns.ingress_address("shop") == "172.18.0.4"
    assert ns.ingress_address("pending") is None
    with pytest.raises(LookupError, match='ingresses.networking.k8s.io "nope" not found'):
        ns.ingress_address("nope")


def test_gateway_status_as_the_controller_wrote_it(world) -> None:
    cluster, ns, _, _, custom = world
    custom.objects[(GROUP, "v1", NS, "gateways", "gw")] = {"status": {
        "addresses": [{"type": "IPAddress", "value": "172.18.0.5"}],
        "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "Gateway is accepted"},
                       {"type": "Programmed", "status": "True", "reason": "Programmed"}],
        "listeners": [{"name": "http", "attachedRoutes": 2, "supportedKinds": [{"group": GROUP, "kind": "HTTPRoute"}],
                       "conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted"}]}]}}
    st = ns.gateway_status("gw")
    assert st.addresses == ("172.18.0.5",) and ns.gateway_address("gw") == "172.18.0.5"
    assert st.condition("Programmed").reason == "Programmed"
    assert st.listener("http").attached_routes == 2 and st.listener("http").supported_kinds == ("HTTPRoute",)


def test_route_status_parents(world) -> None:
    cluster, ns, _, _, custom = world
    custom.objects[(GROUP, "v1", NS, "httproutes", "r")] = {"status": {"parents": [{
        "parentRef": {"name": "gw", "sectionName": "http"}, "controllerName": "kind.sigs.k8s.io/gateway-controller",
        "conditions": [{"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners",
                        "message": "Route is not allowed by a listener's policy."}]}]}}
    [parent] = ns.route_status("r")
    assert parent.gateway == f"{NS}/gw" and parent.section_name == "http" and not parent.accepted
    assert parent.condition("Accepted").reason == "NotAllowedByListeners"


def test_gateway_api_crds_reported_from_their_bundle_annotation(world) -> None:
    cluster, _, _, _, custom = world
    assert cluster.gateway_api_status()[0] is False
    custom.cluster_objects[("apiextensions.k8s.io", "v1", "customresourcedefinitions", f"gateways.{GROUP}")] = {
        "metadata": {"annotations": {f"{GROUP}/bundle-version": "v1.5.0", f"{GROUP}/channel": "standard"}}}
    assert cluster.gateway_api_status() == (True, "v1.5.0 (standard channel)")


class _Envoy(http.server.BaseHTTPRequestHandler):
    """A loopback stand-in for the proxy: 404 unless Host is shop.example."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.headers.get("Host") != "shop.example":
            self.send_response(404)
            self.end_headers()
            return
        body = b"web-7d4b9c-abcde"
        self.send_response(200)
        self.send_header("X-Served-By", "gateway")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def envoy() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Envoy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_http_through_a_proxy_sends_the_host_and_finds_the_pod(world, envoy: int) -> None:
    cluster, _, core, _, _ = world
    core.pods = [pod("web-7d4b9c-abcde", "10.244.0.7")]
    cluster._namespaces.append(NS)
    resp = cluster.http("127.0.0.1", "/hostname", host="shop.example", port=envoy)
    assert (resp.status, resp.code, resp.pod) == (Status.OK, 200, f"{NS}/web-7d4b9c-abcde")
    assert resp.header("x-served-by") == "gateway" and resp.request_headers is None
    miss = cluster.http("127.0.0.1", "/hostname", host="other.example", port=envoy)
    assert miss.code == 404 and miss.pod is None and "no route" in miss.reason


def test_http_to_a_closed_port_is_refused(world, envoy: int) -> None:
    cluster = world[0]
    import socket
    with socket.socket() as s:                      # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    resp = cluster.http("127.0.0.1", "/", port=port)
    assert resp.status is Status.REFUSED and resp.code is None


@pytest.mark.parametrize("kind, expected", [
    ("Gateway", ("gateway.networking.k8s.io/v1", "Gateway")),
    ("httproute", ("gateway.networking.k8s.io/v1", "HTTPRoute")),
    ("ReferenceGrant", ("gateway.networking.k8s.io/v1", "ReferenceGrant")),
])
def test_delete_gateway_api_objects_through_the_dynamic_client(kind: str, expected: tuple) -> None:
    w = World()
    w.ns().delete(kind, "x")
    (args, kw), = w.rec.named("delete")
    assert args == (expected,) and kw == {"name": "x", "namespace": NS}


def test_namespace_http_is_the_cluster_request(world, envoy: int) -> None:
    cluster, ns, core, _, _ = world
    resp = ns.http("127.0.0.1", "/hostname", host="shop.example", port=envoy)
    assert resp.code == 200 and resp.body == "web-7d4b9c-abcde"


def test_cluster_status_reports_the_gateway_api_crds(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`svclab cluster status` gets a "Gateway API" row from the live cluster's CRDs, and a
    failing read is a row with the first line of the error, never a traceback."""
    from grader import kindctl
    from tests.cluster.test_kindctl import DOCKER_UP, _stub

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    _stub(bin_dir, "docker", DOCKER_UP)
    _stub(bin_dir, "kind", 'case "$1" in version) echo "kind v0.33.0 go1.25 linux/amd64";; get) echo svclab;; esac')

    class Cluster:
        def __init__(self, gateway: Any) -> None:
            self.gateway = gateway

        def ping(self, timeout: float) -> str:
            return "v1.37.0"

        def node_status(self) -> tuple[bool, str]:
            return True, "1 Ready"

        def coredns_status(self) -> tuple[bool, str]:
            return True, "2/2 Ready"

        def gateway_api_status(self) -> tuple[bool, str]:
            if isinstance(self.gateway, Exception):
                raise self.gateway
            return self.gateway

    monkeypatch.setattr(kindctl, "_live", lambda context: Cluster((True, "v1.5.0 (standard channel)")))
    row = {r.item: r for r in kindctl.status_rows()}["Gateway API"]
    assert row.ok and row.detail == "v1.5.0 (standard channel)"
    monkeypatch.setattr(kindctl, "_live", lambda context: Cluster(RuntimeError("Forbidden\nmore")))
    row = {r.item: r for r in kindctl.status_rows()}["Gateway API"]
    assert not row.ok and row.detail == "cannot read the Gateway API CRDs (Forbidden)"


def test_live_lists_the_namespace_gateways_for_the_cap(world) -> None:
    cluster, ns, _, _, custom = world

    def listing(group: str, version: str, namespace: str, plural: str, **kw: Any) -> dict:
        custom.rec.record("list_namespaced_custom_object", group, version, namespace, plural)
        return {"items": [{"metadata": {"name": "gw"}}]}

    custom.list_namespaced_custom_object = real(k8s.CustomObjectsApi.list_namespaced_custom_object)(
        lambda self, *a, **k: listing(*a, **k)).__get__(custom)
    assert cluster._api.list_gateway_names(NS) == ["gw"]
    assert custom.rec.named("list_namespaced_custom_object") == [((GROUP, "v1", NS, "gateways"), {})]


def test_no_gateway_api_crds_means_no_gateways(world) -> None:
    cluster, _, _, _, custom = world

    def missing(self: Any, *a: Any, **k: Any) -> dict:
        raise not_found_error()

    custom.list_namespaced_custom_object = real(k8s.CustomObjectsApi.list_namespaced_custom_object)(
        missing).__get__(custom)
    assert cluster._api.list_gateway_names(NS) == []
