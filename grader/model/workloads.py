"""Workloads -> pod drafts: what the Deployment, ReplicaSet and StatefulSet controllers
would create, minus the IP (the state's IPAM adds it).

Names follow the controllers' patterns so learners see familiar output:
- Deployment: `<deployment>-<pod-template-hash>-<5 chars>`; the hash is computed from the
  pod template, so changing the template gives new pod names (a rollout) while scaling keeps
  existing names. Real controllers use a random suffix; here it is derived from the
  ReplicaSet name and the replica index so reruns give the same names.
- ReplicaSet: `<replicaset>-<5 chars>`.
- StatefulSet: `<name>-0 .. <name>-(n-1)`, with hostname = pod name and
  subdomain = spec.serviceName (so `<pod>.<serviceName>.<ns>.svc.cluster.local` resolves
  when a headless Service of that name selects them).
- Pod: as given; spec.hostname / spec.subdomain honoured.

What listens in a pod (`listening`) is modelled by one rule, documented in LISTENING_RULE.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from grader.model.ipam import safe_encode
from grader.model.objects import ContainerPort
from grader.model.probes import readiness_failure

LISTENING_RULE = (
    "An agnhost container running `netexec` listens exactly where netexec does: HTTP on "
    "--http-port (default 8080, TCP) and UDP on --udp-port (default 8081); its declared "
    "containerPorts open nothing by themselves (containerPort is informational in "
    "Kubernetes). An agnhost `serve-hostname` container listens on --port (default 9376). "
    "Any other container is assumed to serve every containerPort it declares, answering "
    "HTTP like agnhost netexec (the course's images always do)."
)

WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "Pod")


@dataclass
class PodDraft:
    """A pod the controllers would create, before the IPAM gives it an address."""

    namespace: str
    name: str
    labels: dict[str, str]
    ports: tuple[ContainerPort, ...]
    listening: frozenset[tuple[int, str]]
    servers: dict[tuple[int, str], str] = field(default_factory=dict)   # (port, proto) -> server kind
    hostname: str | None = None
    subdomain: str | None = None
    owner: str | None = None
    #: why the kubelet's startup or readiness probe fails (grader.model.probes); None: Ready
    probe_failure: str | None = None
    #: the containers, for the environment each starts with (grader.model.pod_env)
    containers: tuple[Mapping[str, Any], ...] = ()
    #: spec.nodeName: bound to that node without the scheduler (grader.model.scheduler)
    node_name: str | None = None


def template_hash(template: Mapping[str, Any]) -> str:
    """A 10-character pod-template-hash of the template (stable: sorted-key JSON)."""
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"), default=str)
    return safe_encode("pod-template", canonical, length=10)


def _arg_value(args: list[str], flag: str) -> str | None:
    for i, a in enumerate(args):
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
        if a == flag and i + 1 < len(args):
            return args[i + 1]
    return None


def _int_arg(args: list[str], flag: str, default: int) -> int:
    raw = _arg_value(args, flag)
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


def container_servers(container: Mapping[str, Any]) -> dict[tuple[int, str], str]:
    """(port, protocol) -> server kind ("netexec", "serve-hostname", "generic") for one
    container, following LISTENING_RULE."""
    image = str(container.get("image", ""))
    args = [str(a) for a in (container.get("command") or [])] + [
        str(a) for a in (container.get("args") or [])
    ]
    if "agnhost" in image:
        if "netexec" in args:
            out: dict[tuple[int, str], str] = {}
            http = _int_arg(args, "--http-port", 8080)
            udp = _int_arg(args, "--udp-port", 8081)
            sctp = _int_arg(args, "--sctp-port", -1)
            if http > 0:
                out[(http, "TCP")] = "netexec"
            if udp > 0:
                out[(udp, "UDP")] = "netexec"
            if sctp > 0:
                out[(sctp, "SCTP")] = "netexec"
            return out
        if "serve-hostname" in args:
            return _serve_hostname(args)
        return {}          # agnhost pause / connect / dns...: nothing serves traffic
    return {(int(p["containerPort"]), str(p.get("protocol") or "TCP")): "generic"
            for p in (container.get("ports") or []) if "containerPort" in p}


#: Go's strconv.ParseBool, which pflag uses for `--flag=value` on a bool flag.
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _bool_flag(args: list[str], flag: str, default: bool) -> bool | None:
    """A pflag bool flag: `--flag` is true, `--flag=<ParseBool value>` that value; None when
    the value does not parse (the binary exits with a usage error)."""
    value = default
    for a in args:
        if a == flag:
            value = True
        elif a.startswith(flag + "="):
            raw = a.split("=", 1)[1]
            if raw not in _GO_TRUE + _GO_FALSE:
                return None
            value = raw in _GO_TRUE
    return value


def _serve_hostname(args: list[str]) -> dict[tuple[int, str], str]:
    """agnhost serve-hostname (test/images/agnhost/serve-hostname): `--http` (default true)
    serves HTTP on --port (default 9376), answering every path with the hostname; `--tcp` and
    `--udp` serve the hostname raw, and only with `--http=false`: asked for HTTP together with
    either, the binary exits at start, so nothing listens."""
    http, tcp, udp = (_bool_flag(args, flag, default)
                      for flag, default in (("--http", True), ("--tcp", False), ("--udp", False)))
    if http is None or tcp is None or udp is None or (http and (tcp or udp)):
        return {}
    port = _int_arg(args, "--port", 9376)
    out: dict[tuple[int, str], str] = {}
    if udp:
        out[(port, "UDP")] = "serve-hostname"
    if tcp or http:
        out[(port, "TCP")] = "serve-hostname"
    return out


def _ports(containers: Iterable[Mapping[str, Any]]) -> tuple[ContainerPort, ...]:
    out = []
    for c in containers:
        for p in c.get("ports") or []:
            if "containerPort" in p:
                out.append(ContainerPort(int(p["containerPort"]), str(p.get("protocol") or "TCP"),
                                         p.get("name")))
    return tuple(out)


def draft_from_template(namespace: str, name: str, template: Mapping[str, Any], *,
                        extra_labels: Mapping[str, str] | None = None,
                        hostname: str | None = None, subdomain: str | None = None,
                        owner: str | None = None) -> PodDraft:
    meta = template.get("metadata") or {}
    spec = template.get("spec") or {}
    # Sidecars (initContainers with restartPolicy: Always, KEP-753) run beside the app
    # containers, and podutil.FindPort resolves named targetPorts against them too.
    containers = list(spec.get("containers") or []) + [
        c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    servers: dict[tuple[int, str], str] = {}
    for c in containers:
        for key, kind in container_servers(c).items():
            servers.setdefault(key, kind)
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    labels.update(extra_labels or {})
    return PodDraft(
        namespace=namespace, name=name, labels=labels, ports=_ports(containers),
        listening=frozenset(servers), servers=servers,
        hostname=hostname if hostname is not None else spec.get("hostname"),
        subdomain=subdomain if subdomain is not None else spec.get("subdomain"),
        owner=owner, probe_failure=readiness_failure(containers, servers),
        containers=tuple(containers), node_name=str(spec["nodeName"]) if spec.get("nodeName") else None,
    )


def _replicas(spec: Mapping[str, Any]) -> int:
    r = spec.get("replicas")
    return 1 if r is None else max(0, int(r))


def replicas_of(obj: Mapping[str, Any]) -> int:
    """How many pods a workload asks for (1 for a bare Pod), without creating any."""
    if obj.get("kind") == "Pod":
        return 1
    if obj.get("kind") not in WORKLOAD_KINDS:
        return 0
    return _replicas(obj.get("spec") or {})


def pod_spec_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The pod spec a workload's pods get (a bare Pod's own spec)."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return dict(spec)
    return dict((spec.get("template") or {}).get("spec") or {})


def generate_name(obj: Mapping[str, Any]) -> str:
    """The generateName prefix of a controller's pods (what the API server names in a
    refusal of one of them): "<deployment>-<pod-template-hash>-", "<replicaset>-"."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name"))
    if obj.get("kind") == "Deployment":
        return f"{name}-{template_hash((obj.get('spec') or {}).get('template') or {})}-"
    return f"{name}-"


def _suffixes(owner_name: str, n: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(out) < n:
        s = safe_encode("pod-suffix", owner_name, str(i), length=5)
        if s not in seen:
            seen.add(s)
            out.append(s)
        i += 1
    return out


def pods_for(obj: Mapping[str, Any], namespace: str, *, limit: int | None = None) -> list[PodDraft]:
    """The pods one workload object stands for (empty for non-workload kinds): its first
    `limit` replicas when given, so the work is bounded by what can exist, never by the
    replica count a manifest asks for."""
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    name = str(meta.get("name"))
    ns = str(meta.get("namespace") or namespace)
    spec = obj.get("spec") or {}
    n = replicas_of(obj) if limit is None else min(limit, replicas_of(obj))
    if kind == "Pod":
        return [draft_from_template(ns, name, {"metadata": meta, "spec": spec})][:n]
    template = spec.get("template") or {}
    if kind == "Deployment":
        h = template_hash(template)
        rs = f"{name}-{h}"
        return [draft_from_template(ns, f"{rs}-{sfx}", template,
                                    extra_labels={"pod-template-hash": h}, owner=f"Deployment/{name}")
                for sfx in _suffixes(rs, n)]
    if kind == "ReplicaSet":
        return [draft_from_template(ns, f"{name}-{sfx}", template, owner=f"ReplicaSet/{name}")
                for sfx in _suffixes(name, n)]
    if kind == "StatefulSet":
        out = []
        for i in range(n):
            pod = f"{name}-{i}"
            out.append(draft_from_template(
                ns, pod, template,
                extra_labels={"statefulset.kubernetes.io/pod-name": pod,
                              "apps.kubernetes.io/pod-index": str(i)},
                hostname=pod, subdomain=spec.get("serviceName") or None,
                owner=f"StatefulSet/{name}"))
        return out
    return []
