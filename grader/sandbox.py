"""What a learner's manifests may do on an instructor's cluster -- checked before apply.

Shared by the offline and live backends so both give the same verdict: a submission the
offline grader accepts must never be one the live grader would refuse, and vice versa.

Policy (see DESIGN.md, "Security model for live grading"):

* Only the kinds in `ALLOWED_KINDS`: the course's namespaced networking objects.
  Everything else is refused -- in particular every cluster-scoped kind (Namespace,
  ClusterRole, ...) and RBAC, Jobs (not needed by any lab), Secrets other than
  `kubernetes.io/tls` ones (a certificate and key for an Ingress or a Gateway listener,
  which the TLS lessons need; used by nothing else in the namespace), and hand-written
  Endpoints and EndpointSlices: with a selectorless Service they can point a Service at
  any address -- the node's API server, another namespace's pods -- and let the cluster
  proxy traffic there for the learner (CVE-2021-25740). Services use selectors.
  The one exception is a lab part that opts in (`Part.endpoint_slices`, its namespace
  then passes a `SliceScope`): there an EndpointSlice is admitted when it can only send
  traffic where the namespace could already send it -- addressType IPv4, every address the
  IP of a pod the namespace has at apply time (any targetRef naming that very pod), for a
  Service of the namespace or of the submission that has no selector (the EndpointSlice
  controller owns the slices of one with a selector). A residual risk, accepted for a
  short-lived grading namespace: a pod IP freed later may be handed to another tenant's pod.
  Endpoints (the legacy kind) stay refused everywhere.
* Only in the submission's namespace: `metadata.namespace` unset or equal to it.
* Pod specs (bare Pods and Deployment/StatefulSet templates) must pass the Pod
  Security Standard **baseline** profile: no host namespaces, hostPath volumes, hostPorts,
  privileged containers, non-default /proc mounts,
  unsafe sysctls, Unconfined seccomp/AppArmor, custom SELinux types, Windows HostProcess.
  The namespace is also labelled for baseline enforcement; this check gives the learner a
  clear message (with file and field) instead of the admission webhook's.
* No container may add Linux capabilities at all -- stricter than baseline, which allows a
  default set: the course's servers bind unprivileged ports and need none, and "added
  capabilities" is exactly what an instructor's cluster should never have to reason about.
* Services may not set `externalIPs` (CVE-2020-8554: it lets one tenant intercept traffic
  to any IP cluster-wide). NodePort and LoadBalancer are allowed: labs teach them.
* Ingress, HTTPRoute and ReferenceGrant are allowed (namespaced; a ReferenceGrant in the
  submission's own namespace can only open that namespace's Services). A cross-namespace
  backendRef needs a ReferenceGrant in the other namespace, which a submission cannot
  create: the controller then refuses the reference (ResolvedRefs False, RefNotPermitted),
  so nothing crosses namespaces without the other side's consent.
* A Gateway is a new load balancer (an Envoy container on the node's network): at most
  `MAX_GATEWAYS` in the namespace (those it already has count; the backends pass them in),
  of the course's class only (`cloud-provider-kind`), with HTTP and HTTPS listeners only,
  whose certificateRefs stay in the submission's namespace (a Secret elsewhere needs a
  ReferenceGrant there, which a submission cannot create).

`image_warnings` is separate and advisory: `:latest` is bad practice, not a security issue.

`quota_problems` is the quota view: what the namespace's guardrails (grader.guardrails:
the ResourceQuota and LimitRange every course namespace carries) will refuse when these
manifests are applied into a fresh course namespace, in the API server's words: a
Service/ConfigMap/Pod beyond the quota, a container above the LimitRange's max, and the
pods a Deployment/StatefulSet asks for that its controller will not be able to create.
`svclab check --namespace` reports it (sandbox_problems includes it); `load_sandboxed`
leaves it to the backends, which enforce the quota themselves (the API server live, the
model offline), so a Deployment beyond the quota still keeps the pods that fit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Union

from grader.k8s.fields import dicts, items, join_key, mapping, quote
from grader.k8s.wording import a_kind
from grader.manifests import Manifest, Problem
from grader.rules.workloads import CONTAINER_LISTS

#: Kinds a lab submission may create (DESIGN.md's allowlist). Ingress is allowed for the
#: optional Ingress lab. Not Endpoints/EndpointSlice: see `ENDPOINT_KINDS`.
ALLOWED_KINDS = frozenset({
    "Deployment", "StatefulSet", "Pod", "Service", "NetworkPolicy", "ConfigMap", "Ingress",
    "HTTPRoute", "Gateway", "ReferenceGrant", "Secret",
})
#: Gateways (each one a load balancer) a submission may create.
MAX_GATEWAYS = 1
GATEWAY_CLASS = "cloud-provider-kind"

#: Refused with their own reason: hand-written endpoints decide where a Service sends
#: traffic, whatever its selector (CVE-2021-25740).
ENDPOINT_KINDS = frozenset({"Endpoints", "EndpointSlice"})

#: The labels tying a slice to its Service, and marking the EndpointSlice controller's own.
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
_CVE = ("a hand-written slice can send a Service's traffic to any address, another tenant's pod or the "
        "API server (CVE-2021-25740), so a lab admits only its own pods' IPs")


@dataclass(frozen=True)
class SliceScope:
    """What a hand-written EndpointSlice may point at in a namespace whose lab part opts in,
    read from the cluster at apply time: its pods' IPs (IP -> pod name, pods without an IP
    left out) and its Services (name -> whether it has a selector)."""

    pods: Mapping[str, str]
    services: Mapping[str, bool]

    @classmethod
    def of(cls, ns: Any) -> "SliceScope":
        """The scope of a backend namespace (offline or live: both list pods and Services)."""
        return cls({p.ip: p.name for p in ns.pods() if p.ip},
                   {s.name: bool(s.selector) for s in ns.services()})


def slice_scope_for(ns: Any) -> Callable[[], SliceScope] | None:
    """What a backend namespace passes to `load_sandboxed`: its SliceScope when a lab part
    opted in (`ns.admits_endpoint_slices`, set by grader.labs.spec.prepare), else None."""
    return (lambda: SliceScope.of(ns)) if getattr(ns, "admits_endpoint_slices", False) else None


#: Kinds that exist outside any namespace; named in the refusal so the reason is clear.
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
    "CustomResourceDefinition", "StorageClass", "IngressClass", "PriorityClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
    "RuntimeClass", "CSIDriver", "ValidatingAdmissionPolicy", "GatewayClass",
})

#: Namespaced sysctls the baseline profile considers safe.
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})

_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
#: Kinds whose pods come from `spec.template` (ReplicaSet only for image_warnings: the
#: sandbox refuses it before looking inside).
_CONTROLLERS = ("Deployment", "StatefulSet", "ReplicaSet")


ExistingGateways = Union[Iterable[str], Callable[[], Iterable[str]]]


def sandbox_problems(manifests: list[Manifest], namespace: str,
                     existing_gateways: ExistingGateways = (), *, quota: bool = True,
                     endpoint_slices: Callable[[], SliceScope] | None = None) -> list[Problem]:
    """Every reason these manifests may not be applied in `namespace` (empty = allowed),
    and (quota=True) what the namespace's quota and limits will refuse (quota_problems).
    `existing_gateways`: names of the Gateways the namespace already has (or a function
    returning them, called only when the manifests hold a Gateway), which count against
    MAX_GATEWAYS; re-applying one of them is not a new Gateway. `endpoint_slices`: given
    only where a lab part opts in, the namespace's SliceScope (called only when the
    manifests hold an EndpointSlice); without it EndpointSlices are refused."""
    out = _policy_problems(manifests, namespace, existing_gateways, endpoint_slices)
    if quota and not out:
        out = quota_problems(manifests, namespace)
    return out


def quota_problems(manifests: list[Manifest], namespace: str) -> list[Problem]:
    """What the guardrails of a fresh course namespace will refuse (see the module
    docstring), found by applying the manifests one by one, in apply order, to an offline
    model of that namespace: the very admission code the offline backend runs."""
    from grader import guardrails
    from grader.k8s.apply_order import apply_rank
    from grader.model.state import KIND_RESOURCE, ApplyError, ClusterState

    state = ClusterState(nodes=1)
    state.apply(guardrails.guardrail_objects(namespace))
    out: list[Problem] = []
    owners: dict[str, Manifest] = {}
    for m in sorted(manifests, key=lambda m: apply_rank(m.obj)):
        obj = dict(m.obj)
        obj["metadata"] = {**(obj.get("metadata") or {}), "namespace": namespace}
        try:
            state.apply([obj], namespace)
        except ApplyError as exc:
            out += [Problem(m.file, m.doc, m.kind or None, m.name or None, "",
                            f"the API server will refuse it in a course namespace: {msg}")
                    for msg in exc.problems]
            continue
        owners[f"{namespace}/{m.kind}/{m.name}"] = m
    for owner, (missing, why) in sorted(state.failed_creates.items()):
        workload = owners.get(owner)
        if workload is None:
            continue
        wanted = (workload.obj.get("spec") or {}).get("replicas", 1)
        kind_resource = KIND_RESOURCE.get(workload.kind, workload.kind).split(".")[0]
        out.append(Problem(workload.file, workload.doc, workload.kind, workload.name, "spec.replicas",
                           f"{missing} of {wanted} pods will not be created in a course namespace "
                           f"({kind_resource} controller): {why}"))
    return out


def _policy_problems(manifests: list[Manifest], namespace: str, existing_gateways: ExistingGateways = (),
                     endpoint_slices: Callable[[], SliceScope] | None = None) -> list[Problem]:
    out: list[Problem] = []
    allowed = ALLOWED_KINDS | ({"EndpointSlice"} if endpoint_slices is not None else set())
    for m in manifests:
        def problem(path: str, message: str, m: Manifest = m) -> None:
            out.append(Problem(m.file, m.doc, m.kind or None, m.name or None, path, message))

        if m.kind not in allowed:
            if m.kind in ENDPOINT_KINDS:
                why = (" hand-written endpoints can point a Service at any address, including the "
                       "node and other namespaces; use a selector on the Service instead, and")
            elif m.kind in CLUSTER_SCOPED:
                why = " it is cluster-wide, and"
            else:
                why = ""
            problem("kind", f"{a_kind(m.kind)} may not be created in a lab:{why} submissions may only "
                    f"contain {', '.join(sorted(ALLOWED_KINDS))}")
            continue
        if m.namespace is not None and m.namespace != namespace:
            problem("metadata.namespace", f"must be '{namespace}' (or left out), not {quote(m.namespace)}: "
                    "a submission may only create objects in its own namespace")
        for path, message in _object_issues(m.obj):
            problem(path, message)
    slices = [m for m in manifests if m.kind == "EndpointSlice"]
    if slices and endpoint_slices is not None:
        scope = endpoint_slices()
        services = {**scope.services, **{m.name: bool(mapping(mapping(m.obj.get("spec")).get("selector")))
                                         for m in manifests if m.kind == "Service" and m.name}}
        for m in slices:
            out += [Problem(m.file, m.doc, m.kind, m.name or None, path, message)
                    for path, message in _slice_issues(m.obj, namespace, scope.pods, services)]
    gateways = [m for m in manifests if m.kind == "Gateway"]
    have = (
        set(existing_gateways() if callable(existing_gateways) else existing_gateways) if gateways else set()
    )
    new = [m for m in gateways if m.name not in have]
    for i, m in enumerate(new[max(0, MAX_GATEWAYS - len(have)):]):
        count = len(have) + max(0, MAX_GATEWAYS - len(have)) + i + 1
        already = f" (the namespace already has {', '.join(sorted(have))})" if have else ""
        out.append(Problem(m.file, m.doc, m.kind, m.name or None, "kind",
                           f"a lab submission may create at most {MAX_GATEWAYS} Gateway (each one is a "
                           f"new load balancer); this would be Gateway number {count}{already}: route "
                           "more hostnames through one Gateway instead"))
    return out


def _pod_template(obj: dict) -> tuple[dict, str, dict, str] | None:
    """(pod spec, its path, pod annotations, their path) of a Pod or a controller's
    template; None for kinds without pods."""
    kind = obj.get("kind")
    spec = mapping(obj.get("spec"))
    if kind == "Pod":
        return spec, "spec", mapping(mapping(obj.get("metadata")).get("annotations")), "metadata.annotations"
    if kind in _CONTROLLERS:
        template = mapping(spec.get("template"))
        return (mapping(template.get("spec")), "spec.template.spec",
                mapping(mapping(template.get("metadata")).get("annotations")),
                "spec.template.metadata.annotations")
    return None


def _object_issues(obj: dict) -> list[tuple[str, str]]:
    """Checks inside one object of an allowed kind."""
    pod = _pod_template(obj)
    if pod is not None:
        return _pod_issues(*pod)
    spec = mapping(obj.get("spec"))
    if obj.get("kind") == "Gateway":
        return _gateway_issues(spec)
    if obj.get("kind") == "Secret" and obj.get("type") != "kubernetes.io/tls":
        return [("type", f"only Secrets of type 'kubernetes.io/tls' are allowed in a lab, not "
                 f"{quote(obj.get('type') or 'Opaque')} (a lab needs certificates, never credentials)")]
    if obj.get("kind") == "Service" and items(spec.get("externalIPs")):
        return [("spec.externalIPs", "externalIPs are not allowed in a lab: they can capture "
                 "traffic for addresses outside your namespace (use a NodePort or LoadBalancer Service)")]
    return []


def _slice_issues(obj: dict, namespace: str, pods: Mapping[str, str],
                  services: Mapping[str, bool]) -> list[tuple[str, str]]:
    """Why a hand-written EndpointSlice may not be applied where a lab part admits them
    (see the module docstring); `services` are the namespace's and the submission's."""
    out: list[tuple[str, str]] = []
    if obj.get("addressType") != "IPv4":
        out.append(("addressType", f"must be 'IPv4' in a lab, not {quote(obj.get('addressType'))}: the "
                    "addresses are your pods' IPv4 addresses (kube-proxy ignores FQDN slices)"))
    labels = mapping(mapping(obj.get("metadata")).get("labels"))
    service = labels.get(SERVICE_NAME_LABEL)
    lpath = join_key("metadata.labels", SERVICE_NAME_LABEL)
    if not service:
        out.append((lpath, "is missing: this label is what ties a slice to its Service; without it no "
                    "Service gets these endpoints (name the Service without a selector it is for)"))
    elif service not in services:
        out.append((lpath, f"names Service {quote(service)}, which is neither in namespace {namespace} nor "
                    "in your submission"))
    elif services[service]:
        out.append((lpath, f"names Service {quote(service)}, which has a selector: the EndpointSlice "
                    f"controller owns its slices (labelled {MANAGED_BY_LABEL}: {SLICE_CONTROLLER}), and a "
                    "hand-written slice is for a Service without a selector; remove the selector"))
    if labels.get(MANAGED_BY_LABEL) == SLICE_CONTROLLER:
        out.append((join_key("metadata.labels", MANAGED_BY_LABEL), f"must not be {SLICE_CONTROLLER!r}: "
                    "that value marks the controller's own slices, and this one is yours"))
    here = ", ".join(f"{name} {ip}" for ip, name in sorted(pods.items(), key=lambda kv: kv[1])) or "none"
    for epath, endpoint in dicts(obj.get("endpoints"), "endpoints"):
        addresses = items(endpoint.get("addresses"))
        for i, address in enumerate(addresses):
            if not isinstance(address, str) or address not in pods:
                out.append((f"{join_key(epath, 'addresses')}[{i}]", f"{quote(address)} is not the IP of a "
                            f"pod in namespace {namespace} (its pods now: {here}); {_CVE}"))
        ref = mapping(endpoint.get("targetRef"))
        if ref:
            out += _target_ref_issues(ref, join_key(epath, "targetRef"), namespace,
                                      pods.get(addresses[0]) if addresses and isinstance(addresses[0], str)
                                      else None)
    return out


def _target_ref_issues(ref: dict, path: str, namespace: str, pod: str | None) -> list[tuple[str, str]]:
    """An endpoint's targetRef, if written, must name the pod its address belongs to."""
    if ref.get("kind", "Pod") != "Pod":
        return [(join_key(path, "kind"), f"must be 'Pod' in a lab, not {quote(ref.get('kind'))}")]
    if ref.get("namespace") not in (None, namespace):
        return [(join_key(path, "namespace"), f"must be '{namespace}' (or left out), not "
                 f"{quote(ref.get('namespace'))}: {_CVE}")]
    if pod is not None and ref.get("name") != pod:
        return [(join_key(path, "name"), f"names pod {quote(ref.get('name'))}, but the address is pod "
                 f"{pod}'s IP: a targetRef names the pod behind the address")]
    return []


def _gateway_issues(spec: dict) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    cls = spec.get("gatewayClassName")
    if cls != GATEWAY_CLASS:
        out.append(("spec.gatewayClassName", f"must be '{GATEWAY_CLASS}' in a lab (the course cluster's "
                    f"Gateway controller), not {quote(cls)}"))
    for lpath, listener in dicts(spec.get("listeners"), "spec.listeners"):
        if listener.get("protocol") not in ("HTTP", "HTTPS"):
            out.append((join_key(lpath, "protocol"), f"only 'HTTP' and 'HTTPS' listeners are allowed in a "
                        f"lab, not {quote(listener.get('protocol'))}"))
    if spec.get("addresses"):
        out.append(("spec.addresses", "a lab Gateway may not ask for addresses: the controller assigns one"))
    return out


def _pod_issues(spec: dict, path: str, annotations: dict, annotations_path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for field, what in (("hostNetwork", "the node's network"), ("hostPID", "the node's processes"),
                        ("hostIPC", "the node's IPC")):
        if spec.get(field) is True:
            out.append((join_key(path, field), f"must not be true: pods may not share {what} "
                        "(Pod Security 'baseline')"))
    for vpath, volume in dicts(spec.get("volumes"), join_key(path, "volumes")):
        if "hostPath" in volume:
            out.append((join_key(vpath, "hostPath"), "hostPath volumes are not allowed: they expose the "
                        "node's files (use an emptyDir or a ConfigMap volume)"))
    psc = mapping(spec.get("securityContext"))
    out += _security_context_issues(psc, join_key(path, "securityContext"))
    for spath, sysctl in dicts(psc.get("sysctls"), join_key(join_key(path, "securityContext"), "sysctls")):
        name = sysctl.get("name")
        if isinstance(name, str) and name not in SAFE_SYSCTLS:
            out.append((join_key(spath, "name"), f"sysctl {quote(name)} is not in the safe set allowed "
                        "by Pod Security 'baseline'"))
    for list_name in CONTAINER_LISTS:
        for cpath, container in dicts(spec.get(list_name), join_key(path, list_name)):
            out += _container_issues(container, cpath)
    for key, value in annotations.items():
        if key.startswith(_APPARMOR_ANNOTATION) and isinstance(value, str) and not (
                value == "runtime/default" or value.startswith("localhost/")):
            out.append((join_key(annotations_path, key), f"AppArmor profile {quote(value)} is not "
                        "allowed; use 'runtime/default'"))
    return out


def _container_issues(container: dict, path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    sc = mapping(container.get("securityContext"))
    scpath = join_key(path, "securityContext")
    if sc.get("privileged") is True:
        out.append((join_key(scpath, "privileged"), "privileged containers are not allowed "
                    "(Pod Security 'baseline')"))
    added = items(mapping(sc.get("capabilities")).get("add"))
    for i, cap in enumerate(added):
        out.append((f"{join_key(join_key(scpath, 'capabilities'), 'add')}[{i}]",
                    f"adding capability {quote(cap)} is not allowed in a lab namespace: no course "
                    "workload needs extra privileges (dropping capabilities is fine)"))
    proc = sc.get("procMount")
    if proc not in (None, "Default"):
        out.append((join_key(scpath, "procMount"), "must be 'Default' (or left out)"))
    out += _security_context_issues(sc, scpath)
    for ppath, port in dicts(container.get("ports"), join_key(path, "ports")):
        host_port = port.get("hostPort")
        if host_port not in (None, 0):
            out.append((join_key(ppath, "hostPort"), "hostPort is not allowed: it binds a port on "
                        "the node itself (expose the pod with a NodePort Service instead)"))
    return out


def _security_context_issues(sc: dict, path: str) -> Iterable[tuple[str, str]]:
    """Fields shared by pod- and container-level security contexts."""
    seccomp = mapping(sc.get("seccompProfile")).get("type")
    if seccomp == "Unconfined":
        yield (join_key(join_key(path, "seccompProfile"), "type"),
               "seccomp profile 'Unconfined' is not allowed; use 'RuntimeDefault' or leave it out")
    apparmor = mapping(sc.get("appArmorProfile")).get("type")
    if apparmor == "Unconfined":
        yield (join_key(join_key(path, "appArmorProfile"), "type"),
               "AppArmor profile 'Unconfined' is not allowed; use 'RuntimeDefault' or leave it out")
    selinux = mapping(sc.get("seLinuxOptions"))
    selinux_type: Any = selinux.get("type", "")
    if selinux_type not in _SELINUX_TYPES:
        yield (join_key(join_key(path, "seLinuxOptions"), "type"),
               f"SELinux type {quote(selinux_type)} is not allowed by Pod Security 'baseline'")
    for field in ("user", "role"):
        if selinux.get(field):
            yield (join_key(join_key(path, "seLinuxOptions"), field),
                   f"setting the SELinux {field} is not allowed by Pod Security 'baseline'")
    if mapping(sc.get("windowsOptions")).get("hostProcess") is True:
        yield (join_key(join_key(path, "windowsOptions"), "hostProcess"),
               "Windows HostProcess containers are not allowed")


def image_warnings(manifests: list[Manifest]) -> list[Problem]:
    """Advisory: images without a pinned tag (or with `:latest`) make labs unreproducible and
    force `imagePullPolicy: Always`, which breaks preloaded images on classroom wifi."""
    out: list[Problem] = []
    for m in manifests:
        pod = _pod_template(m.obj)
        if pod is None:
            continue
        spec, path = pod[0], pod[1]
        for list_name in CONTAINER_LISTS:
            for cpath, container in dicts(spec.get(list_name), join_key(path, list_name)):
                image = container.get("image")
                if isinstance(image, str) and image and "@" not in image:
                    last = image.rsplit("/", 1)[-1]
                    tag = last.split(":", 1)[1] if ":" in last else None
                    if tag in (None, "latest"):
                        out.append(Problem(m.file, m.doc, m.kind, m.name, join_key(cpath, "image"),
                                           f"image {quote(image)} has no pinned tag; use a version "
                                           "such as 'nginx:1.27' rather than ':latest'"))
    return out


def load_sandboxed(manifests: Any, namespace: str, *, source: str | None = None,
                   existing_gateways: ExistingGateways = (),
                   endpoint_slices: Callable[[], SliceScope] | None = None) -> list[Manifest]:
    """Parse, validate and sandbox-check a learner's input for one lab namespace.

    Both backends call this before touching anything, so a submission is refused with the
    same problems offline and live, and nothing is ever half-applied."""
    from grader.manifests import ManifestError, load

    loaded = load(manifests, source=source)
    problems = sandbox_problems(loaded, namespace, existing_gateways, quota=False,
                                endpoint_slices=endpoint_slices)
    if problems:
        raise ManifestError(problems)
    return loaded
