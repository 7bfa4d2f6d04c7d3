"""An HTTP request from the learner's machine to an Ingress or Gateway address, through the
proxy, to a backend pod, as the offline model sees it.

The path a request takes (cloud-provider-kind v0.11.1 on kind):
1. the address is an Envoy container on kind's Docker network: a Gateway's own, or the
   shared ingress Gateway of a namespace with served Ingresses (grader.model.ingress);
2. routing picks a backend Service port, or the proxy answers itself (404 no route,
   500 invalid backend, a redirect) -- grader.model.ingress / grader.model.gateway;
3. Envoy connects to the Service's ClusterIP and port; kube-proxy picks a ready endpoint
   (round-robin per proxy and Service port, deterministic, like the rest of the model);
4. NetworkPolicy judges that connection as coming FROM THE PROXY'S ADDRESS (the Envoy
   container's IP, the Gateway's address, e.g. 172.18.0.100): the proxy ends the client's
   TCP connection and opens its own, so the learner's machine (172.18.0.1) is not the
   source. kube-network-policies filters before kube-proxy's masquerade, as for NodePorts
   (grader.model.connectivity), so an ipBlock such as 172.18.0.0/16 (kind's network) or the
   Gateway's address/32 lets the proxy in; the pod itself sees the node's address in
   `/clientip` (kube-proxy masquerades ClusterIP traffic from outside the pod network);
5. what Envoy answers when the backend fails: 503 for no ready endpoint (kube-proxy
   rejects: "connection failure") and for a dropped or unanswered connection ("connection
   timeout"); otherwise agnhost netexec's answer (grader.model.server) with 200.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from grader.model import gateway as gw_model
from grader.model import gateway_routing, server
from grader.model import ingress as ing_model
from grader.model.http_routing import Headers, HttpRequest
from grader.model.ipam import stable_int
from grader.model.objects import NODE_IP, Address
from grader.model.tls import pick_certificate
from grader.observations import HttpResponse, Status

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state import ClusterState

#: Envoy's body when it cannot reach the upstream (its local reply).
UPSTREAM_REFUSED = ("upstream connect error or disconnect/reset before headers. reset reason: "
                    "remote connection failure, transport failure reason: delayed connect error: 111")
UPSTREAM_TIMEOUT = (
    "upstream connect error or disconnect/reset before headers. reset reason: connection timeout"
)
#: Ports the ingress Gateway of a namespace listens on (HTTPS only with an Ingress's tls).
INGRESS_HTTP_PORT = 80
INGRESS_HTTPS_PORT = 443
DEFAULT_PORTS = {"http": 80, "https": 443}


def describe(address: str, path: str, host: str, port: int, method: str, scheme: str = "http",
             sni: str | None = None) -> str:
    """The request as a learner reads it: `GET https://shop.example/ (at 172.18.0.100,
    SNI shop.example)` for https, as curl --resolve sends it; http keeps its old form."""
    if scheme == "https":
        authority = host if port == 443 else f"{host}:{port}"
        return f"{method} https://{authority}{path} (at {address}, SNI {sni or host})"
    authority = address if port == 80 else f"{address}:{port}"
    extra = f" (Host: {host})" if host != address else ""
    return f"{method} http://{authority}{path}{extra}"


def http_request(state: "ClusterState", address: str, path: str = "/", *, host: str | None = None,
                 port: int | None = None, method: str = "GET",
                 headers: Mapping[str, str] | None = None, scheme: str = "http",
                 sni: str | None = None) -> HttpResponse:
    """Send one request to `address`:`port` (default 80 for http, 443 for https) with Host
    `host` (default: the address). https: the TLS handshake sends SNI `sni` (default: the
    host, as curl --resolve does) and the response names the certificate presented."""
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"scheme={scheme!r}: write 'http' or 'https'")
    port = DEFAULT_PORTS[scheme] if port is None else port
    host = host or address
    req = HttpRequest.build(host, path, method, headers, port)
    target = describe(address, req.target, host, port, req.method, scheme, sni)
    for ns in ing_model.proxy_namespaces(state):
        if state.proxy_address(f"ingress:{ns}") == address:
            return _at_ingress(state, ns, address, req, target, scheme, sni or req.host)
    gwv = gateway_routing.gateway_at(state, address)
    if gwv is not None:
        return _via_gateway(state, gwv, address, req, target, scheme, sni)
    return HttpResponse(target, Status.TIMEOUT, reason=(
        f"no Ingress or Gateway has the address {address} (for a LoadBalancer or NodePort Service "
        "use probe_external)"))


def _at_ingress(state: "ClusterState", ns: str, address: str, req: HttpRequest, target: str, scheme: str,
                sni: str) -> HttpResponse:
    """The namespace's ingress proxy: HTTP on 80, HTTPS on 443 once an Ingress has tls."""
    certs, why = ing_model.tls_listener(state, ns)
    ports = {INGRESS_HTTP_PORT: "http", **({INGRESS_HTTPS_PORT: "https"} if certs else {})}
    if req.port not in ports:
        extra = f" ({why})" if req.port == INGRESS_HTTPS_PORT else ""
        return HttpResponse(target, Status.REFUSED, reason=f"the ingress proxy of namespace {ns} listens on "
                            f"{', '.join(map(str, ports))} only{extra}")
    if ports[req.port] != scheme:
        return HttpResponse(target, Status.REFUSED, reason=_wrong_scheme(req.port, scheme))
    if scheme == "https":
        from dataclasses import replace
        resp = _via_ingress(state, ns, address, req, target)
        return replace(resp, certificate=_cert_name(pick_certificate(state, certs, sni)))
    return _via_ingress(state, ns, address, req, target)


def _wrong_scheme(port: int, scheme: str) -> str:
    if scheme == "https":
        return (f"reset: port {port} speaks plain HTTP, so the TLS handshake fails "
                "(curl: error 35, wrong version number)")
    return (f"reset: port {port} expects a TLS handshake, and plain HTTP is not one: the proxy closes "
            "the connection (curl: error 52, empty reply; use https)")


def _cert_name(ref: tuple[str, str] | None) -> str | None:
    return f"{ref[0]}/{ref[1]}" if ref else None


def _via_ingress(state: "ClusterState", ns: str, address: str, req: HttpRequest, target: str) -> HttpResponse:
    m = ing_model.route(state, ns, req)
    if m.status is not None or m.backend is None:
        return HttpResponse(target, Status.OK, m.status or 404, route=m.route, reason=m.reason)
    b = m.backend
    if state.service(b.namespace, b.service) is None:
        return HttpResponse(
            target,
            Status.OK,
            500,
            backend=f"{b.namespace}/{b.service}:{b.port}",
            route=m.route,
            reason=(
                f"backend Service {b.namespace}/{b.service} does not exist: the "
                "controller's HTTPRoute has a backend that is not found, so the "
                "proxy answers 500"
            ),
        )
    return _deliver(state, address, req, b.namespace, b.service, b.port, m.route, Headers(),
                    Headers(list(req.headers)), target)


def _via_gateway(state: "ClusterState", gwv: gw_model.GatewayView, address: str, req: HttpRequest,
                 target: str, scheme: str = "http", sni: str | None = None) -> HttpResponse:
    from dataclasses import replace

    d = gateway_routing.route_request(state, gwv, req, scheme=scheme, sni=sni)
    if d.status is None and d.backend is None:
        return HttpResponse(target, Status.REFUSED, reason=d.reason)
    backend = f"{d.backend.namespace}/{d.backend.service}:{d.backend.port}" if d.backend else None
    cert = _cert_name(d.certificate)
    if d.status is not None:
        return HttpResponse(target, Status.OK, d.status, tuple(d.response_headers.items), backend=backend,
                            route=d.route, reason=d.reason, certificate=cert)
    assert d.backend is not None
    resp = _deliver(state, address, d.request, d.backend.namespace, d.backend.service, d.backend.port,
                    d.route, d.response_headers, d.request_headers, target)
    return replace(resp, certificate=cert)


def _deliver(state: "ClusterState", proxy_ip: str, req: HttpRequest, ns: str, name: str, port: int | None,
             route: str, response: Headers, forwarded: Headers, target: str) -> HttpResponse:
    """Envoy -> ClusterIP:port -> kube-proxy -> pod, NetworkPolicy judging the proxy's address."""
    backend = f"{ns}/{name}:{port}"
    svc = state.service(ns, name)
    assert svc is not None

    def fail(why: str, body: str = UPSTREAM_TIMEOUT) -> HttpResponse:
        return HttpResponse(target, Status.OK, 503, tuple(response.items), body=body, backend=backend,
                            route=route, reason=why, request_headers=tuple(forwarded.items))

    sp = svc.port(port, "TCP") if port is not None else None
    if sp is None:
        declared = ", ".join(f"{p.port}/{p.protocol}" for p in svc.ports) or "none"
        return fail(f"Service {ns}/{name} has no port {port} (it declares {declared}): the proxy's "
                    "connection to the ClusterIP on that port goes nowhere")
    eps = [e for e in state.endpoints(ns, name) if e.port_name == sp.name and e.protocol == "TCP" and e.ready]
    if not eps:
        return fail(f"Service {ns}/{name} has no ready endpoints for port {sp.port}: kube-proxy rejects "
                    "the proxy's connection, and the proxy answers 503", UPSTREAM_REFUSED)
    slot = f"#http|{proxy_ip}|{svc.key}|{sp.port}"
    n = state.rr_counters.get(slot, 0)
    state.rr_counters[slot] = n + 1
    ep = eps[n % len(eps)]
    pod = state.pod(ep.pod) if ep.pod else state.pod_by_ip(ep.ip)
    if pod is None:
        return fail(f"Service {ns}/{name} forwards to {ep.ip}:{ep.port}, which is not a pod of the cluster")
    verdict = state.policy_engine().check(Address(proxy_ip), pod, ep.port, "TCP")
    via = f"{backend} -> pod {pod.key} port {ep.port}"
    if not verdict.allowed:
        return fail(f"{via}: the proxy's connection (from {proxy_ip}) is dropped by NetworkPolicy: "
                    f"{verdict.explanation}")
    if not pod.listens(ep.port, "TCP"):
        return fail(f"{via}: nothing listens there, the connection is refused", UPSTREAM_REFUSED)
    client_port = 32768 + stable_int(proxy_ip, pod.key, str(n)) % 28232
    body = server.http_answer(pod, req.target, NODE_IP, client_port,
                              pod.servers.get((ep.port, "TCP")) or "generic")
    return HttpResponse(target, Status.OK, 200, tuple(response.items), pod.key, body, backend, route,
                        f"{via}", tuple(forwarded.items))
