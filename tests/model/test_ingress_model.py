"""Ingress v1 in the offline model, pinned by small scenarios written from the Ingress API
reference: IngressClass and the default class, host (exact, one-label wildcard), path types
and precedence, host-less rules, defaultBackend, ports by number or name, and the status a
client sees when a backend is missing or has no ready endpoint."""
from __future__ import annotations

from typing import Any

import pytest

from grader.cluster.offline import OfflineCluster
from grader.kind.images import AGNHOST_IMAGE
from grader.model.http_routing import ingress_host_matches, prefix_matches

AGNHOST = AGNHOST_IMAGE


def app(name: str, ns: str = "shop", port_name: str = "http") -> list[dict[str, Any]]:
    labels = {"app": name}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                      "name": "web", "image": AGNHOST, "args": ["netexec", "--http-port=8080"],
                      "ports": [{"containerPort": 8080}]}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
         "spec": {"selector": labels, "ports": [{"name": port_name, "port": 80, "targetPort": 8080}]}},
    ]


def path(p: str, svc: str, ptype: str = "Prefix", port: Any = 80) -> dict[str, Any]:
    ref = {"number": port} if isinstance(port, int) else {"name": port}
    return {"path": p, "pathType": ptype, "backend": {"service": {"name": svc, "port": ref}}}


def ingress(name: str, rules: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name},
            "spec": {"rules": rules, **spec}}


@pytest.fixture
def shop() -> tuple[OfflineCluster, Any]:
    cluster = OfflineCluster()
    ns = cluster.namespace("shop")
    ns.apply_objects([o for n in ("web", "api", "docs", "other") for o in app(n)])
    return cluster, ns


def answer(cluster: OfflineCluster, ns: Any, ing: str, host: str, p: str = "/hostname"):
    address = ns.ingress_address(ing)
    assert address, f"Ingress {ing} has no address"
    return cluster.http(address, p, host=host)


def service_of(resp) -> str | None:
    return resp.backend.split(":")[0].split("/")[1] if resp.backend else None


# ---------------------------------------------------------------- matching rules (pure)
@pytest.mark.parametrize("rule, host, expected", [
    ("foo.bar.com", "foo.bar.com", True),
    ("foo.bar.com", "FOO.bar.com", True),
    ("*.foo.com", "bar.foo.com", True),
    ("*.foo.com", "baz.bar.foo.com", False),    # exactly one label (the spec's example)
    ("*.foo.com", "foo.com", False),
])
def test_ingress_wildcard_matches_exactly_one_label(rule: str, host: str, expected: bool) -> None:
    assert ingress_host_matches(rule, host) is expected


@pytest.mark.parametrize("prefix, request_path, expected", [
    # the Ingress API reference's examples table
    ("/", "/anything", True), ("/foo", "/foo", True), ("/foo/", "/foo", True),
    ("/foo", "/foo/", True), ("/aaa/bb", "/aaa/bbb", False), ("/aaa/bbb", "/aaa/bbb/", True),
    ("/aaa/bbb/", "/aaa/bbb", True), ("/aaa/bbb", "/aaa/bbb/ccc", True), ("/aaa/bbb", "/aaa/bbbxyz", False),
])
def test_prefix_is_matched_element_by_element(prefix: str, request_path: str, expected: bool) -> None:
    assert prefix_matches(prefix, request_path) is expected


# ---------------------------------------------------------------- routing
def test_host_and_path_routing_through_one_address(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("shop", [
        {"host": "shop.example", "http": {"paths": [path("/", "web"), path("/api", "api")]}},
        {"host": "docs.example", "http": {"paths": [path("/", "docs")]}}]))
    web = answer(cluster, ns, "shop", "shop.example")
    api = answer(cluster, ns, "shop", "shop.example", "/api/hostname")
    docs = answer(cluster, ns, "shop", "docs.example")
    assert (web.code, service_of(web)) == (200, "web")
    assert web.body == web.pod.split("/")[1]             # agnhost /hostname answers the pod name
    assert service_of(api) == "api" and service_of(docs) == "docs"
    assert service_of(answer(cluster, ns, "shop", "shop.example", "/apis")) == "web"   # not /api


def test_longest_path_wins_and_exact_beats_prefix_at_equal_length(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("p", [{"host": "a.example", "http": {"paths": [
        path("/", "web"), path("/api", "api", "Prefix"), path("/api", "docs", "Exact"),
        path("/api/v2", "other")]}}]))
    assert service_of(answer(cluster, ns, "p", "a.example", "/api")) == "docs"       # Exact first
    assert service_of(answer(cluster, ns, "p", "a.example", "/api/x")) == "api"
    assert service_of(answer(cluster, ns, "p", "a.example", "/api/v2/x")) == "other"  # longest
    assert service_of(answer(cluster, ns, "p", "a.example", "/x")) == "web"


def test_exact_does_not_match_a_trailing_slash(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("e", [{"host": "a.example", "http": {"paths": [path("/foo", "web", "Exact")]}}]))
    assert answer(cluster, ns, "e", "a.example", "/foo").code == 200
    miss = answer(cluster, ns, "e", "a.example", "/foo/")
    assert miss.code == 404 and miss.reason.startswith("no matching path")


def test_implementation_specific_is_a_prefix_like_cloud_provider_kind(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("i", [{"host": "a.example", "http": {"paths": [
        path("/app", "api", "ImplementationSpecific")]}}]))
    assert service_of(answer(cluster, ns, "i", "a.example", "/app/hostname")) == "api"
    assert answer(cluster, ns, "i", "a.example", "/application").code == 404


def test_wildcard_host_follows_the_spec_not_the_controller(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("w", [{"host": "*.shop.example", "http": {"paths": [path("/", "web")]}},
                           {"host": "api.shop.example", "http": {"paths": [path("/", "api")]}}]))
    assert service_of(answer(cluster, ns, "w", "eu.shop.example")) == "web"
    assert service_of(answer(cluster, ns, "w", "api.shop.example")) == "api"   # exact beats wildcard
    deep = answer(cluster, ns, "w", "a.eu.shop.example")
    assert deep.code == 404 and "no matching host" in deep.reason


def test_rule_without_host_takes_any_host_but_after_host_rules(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("h", [{"http": {"paths": [path("/", "other")]}},
                           {"host": "a.example", "http": {"paths": [path("/", "web")]}}]))
    assert service_of(answer(cluster, ns, "h", "a.example")) == "web"
    assert service_of(answer(cluster, ns, "h", "anything.example")) == "other"
    assert service_of(answer(cluster, ns, "h", "172.18.0.100")) == "other"


def test_default_backend_takes_what_no_rule_matches(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("d", [{"host": "a.example", "http": {"paths": [path("/api", "api")]}}],
                     defaultBackend={"service": {"name": "docs", "port": {"number": 80}}}))
    assert service_of(answer(cluster, ns, "d", "a.example", "/api")) == "api"
    assert service_of(answer(cluster, ns, "d", "a.example", "/nope")) == "docs"
    assert service_of(answer(cluster, ns, "d", "b.example")) == "docs"


def test_no_default_backend_means_404_with_a_why(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("n", [{"host": "a.example", "http": {"paths": [path("/api", "api")]}}]))
    host = answer(cluster, ns, "n", "b.example")
    assert (host.code, host.pod) == (404, None)
    assert "no matching host" in host.reason and "a.example" in host.reason
    assert "no matching path" in answer(cluster, ns, "n", "a.example", "/web").reason


def test_backend_port_by_name(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("pn", [{"host": "a.example", "http": {"paths": [path("/", "web", port="http")]}}]))
    resp = answer(cluster, ns, "pn", "a.example")
    assert resp.code == 200 and resp.backend == "shop/web:80"


def test_unknown_port_name_stops_the_whole_ingress(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("bad", [{"host": "a.example", "http": {"paths": [
        path("/", "web"), path("/api", "api", port="grpc")]}}]))
    resp = answer(cluster, ns, "bad", "a.example")
    assert resp.code == 404 and "no port named 'grpc'" in resp.reason


def test_missing_service_gives_500_and_no_ready_endpoints_503(shop) -> None:
    cluster, ns = shop
    ns.apply(ingress("m", [{"host": "a.example", "http": {"paths": [
        path("/gone", "ghost"), path("/", "web")]}}]))
    gone = answer(cluster, ns, "m", "a.example", "/gone")
    assert gone.code == 500 and "does not exist" in gone.reason
    ns.set_ready("app=web", False)
    down = answer(cluster, ns, "m", "a.example")
    assert down.code == 503 and down.pod is None and "no ready endpoints" in down.reason
    assert down.body.startswith("upstream connect error")


# ---------------------------------------------------------------- classes and addresses
def test_only_ingresses_of_the_course_class_get_an_address(shop) -> None:
    cluster, ns = shop
    rules = [{"host": "a.example", "http": {"paths": [path("/", "web")]}}]
    ns.apply([ingress("default", rules), ingress("named", rules, ingressClassName="cloud-provider-kind"),
              ingress("nginx", rules, ingressClassName="nginx")])
    assert ns.ingress_address("default") == ns.ingress_address("named") is not None
    assert ns.ingress_address("nginx") is None


def test_without_a_default_class_a_classless_ingress_is_not_served() -> None:
    cluster = OfflineCluster()
    cluster.state.apply([{"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                          "metadata": {"name": "cloud-provider-kind"},
                          "spec": {"controller": "kind.sigs.k8s.io/ingress-controller"}}])
    ns = cluster.namespace("shop")
    ns.apply_objects(app("web"))
    ns.apply(ingress("x", [{"http": {"paths": [path("/", "web")]}}]))
    assert ns.ingress_address("x") is None


def test_ingresses_share_their_namespace_address_and_namespaces_differ() -> None:
    cluster = OfflineCluster()
    a, b = cluster.namespace("a"), cluster.namespace("b")
    a.apply_objects(app("web", "a"))
    b.apply_objects(app("web", "b"))
    rules = [{"host": "x.example", "http": {"paths": [path("/", "web")]}}]
    a.apply([ingress("one", rules), ingress("two", rules)])
    b.apply(ingress("one", rules))
    assert a.ingress_address("one") == a.ingress_address("two") != b.ingress_address("one")
    assert cluster.http(b.ingress_address("one"), "/hostname", host="x.example").pod.startswith("b/")


def test_network_policy_sees_the_proxy_address() -> None:
    cluster = OfflineCluster()
    ns = cluster.namespace("shop")
    ns.apply_objects(app("web"))
    ns.apply(ingress("p", [{"host": "a.example", "http": {"paths": [path("/", "web")]}}]))
    address = ns.ingress_address("p")
    deny = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}
    ns.apply(deny)
    blocked = cluster.http(address, "/hostname", host="a.example")
    assert blocked.code == 503 and "NetworkPolicy" in blocked.reason and address in blocked.reason
    allow_client = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "client"},
                    "spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "172.18.0.1/32"}}]}]}}
    ns.apply(allow_client)      # the learner's machine is not the source: still blocked
    assert cluster.http(address, "/hostname", host="a.example").code == 503
    allow_proxy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "proxy"},
                   "spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": f"{address}/32"}}]}]}}
    ns.apply(allow_proxy)
    ok = cluster.http(address, "/clientip", host="a.example")
    assert ok.code == 200 and ok.body.startswith("172.18.0.2:")    # the node, after masquerade


def test_an_address_nothing_serves_times_out() -> None:
    resp = OfflineCluster().http("172.18.0.150", "/")
    assert resp.code is None and resp.status.value == "TIMEOUT" and "probe_external" in resp.reason
