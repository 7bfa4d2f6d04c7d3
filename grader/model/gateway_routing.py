"""Gateway API v1 request routing in the offline model: where a request that reaches a
Gateway's address goes (listener, route rule, filters, weighted backend). Which routes are
attached to which listeners, and the status the controller writes, are grader.model.gateway's.

Routing a request that reaches a Gateway's address on a port:
- no listener on that port: the connection is refused (Envoy listens on listener ports only);
- https: the TLS handshake picks the listener first, by SNI (an HTTPS listener's hostname
  is its filter chain's server name; one without hostname takes any SNI); no listener
  matches the SNI: the handshake is reset (curl: error 35). The listener's certificate that
  covers the SNI, else its first, is presented (grader.model.tls). Then the Host header
  routes within that listener, as for http. An http request to an HTTPS port, or https to
  an HTTP port, fails as curl reports it;
- the most specific listener whose hostname matches the Host wins (exact, then the wildcard
  with the most dots right of the `*`, then no hostname); none: 404;
- candidate rules: every match of every rule of the routes attached to that listener whose
  intersected hostnames match the Host. Precedence: the route with the longest matching
  non-wildcard hostname, then the longest matching hostname; then Exact path, then the
  longest PathPrefix, then a method match, then most header matches, then most query
  matches; then route "{namespace}/{name}" alphabetically (the model has no creation
  timestamps, so "oldest route first" cannot apply); then rule order, then match order;
- filters: RequestRedirect answers itself (302 by default, `Location` built per the spec's
  port rules); URLRewrite rewrites host and path; RequestHeaderModifier and
  ResponseHeaderModifier set/add/remove headers;
- backendRefs: weights (default 1; 0 gets nothing) choose a backend per request, seeded
  pseudo-random and reproducible run to run, exactly on the weights over every run of
  sum(weights) requests (`_weighted_pick`; Envoy draws per request, so live counts vary);
  an invalid backend answers 500 for its share; no backend at all: 500. A Service with no
  ready endpoints: 503.

Where cloud-provider-kind's Envoy routes differently (one virtual host per Host header) is
said in grader.model.gateway's docstring, with the rest of what it does differently.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.model.errors import NotModelled
from grader.model.gateway import (
    BackendChoice,
    GatewayView,
    ListenerState,
    backend_choices,
    not_modelled,
    proxy_gateways,
    view,
)
from grader.model.http_routing import (
    Headers,
    HttpRequest,
    exact_matches,
    gateway_host_matches,
    prefix_matches,
    replace_prefix,
)
from grader.model.ipam import stable_int
from grader.model.tls import pick_certificate

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state import ClusterState

#: Weighted backends are split exactly over runs of at most this many requests.
WEIGHT_RESOLUTION = 1000


@dataclass
class GatewayDecision:
    """Where a Gateway sends one request: `status` set means the proxy answers itself."""

    status: int | None
    backend: BackendChoice | None
    route: str
    reason: str
    request: HttpRequest
    response_headers: Headers = field(default_factory=Headers)
    request_headers: Headers = field(default_factory=Headers)
    #: https: the (namespace, Secret) whose certificate the handshake presented
    certificate: tuple[str, str] | None = None


# ---------------------------------------------------------------- request routing
def _route_key(route: dict[str, Any]) -> str:
    """A route's "namespace/name", as precedence orders routes and reasons name them."""
    meta = route.get("metadata") or {}
    return f"{meta['namespace']}/{meta['name']}"


def gateway_at(state: "ClusterState", address: str) -> GatewayView | None:
    for ns, name in proxy_gateways(state):
        if state.proxy_address(f"gateway:{ns}/{name}") == address:
            return view(state, ns, name)
    return None


def _specificity(ls: ListenerState) -> tuple[int, int]:
    h = ls.listener.hostname
    if not h:
        return (2, 0)
    # wildcards: more dots right of the `*` first (GatewaySpec.Listeners)
    return (1, -h.count(".")) if h.startswith("*.") else (0, 0)


def _listener_for(gwv: GatewayView, req: HttpRequest, scheme: str = "http",
                  sni: str | None = None) -> tuple[ListenerState | None, str]:
    """The listener that takes `req`, or (None, why): "refused: ..." or "reset: ..." when no
    HTTP answer comes back at all, else a reason for a 404."""
    on_port = [ls for ls in gwv.listeners if ls.listener.port == req.port and ls.programmed]
    if not on_port:
        return None, f"refused: Gateway {gwv.key} has no programmed listener on port {req.port}"
    if scheme == "https":
        tls = [ls for ls in on_port if ls.listener.protocol == "HTTPS"]
        if not tls:
            return None, (f"reset: port {req.port} of Gateway {gwv.key} speaks plain HTTP, so the TLS "
                          "handshake fails (curl: error 35, wrong version number)")
        by_sni = [ls for ls in tls if not ls.listener.hostname
                  or (sni and gateway_host_matches(ls.listener.hostname, sni))]
        if not by_sni:
            names = ", ".join(f"{ls.listener.name} ({ls.listener.hostname})" for ls in tls)
            broken = [f"; listener {ls.listener.name} would, but is not programmed ({c})"
                      for ls in gwv.listeners if ls.listener.port == req.port and not ls.programmed
                      and (not ls.listener.hostname
                           or (sni and gateway_host_matches(ls.listener.hostname, sni)))
                      for c in ls.conditions if c.type == "ResolvedRefs" and c.status == "False"]
            return None, (f"reset: no HTTPS listener of Gateway {gwv.key} on port {req.port} takes SNI "
                          f"{sni!r} (listeners: {names}), so the TLS handshake is reset (curl: error 35)"
                          + "".join(broken))
        return min(by_sni, key=_specificity), ""
    plain = [ls for ls in on_port if ls.listener.protocol == "HTTP"]
    if not plain:
        return None, (f"reset: port {req.port} of Gateway {gwv.key} expects a TLS handshake, and plain HTTP "
                      "is not one: the proxy closes the connection (curl: error 52, empty reply; use https)")
    matching = [ls for ls in plain
                if not ls.listener.hostname or gateway_host_matches(ls.listener.hostname, req.host)]
    if not matching:
        names = ", ".join(f"{ls.listener.name} ({ls.listener.hostname})" for ls in plain)
        return None, (f"no listener: no listener of Gateway {gwv.key} on port {req.port} matches host "
                      f"{req.host!r} (listeners: {names})")
    return min(matching, key=_specificity), ""


def _route_host_key(hosts: list[str], host: str) -> tuple[int, int] | None:
    """Precedence of a route for a Host: (-non-wildcard chars, -chars), None if no match."""
    best: tuple[int, int] | None = None
    for h in hosts:
        if h == "*" or gateway_host_matches(h, host):
            key = (0 if h.startswith("*") else -len(h), -len(h) if h != "*" else 0)
            best = key if best is None or key < best else best
    return best


def _match_key(match: dict[str, Any], req: HttpRequest) -> tuple | None:
    """Precedence key of one HTTPRouteMatch for `req`, or None when it does not match."""
    path = match.get("path") or {}
    ptype = path.get("type", "PathPrefix")
    value = path.get("value", "/")
    if ptype == "Exact":
        if not exact_matches(value, req.path):
            return None
        pkey = (0, 0)
    elif ptype == "PathPrefix":
        if not prefix_matches(value, req.path):
            return None
        pkey = (1, -len(value.rstrip("/") or "/"))
    else:
        return None                             # RegularExpression: not in the course
    method = match.get("method")
    if method and method != req.method:
        return None
    seen: set[str] = set()
    headers = []
    for h in match.get("headers") or []:       # duplicates: only the first counts
        if h["name"].lower() not in seen:
            seen.add(h["name"].lower())
            headers.append(h)
    for h in headers:
        if h.get("type", "Exact") != "Exact" or req.header(h["name"]) != h.get("value"):
            return None
    qseen: set[str] = set()
    queries = []
    for q in match.get("queryParams") or []:
        if q["name"] not in qseen:
            qseen.add(q["name"])
            queries.append(q)
    for q in queries:
        if q.get("type", "Exact") != "Exact" or req.query_value(q["name"]) != q.get("value"):
            return None
    return (*pkey, 0 if method else 1, -len(headers), -len(queries))


def route_request(state: "ClusterState", gwv: GatewayView, req: HttpRequest, *, scheme: str = "http",
                  sni: str | None = None) -> GatewayDecision:
    """Where `req` (already at this Gateway's address) goes; https picks the listener and
    certificate by `sni` (default: the Host) before the Host header routes."""
    listener, why = _listener_for(gwv, req, scheme, sni or req.host)
    if listener is None:
        if why.startswith(("refused: ", "reset: ")):
            return GatewayDecision(None, None, "", why, req)
        return GatewayDecision(404, None, "", why, req)
    cert = pick_certificate(state, listener.certificates, sni or req.host) if scheme == "https" else None
    decision = _route_on(state, gwv, listener, req)
    decision.certificate = cert
    return decision


def _route_on(state: "ClusterState", gwv: GatewayView, listener: ListenerState,
              req: HttpRequest) -> GatewayDecision:
    if not listener.routes:
        return GatewayDecision(404, None, "", f"no route: no HTTPRoute is attached to listener "
                               f"{listener.listener.name} of Gateway {gwv.key}{gwv.hint()}", req)
    best: tuple | None = None
    chosen = None
    host_ok = False
    for route, hosts in listener.routes:
        hkey = _route_host_key(hosts, req.host)
        if hkey is None:
            continue
        host_ok = True
        rkey = _route_key(route)
        for r_i, rule in enumerate((route.get("spec") or {}).get("rules") or [{}]):
            for m_i, match in enumerate(rule.get("matches") or [{}]):
                mkey = _match_key(match, req)
                if mkey is None:
                    continue
                key = (*hkey, *mkey, rkey, r_i, m_i)
                if best is None or key < best:
                    best, chosen = key, (route, rule, match, r_i)
    if chosen is None:
        if not host_ok:
            names = sorted({h for _, hosts in listener.routes for h in hosts})
            return GatewayDecision(404, None, "", f"no matching host: no HTTPRoute on listener "
                                   f"{listener.listener.name} serves host {req.host!r} (route "
                                   f"hostnames: {', '.join(names)}){gwv.hint()}", req)
        return GatewayDecision(404, None, "", f"no matching path: HTTPRoutes serve host {req.host!r}, "
                               f"but no rule matches {req.method} {req.target}", req)
    route, rule, match, r_i = chosen
    where = f"HTTPRoute {_route_key(route)} rule {r_i}"
    return _apply_rule(state, route, rule, match, where, req, listener)


def _apply_rule(state: "ClusterState", route: dict[str, Any], rule: dict[str, Any], match: dict[str, Any],
                where: str, req: HttpRequest, listener: ListenerState) -> GatewayDecision:
    missing = not_modelled(rule, where)
    if missing:
        raise NotModelled(f"{missing}; the offline model cannot say what a client would see (run live)")
    filters = rule.get("filters") or []
    response = Headers()
    forwarded = Headers(list(req.headers))
    for f in filters:
        if f.get("type") == "ResponseHeaderModifier":
            _modify(response, f.get("responseHeaderModifier") or {})
    for f in filters:
        if f.get("type") == "RequestRedirect":
            code, location = _redirect(f.get("requestRedirect") or {}, match, req, listener)
            response.set("location", location)
            return GatewayDecision(code, None, where, f"RequestRedirect to {location}", req, response,
                                   forwarded)
    for f in filters:
        ftype = f.get("type")
        if ftype == "RequestHeaderModifier":
            _modify(forwarded, f.get("requestHeaderModifier") or {})
        elif ftype == "URLRewrite":
            req = _rewrite(f.get("urlRewrite") or {}, match, req)
    backends = backend_choices(state, route, rule)
    live = [b for b in backends if b.weight > 0]
    if not live:
        why = "the rule has no backendRefs" if not backends else "every backendRef has weight 0"
        return GatewayDecision(500, None, where, why, req, response, forwarded)
    slot = f"#weights|{where}"               # one draw sequence per rule: reruns repeat
    n = state.rr_counters.get(slot, 0)
    state.rr_counters[slot] = n + 1
    b = _weighted_pick(live, where, n)
    if b.problem:
        return GatewayDecision(500, b, where, b.problem, req, response, forwarded)
    return GatewayDecision(None, b, where, "", req, response, forwarded)


def _weighted_pick(live: list[BackendChoice], where: str, n: int) -> BackendChoice:
    """The n-th request's backend. Weights are reduced by their common divisor (and, past a
    sum of WEIGHT_RESOLUTION, scaled down to it, every positive weight keeping at least 1);
    each run of sum(weights) requests is then a seeded shuffle of the backends, each
    repeated `weight` times: random-looking like Envoy's per-request draw, reproducible, and
    exactly on the weights over every full run (90/10 gives 90 and 10 in each 100)."""
    weights = [b.weight for b in live]
    divisor = math.gcd(*weights)
    weights = [w // divisor for w in weights]
    if sum(weights) > WEIGHT_RESOLUTION:
        total = sum(weights)
        weights = [max(1, round(w * WEIGHT_RESOLUTION / total)) for w in weights]
    block, pos = divmod(n, sum(weights))
    order = [i for i, w in enumerate(weights) for _ in range(w)]
    random.Random(stable_int("weights", where, str(block))).shuffle(order)
    return live[order[pos]]


def _modify(headers: Headers, spec: dict[str, Any]) -> None:
    """HTTPHeaderFilter: set overwrites, add appends, remove deletes (names case-insensitive)."""
    for h in spec.get("set") or []:
        headers.set(h["name"], h["value"])
    for h in spec.get("add") or []:
        headers.add(h["name"], h["value"])
    for name in spec.get("remove") or []:
        headers.remove(name)


def _new_path(modifier: dict[str, Any], match: dict[str, Any], path: str) -> str:
    if modifier.get("type") == "ReplaceFullPath":
        return str(modifier.get("replaceFullPath", "/"))
    if modifier.get("type") == "ReplacePrefixMatch":
        prefix = (match.get("path") or {}).get("value", "/")
        return replace_prefix(path, prefix, str(modifier.get("replacePrefixMatch", "")))
    return path


def _rewrite(spec: dict[str, Any], match: dict[str, Any], req: HttpRequest) -> HttpRequest:
    from dataclasses import replace
    host = spec.get("hostname") or req.host
    path = _new_path(spec.get("path") or {}, match, req.path) if spec.get("path") else req.path
    headers = tuple((k, host if k.lower() == "host" else v) for k, v in req.headers)
    return replace(req, host=host, path=path, headers=headers)


def _redirect(spec: dict[str, Any], match: dict[str, Any], req: HttpRequest,
              listener: ListenerState) -> tuple[int, str]:
    """(status code, Location) per HTTPRequestRedirectFilter: scheme and port rules, and no
    port in Location for http:80 / https:443."""
    scheme = spec.get("scheme")
    port = spec.get("port")
    if port is None:
        own = listener.listener.port
        port = {"http": 80, "https": 443}.get(scheme or "", own) if scheme else own
    scheme = scheme or "http"
    host = spec.get("hostname") or req.host
    path = _new_path(spec.get("path") or {}, match, req.path) if spec.get("path") else req.path
    default_port = {"http": 80, "https": 443}[scheme]
    authority = host if port == default_port else f"{host}:{port}"
    query = req.target[len(req.path):]
    return int(spec.get("statusCode", 302)), f"{scheme}://{authority}{path}{query}"
