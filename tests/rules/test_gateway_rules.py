"""svclab check on Gateway API objects (the CRDs' schema and CEL rules the course touches),
and the sandbox's rules for Ingress, HTTPRoute, ReferenceGrant and a learner's Gateway."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from grader.cli import main
from grader.manifests import check, load
from grader.sandbox import MAX_GATEWAYS, sandbox_problems

GW = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "gw"},
      "spec": {"gatewayClassName": "cloud-provider-kind",
               "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}
ROUTE = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
         "spec": {"parentRefs": [{"name": "gw"}], "hostnames": ["shop.example"],
                  "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
                             "backendRefs": [{"name": "api", "port": 80, "weight": 90}]}]}}


def problems(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(obj)[1]]


def edited(obj: dict[str, Any], fn) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    fn(out)
    return out


def test_the_course_objects_are_valid() -> None:
    assert problems(GW) == [] and problems(ROUTE) == []
    grant = {"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "ReferenceGrant", "metadata": {"name": "g"},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "a"}],
                      "to": [{"group": "", "kind": "Service"}]}}
    assert problems(grant) == []


def test_wrong_api_version_names_the_right_one() -> None:
    bad = edited(ROUTE, lambda o: o.update(apiVersion="networking.k8s.io/v1"))
    assert problems(bad) == [("apiVersion", "apiVersion 'networking.k8s.io/v1' is wrong for HTTPRoute; "
                                            "use 'gateway.networking.k8s.io/v1'")]


def test_unknown_field_with_a_suggestion_and_missing_required() -> None:
    bad = edited(ROUTE, lambda o: o["spec"]["rules"][0]["backendRefs"][0].update(wieght=1))
    assert ("spec.rules[0].backendRefs[0].wieght", "unknown field 'wieght' (did you mean 'weight'?)") in problems(bad)
    nolisteners = edited(GW, lambda o: o["spec"].pop("listeners"))
    assert problems(nolisteners) == [("spec.listeners", "required field 'listeners' is missing")]


@pytest.mark.parametrize("change, path, message", [
    (lambda o: o["spec"]["rules"][0]["matches"][0]["path"].update(type="Prefix"),
     "spec.rules[0].matches[0].path.type", "unsupported value 'Prefix'; use one of 'Exact', 'PathPrefix', "
     "'RegularExpression'"),
    (lambda o: o["spec"]["rules"][0]["matches"][0]["path"].update(value="api"),
     "spec.rules[0].matches[0].path",
     "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"),
    (lambda o: o["spec"]["rules"][0]["matches"][0]["path"].update(value="/a//b"),
     "spec.rules[0].matches[0].path", "must not contain '//' when type one of ['Exact', 'PathPrefix']"),
    (lambda o: o["spec"]["rules"][0]["backendRefs"][0].pop("port"),
     "spec.rules[0].backendRefs[0]", "Must have port for Service reference"),
    (lambda o: o["spec"]["rules"][0]["backendRefs"][0].update(port="80"),
     "spec.rules[0].backendRefs[0].port", "must be an integer, got '80' (remove the quotes)"),
    (lambda o: o["spec"].update(hostnames=["Shop.Example"]),
     "spec.hostnames[0]", "'Shop.Example' must match the pattern"),
    (lambda o: o["spec"]["rules"][0].update(filters=[{"type": "RequestRedirect", "requestRedirect": {}}]),
     "spec.rules[0]", "RequestRedirect filter must not be used together with backendRefs"),
    (lambda o: o["spec"]["rules"][0].update(filters=[{"type": "RequestHeaderModifier"}]),
     "spec.rules[0].filters[0]", "filter.requestHeaderModifier must be specified for RequestHeaderModifier "
     "filter.type"),
    (lambda o: o["spec"]["rules"][0].update(filters=[
        {"type": "URLRewrite", "urlRewrite": {}}, {"type": "RequestRedirect", "requestRedirect": {}}]),
     "spec.rules[0].filters", "May specify either httpRouteFilterRequestRedirect or "
     "httpRouteFilterRequestRewrite, but not both"),
    (lambda o: o["spec"]["rules"][0].update(matches=[{"path": {"type": "Exact", "value": "/a"}}], filters=[
        {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}]),
     "spec.rules[0]", "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match "
     "must be specified"),
    (lambda o: o["spec"]["rules"][0].update(filters=[
        {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplaceFullPath"}}}]),
     "spec.rules[0].filters[0].urlRewrite.path",
     "replaceFullPath must be specified when type is set to 'ReplaceFullPath'"),
])
def test_httproute_schema_and_cel_rules(change, path: str, message: str) -> None:
    found = problems(edited(ROUTE, change))
    assert any(p == path and m.startswith(message) for p, m in found), found


@pytest.mark.parametrize("listeners, message", [
    ([{"name": "a", "port": 80, "protocol": "HTTP"}, {"name": "a", "port": 81, "protocol": "HTTP"}],
     "Listener name must be unique within the Gateway"),
    ([{"name": "a", "port": 80, "protocol": "HTTP"}, {"name": "b", "port": 80, "protocol": "HTTP"}],
     "Combination of port, protocol and hostname must be unique for each listener"),
    ([{"name": "a", "port": 80, "protocol": "HTTP", "tls": {"mode": "Terminate"}}],
     "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"),
])
def test_gateway_listener_cel_rules(listeners, message: str) -> None:
    found = problems(edited(GW, lambda o: o["spec"].update(listeners=listeners)))
    assert ("spec.listeners", message) in found


@pytest.mark.parametrize("refs, message", [
    ([{"name": "gw"}, {"name": "gw", "sectionName": "http"}],
     "sectionName must be specified when parentRefs includes 2 or more references to the same parent"),
    ([{"name": "gw", "sectionName": "http"}, {"name": "gw", "sectionName": "http"}],
     "sectionName must be unique when parentRefs includes 2 or more references to the same parent"),
])
def test_parent_refs_cel_rules(refs, message: str) -> None:
    assert ("spec.parentRefs", message) in problems(edited(ROUTE, lambda o: o["spec"].update(parentRefs=refs)))
    two = [{"name": "gw", "sectionName": "http"}, {"name": "gw", "sectionName": "admin"}]
    assert problems(edited(ROUTE, lambda o: o["spec"].update(parentRefs=two))) == []


def test_experimental_only_fields_are_unknown_to_the_standard_crds() -> None:
    bad = edited(ROUTE, lambda o: o["spec"]["rules"][0].update(retry={"attempts": 2}))
    assert ("spec.rules[0].retry", "unknown field 'retry'") in problems(bad)


def test_listener_port_range_and_allowed_routes_enum() -> None:
    bad = edited(GW, lambda o: o["spec"]["listeners"][0].update(
        port=0, allowedRoutes={"namespaces": {"from": "Everyone"}}))
    found = problems(bad)
    assert ("spec.listeners[0].port", "must be greater than or equal to 1, got 0") in found
    assert ("spec.listeners[0].allowedRoutes.namespaces.from",
            "unsupported value 'Everyone'; use one of 'All', 'Selector', 'Same'") in found


def test_svclab_check_reports_gateway_problems_with_file_and_path(tmp_path, capsys) -> None:
    f = tmp_path / "route.yaml"
    f.write_text("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
                 "spec:\n  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: web}]\n")
    assert main(["check", str(f)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{f}, document 1 (HTTPRoute/r): spec.rules[0].backendRefs[0]: Must have port for Service reference"]


# ---------------------------------------------------------------- sandbox
def refused(objs: Any, namespace: str = "lab6") -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in sandbox_problems(load(objs), namespace)]


def test_ingress_route_grant_and_one_gateway_are_allowed_in_a_lab() -> None:
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"},
               "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}}
    grant = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "ReferenceGrant", "metadata": {"name": "g"},
             "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "x"}],
                      "to": [{"group": "", "kind": "Service"}]}}
    assert refused([ingress, ROUTE, GW, grant]) == []


def test_more_gateways_than_the_cap_are_refused() -> None:
    second = edited(GW, lambda o: o["metadata"].update(name="gw2"))
    found = refused([GW, second])
    assert MAX_GATEWAYS == 1 and len(found) == 1
    assert found[0][0] == "kind" and "at most 1 Gateway" in found[0][1]


def test_a_lab_gateway_uses_the_course_class_and_http_only() -> None:
    bad = edited(GW, lambda o: (o["spec"].update(gatewayClassName="istio"),
                                o["spec"]["listeners"][0].update(protocol="TCP")))
    paths = [p for p, _ in refused(bad)]
    assert paths == ["spec.gatewayClassName", "spec.listeners[0].protocol"]


def test_gateway_class_and_objects_in_other_namespaces_are_refused() -> None:
    cls = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass", "metadata": {"name": "mine"},
           "spec": {"controllerName": "example.com/gw"}}
    assert "cluster-wide" in refused(cls)[0][1]
    elsewhere = edited(ROUTE, lambda o: o["metadata"].update(namespace="kube-system"))
    assert refused(elsewhere)[0][0] == "metadata.namespace"


# ---------------------------------------------------------------- advisory warnings
def test_warnings_name_backends_the_manifests_do_not_define(tmp_path, capsys) -> None:
    f = tmp_path / "app.yaml"
    f.write_text("""\
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
  - http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /a, pathType: Prefix, backend: {service: {name: web, port: {name: grpc}}}}
      - {path: /b, pathType: Prefix, backend: {service: {name: ghost, port: {number: 80}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: web, port: 80}, {name: web, port: 8080}]
""")
    # svclab check lints every valid input (grader.lint), --warnings or not
    assert main(["check", "--warnings", str(f)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        f"warning: {f}, document 2 (Ingress/shop): spec.rules[0].http.paths[1].backend.service.port.name: "
        "Service 'web' has no port named 'grpc' (its port names: 'http')",
        f"warning: {f}, document 2 (Ingress/shop): spec.rules[0].http.paths[2].backend.service.name: "
        "no Service 'ghost' in namespace 'default' in these manifests (Services there: web); unless it "
        "already exists in the cluster, this backend is not found",
        f"warning: {f}, document 3 (HTTPRoute/r): spec.rules[0].backendRefs[1].port: Service 'web' has "
        "no port 8080 (its ports: 80); a backend names the Service's port, not the pod's targetPort",
        "OK, 3 objects (4 warnings)"]
    assert out[0].startswith(f"warning: {f}, document 1 (Service/web): spec.selector: app=web matches no pod")


def test_the_gateway_cap_counts_the_namespace_not_one_apply() -> None:
    """A second apply may not add a second Gateway; re-applying the same one is fine."""
    from grader.cluster.offline import OfflineCluster
    from grader.manifests import ManifestError

    ns = OfflineCluster().namespace("lab6")
    ns.apply(GW)
    assert ns.apply(edited(GW, lambda o: o["spec"]["listeners"][0].update(port=8080))) == [
        "gateway.gateway.networking.k8s.io/gw configured"]
    with pytest.raises(ManifestError) as err:
        ns.apply(edited(GW, lambda o: o["metadata"].update(name="gw2")))
    assert "this would be Gateway number 2 (the namespace already has gw)" in str(err.value)
    assert ns.gateway_address("gw") is not None


def test_existing_gateways_are_only_asked_for_when_a_gateway_is_applied() -> None:
    asked: list[bool] = []

    def existing() -> list[str]:
        asked.append(True)
        return ["gw"]

    assert sandbox_problems(load(ROUTE), "lab6", existing) == [] and asked == []
    assert [p.path for p in sandbox_problems(load(edited(GW, lambda o: o["metadata"].update(name="b"))),
                                             "lab6", existing)] == ["kind"]
    assert asked == [True]
