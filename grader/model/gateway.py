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
  ResolvedRefs=False/InvalidRouteKinds. The model programs HTTP and HTTPS listeners; any
  other protocol (TLS, TCP, UDP) is Accepted=False/UnsupportedProtocol.
- HTTPS listener (`tls.mode: Terminate`, the default): its `certificateRefs` must each name
  a core Secret of type kubernetes.io/tls in the Gateway's namespace, or in another one
  whose ReferenceGrant lets Gateways of this namespace reference Secrets. Otherwise
  ResolvedRefs=False with reason RefNotPermitted (no grant: checked first, so a missing
  Secret elsewhere is not revealed) or InvalidCertificateRef (another group or kind, no
  such Secret, a wrong type, no PEM in tls.crt/tls.key), and the listener is not
  programmed (Programmed=False/Invalid): it has no certificate to present. Which
  certificate a handshake gets: grader.model.tls.
- Gateway Accepted (v1.5 GatewayReasonListenersNotValid): a listener that cannot be
  configured (Accepted=False, or a certificate reference that does not resolve) makes the
  Gateway Accepted=True/ListenersNotValid while another listener is valid, and
  Accepted=False/ListenersNotValid when none is; then Programmed=False/Invalid.
- HTTPRoute rules with what the model does not implement: per-backendRef `filters`
  make the parent's Accepted=False/UnsupportedValue (the route is refused, loudly,
  rather than served without its filters); request `timeouts`, CORS, RequestMirror and
  ExtensionRef filters are served by the route, but a request routed through such a rule
  raises grader.model.errors.NotModelled instead of answering as if they did nothing.
- HTTPRoute, per parentRef to a Gateway this controller owns: Accepted True/Accepted, or
  False/NoMatchingParent (no listener has that sectionName/port), NotAllowedByListeners
  (allowedRoutes namespaces Same/All/Selector or kinds refuse it), NoMatchingListenerHostname
  (no hostname intersects); ResolvedRefs True/ResolvedRefs, or False/InvalidKind (a backend
  that is not a core Service), RefNotPermitted (another namespace's Service without a
  ReferenceGrant there), BackendNotFound (no such Service). A parentRef to a Gateway
  nobody owns gets no entry: no controller writes one.

Where a request goes once it reaches a Gateway's address: grader.model.gateway_routing.

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

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.k8s.selectors import matches as selector_matches
from grader.model.http_routing import intersect_hostnames
from grader.model.tls import certificate_problem
from grader.observations import Condition, ParentStatus

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state_view import StateView

GATEWAY_GROUP = "gateway.networking.k8s.io"
GATEWAY_CLASS = "cloud-provider-kind"
GATEWAY_CONTROLLER = "kind.sigs.k8s.io/gateway-controller"
#: What a Gateway nobody reconciles shows (the CRD's default status).
PENDING = (Condition("Accepted", "Unknown", "Pending", "Waiting for controller"),
           Condition("Programmed", "Unknown", "Pending", "Waiting for controller"))


#: Listener protocols whose routes are HTTPRoutes, and that the model serves.
HTTP_PROTOCOLS = ("HTTP", "HTTPS")


@dataclass(frozen=True)
class ListenerView:
    """One listener of a Gateway's spec, read into plain fields."""

    name: str
    port: int
    protocol: str
    hostname: str | None
    allowed: dict[str, Any]
    tls: dict[str, Any] = field(default_factory=dict)


@dataclass
class ListenerState:
    """What the controller decides for one listener: its conditions, the routes attached, its
    certificates."""

    listener: ListenerView
    conditions: list[Condition]
    supported_kinds: list[str]
    attached_routes: int = 0
    #: routes attached here: (route object, hostnames it serves on this listener)
    routes: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)
    #: an HTTPS listener's certificates, (namespace, Secret name) in certificateRefs order
    certificates: list[tuple[str, str]] = field(default_factory=list)

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
    """One backendRef of a route rule: the Service and port, its weight, and why it answers 500
    if it does."""

    namespace: str
    service: str
    port: int | None
    weight: int
    problem: str | None = None       # why this backend answers 500 (None: valid)


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
                                lst.get("hostname") or None, lst.get("allowedRoutes") or {},
                                lst.get("tls") or {}))
    return out


def _supported_kinds(listener: ListenerView) -> tuple[list[str], bool]:
    """(supported kinds, all requested kinds valid) for an HTTP listener."""
    kinds = listener.allowed.get("kinds") or []
    if not kinds:
        return (["HTTPRoute"] if listener.protocol in HTTP_PROTOCOLS else []), True
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
    states = [_listener_state(state, namespace, lst) for lst in _listeners(gw)]
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
    address = state.proxy_address(f"gateway:{namespace}/{name}")
    return GatewayView(namespace, name, True, address, _gateway_conditions(states), states, rejected)


def _invalid(ls: ListenerState) -> bool:
    """Cannot be configured: not accepted, or a certificate that does not resolve."""
    return any((c.type == "Accepted" and c.status == "False") or
               (c.type == "ResolvedRefs" and c.reason in ("InvalidCertificateRef", "RefNotPermitted"))
               for c in ls.conditions)


def _gateway_conditions(states: list[ListenerState]) -> list[Condition]:
    """Accepted (ListenersNotValid when a listener cannot be configured: True while another
    one can, False when none can) and Programmed."""
    invalid = [ls.listener.name for ls in states if _invalid(ls)]
    if not invalid:
        accepted = _cond("Accepted", True, "Accepted", "Gateway is accepted")
    elif len(invalid) < len(states):
        accepted = _cond("Accepted", True, "ListenersNotValid",
                         f"One or more listeners are not valid: {', '.join(invalid)}")
    else:
        accepted = _cond("Accepted", False, "ListenersNotValid", "All listeners are invalid")
    programmed = sum(1 for s in states if s.programmed)
    if accepted.status == "False":
        prog = _cond("Programmed", False, "Invalid", "Gateway is not accepted")
    elif programmed == len(states):
        prog = _cond("Programmed", True, "Programmed", "Envoy configuration updated successfully")
    else:
        prog = _cond("Programmed", False, "ListenersNotProgrammed",
                     f"{len(states) - programmed} out of {len(states)} listeners failed to be programmed")
    return [accepted, prog]


def _listener_state(state: "StateView", gw_ns: str, lst: ListenerView) -> ListenerState:
    """One listener's conditions (Accepted, ResolvedRefs, Programmed) and certificates."""
    kinds, kinds_ok = _supported_kinds(lst)
    accepted = _cond("Accepted", True, "Accepted", "Listener is valid")
    resolved = _cond("ResolvedRefs", True, "ResolvedRefs", "All references resolved")
    certs: list[tuple[str, str]] = []
    if lst.protocol not in HTTP_PROTOCOLS:
        accepted = _cond("Accepted", False, "UnsupportedProtocol",
                         f"the offline model serves HTTP and HTTPS listeners only, not {lst.protocol}")
    elif lst.protocol == "HTTPS":
        certs, problem = _certificates(state, gw_ns, lst)
        if problem:
            reason, _, message = problem.partition(": ")
            resolved = _cond("ResolvedRefs", False, reason, message)
    if resolved.status == "True" and not kinds_ok:
        resolved = _cond("ResolvedRefs", False, "InvalidRouteKinds",
                         "Invalid route kinds specified in allowedRoutes")
    ok = accepted.status == "True" and resolved.reason != "InvalidCertificateRef" \
        and resolved.reason != "RefNotPermitted"
    programmed = (_cond("Programmed", True, "Programmed", "Listener is programmed") if ok
                  else _cond("Programmed", False, "Invalid", "Listener is not programmed"))
    return ListenerState(lst, [accepted, resolved, programmed], kinds, certificates=certs if ok else [])


def _certificates(state: "StateView", gw_ns: str, lst: ListenerView) -> tuple[list[tuple[str, str]], str]:
    """(the listener's certificates, "") or ([], "Reason: message") for the first bad ref."""
    refs = lst.tls.get("certificateRefs") or []
    if not refs:
        return [], "InvalidCertificateRef: the HTTPS listener has no tls.certificateRefs"
    out = []
    for ref in refs:
        name = str(ref.get("name", ""))
        group, kind = ref.get("group") or "", ref.get("kind") or "Secret"
        if group != "" or kind != "Secret":
            return [], (f"InvalidCertificateRef: unsupported certificate ref {group or 'core'}/{kind} {name} "
                        "(a core Secret of type kubernetes.io/tls is needed)")
        ns = str(ref.get("namespace") or gw_ns)
        if ns != gw_ns and not secret_granted(state, gw_ns, ns, name):
            return [], (f"RefNotPermitted: reference to Secret {ns}/{name} is not permitted: no "
                        f"ReferenceGrant in {ns} lets Gateways from {gw_ns} reference it")
        problem = certificate_problem(state, ns, name)
        if problem:
            return [], f"InvalidCertificateRef: {problem}"
        out.append((ns, name))
    return out, ""


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
    unsupported = unsupported_rule_fields(route)
    if unsupported:
        return _cond("Accepted", False, "UnsupportedValue", unsupported), []
    for ls in candidates:
        if ls.listener.protocol not in HTTP_PROTOCOLS:
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


def unsupported_rule_fields(route: dict[str, Any]) -> str:
    """Why the route is refused: the fields it uses that the model does not implement and
    would otherwise silently ignore (per-backendRef filters), or ""."""
    for r_i, rule in enumerate((route.get("spec") or {}).get("rules") or []):
        for b_i, ref in enumerate(rule.get("backendRefs") or []):
            if ref.get("filters"):
                return (f"spec.rules[{r_i}].backendRefs[{b_i}].filters: per-backendRef filters are not "
                        "modelled offline; put the filter on the rule (spec.rules[].filters) or run live")
    return ""


def not_modelled(rule: dict[str, Any], where: str) -> str:
    """What a request through this rule would need that the model does not do, or ""."""
    if rule.get("timeouts"):
        return f"{where} sets timeouts ({rule['timeouts']}): request timeouts are not modelled offline"
    for f in rule.get("filters") or []:
        if f.get("type") in ("CORS", "RequestMirror", "ExtensionRef"):
            return f"{where} has a {f.get('type')} filter, which is not modelled offline"
    return ""


# ---------------------------------------------------------------- backends and grants
def secret_granted(state: "StateView", gw_ns: str, to_ns: str, secret: str) -> bool:
    """May a Gateway in `gw_ns` use Secret `to_ns/secret`? Only a ReferenceGrant in `to_ns`
    (from: Gateway in gw_ns; to: Secret, any name or this one) says yes."""
    return _granted(state, "Gateway", gw_ns, to_ns, "Secret", secret)


def _granted(state: "StateView", from_kind: str, from_ns: str, to_ns: str, to_kind: str, name: str) -> bool:
    for grant in state.objects("ReferenceGrant", to_ns):
        spec = grant.get("spec") or {}
        from_ok = any(f.get("group") == GATEWAY_GROUP and f.get("kind") == from_kind
                      and f.get("namespace") == from_ns for f in spec.get("from") or [])
        to_ok = any((t.get("group") or "") == "" and t.get("kind") == to_kind
                    and t.get("name") in (None, "", name) for t in spec.get("to") or [])
        if from_ok and to_ok:
            return True
    return False


def reference_granted(state: "StateView", from_ns: str, to_ns: str, service: str) -> bool:
    """Is an HTTPRoute in `from_ns` allowed to reference Service `to_ns/service`? Only a
    ReferenceGrant in `to_ns` can say yes (from: HTTPRoute in from_ns; to: Service, any name
    or this one)."""
    return _granted(state, "HTTPRoute", from_ns, to_ns, "Service", service)


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
