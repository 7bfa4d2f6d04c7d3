"""What pods, workloads and Services say about themselves on a live cluster, read from the
objects the API server returns (camelCase dicts): is a pod Ready and if not why, in a phrase
a learner can act on; why a workload is not rolled out; a Service as the backend-neutral
ServiceInfo; which ports the pods serve and which container answers probes.

Pure functions, no client calls: the same dicts come from the API, from fakes in tests, or
from a recorded cluster, and the wording here is compared with the offline model's.
"""
from __future__ import annotations

from typing import Any, Callable

from grader.cluster.base import Condition, PodRef, Reachability, ServiceInfo, ServicePortInfo
from grader.k8s.selectors import parse_selector
from grader.kind.images import AGNHOST_IMAGE

#: Hints for the container states a learner most often meets, quoted in wait_ready's error.
WAITING_HINTS = {
    "ImagePullBackOff": f"check the image name and tag (the course image is {AGNHOST_IMAGE})",
    "ErrImagePull": f"check the image name and tag (the course image is {AGNHOST_IMAGE})",
    "InvalidImageName": "the image reference is malformed",
    "CrashLoopBackOff": "the container keeps exiting: check its command and args",
    "CreateContainerConfigError": "a referenced ConfigMap/Secret or key is missing",
}


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}


def pod_is_ready(pod: dict[str, Any]) -> bool:
    return conditions(pod).get("Ready", {}).get("status") == "True"


def pod_is_running(pod: dict[str, Any]) -> bool:
    """Every container of the pod runs (Ready or not): what a pod kept out of rotation by a
    failing readiness probe looks like."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return bool(statuses) and all((cs.get("state") or {}).get("running") for cs in statuses)


def rolled_out(workload: dict[str, Any]) -> bool:
    """Every replica of the current template exists (updated), ready or not."""
    meta = workload.get("metadata") or {}
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    want = spec.get("replicas", 1)
    return (status.get("updatedReplicas") or 0) >= want and (status.get("replicas") or 0) <= want and \
        (status.get("observedGeneration") or 0) >= (meta.get("generation") or 0)


def statefulset_shortfall(sts: dict[str, Any],
                          failed_creates: Callable[[], list[dict[str, Any]]]) -> str | None:
    """A StatefulSet has no ReplicaFailure condition: when it has created fewer pods than it
    wants, its FailedCreate events (`failed_creates()`) say why, worded as offline."""
    want = (sts.get("spec") or {}).get("replicas", 1)
    created = (sts.get("status") or {}).get("replicas") or 0
    if created >= want:
        return None
    why = failed_create_reason(failed_creates())
    if why is None:
        return None
    n = want - created
    name = (sts.get("metadata") or {}).get("name")
    return f"{n} pod{'s' if n != 1 else ''} of statefulset/{name} could not be created: {why}"


def unready_on_purpose(selector: str | None, *, pod: dict[str, Any] | None = None,
                       workload: dict[str, Any] | None = None) -> bool:
    """wait_ready(unready=selector): a matching pod that runs, or a matching workload (by its
    pod template's labels) whose pods all exist, is settled though not Ready."""
    if not selector:
        return False
    if pod is not None:
        labels, settled = (pod.get("metadata") or {}).get("labels"), pod_is_running(pod)
    else:
        template = ((workload or {}).get("spec") or {}).get("template") or {}
        labels, settled = (template.get("metadata") or {}).get("labels"), rolled_out(workload or {})
    return settled and parse_selector(selector).matches({str(k): str(v) for k, v in (labels or {}).items()})


def service_info(svc: dict[str, Any]) -> ServiceInfo:
    """A Service object as the API returns it -> the backend-neutral ServiceInfo."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = next((i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")),
                    None)
    kind = spec.get("type") or "ClusterIP"
    return ServiceInfo(
        namespace=meta.get("namespace", ""), name=meta.get("name", ""), type=kind,
        cluster_ip=None if kind == "ExternalName" else spec.get("clusterIP"),
        selector=dict(spec.get("selector") or {}),
        ports=tuple(ServicePortInfo(int(p.get("port", 0)), p.get("protocol") or "TCP", p.get("name"),
                                    p.get("targetPort"), p.get("nodePort"))
                    for p in spec.get("ports") or []),
        external_address=external if kind == "LoadBalancer" else None,
        external_name=spec.get("externalName"),
        external_traffic_policy=spec.get("externalTrafficPolicy") or "",
        internal_traffic_policy=spec.get("internalTrafficPolicy") or "",
        traffic_distribution=spec.get("trafficDistribution") or None,
        health_check_node_port=spec.get("healthCheckNodePort") or None,
        load_balancer_source_ranges=tuple(spec.get("loadBalancerSourceRanges") or ()),
        ip_mode=(next((i.get("ipMode") for i in ingress if i.get("ip")), None)
                 if kind == "LoadBalancer" else None),
        session_affinity=spec.get("sessionAffinity") or "None",
        session_affinity_timeout=_affinity_timeout(spec))


def _affinity_timeout(spec: dict[str, Any]) -> int | None:
    """sessionAffinityConfig.clientIP.timeoutSeconds as stored (the API server defaults it
    to 10800 with ClientIP and drops the config without it)."""
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    value = (((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds"))
    return int(value) if isinstance(value, int) else 10800


def pod_counts(pod: dict[str, Any]) -> bool:
    """Pods that count for readiness: not being deleted, not finished."""
    return not (pod.get("metadata") or {}).get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def why_not_ready(pod: dict[str, Any]) -> str:
    """One phrase a learner can act on: the waiting reason of a container, an unschedulable
    message, a crash, or a failing readiness probe."""
    status = pod.get("status") or {}
    scheduled = conditions(pod).get("PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        return f"{scheduled.get('reason') or 'Unschedulable'}: {scheduled.get('message', '').strip()}"
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
            reason = waiting["reason"]
            msg = (waiting.get("message") or "").strip()
            hint = WAITING_HINTS.get(reason)
            parts = [f"container {cs.get('name')}: {reason}"]
            if msg:
                parts.append(f"({msg[:200]})")
            if hint:
                parts.append(f"- {hint}")
            return " ".join(parts)
        terminated = (cs.get("state") or {}).get("terminated")
        if terminated:
            return (f"container {cs.get('name')} exited ({terminated.get('reason')}, "
                    f"code {terminated.get('exitCode')})")
    for cs in statuses:
        if (cs.get("state") or {}).get("running") and not cs.get("ready"):
            return f"container {cs.get('name')} is running but its readiness probe has not passed"
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            return f"container {cs.get('name')}: {waiting.get('reason')}"
    return f"phase {status.get('phase', 'Pending')}"


def failed_create_reason(events: list[dict[str, Any]]) -> str | None:
    """The API server's refusal quoted in the newest FailedCreate event ("create Pod db-20
    in StatefulSet db failed error: <refusal>"), or None."""
    def when(e: dict[str, Any]) -> str:
        created = (e.get("metadata") or {}).get("creationTimestamp")
        return str(e.get("lastTimestamp") or e.get("eventTime") or created or "")
    for event in sorted(events, key=when, reverse=True):
        message = str(event.get("message") or "")
        _, sep, refusal = message.partition(" failed error: ")
        return refusal.strip() if sep else message.strip() or None
    return None


def workload_problem(workload: dict[str, Any]) -> str | None:
    """Why a Deployment/StatefulSet is not yet fully rolled out, or None when it is."""
    kind = workload["kind"]
    meta = workload.get("metadata") or {}
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    want = spec.get("replicas", 1)
    ready = status.get("readyReplicas") or 0
    updated = status.get("updatedReplicas") or 0
    observed = status.get("observedGeneration") or 0
    # as `kubectl rollout status`: no old replicas left beside the updated ones (they would
    # still answer, with the old template's probes and environment)
    old_left = kind == "Deployment" and (status.get("replicas") or 0) > want
    if ready >= want and updated >= want and observed >= (meta.get("generation") or 0) and not old_left:
        return None
    line = f"{kind.lower()}/{meta.get('name')}: {ready}/{want} ready"
    failure = conditions(workload).get("ReplicaFailure")
    if failure and failure.get("status") == "True":
        created = status.get("replicas") or 0
        message = failure.get("message", "").strip()
        if failure.get("reason") == "FailedCreate" and created < want:
            # the ReplicaSet controller could not create them (quota, LimitRange...): the
            # offline model words the same failure the same way
            n = want - created
            return (f"{n} pod{'s' if n != 1 else ''} of {kind.lower()}/{meta.get('name')} "
                    f"could not be created: {message}")
        line += f" ({message})"
    return line



def service_cluster_ip(svc: dict[str, Any] | None) -> str | None:
    """The ClusterIP a Service name resolves to (what the client connected to); None for a
    headless Service or none at all."""
    ip = ((svc or {}).get("spec") or {}).get("clusterIP")
    return ip if ip and ip != "None" else None


def listened_ports(pods: list[dict[str, Any]], protocols: list[str]) -> list[int]:
    """What the pods serve for these protocols (the offline model's rule, on live specs),
    or [80] when nothing: the same default as offline and `svclab matrix`."""
    from grader.model.workloads import container_servers

    found = set()
    for pod in pods:
        for c in (pod.get("spec") or {}).get("containers") or []:
            found |= {port for (port, proto) in container_servers(c) if proto in protocols}
    return sorted(found) or [80]


def model_pod(namespace: str, name: str, ip: str, pod: dict[str, Any]) -> Any:
    """The pod as the offline model sees it (grader.model.objects.Pod: labels, declared
    ports, what listens by LISTENING_RULE), built from the object the API server returned,
    so the model can explain a verdict observed on the cluster."""
    from grader.model.objects import Pod
    from grader.model.workloads import draft_from_template

    draft = draft_from_template(namespace, name, pod)
    return Pod(namespace, name, ip, draft.labels, draft.ports, draft.listening, draft.servers)


def explained_by_model(results: list[Reachability], namespace: str, namespace_labels: Any,
                       listed: list[tuple[PodRef, dict[str, Any]]], policies: list[dict[str, Any]],
                       ports: list[int], protocols: list[str]) -> list[Reachability]:
    """A probe sees a verdict, not its reason. The offline engine, fed the objects the
    namespace holds (its pods, labels and NetworkPolicies as the API server returned them),
    gives the reason: where the packets agree with it, a cell carries the engine's
    explanation, word for word what `matrix()` says offline; where they do not, the cell
    says what was observed and what the model expected, so the disagreement shows instead
    of a reason that does not fit. Only this namespace's policies matter: every pair is
    inside it."""
    from grader.model.matrix import compute_matrix
    from grader.model.objects import NamespaceInfo
    from grader.model.objects import namespace_labels as with_name_label

    namespaces = {namespace: NamespaceInfo(namespace, with_name_label(namespace, namespace_labels))}
    pods = [model_pod(ref.namespace, ref.name, ref.ip, obj) for ref, obj in listed]
    model = compute_matrix(pods, namespaces, policies, ports, protocols)
    out = []
    for r in results:
        m = model.lookup(r.src, r.dst, r.port, r.protocol)
        if m.allowed == r.allowed:
            reason = m.reason
        else:
            reason = (f"Observed {'allowed' if r.allowed else 'denied'} on the cluster ({r.reason}), "
                      f"but the offline model expects {'allowed' if m.allowed else 'denied'}: {m.reason}")
        out.append(Reachability(r.src, r.dst, r.port, r.protocol, r.allowed, reason))
    return out


def probe_container(pod: dict[str, Any]) -> str | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    if len(containers) <= 1:
        return None
    for c in containers:
        if "agnhost" in (c.get("image") or ""):
            return c.get("name")
    return containers[0].get("name")


#: Fields the server or controllers write, which say nothing about whether the apply changed
#: anything: a Deployment's status moves (and its resourceVersion with it) while its pods
#: start, between our read and our apply.
SERVER_WRITTEN = ("resourceVersion", "managedFields", "generation")


def as_applied(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without status and server-written metadata, to tell "unchanged" from
    "configured" whatever a controller did to it meanwhile."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_WRITTEN}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def display_name(obj: dict[str, Any]) -> str:
    """kubectl's name for an object in apply's output: kind[.group]/name."""
    group = obj["apiVersion"].rpartition("/")[0]
    kind = obj["kind"].lower()
    return f"{kind}.{group}/{obj['metadata']['name']}" if group else f"{kind}/{obj['metadata']['name']}"


#: Kinds `LiveNamespace.delete(kind, name)` knows: lower-case name -> (kind, apiVersion).
DELETABLE_KINDS = {
    "configmap": ("ConfigMap", "v1"), "service": ("Service", "v1"), "pod": ("Pod", "v1"),
    "deployment": ("Deployment", "apps/v1"), "statefulset": ("StatefulSet", "apps/v1"),
    "networkpolicy": ("NetworkPolicy", "networking.k8s.io/v1"),
    "ingress": ("Ingress", "networking.k8s.io/v1"),
    "gateway": ("Gateway", "gateway.networking.k8s.io/v1"),
    "httproute": ("HTTPRoute", "gateway.networking.k8s.io/v1"),
    "referencegrant": ("ReferenceGrant", "gateway.networking.k8s.io/v1"),
    # a hand-written slice (where a lab part admits one): deleting it is how a learner undoes it
    "endpointslice": ("EndpointSlice", "discovery.k8s.io/v1"),
}


def conditions_of(items: Any) -> tuple[Condition, ...]:
    return tuple(Condition(str(c.get("type")), str(c.get("status")), str(c.get("reason", "")),
                           str(c.get("message", ""))) for c in items or [])
