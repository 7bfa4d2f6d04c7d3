"""The offline model's objects as the API server would return them to kubectl.

Stored objects (Deployments, Services, NetworkPolicies...) come back as written plus what
the API server adds (creationTimestamp, defaults, status); derived ones (Pods, Endpoints,
EndpointSlices, a Deployment's ReplicaSet) are built from the model's records. Everything
here only reads the model through its public attributes and methods
(ClusterState.get/objects/pods_in/service/services/slices/endpoints/namespaces).

Left out on purpose, because the model cannot know them: uid, resourceVersion,
managedFields, container IDs, restart history and events.
"""
from __future__ import annotations

import copy
from typing import Any

from grader.kubectl.ages import Ages
from grader.model.objects import NODE_IP, Pod
from grader.model.services import LB_IP_MODE, Service
from grader.model.workloads import template_hash

ENDPOINTS_MANAGED_BY = "endpoints.kubernetes.io/managed-by"
ENDPOINTS_WARNING = "Warning: v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\n"


def _stamp(obj: dict[str, Any], ages: Ages, key: tuple) -> dict[str, Any]:
    obj.setdefault("metadata", {})["creationTimestamp"] = ages.timestamp(key)
    return obj


def object_key(obj: dict[str, Any]) -> tuple:
    meta = obj.get("metadata") or {}
    return (obj.get("kind"), meta.get("namespace", ""), meta.get("name"))


# ---------------------------------------------------------------------------- pods
def pod_template(state: Any, pod: Pod) -> dict[str, Any]:
    """The pod template (metadata + spec) a model pod was made from."""
    if pod.owner:
        kind, _, owner = pod.owner.partition("/")
        obj = state.get(kind, owner, pod.namespace) or {}
        return copy.deepcopy((obj.get("spec") or {}).get("template") or {})
    obj = state.get("Pod", pod.name, pod.namespace) or {}
    return {
        "metadata": copy.deepcopy(obj.get("metadata") or {}),
        "spec": copy.deepcopy(obj.get("spec") or {}),
    }


def pod_key(pod: Pod) -> tuple:
    return ("Pod", pod.namespace, pod.name, pod.ip)


def owner_of(pod: Pod) -> tuple[str, str] | None:
    """(kind, name) of the pod's controller: a Deployment's pods belong to its ReplicaSet."""
    if not pod.owner:
        return None
    kind, _, name = pod.owner.partition("/")
    if kind == "Deployment":
        return "ReplicaSet", pod.name.rsplit("-", 1)[0]
    return kind, name


def containers_of(template: dict[str, Any]) -> list[dict[str, Any]]:
    return list((template.get("spec") or {}).get("containers") or [])


def pod_object(state: Any, ages: Ages, pod: Pod) -> dict[str, Any]:
    template = pod_template(state, pod)
    meta = template.get("metadata") or {}
    spec = copy.deepcopy(template.get("spec") or {})
    metadata: dict[str, Any] = {"name": pod.name, "namespace": pod.namespace}
    if pod.labels:
        metadata["labels"] = dict(pod.labels)
    if meta.get("annotations"):
        metadata["annotations"] = dict(meta["annotations"])
    owner = owner_of(pod)
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                        "controller": True, "blockOwnerDeletion": True}]
    if pod.owner and not pod.owner.startswith("StatefulSet/"):
        metadata["generateName"] = pod.name.rsplit("-", 1)[0] + "-"
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    if pod.hostname and "hostname" not in spec:
        spec["hostname"] = pod.hostname
    if pod.subdomain and "subdomain" not in spec:
        spec["subdomain"] = pod.subdomain
    for c in spec.get("containers") or []:
        c.setdefault("imagePullPolicy", "IfNotPresent")
        for p in c.get("ports") or []:
            p.setdefault("protocol", "TCP")
    started = ages.timestamp(pod_key(pod))
    status: dict[str, Any]
    if pod.pending:
        status = {"phase": "Pending", "qosClass": "BestEffort",
                  "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                  "message": pod.pending_reason, "lastTransitionTime": started}]}
    else:
        spec["nodeName"] = pod.node
        ready = "True" if pod.ready else "False"
        status = {
            "phase": "Running", "hostIP": NODE_IP, "hostIPs": [{"ip": NODE_IP}],
            "podIP": pod.ip, "podIPs": [{"ip": pod.ip}], "qosClass": "BestEffort", "startTime": started,
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": started},
                {"type": "Initialized", "status": "True", "lastTransitionTime": started},
                {"type": "Ready", "status": ready, "lastTransitionTime": started},
                {"type": "ContainersReady", "status": ready, "lastTransitionTime": started},
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": started},
            ],
            "containerStatuses": [
                {"name": c.get("name"), "image": c.get("image"), "ready": pod.ready, "restartCount": 0,
                 "started": True, "state": {"running": {"startedAt": started}}}
                for c in spec.get("containers") or []],
        }
    return _stamp({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status},
                  ages, pod_key(pod))


# ---------------------------------------------------------------------------- services
def service_object(state: Any, ages: Ages, svc: Service) -> dict[str, Any]:
    obj = copy.deepcopy(state.get("Service", svc.name, svc.namespace) or {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": svc.name, "namespace": svc.namespace}})
    obj["metadata"]["namespace"] = svc.namespace
    spec = obj.setdefault("spec", {})
    spec["type"] = svc.type
    if svc.type != "ExternalName":
        spec["clusterIP"] = "None" if svc.headless else svc.cluster_ip
        spec["clusterIPs"] = [spec["clusterIP"]]
        spec["ipFamilies"] = list(svc.ip_families)
        spec["ipFamilyPolicy"] = svc.ip_family_policy
        spec["internalTrafficPolicy"] = svc.internal_traffic_policy
    if svc.external_traffic_policy:
        spec["externalTrafficPolicy"] = svc.external_traffic_policy
    if svc.health_check_node_port:
        spec["healthCheckNodePort"] = svc.health_check_node_port
    if svc.type == "LoadBalancer":
        spec["allocateLoadBalancerNodePorts"] = svc.allocate_load_balancer_node_ports
    spec["sessionAffinity"] = svc.session_affinity
    if svc.session_affinity_timeout:
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": svc.session_affinity_timeout}}
    ports = []
    for p in svc.ports:
        out: dict[str, Any] = {}
        if p.name:
            out["name"] = p.name
        if p.app_protocol:
            out["appProtocol"] = p.app_protocol
        out["port"] = p.port
        out["protocol"] = p.protocol
        out["targetPort"] = p.target_port
        if p.node_port:
            out["nodePort"] = p.node_port
        ports.append(out)
    if ports:
        spec["ports"] = ports
    status: dict[str, Any] = {"loadBalancer": {}}
    if svc.type == "LoadBalancer" and svc.load_balancer_ip:
        # cloud-provider-kind's status: its Envoy's address, ipMode Proxy, the Service's ports
        status["loadBalancer"] = {"ingress": [{
            "ip": svc.load_balancer_ip, "ipMode": LB_IP_MODE,
            "ports": [{"port": p.port, "protocol": p.protocol} for p in svc.ports]}]}
    obj["status"] = status
    return _stamp(obj, ages, ("Service", svc.namespace, svc.name))


def services_in(state: Any, namespace: str | None) -> list[Service]:
    return [s for s in state.services if namespace is None or s.namespace == namespace]


# ---------------------------------------------------------------------------- endpoints
def endpoints_object(state: Any, ages: Ages, svc: Service) -> dict[str, Any]:
    """The legacy Endpoints object the endpoints controller writes for a Service: ready
    addresses under `addresses`, the others under `notReadyAddresses`, one subset per
    distinct port set."""
    subsets: list[dict[str, Any]] = []
    by_ports: dict[tuple, dict[str, Any]] = {}
    for sl in state.slices(svc):
        ports = tuple((p.name or "", p.port, p.protocol) for p in sl.ports)
        sub = by_ports.get(ports)
        if sub is None:
            sub = {"addresses": [], "notReadyAddresses": []}
            if ports:
                sub["ports"] = [{**({"name": n} if n else {}), "port": port, "protocol": proto}
                                for n, port, proto in ports]
            by_ports[ports] = sub
            subsets.append(sub)
        for e in sl.endpoints:
            addr: dict[str, Any] = {"ip": e.address}
            if e.hostname:
                addr["hostname"] = e.hostname
            if e.node:
                addr["nodeName"] = e.node
            if e.pod:
                ns, _, name = e.pod.partition("/")
                addr["targetRef"] = {"kind": "Pod", "name": name, "namespace": ns}
            sub["addresses" if e.ready else "notReadyAddresses"].append(addr)
    for sub in subsets:
        for k in ("addresses", "notReadyAddresses"):
            sub[k].sort(key=lambda a: a["ip"])
            if not sub[k]:
                del sub[k]
    subsets = [s for s in subsets if s.get("addresses") or s.get("notReadyAddresses")]
    meta: dict[str, Any] = {"name": svc.name, "namespace": svc.namespace}
    labels = dict(svc.labels)
    if svc.selector:
        # the endpoints controller (1.33+) marks what it writes, and records when the last
        # change that concerned it (the Service or one of its pods) happened
        labels[ENDPOINTS_MANAGED_BY] = "endpoint-controller"
        keys = [("Service", svc.namespace, svc.name)] + [
            pod_key(p) for p in state.pods_in(svc.namespace)
            if p.ip and all(p.labels.get(k) == v for k, v in svc.selector.items())]
        latest = max(keys, key=ages.born)
        meta["annotations"] = {"endpoints.kubernetes.io/last-change-trigger-time": ages.timestamp(latest)}
    if labels:
        meta["labels"] = labels
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta}
    if subsets:
        obj["subsets"] = subsets
    return _stamp(obj, ages, ("Endpoints", svc.namespace, svc.name))


def has_endpoints_object(state: Any, svc: Service) -> bool:
    """The endpoints controller writes Endpoints for Services with a selector; the API
    server keeps `kubernetes`'s; a user may write one for a selectorless Service."""
    if svc.type == "ExternalName":
        return False
    if svc.selector:
        return True
    if svc.namespace == "default" and svc.name == "kubernetes":
        return True
    return state.get("Endpoints", svc.name, svc.namespace) is not None


def format_endpoints(obj: dict[str, Any]) -> str:
    """printers.go formatEndpoints: ready "ip:port" per subset and port, at most 3, then
    " + N more..."; "<none>" when there is no subset at all."""
    subsets = obj.get("subsets") or []
    if not subsets:
        return "<none>"
    items: list[str] = []
    count = 0
    more = False
    for ss in subsets:
        addrs = ss.get("addresses") or []
        ports = ss.get("ports") or []
        if not ports:
            count += len(addrs)
            for a in addrs:
                if len(items) == 3:
                    more = True
                    break
                items.append(a["ip"])
            continue
        for p in ports:
            count += len(addrs)
            for a in addrs:
                if len(items) == 3:
                    more = True
                    break
                items.append(f"{a['ip']}:{p['port']}")
    text = ",".join(items)
    return f"{text} + {count - 3} more..." if more else text


# ---------------------------------------------------------------------------- endpointslices
def endpointslice_objects(state: Any, ages: Ages, namespace: str | None) -> list[dict[str, Any]]:
    seen: dict[tuple, dict[str, Any]] = {}
    for svc in services_in(state, namespace):
        for sl in state.slices(svc):
            d = sl.to_dict()
            if sl.managed:
                d["metadata"]["generateName"] = f"{svc.name}-"
                d["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Service", "name": svc.name,
                                                     "controller": True, "blockOwnerDeletion": True}]
            seen[(sl.namespace, sl.name)] = d
    for o in state.objects("EndpointSlice", namespace):
        meta = o.get("metadata") or {}
        seen.setdefault((meta.get("namespace"), meta.get("name")), copy.deepcopy(o))
    out = []
    for (ns, name), d in sorted(seen.items()):
        d["metadata"]["namespace"] = ns
        out.append(_stamp(d, ages, ("EndpointSlice", ns, name)))
    return out


# ---------------------------------------------------------------------------- workloads
def deployment_object(state: Any, ages: Ages, obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault("strategy", {"type": "RollingUpdate",
                                 "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    pods = [p for p in state.pods_in(ns) if p.owner == f"Deployment/{name}"]
    ready = sum(1 for p in pods if p.ready)
    status: dict[str, Any] = {"observedGeneration": 1}
    if pods:
        status["replicas"] = len(pods)
        status["updatedReplicas"] = len(pods)
    if ready:
        status["readyReplicas"] = ready
        status["availableReplicas"] = ready
    if len(pods) - ready:
        status["unavailableReplicas"] = len(pods) - ready
    obj["status"] = status
    return _stamp(obj, ages, object_key(obj))


def replicaset_objects(state: Any, ages: Ages, namespace: str | None) -> list[dict[str, Any]]:
    """Stored ReplicaSets, plus the current ReplicaSet of every Deployment (the model keeps
    only the newest; older ones a real cluster keeps at 0 replicas are not shown)."""
    out: list[dict[str, Any]] = []
    for d in state.objects("Deployment", namespace):
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        template = copy.deepcopy((d.get("spec") or {}).get("template") or {})
        h = template_hash((d.get("spec") or {}).get("template") or {})
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
        selector = copy.deepcopy((d.get("spec") or {}).get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = h
        replicas = (d.get("spec") or {}).get("replicas", 1)
        rs: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{name}-{h}", "namespace": ns,
                           "labels": dict(template["metadata"]["labels"]),
                           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                                "controller": True, "blockOwnerDeletion": True}]},
              "spec": {"replicas": replicas, "selector": selector, "template": template}}
        out.append(rs)
    out.extend(copy.deepcopy(o) for o in state.objects("ReplicaSet", namespace))
    result = []
    for rs in out:
        ns, name = rs["metadata"]["namespace"], rs["metadata"]["name"]
        pods = [p for p in state.pods_in(ns) if owner_of(p) == ("ReplicaSet", name)]
        ready = sum(1 for p in pods if p.ready)
        rs["status"] = {"replicas": len(pods), "fullyLabeledReplicas": len(pods),
                        **({"readyReplicas": ready, "availableReplicas": ready} if ready else {}),
                        "observedGeneration": 1}
        result.append(_stamp(rs, ages, ("ReplicaSet", ns, name)))
    return sorted(result, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))


def statefulset_object(state: Any, ages: Ages, obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    pods = [p for p in state.pods_in(ns) if p.owner == f"StatefulSet/{name}"]
    ready = sum(1 for p in pods if p.ready)
    obj["status"] = {"replicas": len(pods), "readyReplicas": ready, "availableReplicas": ready,
                     "currentReplicas": len(pods), "updatedReplicas": len(pods), "observedGeneration": 1}
    return _stamp(obj, ages, object_key(obj))


def namespace_object(ages: Ages, info: Any) -> dict[str, Any]:
    return _stamp({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": info.name, "labels": dict(info.labels)},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}},
                  ages, ("Namespace", "", info.name))


def stored_object(ages: Ages, obj: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    if obj.get("kind") == "Ingress":
        obj.setdefault("status", {"loadBalancer": {}})
    return _stamp(obj, ages, object_key(obj))


# ---------------------------------------------------------------------------- one entry point
def list_objects(state: Any, ages: Ages, kind: str, namespace: str | None) -> list[dict[str, Any]]:
    """Every object of `kind` in `namespace` (None: all namespaces), in kubectl's order
    (by namespace, then name)."""
    objs: list[dict[str, Any]]
    if kind == "Pod":
        pods = [p for p in state.pods if namespace is None or p.namespace == namespace]
        objs = [pod_object(state, ages, p) for p in pods]
    elif kind == "Service":
        objs = [service_object(state, ages, s) for s in services_in(state, namespace)]
    elif kind == "Endpoints":
        objs = [endpoints_object(state, ages, s) for s in services_in(state, namespace)
                if has_endpoints_object(state, s)]
    elif kind == "EndpointSlice":
        objs = endpointslice_objects(state, ages, namespace)
    elif kind == "Deployment":
        objs = [deployment_object(state, ages, o) for o in state.objects("Deployment", namespace)]
    elif kind == "ReplicaSet":
        objs = replicaset_objects(state, ages, namespace)
    elif kind == "StatefulSet":
        objs = [statefulset_object(state, ages, o) for o in state.objects("StatefulSet", namespace)]
    elif kind == "Namespace":
        objs = [namespace_object(ages, info) for _, info in sorted(state.namespaces.items())]
    else:
        objs = [stored_object(ages, o) for o in state.objects(kind, namespace)]
    return sorted(objs, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def get_object(state: Any, ages: Ages, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    for o in list_objects(state, ages, kind, None if kind == "Namespace" else namespace):
        if o["metadata"]["name"] == name:
            return o
    return None
