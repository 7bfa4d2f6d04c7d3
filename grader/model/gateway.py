"""Gateway API v1 (standard channel) in the offline model: which routes attach to which
listeners, the status conditions a controller writes, and where a request goes.

Written from the doc comments of sigs.k8s.io/gateway-api apis/v1 (v1.5, the CRDs
cloud-provider-kind v0.11.1 installs). The controller is cloud-provider-kind's: it owns
Gateways whose `gatewayClassName` is `cloud-provider-kind` (GatewayClass with controllerName
`kind.sigs.k8s.io/gateway-controller`, present in a fresh model cluster as on kind) and gives
each one an Envoy container on kind's Docker network; that container's IP is the Gateway's
address (offline: the next free address of the LoadBalancer pool, grader.model.ipam).

Status, as the controller writes it (types, statuses and reasons are the spec's; messages
are cloud-provider-kind's where it has one, else the model's, naming the object at fault):
- GatewayClass: Accepted=True/Accepted when its controllerName is the course's.
- Gateway of another class: the CRD's defaults, Accepted and Programmed Unknown/Pending
  "Waiting for controller" (nobody reconciles it, and it gets no address).
- Gateway: Accepted=True/Accepted; Programmed=True/Programmed when every listener is
  programmed, else False/ListenersNotProgrammed. Listener: Accepted, ResolvedRefs,
  Programmed, supportedKinds, attachedRoutes. allowedRoutes.kinds other than HTTPRoute:
  ResolvedRefs=False/InvalidRouteKinds. The model programs HTTP listeners only; any other
  protocol is Accepted=False/UnsupportedProtocol (the course uses HTTP).
- HTTPRoute, per parentRef to a Gateway this controller owns: Accepted True/Accepted, or
  False/NoMatchingParent (no listener has that sectionName/port), NotAllowedByListeners
  (allowedRoutes namespaces Same/All/Selector or kinds refuse it), NoMatchingListenerHostname
  (no hostname intersects); ResolvedRefs True/ResolvedRefs, or False/InvalidKind (a backend
  that is not a core Service), RefNotPermitted (another namespace's Service without a
  ReferenceGrant there), BackendNotFound (no such Service). A parentRef to a Gateway
  nobody owns gets no entry: no controller writes one.

Routing a request that reaches a Gateway's address on a port:
- no listener on that port: the connection is refused (Envoy listens on listener ports only);
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

Where cloud-provider-kind v0.11.1 differs (the live backend observes it as it is): it
ignores ResponseHeaderModifier and URLRewrite filters; when every backend weight is 0 it
writes ResolvedRefs=False/UnsupportedValue, which is not a ResolvedRefs reason; and its
Envoy picks ONE virtual host per Host header (the route's most specific hostname), so when
the more specific route has no rule for a path, it answers 404 where the model, reading the
spec's "precedence ... to rules from the HTTPRoute with the largest number of characters
in a matching hostname" as an order over all candidate rules, falls through to a route with
a less specific hostname (other Envoy-based implementations behave like cloud-provider-kind,
e.g. envoyproxy/gateway issue #5500).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.k8s.selectors import matches as selector_matches
from grader.model.http_routing import (
    Headers,
    HttpRequest,
    exact_matches,
    gateway_host_matches,
    intersect_hostnames,
    prefix_matches,
    replace_prefix,
)
from grader.model.ipam import stable_int
from grader.observations import Condition, ParentStatus

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state_view import StateView

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_CLASS = "cloud-provider-kind"
GATEWAY_CONTROLLER = "kind.sigs.k8s.io/gateway-controller"
#: Weighted backends are split exactly over runs of at most this many requests.
WEIGHT_RESOLUTION = 1000
#: What a Gateway nobody reconciles shows (the CRD's default status).
PENDING = (Condition("Accepted", "Unknown", "Pending", "Waiting for controller"),
           Condition("Programmed", "Unknown", "Pending", "Waiting for controller"))


@dataclass(frozen=True)
class ListenerView:
    name: str
    port: int
    protocol: str
    hostname: str | None
    allowed: dict[str, Any]


@dataclass
class ListenerState:
    listener: ListenerView
    conditions: list[Condition]
    supported_kinds: list[str]
    attached_routes: int = 0
    #: routes attached here: (route object, hostnames it serves on this listener)
    routes: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)

    @property
    def programmed(self) -> bool:
        return any(c.type == "Programmed" and c.status == "True" for c in self.conditions)


@dataclass
class GatewayView:
    """One Gateway as the controller sees it after reconciling."""

    namespace: str
    name: str
    owned: bool
    address: str | None
    conditions: list[Condition]
    listeners: list[ListenerState]
    #: routes that name this Gateway but were not accepted: "ns/name: Reason"
    rejected: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def hint(self) -> str:
        """For a 404's why: the routes that meant to attach here and why they did not."""
        if not self.rejected:
            return ""
        return "; not accepted here: " + ", ".join(f"HTTPRoute {r}" for r in self.rejected)


@dataclass(frozen=True)
class BackendChoice:
    namespace: str
    service: str
    port: int | None
    weight: int
    problem: str | None = None       # why this backend answers 500 (None: valid)


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


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _cond(ctype: str, ok: bool, reason: str, message: str) -> Condition:
    return Condition(ctype, "True" if ok else "False", reason, message)


# ---------------------------------------------------------------- classes and gateways
def owned(gw: dict[str, Any]) -> bool:
    """cloud-provider-kind reconciles Gateways of its class name (and only those)."""
    return (gw.get("spec") or {}).get("gatewayClassName") == GATEWAY_CLASS


def proxy_gateways(state: "StateView") -> list[tuple[str, str]]:
    """(namespace, name) of every Gateway that gets an Envoy container, hence an address."""
    return [(_meta(g)["namespace"], _meta(g)["name"]) for g in state.objects("Gateway") if owned(g)]


def _listeners(gw: dict[str, Any]) -> list[ListenerView]:
    out = []
    for lst in (gw.get("spec") or {}).get("listeners") or []:
        out.append(ListenerView(str(lst.get("name")), int(lst.get("port", 0)), str(lst.get("protocol", "")),
                                lst.get("hostname") or None, lst.get("allowedRoutes") or {}))
    return out


def _supported_kinds(listener: ListenerView) -> tuple[list[str], bool]:
    """(supported kinds, all requested kinds valid) for an HTTP listener."""
    kinds = listener.allowed.get("kinds") or []
    if not kinds:
        return (["HTTPRoute"] if listener.protocol == "HTTP" else []), True
    good = [str(k.get("kind")) for k in kinds if k.get("kind") == "HTTPRoute"
            and (k.get("group") or GATEWAY_GROUP) == GATEWAY_GROUP]
    return good, len(good) == len(kinds)


def _namespace_allowed(state: "StateView", gw_ns: str, listener: ListenerView, route_ns: str) -> bool:
    ns = listener.allowed.get("namespaces") or {}
    frm = ns.get("from", "Same")
    if frm == "All":
        return True
    if frm == "Selector":
        info = state.namespaces.get(route_ns)
        return info is not None and selector_matches(ns.get("selector") or {}, info.labels)
    return route_ns == gw_ns                 # Same (the default)


def view(state: "StateView", namespace: str, name: str) -> GatewayView:
    """Reconcile one Gateway: its listeners, their attached routes and all conditions."""
    gw = state.get("Gateway", name, namespace)
    if gw is None:
        raise LookupError(f'gateways.gateway.networking.k8s.io "{name}" not found in namespace {namespace}')
    if not owned(gw):
        return GatewayView(namespace, name, False, None, list(PENDING), [])
    states: list[ListenerState] = []
    for lst in _listeners(gw):
        kinds, kinds_ok = _supported_kinds(lst)
        if lst.protocol != "HTTP":
            conds = [_cond("Accepted", False, "UnsupportedProtocol",
                           f"the offline model serves HTTP listeners only, not {lst.protocol}"),
                     _cond("Programmed", False, "Invalid", "Listener is not programmed"),
                     _cond("ResolvedRefs", True, "ResolvedRefs", "All references resolved")]
        elif not kinds_ok:
            conds = [_cond("Accepted", True, "Accepted", "Listener is valid"),
                     _cond("ResolvedRefs", False, "InvalidRouteKinds",
                           "Invalid route kinds specified in allowedRoutes"),
                     _cond("Programmed", True, "Programmed", "Listener is programmed")]
        else:
            conds = [_cond("Accepted", True, "Accepted", "Listener is valid"),
                     _cond("ResolvedRefs", True, "ResolvedRefs", "All references resolved"),
                     _cond("Programmed", True, "Programmed", "Listener is programmed")]
        states.append(ListenerState(lst, conds, kinds))
    rejected: list[str] = []
    for route in state.objects("HTTPRoute"):
        for ref in _refs_to(route, gw):
            accepted, attached = _attach(state, gw, route, ref, states)
            if not attached:
                rejected.append(f"{_meta(route)['namespace']}/{_meta(route)['name']} ({accepted.reason})")
            for ls in attached:
                hosts = intersect_hostnames(
                    ls.listener.hostname, (route.get("spec") or {}).get("hostnames") or []
                )
                ls.routes.append((route, hosts))
                ls.attached_routes += 1
    programmed = sum(1 for s in states if s.programmed)
    if programmed == len(states):
        prog = _cond("Programmed", True, "Programmed", "Envoy configuration updated successfully")
    else:
        prog = _cond("Programmed", False, "ListenersNotProgrammed",
                     f"{len(states) - programmed} out of {len(states)} listeners failed to be programmed")
    address = state.proxy_address(f"gateway:{namespace}/{name}")
    conds = [_cond("Accepted", True, "Accepted", "Gateway is accepted"), prog]
    return GatewayView(namespace, name, True, address, conds, states, rejected)


def _refs_to(route: dict[str, Any], gw: dict[str, Any]) -> list[dict[str, Any]]:
    """The route's parentRefs that name this Gateway."""
    rns = _meta(route)["namespace"]
    out = []
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        if (ref.get("group") or GATEWAY_GROUP) != GATEWAY_GROUP or (
            ref.get("kind") or "Gateway"
        ) != "Gateway":
            continue
        if ref.get("name") == _meta(gw)["name"] and (ref.get("namespace") or rns) == _meta(gw)["namespace"]:
            out.append(ref)
    return out


def _attach(state: "StateView", gw: dict[str, Any], route: dict[str, Any], ref: dict[str, Any],
            listeners: list[ListenerState]) -> tuple[Condition, list[ListenerState]]:
    """The Accepted condition for one parentRef, and the listeners that accept the route."""
    rns = _meta(route)["namespace"]
    hostnames = (route.get("spec") or {}).get("hostnames") or []
    section, port = ref.get("sectionName"), ref.get("port")
    candidates = [
        ls
        for ls in listeners
        if (section is None or ls.listener.name == section) and (port is None or ls.listener.port == port)
    ]
    if not candidates:
        what = " and ".join(x for x in (f"sectionName {section!r}" if section else "",
                                        f"port {port}" if port else "") if x)
        return _cond("Accepted", False, "NoMatchingParent",
                     f"No listener matched the parentRef ({what})."), []
    reason = ""
    accepted = []
    for ls in candidates:
        if ls.listener.protocol != "HTTP":
            reason = reason or "NotAllowedByListeners"
            continue
        kinds, _ = _supported_kinds(ls.listener)
        if "HTTPRoute" not in kinds or not _namespace_allowed(
            state, _meta(gw)["namespace"], ls.listener, rns
        ):
            reason = "NotAllowedByListeners"
            continue
        if not intersect_hostnames(ls.listener.hostname, hostnames):
            reason = reason or "NoMatchingListenerHostname"
            continue
        accepted.append(ls)
    if accepted:
        return _cond("Accepted", True, "Accepted", "Route is accepted."), accepted
    if reason == "NotAllowedByListeners":
        return _cond("Accepted", False, reason, "Route is not allowed by a listener's policy."), []
    return _cond("Accepted", False, "NoMatchingListenerHostname",
                 "The route's hostnames do not match any listener hostnames."), []


# ---------------------------------------------------------------- backends and grants
def reference_granted(state: "StateView", from_ns: str, to_ns: str, service: str) -> bool:
    """Is an HTTPRoute in `from_ns` allowed to reference Service `to_ns/service`? Only a
    ReferenceGrant in `to_ns` can say yes (from: HTTPRoute in from_ns; to: Service, any name
    or this one)."""
    for grant in state.objects("ReferenceGrant", to_ns):
        spec = grant.get("spec") or {}
        from_ok = any(f.get("group") == GATEWAY_GROUP and f.get("kind") == "HTTPRoute"
                      and f.get("namespace") == from_ns for f in spec.get("from") or [])
        to_ok = any((t.get("group") or "") == "" and t.get("kind") == "Service"
                    and t.get("name") in (None, "", service) for t in spec.get("to") or [])
        if from_ok and to_ok:
            return True
    return False


def backend_choices(state: "StateView", route: dict[str, Any], rule: dict[str, Any]) -> list[BackendChoice]:
    rns = _meta(route)["namespace"]
    out = []
    for ref in rule.get("backendRefs") or []:
        ns = ref.get("namespace") or rns
        name = str(ref.get("name", ""))
        weight = int(ref.get("weight", 1))
        problem = None
        if (ref.get("group") or "") != "" or (ref.get("kind") or "Service") != "Service":
            problem = (f"InvalidKind: backend {ref.get('group') or 'core'}/{ref.get('kind')} {name} "
                       "is not a Service")
        elif ns != rns and not reference_granted(state, rns, ns, name):
            problem = (f"RefNotPermitted: Service {ns}/{name} is in another namespace and no "
                       f"ReferenceGrant in {ns} lets HTTPRoutes from {rns} reference it")
        elif state.service(ns, name) is None:
            problem = f"BackendNotFound: Service {ns}/{name} not found"
        port = ref.get("port")
        out.append(BackendChoice(ns, name, int(port) if port is not None else None, weight, problem))
    return out


def resolved_refs(state: "StateView", route: dict[str, Any]) -> Condition:
    """ResolvedRefs for a route: the first invalid backend (rule order) decides the reason."""
    for rule in (route.get("spec") or {}).get("rules") or []:
        for b in backend_choices(state, route, rule):
            if b.problem:
                reason, _, message = b.problem.partition(": ")
                return _cond("ResolvedRefs", False, reason, message)
    return _cond("ResolvedRefs", True, "ResolvedRefs", "All backend references have been resolved.")


def route_status(state: "StateView", namespace: str, name: str) -> list[ParentStatus]:
    """status.parents of an HTTPRoute: one entry per parentRef to a Gateway this controller
    owns (Accepted first, then ResolvedRefs, as the controller writes them)."""
    route = state.get("HTTPRoute", name, namespace)
    if route is None:
        raise LookupError(f'httproutes.gateway.networking.k8s.io "{name}" not found in namespace {namespace}')
    out = []
    for ref in (route.get("spec") or {}).get("parentRefs") or []:
        gns, gname = ref.get("namespace") or namespace, ref.get("name")
        gw = state.get("Gateway", str(gname), gns)
        if gw is None or not owned(gw) or ref not in _refs_to(route, gw):
            continue
        listeners = [ListenerState(lv, [], _supported_kinds(lv)[0]) for lv in _listeners(gw)]
        accepted, _ = _attach(state, gw, route, ref, listeners)
        out.append(ParentStatus(f"{gns}/{gname}", ref.get("sectionName"),
                                (accepted, resolved_refs(state, route)), GATEWAY_CONTROLLER))
    return out


# ---------------------------------------------------------------- request routing
def gateway_at(state: "StateView", address: str) -> GatewayView | None:
    for ns, name in proxy_gateways(state):
        if state.proxy_address(f"gateway:{ns}/{name}") == address:
            return view(state, ns, name)
    return None


def _listener_for(gwv: GatewayView, req: HttpRequest) -> tuple[ListenerState | None, str]:
    on_port = [ls for ls in gwv.listeners if ls.listener.port == req.port and ls.programmed]
    if not on_port:
        return None, f"refused: Gateway {gwv.key} has no listener on port {req.port}"

    def specificity(ls: ListenerState) -> tuple[int, int]:
        h = ls.listener.hostname
        if not h:
            return (2, 0)
        # wildcards: more dots right of the `*` first (GatewaySpec.Listeners)
        return (1, -h.count(".")) if h.startswith("*.") else (0, 0)

    matching = [
        ls
        for ls in on_port
        if not ls.listener.hostname or gateway_host_matches(ls.listener.hostname, req.host)
    ]
    if not matching:
        names = ", ".join(f"{ls.listener.name} ({ls.listener.hostname})" for ls in on_port)
        return None, (f"no listener: no listener of Gateway {gwv.key} on port {req.port} matches host "
                      f"{req.host!r} (listeners: {names})")
    return min(matching, key=specificity), ""


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


def route_request(state: "StateView", gwv: GatewayView, req: HttpRequest) -> GatewayDecision:
    """Where `req` (already at this Gateway's address) goes."""
    listener, why = _listener_for(gwv, req)
    if listener is None:
        status = None if why.startswith("refused") else 404
        return GatewayDecision(status, None, "", why.removeprefix("refused: "), req)
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
        rkey = f"{_meta(route)['namespace']}/{_meta(route)['name']}"
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
    where = f"HTTPRoute {_meta(route)['namespace']}/{_meta(route)['name']} rule {r_i}"
    return _apply_rule(state, route, rule, match, where, req, listener)


def _apply_rule(state: "StateView", route: dict[str, Any], rule: dict[str, Any], match: dict[str, Any],
                where: str, req: HttpRequest, listener: ListenerState) -> GatewayDecision:
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
            return GatewayDecision(
                code, None, where, f"RequestRedirect to {location}", req, response, forwarded
            )
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
        port = (
            {"http": 80, "https": 443}.get(scheme or "", listener.listener.port)
            if scheme
            else listener.listener.port
        )
    scheme = scheme or "http"
    host = spec.get("hostname") or req.host
    path = _new_path(spec.get("path") or {}, match, req.path) if spec.get("path") else req.path
    default_port = {"http": 80, "https": 443}[scheme]
    authority = host if port == default_port else f"{host}:{port}"
    query = req.target[len(req.path):]
    return int(spec.get("statusCode", 302)), f"{scheme}://{authority}{path}{query}"
