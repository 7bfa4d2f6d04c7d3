"""Ingress v1 routing in the offline model: which Ingresses a controller serves, and which
backend Service port a request reaches. Written from the Ingress API reference; where the
course's live controller (cloud-provider-kind v0.11.1) differs, this module says so.

Which Ingresses are served (IngressClass):
- cloud-provider-kind creates the IngressClass `cloud-provider-kind` (controller
  `kind.sigs.k8s.io/ingress-controller`) marked default with the annotation
  `ingressclass.kubernetes.io/is-default-class: "true"`; the model's fresh cluster has it too.
- An Ingress is served when `spec.ingressClassName` names that class, or when it names no
  class and that class is the default. (The API server's DefaultIngressClass admission
  writes the default class into new class-less Ingresses; the outcome is the same.)
- Any other class name (or a class nobody implements) routes nothing: no address, and a
  request to the address gets nothing from that Ingress. `why_unserved` says so.

Addresses: the controller runs ONE Gateway ("kind-ingress-gateway") per namespace that has
served Ingresses, so every Ingress of a namespace shares one address (one Envoy container
on kind's Docker network), and Ingresses in different namespaces have different addresses.

Matching a request (host, path) against all served Ingresses of that address:
- host: exact (case-insensitive) or `*.foo.com`, which matches exactly ONE label (spec).
  cloud-provider-kind follows Gateway API here (`*.foo.com` also matches `a.b.foo.com`):
  the notebook shows it as a lesson; the model follows the spec.
- candidates are rules whose host matches, ordered exact host, then wildcard, then rules
  with no host; within that, the longest matching path wins, and `Exact` beats `Prefix`
  at equal length; remaining ties go to the Ingress first by name, then rule order.
- `Prefix` matches element by element on `/`; `ImplementationSpecific` is treated as
  `Prefix`, exactly as cloud-provider-kind translates it (to a Gateway API PathPrefix).
- no rule matches: the first served Ingress (by name) with `spec.defaultBackend` takes it;
  else 404 from the proxy (cloud-provider-kind has no default backend of its own).
  cloud-provider-kind differs twice here: its Envoy serves only the most specific host's
  rules for a Host (no fall-through to host-less rules, and a host rule whose paths all miss
  answers 404 instead of reaching the defaultBackend), and it ignores `defaultBackend`
  entirely when a rule without host exists.

TLS (Ingress `spec.tls`; Kubernetes docs, "Ingress" > TLS): a `kubernetes.io/tls` Secret
with `tls.crt` and `tls.key`; the Ingress is served on port 443 with it, TLS ending at the
proxy. cloud-provider-kind (pkg/ingress) gathers every `secretName` of every served Ingress
of the namespace into ONE HTTPS listener (port 443, no hostname) of the namespace's Gateway,
its certificateRefs sorted by name; `tls[].hosts` plays no part. So a handshake gets the
certificate whose names cover the SNI, else the first by name (grader.model.tls), and every
rule is served on 443 as on 80. A missing Secret, or one that is not a valid TLS Secret,
leaves that listener unprogrammed (ResolvedRefs False/InvalidCertificateRef): port 443
refuses for the whole namespace while port 80 still serves. (ingress-nginx would present
its self-signed default certificate instead: the Ingress docs leave this to the controller.)
No Ingress with `tls`: nothing listens on 443.

Backends as the client sees them:
- a backend port by number or by name (the Service's port name);
- a named port the Service does not have, or a Service that does not exist behind a named
  port: the controller cannot translate that Ingress at all (it needs the number), so none
  of its rules route: 404, and the why names the port;
- a Service that does not exist (port by number): the translated HTTPRoute's backend is not
  found, so Gateway API answers 500;
- a Service with no ready endpoints: 503 (grader.model.http_probe).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grader.model.http_routing import HttpRequest, exact_matches, ingress_host_matches, prefix_matches

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state_view import StateView

INGRESS_CLASS = "cloud-provider-kind"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"


@dataclass(frozen=True)
class IngressBackend:
    """Where a matched Ingress rule sends the request."""

    namespace: str
    service: str
    port: int | None                 # resolved number (None: unresolvable)
    port_name: str | None = None     # as written, when given by name


@dataclass(frozen=True)
class IngressMatch:
    """The routing decision for one request: a backend, or a status with the why."""

    backend: IngressBackend | None
    status: int | None               # None: forward to `backend`; else the proxy's answer
    route: str                       # which Ingress rule decided, for feedback
    reason: str


def ingress_class_objects(state: "StateView") -> list[dict[str, Any]]:
    return state.objects("IngressClass")


def default_classes(state: "StateView") -> list[str]:
    return [
        c["metadata"]["name"]
        for c in ingress_class_objects(state)
        if str((c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION, "")).lower() == "true"
    ]


def effective_class(state: "StateView", ing: dict[str, Any]) -> str | None:
    """The class an Ingress ends up with: its own, else the default (newest if several,
    which the model approximates as the last in name order)."""
    cls = (ing.get("spec") or {}).get("ingressClassName")
    if cls:
        return str(cls)
    defaults = default_classes(state)
    return defaults[-1] if defaults else None


def why_unserved(state: "StateView", ing: dict[str, Any]) -> str | None:
    """None when the course's controller serves this Ingress; else the reason it does not."""
    cls = effective_class(state, ing)
    name = f"Ingress {ing['metadata'].get('namespace')}/{ing['metadata']['name']}"
    if cls == INGRESS_CLASS:
        return None
    if cls is None:
        return (f"{name} names no ingressClassName and no IngressClass is the default, so no "
                "controller serves it")
    known = {
        c["metadata"]["name"]: (c.get("spec") or {}).get("controller") for c in ingress_class_objects(state)
    }
    if cls not in known:
        return (f"{name} asks for ingressClassName {cls!r}, which does not exist, so no controller "
                f"serves it (this cluster's class is {INGRESS_CLASS!r})")
    return (f"{name} asks for IngressClass {cls!r} (controller {known[cls]}), which nothing in this "
            f"cluster implements (this cluster's class is {INGRESS_CLASS!r})")


def served_ingresses(state: "StateView", namespace: str | None = None) -> list[dict[str, Any]]:
    return [i for i in state.objects("Ingress", namespace) if why_unserved(state, i) is None]


def proxy_namespaces(state: "StateView") -> list[str]:
    """Namespaces whose ingress Gateway exists (they have at least one served Ingress)."""
    return sorted({i["metadata"]["namespace"] for i in served_ingresses(state)})


# ---------------------------------------------------------------- backends
def _resolve(
    state: "StateView", namespace: str, backend: dict[str, Any]
) -> tuple[IngressBackend | None, str]:
    """(backend, "") or (None, why the controller cannot translate it)."""
    svc_ref = backend.get("service") or {}
    name = str(svc_ref.get("name", ""))
    port = svc_ref.get("port") or {}
    if not svc_ref:
        return (
            None,
            "the backend is a resource, not a Service; cloud-provider-kind serves Service backends only",
        )
    if "number" in port and port["number"]:
        return IngressBackend(namespace, name, int(port["number"])), ""
    pname = str(port.get("name", ""))
    svc = state.service(namespace, name)
    if svc is None:
        return None, (f"backend Service {namespace}/{name} does not exist, so the controller cannot "
                      f"look up its port named {pname!r}")
    for sp in svc.ports:
        if sp.name == pname:
            return IngressBackend(namespace, name, sp.port, pname), ""
    names = ", ".join(repr(p.name) for p in svc.ports if p.name) or "none"
    return None, f"Service {namespace}/{name} has no port named {pname!r} (its port names: {names})"


def untranslatable(state: "StateView", ing: dict[str, Any]) -> str | None:
    """Why the controller cannot turn this Ingress into routes at all (any backend whose port
    it cannot resolve stops the whole translation), else None."""
    ns = ing["metadata"]["namespace"]
    spec = ing.get("spec") or {}
    backends = [spec["defaultBackend"]] if spec.get("defaultBackend") else []
    for rule in spec.get("rules") or []:
        backends += [p.get("backend") or {} for p in ((rule.get("http") or {}).get("paths") or [])]
    for b in backends:
        resolved, why = _resolve(state, ns, b)
        if resolved is None:
            return f"Ingress {ns}/{ing['metadata']['name']} is not routed: {why}"
    return None


# ---------------------------------------------------------------- matching
def _path_key(path_type: str, value: str, path: str) -> tuple[int, int] | None:
    """(-length, exact-first) precedence key when the Ingress path matches, else None."""
    if path_type == "Exact":
        return (-len(value), 0) if exact_matches(value, path) else None
    prefix = value or "/"                      # Prefix; ImplementationSpecific as Prefix
    return (-len(prefix.rstrip("/") or "/"), 1) if prefix_matches(prefix, path) else None


def route(state: "StateView", namespace: str, req: HttpRequest) -> IngressMatch:
    """Where the namespace's ingress proxy sends `req`."""
    ingresses = served_ingresses(state, namespace)
    if not ingresses:
        return IngressMatch(
            None, 404, "", f"no Ingress in namespace {namespace} is served by {INGRESS_CLASS}"
        )
    problems: list[str] = []
    candidates: list[tuple[tuple, IngressBackend | None, str]] = []
    hosts_seen: list[str] = []
    host_matched = False
    for ing in ingresses:
        iname = f"{namespace}/{ing['metadata']['name']}"
        broken = untranslatable(state, ing)
        if broken:
            problems.append(broken)
            continue
        for r_i, rule in enumerate((ing.get("spec") or {}).get("rules") or []):
            host = rule.get("host") or ""
            hosts_seen.append(host or "(any host)")
            if host and not ingress_host_matches(host, req.host):
                continue
            group = 2 if not host else (1 if host.startswith("*.") else 0)
            host_matched = True
            for p_i, p in enumerate(((rule.get("http") or {}).get("paths")) or []):
                ptype = str(p.get("pathType", "ImplementationSpecific"))
                value = str(p.get("path") or "")
                key = _path_key(ptype, value, req.path)
                if key is None:
                    continue
                backend, _ = _resolve(state, namespace, p.get("backend") or {})
                where = (f"Ingress {iname} rule {host or '(any host)'} path {value or '/'} "
                         f"({ptype})")
                candidates.append(((group, *key, ing["metadata"]["name"], r_i, p_i), backend, where))
    if candidates:
        _, backend, where = min(candidates, key=lambda c: c[0])
        return IngressMatch(backend, None, where, "")
    for ing in ingresses:
        default = (ing.get("spec") or {}).get("defaultBackend")
        if default and not untranslatable(state, ing):
            backend, _ = _resolve(state, namespace, default)
            return IngressMatch(backend, None,
                                f"Ingress {namespace}/{ing['metadata']['name']} defaultBackend", "")
    if not host_matched:
        why = (f"no matching host: no Ingress rule in {namespace} matches host {req.host!r} "
               f"(rule hosts: {', '.join(dict.fromkeys(hosts_seen)) or 'none'})")
    else:
        why = (f"no matching path: rules for host {req.host!r} exist, but no path matches "
               f"{req.path!r}, and no Ingress has a defaultBackend")
    if problems:
        why += "; " + "; ".join(problems)
    return IngressMatch(None, 404, "", why)


# ---------------------------------------------------------------- TLS
def tls_secret_names(state: "StateView", namespace: str) -> list[str]:
    """Every secretName of the namespace's served Ingresses, unique, by name (the
    certificateRefs of the controller's HTTPS listener)."""
    names = {str(t["secretName"]) for ing in served_ingresses(state, namespace)
             for t in (ing.get("spec") or {}).get("tls") or [] if t.get("secretName")}
    return sorted(names)


def tls_listener(state: "StateView", namespace: str) -> tuple[list[tuple[str, str]], str]:
    """(certificates, "") of the namespace's port 443, or ([], why nothing serves there)."""
    from grader.model.tls import certificate_problem

    names = tls_secret_names(state, namespace)
    if not names:
        return [], (f"no served Ingress in namespace {namespace} has spec.tls with a secretName, so the "
                    "ingress proxy does not listen on port 443")
    for name in names:
        problem = certificate_problem(state, namespace, name)
        if problem:
            return [], (f"the ingress proxy's HTTPS listener is not programmed (ResolvedRefs False, "
                        f"InvalidCertificateRef): {problem}; port 443 refuses for every Ingress of "
                        f"{namespace}")
    return [(namespace, n) for n in names], ""
