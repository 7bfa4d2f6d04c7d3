"""Lab 6, HTTP routing: two hosts and two paths through one Ingress address, the same
routing as a Gateway API HTTPRoute, a 90/10 canary, then HTTPS with a certificate per host
and an HTTP -> HTTPS redirect. Graded by which pod answers which request (and which
certificate the handshake presents), so any answer that behaves right scores. The apps run
agnhost `serve-hostname`, which answers every path with the pod's name: the body says which
pod answered `/api/items` on a real cluster as offline (netexec names itself only on
`/hostname`)."""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.lab6_imperative import PART5, PART6
from grader.labs.lab6_tls import PART4
from grader.labs.spec import Lab, Part, WrongAnswer
from grader.labs.tls_fixtures import tls_secret
from grader.labs.workloads import hostname_workload

APPS: tuple[tuple[str, dict[str, str]], ...] = (
    ("shop", {"app": "shop"}), ("blog", {"app": "blog"}), ("api-v1", {"app": "api", "version": "v1"}),
    ("api-v2", {"app": "api", "version": "v2"}))


def _app(name: str, labels: dict[str, str]) -> str:
    selector = ", ".join(f"{k}: {v}" for k, v in labels.items())
    return hostname_workload(name, labels, replicas=2, selector=labels) + f"""---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{{selector}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


GATEWAY = """apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: web}
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - {name: http, protocol: HTTP, port: 80}
"""

#: Test-fixture certificates (grader.labs.tls_fixtures): one per host, for part 4.
CERTIFICATES = tls_secret("shop-tls", "shop.example") + "---\n" + tls_secret("blog-tls", "blog.example")

WORKLOADS = "---\n".join([_app(n, labels) for n, labels in APPS] + [GATEWAY, CERTIFICATES])

Address = Callable[[Any], "str | None"]


def via_ingress(name: str) -> Address:
    return lambda ns: ns.ingress_address(name)


def via_gateway(name: str) -> Address:
    return lambda ns: ns.gateway_address(name)


def answered_by(address: Address, what: str, host: str, path: str, selector: str | None, *,
                code: int = 200, name: str | None = None) -> Check:
    """GET http://<address><path> with Host `host` gets `code`, from a pod matching `selector`."""
    def fn(ns: Any) -> Verdict:
        addr = address(ns)
        if not addr:
            return failed(f"{what} has no address yet, so no request can reach it (is it served by the "
                          "course's controller? check its class and its status)")
        resp = ns.http(addr, path, host=host)
        asked = f"GET {host}{path}"
        if resp.code != code:
            return failed(f"{asked} got {resp.code or resp.status.value}, not {code}"
                          + (f": {resp.reason}" if resp.reason else ""))
        if selector:
            pod = (resp.pod or "").split("/", 1)[-1]
            if pod not in {p.name for p in checks.pods_matching(ns, selector)}:
                return failed(f"{asked} was answered by {pod or 'the proxy itself'}, "
                              f"not a pod matching {selector}"
                              + (f" ({resp.route})" if resp.route else ""))
            return passed(f"{asked}: {code} from {pod}")
        return passed(f"{asked}: {code}")
    return Check(name or f"{host}{path} goes to {selector or code}", fn)


def canary_share(address: Address, what: str, host: str, path: str, *, requests: int = 200,
                 low: float = 0.05, high: float = 0.15) -> Check:
    """About 10% of requests reach api-v2, the rest api-v1 (offline the split is exact; live,
    Envoy draws per request, so the band is wide enough for chance)."""
    def fn(ns: Any) -> Verdict:
        addr = address(ns)
        if not addr:
            return failed(f"{what} has no address yet")
        v1 = {p.name for p in checks.pods_matching(ns, "app=api,version=v1")}
        v2 = {p.name for p in checks.pods_matching(ns, "app=api,version=v2")}
        seen: Counter[str] = Counter()
        for _ in range(requests):
            resp = ns.http(addr, path, host=host)
            pod = (resp.pod or "").split("/", 1)[-1]
            seen["v1" if pod in v1 else "v2" if pod in v2 else f"{resp.code} {pod or 'proxy'}"] += 1
        other = {k: n for k, n in seen.items() if k not in ("v1", "v2")}
        if other:
            worst = max(other, key=lambda k: other[k])
            return failed(f"{sum(other.values())} of {requests} requests to {host}{path} reached neither api "
                          f"version (e.g. {worst}): the canary rule "
                          "must send every request to api-v1 or api-v2")
        share = seen["v2"] / requests
        if not low <= share <= high:
            return failed(f"{seen['v2']} of {requests} requests to {host}{path} reached api-v2 "
                          f"({share:.0%}); a 90/10 canary sends about 10%: "
                          "weights 90 and 10 on one rule's backendRefs")
        return passed(f"{seen['v2']} of {requests} requests reached api-v2 ({share:.0%}), the rest api-v1")
    return Check("about 10% of /api requests reach api-v2", fn)


def routing_checks(address: Address, what: str) -> list[Check]:
    return [
        answered_by(address, what, "shop.example", "/", "app=shop", name="shop.example/ goes to the shop"),
        answered_by(address, what, "shop.example", "/api/items", "app=api,version=v1",
                    name="shop.example/api/items goes to api-v1"),
        answered_by(address, what, "blog.example", "/", "app=blog", name="blog.example/ goes to the blog"),
    ]


def strict_checks(address: Address, what: str) -> list[Check]:
    """Hidden: a catch-all that serves every host, or a prefix that matches `/apiary`, routes
    the visible requests right and others wrong."""
    return [
        answered_by(address, what, "admin.example", "/", None, code=404, name="an unknown host gets 404"),
        answered_by(address, what, "shop.example", "/apiary", "app=shop",
                    name="shop.example/apiary is the shop's, not the api's"),
        answered_by(address, what, "blog.example", "/archive/2026/intro", "app=blog",
                    name="every path of blog.example goes to the blog"),
    ]


INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: site
spec:
  ingressClassName: cloud-provider-kind
  rules:
  - host: shop.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: shop
            port:
              number: 80
      - path: /api
        pathType: Prefix
        backend:
          service:
            name: api-v1
            port:
              number: 80
  - host: blog.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: blog
            port:
              number: 80
"""

ROUTES = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
spec:
  parentRefs:
  - name: web
  hostnames:
  - shop.example
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /api
    backendRefs:
    - name: api-v1
      port: 80
  - backendRefs:
    - name: shop
      port: 80
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: blog
spec:
  parentRefs:
  - name: web
  hostnames:
  - blog.example
  rules:
  - backendRefs:
    - name: blog
      port: 80
"""

CANARY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
spec:
  parentRefs:
  - name: web
  hostnames:
  - shop.example
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /api
    backendRefs:
    - name: api-v1
      port: 80
      weight: 90
    - name: api-v2
      port: 80
      weight: 10
  - backendRefs:
    - name: shop
      port: 80
"""

ING, GW = via_ingress("site"), via_gateway("web")

PART1 = Part(
    id="part1", title="Two hosts, two paths, one address", points=4,
    task="""
The lab runs four apps, each a Deployment with a Service on port 80: `shop`, `blog`,
`api-v1` and `api-v2`. Put the first three behind **one address** with an **Ingress named
`site`**:

| request | goes to |
|---|---|
| `http://shop.example/...` | `shop` |
| `http://shop.example/api/...` | `api-v1` |
| `http://blog.example/...` | `blog` |

Any other host must get a 404. The course's Ingress controller (cloud-provider-kind) is the
default class. Every app's pods answer any request with their own name (agnhost
`serve-hostname`), so a response's body says which pod, and so which app, answered. Try
requests with `ns = lab.explore("part1")`, then
`ns.http(ns.ingress_address("site"), "/api/items", host="shop.example")`.
""",
    visible=routing_checks(ING, "Ingress site"),
    hidden=strict_checks(ING, "Ingress site"),
    reference=INGRESS,
    explanation=(
        "One Ingress, two rules keyed by `host`; within shop.example the longest matching path wins, so "
        "`/api` beats `/`. `pathType: Prefix` matches whole path elements: `/api` matches `/api/items` but "
        "not `/apiary`. With a host on every rule, an unknown host matches nothing and gets 404."),
    wrong_answers=(
        WrongAnswer("A rule without `host`: it serves every host name, so admin.example reaches the shop.",
                    INGRESS.replace("  - host: shop.example\n    http:", "  - http:"), max_score=3.5),
        WrongAnswer("`pathType: Exact` for `/api`: only `/api` itself reaches the api; `/api/items` falls "
                    "through to the shop's `/`.", INGRESS.replace("""      - path: /api
        pathType: Prefix""", """      - path: /api
        pathType: Exact"""), max_score=3.5),
        WrongAnswer("`backend.service.port.number: 8080`: that is the pods' port; an Ingress names the "
                    "Service's port.", INGRESS.replace("number: 80", "number: 8080"), max_score=1),
    ),
)

PART2 = Part(
    id="part2", title="Migrate to the Gateway API", points=4,
    task="""
The lab also runs a **Gateway `web`** (class `cloud-provider-kind`, an HTTP listener on
port 80). Give it the same routing as part 1 with **HTTPRoute** objects attached to it (one
per host is the usual shape, but any set of routes that routes right scores). Check with
`ns.http(ns.gateway_address("web"), "/", host="blog.example")` and `ns.route_status("<route>")`.
""",
    visible=routing_checks(GW, "Gateway web"),
    hidden=strict_checks(GW, "Gateway web"),
    reference=ROUTES,
    explanation=(
        "An HTTPRoute attaches to the Gateway through `parentRefs`; `hostnames` plays the role of the "
        "Ingress rule's host, and `PathPrefix` of `pathType: Prefix` (also element-wise). A rule without "
        "`matches` matches every path, and the more specific `/api` match takes precedence over it."),
    wrong_answers=(
        WrongAnswer("No `parentRefs`: the route attaches to nothing, and every request gets 404.",
                    ROUTES.replace("  parentRefs:\n  - name: web\n", ""), max_score=1.5),
        WrongAnswer("No `hostnames`: the route serves every host, so admin.example reaches the shop.",
                    ROUTES.replace("  hostnames:\n  - shop.example\n", "", 1), max_score=3.5),
        WrongAnswer("`backendRefs` without `port`: refused for a Service backend (the port is required).",
                    ROUTES.replace("      port: 80\n", ""), max_score=0),
    ),
)

PART3 = Part(
    id="part3", title="A 90/10 canary", points=4, builds_on=("part2",),
    task="""
`api-v2` is ready for a trial. Starting from the part 2 routes (the reference ones are
applied for you), send **about 10% of `shop.example/api` requests to `api-v2`** and the
rest to `api-v1`, without changing what `/` or blog.example do. Re-applying a route with the
same name replaces it.
""",
    # the split is the task: half the part's points, the routing it must keep the other half
    visible=[canary_share(GW, "Gateway web", "shop.example", "/api/items").worth(3)],
    hidden=[answered_by(GW, "Gateway web", "shop.example", "/", "app=shop",
                        name="shop.example/ still goes to the shop"),
            answered_by(GW, "Gateway web", "blog.example", "/", "app=blog",
                        name="blog.example/ still goes to the blog"),
            answered_by(GW, "Gateway web", "admin.example", "/api/items", None, code=404,
                        name="an unknown host still gets 404")],
    reference=CANARY,
    explanation=(
        "Two `backendRefs` on the `/api` rule with `weight: 90` and `weight: 10`: the Gateway sends each "
        "request to one backend with probability proportional to its weight. The other rule is unchanged, "
        "so only /api traffic takes part in the trial."),
    wrong_answers=(
        WrongAnswer("Weights 9 and 1 are the same split as 90 and 10; 1 and 10 are not (about 91% to v2).",
                    CANARY.replace("weight: 90", "weight: 1"), max_score=2.7),
        WrongAnswer("A second HTTPRoute for `/api` with only api-v2: both routes match, one wins for every "
                    "request, so it is 0% or 100%, never 10%.", """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop-canary}
spec:
  parentRefs: [{name: web}]
  hostnames: [shop.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: api-v2, port: 80}]
""", max_score=2.7),
        WrongAnswer("Weights on the catch-all rule: the shop's own traffic is split instead of the api's.",
                    ROUTES.split("---")[0].replace("""  - backendRefs:
    - name: shop
      port: 80""", """  - backendRefs:
    - name: shop
      port: 80
      weight: 90
    - name: api-v2
      port: 80
      weight: 10"""), max_score=2),
    ),
)

LAB = Lab(
    name="lab6-ingress",
    title="Lab 6: HTTP routing with Ingress and the Gateway API",
    namespace="lab6",
    workloads=WORKLOADS,
    parts=(PART1, PART2, PART3, PART4, PART5, PART6),
    goals="""
- route two hosts and two paths through one address with an Ingress;
- express the same routing as Gateway API HTTPRoutes;
- run a 90/10 canary with weighted backends;
- serve HTTPS with a certificate per host (SNI) and redirect HTTP to HTTPS;
- make an Ingress in one `kubectl create ingress --rule` command;
- reach a Service through `kubectl port-forward` and see that it stays with one pod;
- check routing by which pod answers which request.
""",
    concept="""
An **Ingress** (or a Gateway with its **HTTPRoutes**) is an HTTP proxy in front of
Services: it looks at each request's host and path and picks a Service, which picks a pod.
The Gateway API splits the roles: the Gateway is the listener (the address), routes attach
to it, and a rule's backends can carry weights.

```mermaid
flowchart LR
    you["your machine"] -->|"Host: shop.example /"| gw["Ingress site / Gateway web"]
    you -->|"Host: shop.example /api"| gw
    you -->|"Host: blog.example"| gw
    gw --> shop["Service shop"]
    gw -->|"90%"| v1["Service api-v1"]
    gw -.->|"10%"| v2["Service api-v2"]
    gw --> blog["Service blog"]
```
""",
    whats_next="""
Back to any lab, live this time: on the kind cluster, cloud-provider-kind serves the same
Ingress and Gateway, and the checks send real requests (`make cluster`).
""",
)
