"""Gateway API v1 in the offline model, pinned by scenarios written from the doc comments of
sigs.k8s.io/gateway-api apis/v1: listener/route hostname intersection, allowedRoutes, match
precedence within and across routes, weights, each filter, ReferenceGrant, and every status
reason the model writes."""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from grader.cluster.offline import OfflineCluster
from grader.model.http_routing import gateway_host_matches, intersect_hostnames, replace_prefix
from tests.model.test_ingress_model import app

GW_V1 = "gateway.networking.k8s.io/v1"


def gateway(name: str = "gw", listeners: list[dict[str, Any]] | None = None, cls: str = "cloud-provider-kind"):
    return {"apiVersion": GW_V1, "kind": "Gateway", "metadata": {"name": name},
            "spec": {"gatewayClassName": cls,
                     "listeners": listeners or [{"name": "http", "port": 80, "protocol": "HTTP"}]}}


def route(name: str, rules: list[dict[str, Any]], hostnames: list[str] | None = None,
          parent: dict[str, Any] | None = None, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    spec: dict[str, Any] = {"parentRefs": [parent or {"name": "gw"}], "rules": rules}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {"apiVersion": GW_V1, "kind": "HTTPRoute", "metadata": meta, "spec": spec}


def to(svc: str, weight: int | None = None, port: int = 80, **extra: Any) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": svc, "port": port, **extra}
    if weight is not None:
        ref["weight"] = weight
    return ref


def rule(*backends: dict[str, Any], matches: list[dict[str, Any]] | None = None,
         filters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"backendRefs": list(backends)}
    if matches is not None:
        out["matches"] = matches
    if filters is not None:
        out["filters"] = filters
    return out


@pytest.fixture
def env():
    cluster = OfflineCluster()
    ns = cluster.namespace("shop")
    ns.apply_objects([o for n in ("web", "api", "canary", "v2") for o in app(n)])
    return cluster, ns


def send(env, p: str = "/hostname", host: str = "shop.example", gw: str = "gw", **kw: Any):
    cluster, ns = env
    return cluster.http(ns.gateway_address(gw), p, host=host, **kw)


def svc(resp) -> str | None:
    return resp.backend.split("/")[1].split(":")[0] if resp.backend else None


def accepted(ns, name: str, i: int = 0):
    return ns.route_status(name)[i].condition("Accepted")


# ---------------------------------------------------------------- hostnames (pure)
@pytest.mark.parametrize("pattern, host, expected", [
    ("*.example.com", "test.example.com", True),
    ("*.example.com", "foo.test.example.com", True),     # suffix match, unlike Ingress
    ("*.example.com", "example.com", False),
    ("test.example.com", "TEST.example.com", True),
])
def test_gateway_wildcard_is_a_suffix_match(pattern: str, host: str, expected: bool) -> None:
    assert gateway_host_matches(pattern, host) is expected


@pytest.mark.parametrize("listener, hostnames, expected", [
    ("test.example.com", [], ["test.example.com"]),
    ("test.example.com", ["*.example.com"], ["test.example.com"]),
    ("*.example.com", ["*.example.com", "test.example.com", "foo.test.example.com"],
     ["*.example.com", "test.example.com", "foo.test.example.com"]),
    ("*.example.com", ["example.com", "test.example.net"], []),
    ("*.example.com", ["test.example.com", "test.example.net"], ["test.example.com"]),
    (None, [], ["*"]),
])
def test_listener_and_route_hostnames_intersect_as_the_spec_lists(listener, hostnames, expected) -> None:
    assert intersect_hostnames(listener, hostnames) == expected


@pytest.mark.parametrize("request_path, prefix, replacement, expected", [
    # HTTPPathModifier.ReplacePrefixMatch's table
    ("/foo/bar", "/foo", "/xyz", "/xyz/bar"), ("/foo/bar", "/foo", "/xyz/", "/xyz/bar"),
    ("/foo/bar", "/foo/", "/xyz", "/xyz/bar"), ("/foo/bar", "/foo/", "/xyz/", "/xyz/bar"),
    ("/foo", "/foo", "/xyz", "/xyz"), ("/foo/", "/foo", "/xyz", "/xyz/"),
    ("/foo/bar", "/foo", "", "/bar"), ("/foo/", "/foo", "", "/"), ("/foo", "/foo", "", "/"),
    ("/foo/", "/foo", "/", "/"), ("/foo", "/foo", "/", "/"),
])
def test_replace_prefix_match_table(request_path, prefix, replacement, expected) -> None:
    assert replace_prefix(request_path, prefix, replacement) == expected


# ---------------------------------------------------------------- status
def test_accepted_route_and_programmed_gateway(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("web"))])])
    st = ns.gateway_status("gw")
    assert [(c.type, c.status, c.reason) for c in st.conditions] == [
        ("Accepted", "True", "Accepted"), ("Programmed", "True", "Programmed")]
    assert st.addresses == (ns.gateway_address("gw"),) and st.addresses[0].startswith("172.18.0.")
    assert st.listener("http").attached_routes == 1
    [parent] = ns.route_status("r")
    assert parent.gateway == "shop/gw" and parent.accepted
    assert parent.condition("ResolvedRefs").reason == "ResolvedRefs"


def test_gateway_of_another_class_waits_for_a_controller(env) -> None:
    cluster, ns = env
    ns.apply_objects([gateway(cls="nginx"), route("r", [rule(to("web"))])])   # not a lab's
    st = ns.gateway_status("gw")
    assert [(c.type, c.status, c.reason) for c in st.conditions] == [
        ("Accepted", "Unknown", "Pending"), ("Programmed", "Unknown", "Pending")]
    assert st.addresses == () and ns.route_status("r") == []


def test_each_gateway_gets_its_own_address_from_the_lb_pool(env) -> None:
    cluster, ns = env
    ns.apply_objects([gateway("a"), gateway("b")])       # more than a lab may (sandbox)
    assert len({ns.gateway_address("a"), ns.gateway_address("b")}) == 2
    ns.delete("Gateway", "a")
    ns.apply_objects([gateway("c")])
    assert ns.gateway_address("c") not in (None, ns.gateway_address("b"))


def test_no_matching_parent_for_an_unknown_section_name(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("web"))], parent={"name": "gw", "sectionName": "https"})])
    c = accepted(ns, "r")
    assert (c.status, c.reason) == ("False", "NoMatchingParent")


def test_no_matching_listener_hostname(env) -> None:
    cluster, ns = env
    ns.apply([gateway(listeners=[{"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"}]),
              route("r", [rule(to("web"))], hostnames=["shop.example.net"])])
    c = accepted(ns, "r")
    assert (c.status, c.reason) == ("False", "NoMatchingListenerHostname")
    assert ns.gateway_status("gw").listener("http").attached_routes == 0


@pytest.mark.parametrize("allowed, expected", [
    (None, "NotAllowedByListeners"),                                   # default: Same
    ({"namespaces": {"from": "Same"}}, "NotAllowedByListeners"),
    ({"namespaces": {"from": "All"}}, "Accepted"),
    ({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "shop"}}}}, "Accepted"),
    ({"namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "ops"}}}}, "NotAllowedByListeners"),
    ({"namespaces": {"from": "All"}, "kinds": [{"kind": "GRPCRoute"}]}, "NotAllowedByListeners"),
    ({"namespaces": {"from": "All"}, "kinds": [{"kind": "HTTPRoute"}]}, "Accepted"),
])
def test_allowed_routes_decide_who_may_attach(allowed, expected) -> None:
    cluster = OfflineCluster()
    infra = cluster.namespace("infra")
    apps = cluster.namespace("apps", labels={"team": "shop"})
    apps.apply_objects(app("web", "apps"))
    listener = {"name": "http", "port": 80, "protocol": "HTTP"}
    if allowed:
        listener["allowedRoutes"] = allowed
    infra.apply(gateway(listeners=[listener]))
    apps.apply(route("r", [rule(to("web"))], parent={"name": "gw", "namespace": "infra"}))
    assert accepted(apps, "r").reason == expected
    served = cluster.http(infra.gateway_address("gw"), "/hostname", host="x")
    assert (served.code == 200) is (expected == "Accepted")


def test_a_404_names_the_routes_that_were_not_accepted(env) -> None:
    cluster, ns = env
    ns.apply([gateway(listeners=[{"name": "http", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"}]),
              route("typo", [rule(to("web"))], hostnames=["shop.example.net"])])
    resp = cluster.http(ns.gateway_address("gw"), "/", host="shop.example.com")
    assert resp.code == 404 and resp.reason.startswith("no route")
    assert "HTTPRoute shop/typo (NoMatchingListenerHostname)" in resp.reason


def test_invalid_route_kinds_on_a_listener(env) -> None:
    cluster, ns = env
    ns.apply(gateway(listeners=[{"name": "http", "port": 80, "protocol": "HTTP",
                                 "allowedRoutes": {"kinds": [{"kind": "TCPRoute"}]}}]))
    c = ns.gateway_status("gw").listener("http").condition("ResolvedRefs")
    assert (c.status, c.reason) == ("False", "InvalidRouteKinds")


def test_backend_not_found_answers_500(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("ghost"))])])
    c = ns.route_status("r")[0].condition("ResolvedRefs")
    assert (c.status, c.reason) == ("False", "BackendNotFound") and "ghost" in c.message
    assert accepted(ns, "r").status == "True"          # still attached: its traffic gets 500
    assert send(env).code == 500


def test_invalid_kind_backend(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("web", group="example.com", kind="Bucket"))])])
    assert ns.route_status("r")[0].condition("ResolvedRefs").reason == "InvalidKind"


def test_cross_namespace_backend_needs_a_reference_grant() -> None:
    cluster = OfflineCluster()
    front, back = cluster.namespace("front"), cluster.namespace("back")
    back.apply_objects(app("api", "back"))
    front.apply([gateway(), route("r", [rule(to("api", namespace="back"))])])
    c = front.route_status("r")[0].condition("ResolvedRefs")
    assert (c.status, c.reason) == ("False", "RefNotPermitted")
    address = front.gateway_address("gw")
    assert cluster.http(address, "/hostname").code == 500
    grant = {"apiVersion": GW_V1, "kind": "ReferenceGrant", "metadata": {"name": "front-to-api"},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "front"}],
                      "to": [{"group": "", "kind": "Service", "name": "api"}]}}
    back.apply(grant)
    assert front.route_status("r")[0].condition("ResolvedRefs").reason == "ResolvedRefs"
    resp = cluster.http(address, "/hostname")
    assert resp.code == 200 and resp.pod.startswith("back/api-")


def test_a_grant_in_the_wrong_namespace_grants_nothing() -> None:
    cluster = OfflineCluster()
    front, back = cluster.namespace("front"), cluster.namespace("back")
    back.apply_objects(app("api", "back"))
    grant = {"apiVersion": GW_V1, "kind": "ReferenceGrant", "metadata": {"name": "g"},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "front"}],
                      "to": [{"group": "", "kind": "Service"}]}}
    front.apply([gateway(), route("r", [rule(to("api", namespace="back"))]), grant])
    assert front.route_status("r")[0].condition("ResolvedRefs").reason == "RefNotPermitted"


# ---------------------------------------------------------------- routing
def test_no_listener_on_the_port_is_refused_and_no_host_is_404(env) -> None:
    cluster, ns = env
    ns.apply([gateway(listeners=[{"name": "http", "port": 80, "protocol": "HTTP", "hostname": "shop.example"}]),
              route("r", [rule(to("web"))])])
    refused = send(env, port=8080)
    assert refused.code is None and refused.status.value == "REFUSED"
    miss = send(env, host="other.example")
    assert miss.code == 404 and miss.reason.startswith("no listener")


def test_most_specific_listener_hostname_wins(env) -> None:
    cluster, ns = env
    ns.apply([gateway(listeners=[
        {"name": "any", "port": 80, "protocol": "HTTP"},
        {"name": "wild", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"},
        {"name": "exact", "port": 80, "protocol": "HTTP", "hostname": "api.example.com"}]),
        route("a", [rule(to("web"))], parent={"name": "gw", "sectionName": "any"}),
        route("b", [rule(to("canary"))], parent={"name": "gw", "sectionName": "wild"}),
        route("c", [rule(to("api"))], parent={"name": "gw", "sectionName": "exact"})])
    assert svc(send(env, host="api.example.com")) == "api"
    assert svc(send(env, host="www.example.com")) == "canary"
    assert svc(send(env, host="a.b.example.com")) == "canary"
    assert svc(send(env, host="shop.example")) == "web"


def test_match_precedence_exact_prefix_method_headers_query(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [
        rule(to("web"), matches=[{"path": {"type": "PathPrefix", "value": "/"}}]),
        rule(to("api"), matches=[{"path": {"type": "PathPrefix", "value": "/api"}}]),
        rule(to("canary"), matches=[{"path": {"type": "Exact", "value": "/api"}}]),
        rule(to("v2"), matches=[{"path": {"type": "PathPrefix", "value": "/api"},
                                 "headers": [{"name": "version", "value": "v2"}]}]),
    ]), route("m", [
        rule(to("canary"), matches=[{"path": {"type": "PathPrefix", "value": "/api"}, "method": "POST"}]),
        rule(to("v2"), matches=[{"path": {"type": "PathPrefix", "value": "/q"}, "queryParams": [
            {"name": "beta", "value": "1"}]}]),
    ])])
    assert svc(send(env, "/api")) == "canary"                           # Exact first
    assert svc(send(env, "/api/x")) == "api"                            # longest prefix
    assert svc(send(env, "/api/x", headers={"Version": "v2"})) == "v2"  # header names ignore case
    assert svc(send(env, "/api/x", method="POST")) == "canary"          # method beats headers
    assert svc(send(env, "/q?beta=1")) == "v2" and svc(send(env, "/q?beta=2")) == "web"
    assert svc(send(env, "/apiary")) == "web"                           # element-wise prefix


def test_a_method_match_outranks_headers_and_the_route_name(env) -> None:
    cluster, ns = env
    ns.apply([gateway(),
              route("a-plain", [rule(to("web"), matches=[{"path": {"type": "PathPrefix", "value": "/api"}}]),
                                rule(to("v2"), matches=[{"path": {"type": "PathPrefix", "value": "/api"},
                                                        "headers": [{"name": "x-beta", "value": "1"}]}])]),
              route("b-method", [rule(to("canary"), matches=[{"path": {"type": "PathPrefix", "value": "/api"},
                                                             "method": "POST"}])])])
    assert svc(send(env, "/api/x")) == "web"
    assert svc(send(env, "/api/x", method="POST")) == "canary"                   # not "a-plain" by name
    assert svc(send(env, "/api/x", method="POST", headers={"x-beta": "1"})) == "canary"   # method > headers
    assert svc(send(env, "/api/x", headers={"x-beta": "1"})) == "v2"


def test_across_routes_the_more_specific_hostname_wins_then_the_name(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("b-wild", [rule(to("canary"))], hostnames=["*.example.com"]),
              route("c-exact", [rule(to("api"))], hostnames=["api.example.com"]),
              route("a-any", [rule(to("web"))]), route("z-any", [rule(to("v2"))])])
    assert svc(send(env, host="api.example.com")) == "api"
    assert svc(send(env, host="www.example.com")) == "canary"
    assert svc(send(env, host="shop.example")) == "web"        # tie: "shop/a-any" sorts first


def test_no_matching_path_is_404_with_why(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("web"), matches=[{"path": {"type": "Exact", "value": "/only"}}])],
                               hostnames=["shop.example"])])
    assert send(env, "/only").code == 200
    path = send(env, "/other")
    assert path.code == 404 and path.reason.startswith("no matching path")
    host = send(env, "/only", host="x.example")
    assert host.code == 404 and host.reason.startswith("no matching host")


def test_weights_split_traffic_reproducibly(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("canary", [rule(to("web", 90), to("canary", 10))])])
    first = [svc(send(env)) for _ in range(200)]
    counts = Counter(first)
    assert counts == {"web": 180, "canary": 20}                  # exact over whole runs of 100
    assert Counter(first[:50])["canary"] not in (0, 50)           # but mixed, not in a block
    assert first[:100] != first[100:]                             # each run is shuffled anew
    again = OfflineCluster()
    ns2 = again.namespace("shop")
    ns2.apply_objects([o for n in ("web", "api", "canary", "v2") for o in app(n)])
    ns2.apply([gateway(), route("canary", [rule(to("web", 90), to("canary", 10))])])
    assert [svc(again.http(ns2.gateway_address("gw"), "/hostname", host="shop.example"))
            for _ in range(200)] == first


@pytest.mark.parametrize("weights, requests, expected", [
    ((900000, 100000), 100, {"web": 90, "canary": 10}),      # reduced by the common divisor
    ((3, 1), 8, {"web": 6, "canary": 2}),
    ((20000, 1), 1001, {"web": 1000, "canary": 1}),          # scaled, the small one keeps a share
])
def test_weights_are_exact_over_whole_runs(weights, requests, expected) -> None:
    from grader.model.gateway import BackendChoice
    from grader.model.gateway_routing import _weighted_pick
    live = [BackendChoice("shop", "web", 80, weights[0]), BackendChoice("shop", "canary", 80, weights[1])]
    assert Counter(_weighted_pick(live, "HTTPRoute shop/r rule 0", n).service for n in range(requests)) == expected


def test_weight_zero_gets_nothing_and_all_zero_is_500(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("web", 1), to("canary", 0))])])
    assert {svc(send(env)) for _ in range(30)} == {"web"}
    ns.apply(route("r", [rule(to("web", 0))]))
    assert send(env).code == 500


def test_request_header_modifier(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("web"), filters=[{"type": "RequestHeaderModifier",
        "requestHeaderModifier": {"set": [{"name": "X-Env", "value": "prod"}],
                                  "add": [{"name": "X-Tag", "value": "b"}], "remove": ["X-Drop"]}}])])])
    resp = send(env, headers={"x-env": "dev", "X-Tag": "a", "X-Drop": "1"})
    got = {k.lower(): v for k, v in resp.request_headers}
    assert got["x-env"] == "prod" and got["x-tag"] == "a,b" and "x-drop" not in got


def test_response_header_modifier(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("web"), filters=[{"type": "ResponseHeaderModifier",
        "responseHeaderModifier": {"set": [{"name": "X-Served-By", "value": "gateway"}]}}])])])
    resp = send(env)
    assert resp.code == 200 and resp.header("x-served-by") == "gateway"


@pytest.mark.parametrize("redirect, listener_port, expected_code, location", [
    ({}, 80, 302, "http://shop.example/old/page"),
    ({"scheme": "https", "statusCode": 301}, 80, 301, "https://shop.example/old/page"),
    ({"hostname": "new.example", "port": 8080}, 80, 302, "http://new.example:8080/old/page"),
    ({"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/new"}}, 80, 302, "http://shop.example/new/page"),
    ({"path": {"type": "ReplaceFullPath", "replaceFullPath": "/"}}, 80, 302, "http://shop.example/"),
    ({}, 8080, 302, "http://shop.example:8080/old/page"),       # no scheme: the listener's port
])
def test_request_redirect(env, redirect, listener_port, expected_code, location) -> None:
    cluster, ns = env
    ns.apply([gateway(listeners=[{"name": "http", "port": listener_port, "protocol": "HTTP"}]),
              route("r", [{"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
                           "filters": [{"type": "RequestRedirect", "requestRedirect": redirect}]}])])
    resp = send(env, "/old/page", port=listener_port)
    assert (resp.code, resp.header("Location"), resp.pod) == (expected_code, location, None)


def test_url_rewrite_changes_what_the_backend_sees(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [{"matches": [{"path": {"type": "PathPrefix", "value": "/shop"}}],
        "filters": [{"type": "URLRewrite", "urlRewrite": {
            "hostname": "internal.example", "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}],
        "backendRefs": [to("web")]}])])
    resp = send(env, "/shop/hostname")
    assert resp.code == 200 and resp.body == resp.pod.split("/")[1]     # agnhost got /hostname


def test_no_ready_endpoints_is_503(env) -> None:
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("web"))])])
    ns.set_ready("app=web", False)
    assert send(env).code == 503


def test_hostname_intersection_across_three_listeners_on_one_port(env) -> None:
    """The listener a request lands on decides which routes apply: a route only serves the
    hostnames it shares with the listeners it attached to (HTTPRouteSpec.hostnames)."""
    cluster, ns = env
    ns.apply([gateway(listeners=[
        {"name": "exact", "port": 80, "protocol": "HTTP", "hostname": "very.specific.com"},
        {"name": "wild", "port": 80, "protocol": "HTTP", "hostname": "*.wildcard.io"}]),
        route("to-exact", [rule(to("web"), matches=[{"path": {"type": "PathPrefix", "value": "/s1"}}])],
              hostnames=["non.matching.com", "very.specific.com"]),
        route("to-wild", [rule(to("api"), matches=[{"path": {"type": "PathPrefix", "value": "/s2"}}])],
              hostnames=["wildcard.io", "foo.wildcard.io", "foo.bar.wildcard.io"]),
        route("wild-on-exact", [rule(to("canary"), matches=[{"path": {"type": "PathPrefix", "value": "/s3"}}])],
              hostnames=["*.specific.com"]),
        route("none", [rule(to("v2"))], hostnames=["specific.but.wrong.com", "wildcard.io"])])
    assert svc(send(env, "/s1", host="very.specific.com")) == "web"
    assert svc(send(env, "/s1", host="very.specific.com:1234")) == "web"    # the Host's port is ignored
    assert send(env, "/s1", host="non.matching.com").code == 404
    assert send(env, "/s1", host="foo.wildcard.io").code == 404
    assert svc(send(env, "/s2", host="foo.bar.wildcard.io")) == "api"
    assert send(env, "/s2", host="wildcard.io").code == 404
    assert send(env, "/s2", host="very.specific.com").code == 404
    assert svc(send(env, "/s3", host="very.specific.com")) == "canary"
    assert send(env, "/s3", host="foo.specific.com").code == 404
    assert accepted(ns, "none").reason == "NoMatchingListenerHostname"


def test_matches_across_routes_with_the_same_hostname(env) -> None:
    """Precedence is computed across all rules of all routes for that host: the longer
    prefix of another route wins, and a match with more header matches beats a plain one."""
    cluster, ns = env
    ns.apply([gateway(),
              route("one", [rule(to("web"), matches=[{"path": {"type": "PathPrefix", "value": "/"}},
                                                    {"headers": [{"name": "version", "value": "one"}]}])],
                    hostnames=["example.com", "example.net"]),
              route("two", [rule(to("api"), matches=[{"path": {"type": "PathPrefix", "value": "/v2"}},
                                                    {"headers": [{"name": "version", "value": "two"}]}])],
                    hostnames=["example.com"])])
    assert svc(send(env, "/", host="example.com")) == "web"
    assert svc(send(env, "/v2/example", host="example.com")) == "api"
    assert svc(send(env, "/v2", host="example.net")) == "web"
    assert svc(send(env, "/", host="example.com", headers={"version": "two"})) == "api"


def test_more_dots_right_of_the_wildcard_wins_between_listeners(env) -> None:
    cluster, ns = env
    ns.apply([gateway(listeners=[
        {"name": "short", "port": 80, "protocol": "HTTP", "hostname": "*.example.com"},
        {"name": "long", "port": 80, "protocol": "HTTP", "hostname": "*.foo.example.com"}]),
        route("a", [rule(to("web"))], parent={"name": "gw", "sectionName": "short"}),
        route("b", [rule(to("api"))], parent={"name": "gw", "sectionName": "long"})])
    assert svc(send(env, host="x.foo.example.com")) == "api"
    assert svc(send(env, host="x.bar.example.com")) == "web"


def test_a_namespace_sends_the_same_request_as_its_cluster(env) -> None:
    """Checks are handed a namespace, so ns.http is cluster.http (from the learner's machine)."""
    cluster, ns = env
    ns.apply([gateway(), route("r", [rule(to("web"))])])
    a = ns.http(ns.gateway_address("gw"), "/hostname", host="shop.example")
    b = cluster.http(ns.gateway_address("gw"), "/hostname", host="shop.example")
    assert (a.code, a.pod, a.backend) == (b.code, b.pod, b.backend) == (200, a.pod, "shop/web:80")
