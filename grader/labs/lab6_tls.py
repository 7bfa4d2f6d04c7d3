"""Lab 6 part 4, HTTPS through Gateway `web`: two HTTPS listeners with a certificate each
(the client's SNI picks one), the part 2 routing served over HTTPS, and an HTTP -> HTTPS
redirect (301) for shop.example. The certificates are grader.labs.tls_fixtures' test
fixtures, applied with the lab's workloads as Secrets `shop-tls` and `blog-tls`. Graded by
which pod answers, which certificate the handshake presents, and where a redirect points."""
from __future__ import annotations

from grader import checks
from grader.checks.core import Check
from grader.labs.spec import Part, WrongAnswer

HTTPS = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: web
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - name: http
    protocol: HTTP
    port: 80
  - name: https-shop
    protocol: HTTPS
    port: 443
    hostname: shop.example
    tls:
      mode: Terminate
      certificateRefs:
      - name: shop-tls
  - name: https-blog
    protocol: HTTPS
    port: 443
    hostname: blog.example
    tls:
      mode: Terminate
      certificateRefs:
      - name: blog-tls
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
spec:
  parentRefs:
  - name: web
    sectionName: https-shop
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
  name: shop-redirect
spec:
  parentRefs:
  - name: web
    sectionName: http
  hostnames:
  - shop.example
  rules:
  - filters:
    - type: RequestRedirect
      requestRedirect:
        scheme: https
        statusCode: 301
"""

#: Part 4's single-listener mistake: one HTTPS listener for every host, with one certificate.
ONE_LISTENER = HTTPS.replace("""  - name: https-shop
    protocol: HTTPS
    port: 443
    hostname: shop.example""", """  - name: https-shop
    protocol: HTTPS
    port: 443""").replace("""  - name: https-blog
    protocol: HTTPS
    port: 443
    hostname: blog.example
    tls:
      mode: Terminate
      certificateRefs:
      - name: blog-tls
""", "")


def tls_checks() -> list[Check]:
    return [
        checks.routes_to("gateway/web", "/", host="shop.example", scheme="https", answered_by="app=shop",
                         certificate="shop-tls", name="https://shop.example/ reaches the shop with shop-tls"),
        checks.routes_to("gateway/web", "/", host="blog.example", scheme="https", answered_by="app=blog",
                         certificate="blog-tls", name="https://blog.example/ reaches the blog with blog-tls"),
        checks.redirects("gateway/web", "/api/items", host="shop.example",
                         location="https://shop.example/api/items",
                         name="http://shop.example/api/items is redirected (301) to https"),
    ]


def tls_hidden_checks() -> list[Check]:
    """Hidden: the part 2 routing kept over HTTPS, blog still on plain HTTP, the path kept."""
    return [
        checks.routes_to("gateway/web", "/api/items", host="shop.example", scheme="https",
                         answered_by="app=api,version=v1", certificate="shop-tls",
                         name="https://shop.example/api/items still reaches api-v1"),
        checks.routes_to("gateway/web", "/", host="blog.example", answered_by="app=blog",
                         name="http://blog.example/ is still served"),
        checks.redirects("gateway/web", "/", host="shop.example", location="https://shop.example/",
                         name="http://shop.example/ is redirected (301) to https"),
        checks.routes_to("gateway/web", "/", host="admin.example", code=404,
                         name="http://admin.example/ is not redirected: the redirect is shop.example's"),
    ]


PART4 = Part(
    id="part4", title="HTTPS: a certificate per host, and a redirect", points=4, builds_on=("part2",),
    task="""
The lab made two TLS Secrets (type `kubernetes.io/tls`, self-signed test certificates):
**`shop-tls`** for `shop.example` and **`blog-tls`** for `blog.example`. Starting from the
part 2 routes (applied for you), make Gateway `web`:

| request | answer |
|---|---|
| `https://shop.example/...` | the part 2 routing (shop, `/api` to api-v1), certificate `shop-tls` |
| `https://blog.example/...` | the blog, certificate `blog-tls` |
| `http://shop.example/...` | **301** to the same URL with `https` |
| `http://blog.example/...` | still the blog, over plain HTTP |

Re-apply Gateway `web` with its listeners (keep `http`), and the routes you need. Try it
with `ns.http(ns.gateway_address("web"), "/", host="shop.example", scheme="https")`: the
response's `certificate` names the Secret the handshake presented, and
`ns.gateway_status("web")` shows each listener's `ResolvedRefs`.
""",
    visible=tls_checks(),
    hidden=tls_hidden_checks(),
    reference=HTTPS,
    explanation=(
        "Two HTTPS listeners on port 443, one per hostname, each with its own certificateRef: the client's "
        "SNI picks the listener, so each host gets its certificate. The shop route attaches to the "
        "`https-shop` listener only (`sectionName`), and a second route on the `http` listener answers every "
        "shop.example request with a RequestRedirect (`scheme: https`, `statusCode: 301`; without it the "
        "redirect is a 302). The blog route has no sectionName, so it serves on `http` and `https-blog`."),
    wrong_answers=(
        WrongAnswer("One HTTPS listener without hostname and only `shop-tls`: blog.example gets the shop's "
                    "certificate, which a browser refuses for that name.", ONE_LISTENER, max_score=3.45),
        WrongAnswer("A redirect without `statusCode`: RequestRedirect answers 302 (Found), not 301.",
                    HTTPS.replace("        statusCode: 301\n", ""), max_score=2.9),
        WrongAnswer("A certificateRef to a Secret that does not exist: the listener reports ResolvedRefs "
                    "False (InvalidCertificateRef), is not programmed, and shop.example has no HTTPS.",
                    HTTPS.replace("      - name: shop-tls", "      - name: shop-cert"), max_score=2.9),
        WrongAnswer("The shop route left on every listener: on plain HTTP its `/api` rule is more specific "
                    "than the redirect, so http://shop.example/api/items is served instead of redirected.",
                    HTTPS.replace("  - name: web\n    sectionName: https-shop\n", "  - name: web\n"),
                    max_score=3.5),
    ),
)
