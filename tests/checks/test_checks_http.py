"""grader.checks for HTTP routing: right and wrong Ingresses and HTTPRoutes get the score and
the sentence a learner can act on."""
from __future__ import annotations

import pytest

from grader import checks
from grader.cluster.offline import OfflineCluster
from grader.labs.workloads import Port, netexec_workload


def _app(name: str) -> str:
    return "\n" + netexec_workload(name, {"app": name}, replicas=2, container="web", ports=[Port(8080)]) + f"""---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: 8080}}]
"""


INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop}
spec:
  rules:
  - host: shop.example
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 80}}}}
"""

GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - {name: http, port: 80, protocol: HTTP, hostname: "*.example"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: canary}
spec:
  parentRefs: [{name: gw}]
  hostnames: [shop.example]
  rules:
  - backendRefs:
    - {name: web, port: 80, weight: 90}
    - {name: api, port: 80, weight: 10}
"""

API_ROUTE = checks.routes_to("ingress/shop", "/api/hostname", host="shop.example", answered_by="app=api")


@pytest.fixture
def ns():
    n = OfflineCluster().namespace("httpchecks")
    n.apply(_app("web") + "---" + _app("api"))
    return n


def test_the_right_ingress_routes_each_path_to_its_service(ns) -> None:
    report = checks.run(ns, [
        checks.routes_to("ingress/shop", "/hostname", host="shop.example", answered_by="app=web"),
        API_ROUTE,
        checks.routes_to("ingress/shop", "/hostname", host="blog.example", code=404),
    ], answer=INGRESS)
    assert report.passed, str(report)


def test_a_path_sent_to_the_wrong_service_names_who_answered(ns) -> None:
    wrong = INGRESS.replace("{path: /api, pathType: Prefix, backend: {service: {name: api",
                            "{path: /api, pathType: Prefix, backend: {service: {name: web")
    fb = checks.run(ns, [API_ROUTE], answer=wrong).results[0].feedback
    assert fb.startswith("GET /api/hostname (Host: shop.example) through ingress/shop was answered by web-")
    assert "not by a pod matching app=api" in fb


def test_a_wrong_host_gets_the_404_and_its_reason(ns) -> None:
    fb = checks.run(ns, [API_ROUTE], answer=INGRESS.replace("host: shop.example", "host: shop.exmaple")
                    ).results[0].feedback
    assert "expected HTTP 200, got HTTP 404" in fb


def test_a_missing_ingress_has_no_address(ns) -> None:
    fb = checks.run(ns, [API_ROUTE]).results[0].feedback
    assert fb == 'Error from server (NotFound): ingresses.networking.k8s.io "shop" not found'


def test_canary_split_within_tolerance(ns) -> None:
    report = checks.run(ns, [
        checks.splits("gateway/gw", "/hostname", host="shop.example", shares={"app=web": 0.9, "app=api": 0.1}),
        checks.route_accepted("canary"),
    ], answer=GATEWAY)
    assert report.passed, str(report)


def test_a_50_50_split_fails_a_90_10_canary(ns) -> None:
    even = GATEWAY.replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50")
    fb = checks.run(ns, [checks.splits("gateway/gw", "/hostname", host="shop.example",
                                       shares={"app=web": 0.9, "app=api": 0.1})], answer=even).results[0].feedback
    assert "split app=web: 5" in fb and "wanted app=web: 90%, app=api: 10%" in fb


def test_a_route_whose_hostname_the_listener_does_not_allow_is_not_accepted(ns) -> None:
    off = GATEWAY.replace("hostnames: [shop.example]", "hostnames: [shop.example.org]")
    result = checks.run(ns, [checks.route_accepted("canary")], answer=off).results[0]
    assert not result.passed and "NoMatchingListenerHostname" in result.feedback


def test_a_route_to_a_missing_service_says_backend_not_found(ns) -> None:
    off = GATEWAY.replace("{name: api, port: 80, weight: 10}", "{name: apii, port: 80, weight: 10}")
    result = checks.run(ns, [checks.route_accepted("canary")], answer=off).results[0]
    assert "ResolvedRefs=False (BackendNotFound)" in result.feedback
