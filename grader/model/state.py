"""ClusterState: the offline cluster's stored objects and what the controllers derive from
them (pods, allocated Services). Everything else (EndpointSlices, DNS, connectivity) is
computed from this state on demand, so it can never go stale.

Behaviour modelled:
- `apply` is like `kubectl apply` / server-side apply: idempotent, one kubectl-style line
  per object ("service/backend created|configured|unchanged"), all or nothing (an
  allocation conflict leaves the state exactly as it was).
- Namespaces always carry `kubernetes.io/metadata.name` (the API server adds it).
- A fresh cluster looks like a new kind cluster: namespaces default, kube-system,
  kube-public, kube-node-lease; Service `kubernetes` (10.96.0.1:443 -> node:6443) in
  default; CoreDNS (2 pods, k8s-app=kube-dns) behind Service `kube-dns` (10.96.0.10) in
  kube-system.
- Pods are re-derived from workloads after every change: scaling keeps existing names,
  a template change gives new names (a rollout), deleting a workload deletes its pods.
  A pod keeps its IP for as long as it exists. Pods are Ready unless `set_ready` says not.
- Pods are mortal: deleting a pod that a Deployment/ReplicaSet owns makes the controller
  create a replacement (a new name suffix, a new IP); a StatefulSet pod comes back under the
  same name, with a new IP. EndpointSlices and DNS follow, so the Service keeps working.
- Nodes as kind lays them out (grader.model.nodes): the kind config's node count by default
  (one), or `nodes=N`. Each runs at most `max_pods` pods (kubelet's maxPods, 110 by default);
  new pods go to the feasible node with the fewest pods and take an IP from its /24. Pods
  no node has room for stay Pending, as the scheduler leaves them: no IP, not Ready, no
  endpoint, no DNS record. Pods already running keep their place (and IP); the rest queue
  in name order.
- Guardrails (grader.guardrails): in a namespace holding a LimitRange and/or ResourceQuota
  (every namespace the Cluster API creates), pods get the LimitRange's default resources and
  creates are admitted against the quota as the API server admits them: a Service,
  ConfigMap or bare Pod beyond it is refused (nothing applied); a workload keeps the pods
  that fit and `creation_failures` reports the rest, as the ReplicaSet controller does.
- Bounded work: a workload's pods are derived only as far as they can exist: up to the
  quota, and never beyond MAX_MODEL_PODS pods in the whole model (the documented ceiling
  for analysis without a quota); replicas past it are counted, reported by
  `ceiling_notes`, not built. So `replicas: 1000000000` costs what 20 (or the ceiling) cost.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Iterable, Mapping, Sequence

from grader import guardrails as gr
from grader.apply_order import apply_rank
from grader.model.endpointslices import EndpointSlice, endpoints_of, slices_for
from grader.model.ipam import AllocationError, IPPool, safe_encode
from grader.model.nodes import (  # noqa: F401  (POD_CIDR, MAX_PODS_PER_NODE: re-exported, as before)
    MAX_PODS_PER_NODE, POD_CIDR, Node, default_node_count, fit_error, kind_nodes, tolerates,
)
from grader.model.objects import NODE_IP, NamespaceInfo, Pod, namespace_labels
from grader.model.selectors import is_selector, parse_selector
from grader.model.services import (
    DNS_SERVICE_IP, KUBERNETES_SERVICE_IP, Service, ServiceAllocator, normalize,
)
from grader.model.workloads import WORKLOAD_KINDS, generate_name, pod_spec_of, pods_for, replicas_of
from grader.observations import Endpoint, ip_sort_key

#: kind gives its first node the first /24 of the pod CIDR (POD_CIDR); see grader.model.nodes.
NODE_POD_CIDR = "10.244.0.0/24"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
#: kube-scheduler's message for a pod no node of a one-node cluster has room for.
TOO_MANY_PODS = fit_error(kind_nodes(1), "default")
#: The most pods the model holds (running + Pending), whatever the replica counts: the
#: ceiling that bounds the work of an analysis without a quota (`svclab matrix`). A truth
#: table grows with the square of the pods: 2000 pods are 4 million cells per port (about
#: a second and 40 MB of text), twice the 1000-pod benchmark; more would be neither quick
#: nor readable. Course namespaces (20 pods each by quota) never come near it.
MAX_MODEL_PODS = 2_000
#: The objects that make a namespace "guarded" (grader.guardrails enforces them).
GUARD_KINDS = ("ResourceQuota", "LimitRange")
#: The controllers that recreate a deleted pod.
CONTROLLER_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.12.1"

#: kubectl's resource names in its output lines.
KIND_RESOURCE = {
    "Namespace": "namespace", "Pod": "pod", "Service": "service", "ConfigMap": "configmap",
    "Secret": "secret", "ServiceAccount": "serviceaccount", "Endpoints": "endpoints",
    "Deployment": "deployment.apps", "ReplicaSet": "replicaset.apps",
    "StatefulSet": "statefulset.apps", "DaemonSet": "daemonset.apps",
    "NetworkPolicy": "networkpolicy.networking.k8s.io", "Ingress": "ingress.networking.k8s.io",
    "EndpointSlice": "endpointslice.discovery.k8s.io",
    "IngressClass": "ingressclass.networking.k8s.io",
    "GatewayClass": "gatewayclass.gateway.networking.k8s.io",
    "Gateway": "gateway.gateway.networking.k8s.io",
    "HTTPRoute": "httproute.gateway.networking.k8s.io",
    "ReferenceGrant": "referencegrant.gateway.networking.k8s.io",
    "ResourceQuota": "resourcequota", "LimitRange": "limitrange",
}
#: Kinds stored without a namespace (the model keeps them under namespace "").
CLUSTER_SCOPED_KINDS = ("IngressClass", "GatewayClass")
#: Names kubectl accepts for a kind (lower-case, plural, short names).
KIND_ALIASES = {
    alias: kind
    for kind, aliases in {
        "Pod": ("pod", "pods", "po"), "Service": ("service", "services", "svc"),
        "Deployment": ("deployment", "deployments", "deploy"),
        "ReplicaSet": ("replicaset", "replicasets", "rs"),
        "StatefulSet": ("statefulset", "statefulsets", "sts"),
        "NetworkPolicy": ("networkpolicy", "networkpolicies", "netpol"),
        "ConfigMap": ("configmap", "configmaps", "cm"),
        "EndpointSlice": ("endpointslice", "endpointslices"),
        "Endpoints": ("endpoints", "ep"), "Namespace": ("namespace", "namespaces", "ns"),
        "Secret": ("secret", "secrets"), "Ingress": ("ingress", "ingresses", "ing"),
        "ServiceAccount": ("serviceaccount", "serviceaccounts", "sa"),
        "IngressClass": ("ingressclass", "ingressclasses"),
        "GatewayClass": ("gatewayclass", "gatewayclasses", "gc"),
        "Gateway": ("gateway", "gateways", "gtw"), "HTTPRoute": ("httproute", "httproutes"),
        "ReferenceGrant": ("referencegrant", "referencegrants", "refgrant"),
        "ResourceQuota": ("resourcequota", "resourcequotas", "quota"),
        "LimitRange": ("limitrange", "limitranges", "limits"),
    }.items()
    for alias in aliases
}




class ApplyError(ValueError):
    """The API server refused something; nothing was applied. `problems` holds one message
    per refusal, worded like the API server's; `kind`/`name` say which object (if known)."""

    def __init__(self, problems: Sequence[str], kind: str | None = None, name: str | None = None) -> None:
        self.problems = list(problems)
        self.kind, self.name = kind, name
        super().__init__("\n".join(self.problems))


class NotFound(LookupError):
    """kubectl's `Error from server (NotFound): services "x" not found`."""


def _plural(kind: str) -> str:
    """How the API server names a resource in errors: "services", "deployments.apps"."""
    resource = KIND_RESOURCE.get(kind, kind.lower())
    base, _, group = resource.partition(".")
    if base.endswith("ss"):
        base += "es"
    elif not base.endswith("s"):
        base = base[:-1] + "ies" if base.endswith("y") else base + "s"
    return f"{base}.{group}" if group else base


def canonical_kind(kind: str) -> str:
    k = KIND_ALIASES.get(kind.lower().split(".")[0])
    if k is None:
        if kind in KIND_RESOURCE:
            return kind
        raise ValueError(f'the server doesn\'t have a resource type "{kind}"')
    return k


def _builtin_objects() -> list[dict[str, Any]]:
    dns_labels = {"k8s-app": "kube-dns"}
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"component": "apiserver", "provider": "kubernetes"}},
         "spec": {"clusterIP": KUBERNETES_SERVICE_IP,
                  "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "kubernetes"}},
         "addressType": "IPv4",
         "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
         "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}]},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dns_labels},
         "spec": {"replicas": 2, "selector": {"matchLabels": dns_labels},
                  "template": {"metadata": {"labels": dns_labels},
                               "spec": {"containers": [{
                                   "name": "coredns", "image": COREDNS_IMAGE,
                                   "args": ["-conf", "/etc/coredns/Corefile"],
                                   "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                             {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                             {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}]}]}}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": "kube-system",
                      "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
         "spec": {"clusterIP": DNS_SERVICE_IP, "selector": dns_labels,
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]}},
        # what cloud-provider-kind creates at start (grader.model.ingress / gateway)
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": "cloud-provider-kind",
                      "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
         "spec": {"controller": "kind.sigs.k8s.io/ingress-controller"}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "cloud-provider-kind"},
         "spec": {"controllerName": "kind.sigs.k8s.io/gateway-controller"}},
    ]


def _claims_of(obj: Mapping[str, Any]) -> list[tuple[str, dict[str, gr.Quantity]]]:
    """(template name, quota usage) of each PVC a StatefulSet's pods get."""
    if obj.get("kind") != "StatefulSet":
        return []
    out = []
    for t in (obj.get("spec") or {}).get("volumeClaimTemplates") or []:
        if isinstance(t, Mapping):
            out.append((str((t.get("metadata") or {}).get("name")),
                        gr.object_usage({"kind": "PersistentVolumeClaim", "spec": t.get("spec") or {}})))
    return out


def _per_replica(pod_usage: Mapping[str, gr.Quantity],
                 claims: list[tuple[str, dict[str, gr.Quantity]]]) -> dict[str, gr.Quantity]:
    """What one replica costs a quota: its pod and its PVCs."""
    total: dict[str, gr.Quantity] = dict(pod_usage)
    for _, usage in claims:
        gr.add_usage(total, usage)
    return total


class ClusterState:
    """The whole offline cluster. Public attributes: `namespaces`, `pods`, `policies`."""

    def __init__(self, *, max_pods: int = MAX_PODS_PER_NODE, nodes: int | None = None,
                 seed: int = 0) -> None:
        #: kubelet's maxPods per node (kind lets a cluster config raise it); a node's /24
        #: holds at most 253 pod IPs, so more than that cannot run anyway.
        self.max_pods = max_pods
        #: the kind nodes (grader.model.nodes): the kind config's count unless `nodes` says
        self.nodes: list[Node] = kind_nodes(default_node_count() if nodes is None else nodes)
        #: endpoint choice is random, as kube-proxy's iptables rules pick; seeded, so a
        #: notebook run twice shows the same choices
        import random
        self.rng = random.Random(seed)
        #: "ns/Kind/name" -> (pods that could not be created, the API server's reason)
        self.failed_creates: dict[str, tuple[int, str]] = {}
        #: "ns/Kind/name" -> replicas not modelled because of MAX_MODEL_PODS
        self.not_modelled: dict[str, int] = {}
        self.namespaces: dict[str, NamespaceInfo] = {}
        self.pods: list[Pod] = []
        self.generation = 0                     # bumped on every change (caches key on it)
        # traffic bookkeeping (round-robin counters, ClientIP affinity); not configuration
        self.rr_counters: dict[str, int] = {}
        self.affinity: dict[str, str] = {}
        self._objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._services: dict[str, Service] = {}
        self._alloc = ServiceAllocator()
        self._pod_ips = [IPPool(n.pod_cidr, dynamic_offset=2) for n in self.nodes]
        self._placement: dict[str, int] = {}        # IPAM key -> index of the node it runs on
        self._pod_usage: dict[str, dict[str, gr.Quantity]] = {}   # pod key -> its quota usage
        #: keys of the stored ResourceQuota/LimitRange objects, so that a namespace without
        #: any costs nothing to admit into (an analysis of 10 000 objects stays linear)
        self._guard_keys: set[tuple[str, str, str]] = set()
        self._not_ready: set[str] = set()
        # deleted controller pods: original pod key -> the replacement's name (Deployment,
        # ReplicaSet); pod key -> the IPAM key of its current incarnation (StatefulSet);
        # "ns/Kind/name" -> how many pods that controller has replaced (salts new names)
        self._renamed: dict[str, str] = {}
        self._ip_keys: dict[str, str] = {}
        self._replacements: dict[str, int] = {}
        self._engine_cache: tuple[int, Any] | None = None
        for ns in SYSTEM_NAMESPACES:
            self.namespaces[ns] = NamespaceInfo(ns, namespace_labels(ns))
        self.apply(_builtin_objects())

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_objects(cls, objs: Iterable[Mapping[str, Any]], *, nodes: int | None = None) -> "ClusterState":
        """A fresh cluster (of `nodes` kind nodes) with `objs` applied. Namespace objects
        (with their labels) are created first; any other namespace an object names is
        created on the fly, so a folder of manifests can be analysed without a Namespace
        file for each. No guardrails: an analysis is bounded by MAX_MODEL_PODS instead."""
        state = cls(nodes=nodes)
        objs = [dict(o) for o in objs]
        declared = {(o.get("metadata") or {}).get("name") for o in objs if o.get("kind") == "Namespace"}
        for o in objs:
            ns = (o.get("metadata") or {}).get("namespace")
            if o.get("kind") != "Namespace" and ns and ns not in state.namespaces and ns not in declared:
                state.create_namespace(ns)
        state.apply(objs)
        return state

    # ------------------------------------------------------------------ read access
    @property
    def policies(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for (k, _, _), o in sorted(self._objects.items()) if k == "NetworkPolicy"]

    @property
    def services(self) -> list[Service]:
        return [self._services[k] for k in sorted(self._services)]

    def service(self, namespace: str, name: str) -> Service | None:
        return self._services.get(f"{namespace}/{name}")

    def objects(self, kind: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for (k, ns, _), o in sorted(self._objects.items())
                if (kind is None or k == kind) and (namespace is None or ns == namespace)]

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        o = self._objects.get((canonical_kind(kind), namespace, name))
        return copy.deepcopy(o) if o is not None else None

    def pod(self, key: str) -> Pod | None:
        for p in self.pods:
            if p.key == key:
                return p
        return None

    def pod_by_ip(self, ip: str) -> Pod | None:
        if not ip:
            return None                         # Pending pods have no IP
        for p in self.pods:
            if p.ip == ip:
                return p
        return None

    def pods_in(self, namespace: str) -> list[Pod]:
        return [p for p in self.pods if p.namespace == namespace]

    def find_pods(self, ref: str, namespace: str) -> list[Pod]:
        """Pods named by `ref`: "ns/name", a pod name in `namespace`, or a label selector
        ("app=web,tier!=db") evaluated in `namespace`."""
        if is_selector(ref):
            sel = parse_selector(ref)
            return [p for p in self.pods_in(namespace) if sel.matches(p.labels)]
        if "/" in ref:
            p = self.pod(ref)
            return [p] if p else []
        p = self.pod(f"{namespace}/{ref}")
        return [p] if p else []

    def slices(self, svc: Service) -> list[EndpointSlice]:
        objs = [o for (k, ns, _), o in sorted(self._objects.items())
                if ns == svc.namespace and k in ("EndpointSlice", "Endpoints")]
        return slices_for(svc, self.pods, objs)

    def endpoints(self, namespace: str, name: str) -> list[Endpoint]:
        svc = self.service(namespace, name)
        if svc is None:
            raise NotFound(f'Error from server (NotFound): services "{name}" not found')
        # Same order as the live backend reports them: by port name, port, then IP.
        return sorted(endpoints_of(svc, self.slices(svc)),
                      key=lambda e: (e.port_name or "", e.port, ip_sort_key(e.ip)))

    def policy_engine(self) -> Any:
        """The NetworkPolicy engine (grader.model.netpol) for the current policies, cached
        until the next change. Imported lazily: the engine is a sibling module and the state
        must stay importable (and usable) without evaluating policies."""
        cached = self._engine_cache
        if cached is not None and cached[0] == self.generation:
            return cached[1]
        from grader.model.netpol import PolicyEngine
        engine = PolicyEngine(self.namespaces, self.policies)
        self._engine_cache = (self.generation, engine)
        return engine

    # ------------------------------------------------------------------ changes
    def _snapshot(self) -> dict[str, Any]:
        keep = ("namespaces", "pods", "_objects", "_services", "_alloc", "_pod_ips", "_not_ready",
                "_renamed", "_ip_keys", "_replacements", "_placement", "_pod_usage", "_guard_keys",
                "failed_creates", "not_modelled")
        return copy.deepcopy({k: getattr(self, k) for k in keep})

    def _restore(self, snap: dict[str, Any]) -> None:
        for k, v in snap.items():
            setattr(self, k, v)

    def apply(self, objs: Iterable[Mapping[str, Any]], namespace: str = "default") -> list[str]:
        """Apply validated objects in grader.apply_order's order; returns kubectl-like lines. Raises
        ApplyError (state untouched) when the API server would refuse any of them."""
        objs = [copy.deepcopy(dict(o)) for o in objs]
        objs.sort(key=apply_rank)     # stable: the learner's order within a rank
        snap = self._snapshot()
        lines: list[str] = []
        current: dict[str, Any] = {}
        try:
            for current in objs:
                lines.append(self._apply_one(current, namespace))
            self._reconcile()
        except AllocationError as exc:
            self._restore(snap)
            raise ApplyError([str(exc)], current.get("kind"), (current.get("metadata") or {}).get("name")) from None
        except ApplyError as exc:
            self._restore(snap)
            if exc.kind is None:
                exc.kind, exc.name = current.get("kind"), (current.get("metadata") or {}).get("name")
            raise
        if any(not line.endswith(" unchanged") for line in lines):
            self.generation += 1
        return lines

    def _apply_one(self, obj: dict[str, Any], namespace: str) -> str:
        kind = str(obj.get("kind"))
        meta = obj.setdefault("metadata", {})
        name = str(meta.get("name"))
        resource = KIND_RESOURCE.get(kind, kind.lower())
        if kind == "Namespace":
            verb = self._ensure_namespace(name, meta.get("labels"))
            return f"{resource}/{name} {verb}"
        ns = "" if kind in CLUSTER_SCOPED_KINDS else str(meta.get("namespace") or namespace)
        if ns and ns not in self.namespaces:
            raise ApplyError([f'namespaces "{ns}" not found'])
        if ns:
            meta["namespace"] = ns
        key = (kind, ns, name)
        previous = self._objects.get(key)
        if previous is not None:
            _refuse_selector_change(kind, name, previous, obj)
        if kind not in WORKLOAD_KINDS:
            self._admit_object(obj, previous, key)
        if kind == "Service":
            svc = normalize(obj, ns)
            prev_svc = self._services.get(svc.key)
            self._services[svc.key] = self._alloc.allocate(svc, prev_svc)
        self._objects[key] = obj
        if kind in GUARD_KINDS:
            self._guard_keys.add(key)
        if previous is None:
            return f"{resource}/{name} created"
        return f"{resource}/{name} {'unchanged' if previous == obj else 'configured'}"

    def _ensure_namespace(self, name: str, labels: Mapping[str, str] | None) -> str:
        new = namespace_labels(name, {str(k): str(v) for k, v in (labels or {}).items()})
        old = self.namespaces.get(name)
        if old is None:
            self.namespaces[name] = NamespaceInfo(name, new)
            return "created"
        if old.labels == new:
            return "unchanged"
        self.namespaces[name] = NamespaceInfo(name, new)
        return "configured"

    # ------------------------------------------------------------------ guardrails
    def _guards(self, ns: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(ResourceQuota objects, LimitRange objects) of namespace `ns`."""
        quotas, ranges = [], []
        for key in sorted(self._guard_keys):
            if key[1] == ns:
                (quotas if key[0] == "ResourceQuota" else ranges).append(self._objects[key])
        return quotas, ranges

    def _tracker(self, ns: str, *, skip: tuple[str, str, str] | None = None) -> gr.QuotaTracker:
        """The namespace's quotas charged with what exists there now (but `skip`)."""
        quotas, _ = self._guards(ns)
        tracker = gr.QuotaTracker(quotas)
        if not tracker:
            return tracker
        for key, o in self._objects.items():
            if key[1] == ns and key != skip and key[0] not in WORKLOAD_KINDS:
                tracker.charge(gr.object_usage(o))
        for p in self.pods:
            if p.namespace == ns:
                tracker.charge(self._pod_usage.get(p.key, {}))
        return tracker

    def _admit_object(self, obj: dict[str, Any], previous: dict[str, Any] | None,
                      key: tuple[str, str, str]) -> None:
        """ResourceQuota admission of a non-pod create/update (Services, ConfigMaps, ...):
        ApplyError with the API server's message when it does not fit."""
        kind, ns, name = key
        if not any(k[1] == ns and k[0] == "ResourceQuota" for k in self._guard_keys):
            return
        tracker = self._tracker(ns, skip=key)
        usage = gr.object_usage(obj)
        if previous is not None:
            usage = gr.usage_delta(usage, gr.object_usage(previous))
        why = tracker.refusal(usage)
        if why is not None:
            raise ApplyError([gr.forbidden(_plural(kind), name, why)], kind, name)

    def creation_failures(self, namespace: str | None = None) -> list[str]:
        """One line per workload whose pods could not all be created, as its controller
        reports them: "10 pods of deployment/big could not be created: pods "big-..." is
        forbidden: exceeded quota: ...". In name order."""
        out = []
        for owner, (n, why) in sorted(self.failed_creates.items()):
            ns, kind, name = owner.split("/", 2)
            if namespace is None or ns == namespace:
                where = "" if namespace is not None else f" in namespace {ns}"
                out.append(f"{n} pod{'s' if n != 1 else ''} of {kind.lower()}/{name}{where} "
                           f"could not be created: {why}")
        return out

    def ceiling_notes(self, namespaces: Iterable[str] | None = None) -> list[str]:
        """What MAX_MODEL_PODS left out, one line per workload (empty when nothing was)."""
        keep = None if namespaces is None else set(namespaces)
        out = []
        for owner, n in sorted(self.not_modelled.items()):
            ns, kind, name = owner.split("/", 2)
            if keep is None or ns in keep:
                out.append(f"{n} replica{'s' if n != 1 else ''} of {kind.lower()}/{name} in namespace {ns} "
                           f"not modelled: the offline model holds at most {MAX_MODEL_PODS} pods")
        return out

    def pending_summary(self, pods: Iterable[Pod] | None = None) -> str | None:
        """"N pods are Pending (no IP, so not probed): <the scheduler's reason>", or None."""
        pending = [p for p in (self.pods if pods is None else pods) if p.pending]
        if not pending:
            return None
        per_node = f"{len(self.nodes)} node{'s' if len(self.nodes) != 1 else ''}"
        return (f"{len(pending)} pod{'s are' if len(pending) != 1 else ' is'} Pending, with no IP "
                f"({per_node}, at most {self.max_pods} pods each, kubelet's maxPods): "
                f"{pending[0].pending_reason}")

    # ------------------------------------------------------------------ controllers + scheduler
    def _workload_plan(self) -> list[tuple[str, str, str, dict[str, Any], int]]:
        """(ns, kind, name, obj, replicas) of every workload: bare pods first (the API
        server admits them as they are applied), then controllers, in name order."""
        plan = [(ns, kind, name, obj, replicas_of(obj))
                for (kind, ns, name), obj in sorted(self._objects.items()) if kind in WORKLOAD_KINDS]
        plan.sort(key=lambda w: (w[1] != "Pod", w[0], w[1], w[2]))
        return plan

    def _reconcile(self) -> None:
        """Re-derive pods from the stored workloads (admitted by the namespace's guardrails,
        bounded by MAX_MODEL_PODS), then schedule them onto the nodes: pods already running
        keep their node and IP, new ones go to the feasible node with the fewest pods, the
        rest stay Pending without an IP."""
        prev = {p.key for p in self.pods}
        prev_owned: dict[str, int] = {}         # "ns/Kind/name" (or a bare pod's key) -> pods
        for p in self.pods:
            owner = f"{p.namespace}/{p.owner}" if p.owner else p.key
            prev_owned[owner] = prev_owned.get(owner, 0) + 1
        plan = self._workload_plan()
        originals: set[str] = set()

        def drafts_of(ns: str, kind: str, name: str, obj: dict[str, Any], limit: int) -> list:
            ds = pods_for(obj, ns, limit=limit)
            for d in ds:
                originals.add(f"{d.namespace}/{d.name}")
                d.name = self._renamed.get(f"{d.namespace}/{d.name}", d.name)
            return ds

        # 1. what each namespace's guardrails make of a workload's pod template
        trackers: dict[str, gr.QuotaTracker] = {}
        #: (ns, kind, name) -> (one pod's usage, why none can be created, its PVCs' usage)
        admission: dict[tuple[str, str, str], tuple[dict[str, gr.Quantity], str | None,
                                                    list[tuple[str, dict[str, gr.Quantity]]]]] = {}
        for ns, kind, name, obj, _ in plan:
            quotas, ranges = self._guards(ns)
            if not quotas and not ranges:
                continue
            if ns not in trackers:
                trackers[ns] = gr.QuotaTracker(quotas)
                for key, o in self._objects.items():
                    if key[1] == ns and key[0] not in WORKLOAD_KINDS:
                        trackers[ns].charge(gr.object_usage(o))
            spec = gr.default_resources(pod_spec_of(obj), ranges)
            pod_name = name if kind in ("Pod", "StatefulSet") else generate_name(obj)
            why = gr.pod_admission_errors(pod_name, spec, ranges)
            if why is None and quotas:
                missing = gr.missing_requests(spec, trackers[ns].hard_names)
                if missing:
                    why = gr.forbidden("pods", pod_name, f"failed quota: {quotas[0]['metadata']['name']}: {missing}")
            admission[(ns, kind, name)] = (gr.pod_usage(spec), why, _claims_of(obj))

        # 2. pods that exist and are still wanted are kept (quota never evicts)
        kept: set[str] = set()
        budget = MAX_MODEL_PODS
        for ns, kind, name, obj, replicas in plan:
            owner = f"{ns}/{kind}/{name}" if kind != "Pod" else f"{ns}/{name}"
            n = min(replicas, prev_owned.get(owner, 0), budget)
            for d in drafts_of(ns, kind, name, obj, n):
                key = f"{d.namespace}/{d.name}"
                if key in prev:
                    kept.add(key)
                    if ns in trackers:
                        pod_only, _, claims = admission[(ns, kind, name)]
                        trackers[ns].charge(_per_replica(pod_only, claims))
        budget -= len(kept)

        # 3. new pods, while the quota and the model's ceiling have room
        drafts = []
        usage: dict[str, dict[str, gr.Quantity]] = {}
        self.failed_creates, self.not_modelled = {}, {}
        for ns, kind, name, obj, replicas in plan:
            owner = f"{ns}/{kind}/{name}"
            pod_only, why, claims = admission.get((ns, kind, name), ({}, None, []))
            pod_usage = _per_replica(pod_only, claims)          # the pod and its PVCs
            tracker = trackers.get(ns)
            room = budget
            if tracker is not None:
                fits = tracker.room(pod_usage)
                room = room if fits is None else min(room, fits)
            if why is not None:
                room = 0
            prev_n = prev_owned.get(owner if kind != "Pod" else f"{ns}/{name}", 0)
            limit = min(replicas, prev_n + room)
            made = kept_here = 0
            for d in drafts_of(ns, kind, name, obj, limit):
                key = f"{d.namespace}/{d.name}"
                if key in kept:
                    kept_here += 1
                elif made < room:
                    made += 1
                else:
                    continue
                drafts.append(d)
                usage[key] = pod_usage
            if tracker is not None:
                tracker.charge({k: q * made for k, q in pod_usage.items()})
            budget -= made
            missing = replicas - kept_here - made
            if missing <= 0:
                continue
            if why is None and tracker is not None:
                ordinal = kept_here + made
                # the StatefulSet controller creates the next ordinal's claims first (each
                # one that fits stays), then the pod
                for claim, claim_usage in claims:
                    refused = tracker.admit(claim_usage)
                    if refused is not None:
                        why = gr.forbidden("persistentvolumeclaims", f"{claim}-{name}-{ordinal}", refused)
                        break
                if why is None:
                    refused = tracker.refusal(pod_only)
                    if refused is not None:
                        pod_name = name if kind == "Pod" else (f"{name}-{ordinal}" if kind == "StatefulSet"
                                                               else generate_name(obj))
                        why = gr.forbidden("pods", pod_name, refused)
            if kind == "Pod" and why is not None:
                raise ApplyError([why], "Pod", name)
            if why is not None:
                self.failed_creates[owner] = (missing, why)
            else:
                self.not_modelled[owner] = missing
        self._renamed = {k: v for k, v in self._renamed.items() if k in originals}
        self._pod_usage = usage
        self._schedule(drafts)

    def _schedule(self, drafts: list) -> None:
        drafts.sort(key=lambda d: (d.namespace, d.name))
        keys = [f"{d.namespace}/{d.name}" for d in drafts]
        keyset = set(keys)
        self._ip_keys = {k: v for k, v in self._ip_keys.items() if k in keyset}
        ipam = {k: self._ip_keys.get(k, k) for k in keys}
        placed = {k: self._placement[ipam[k]] for k in keys if ipam[k] in self._placement
                  and self._pod_ips[self._placement[ipam[k]]].get(ipam[k]) is not None}
        load = [0] * len(self.nodes)
        # the running pods stay where they are (up to each node's maxPods)
        for k in keys:
            if k in placed:
                if load[placed[k]] < self.max_pods:
                    load[placed[k]] += 1
                else:
                    del placed[k]
        for d, k in zip(drafts, keys):
            if k in placed:
                continue
            feasible = [n for n in self.nodes if tolerates(n, d.namespace) and load[n.index] < self.max_pods]
            if any(n.tainted for n in feasible):
                # kube-system pods (CoreDNS) start before the workers join, on the control plane
                feasible = [n for n in feasible if n.tainted]
            if feasible:
                node = min(feasible, key=lambda n: (load[n.index], n.index))
                placed[k] = node.index
                load[node.index] += 1
        held = {ipam[k] for k in placed}
        for i, pool in enumerate(self._pod_ips):
            for key in list(pool.ints.by_key):
                if key not in held or self._placement.get(key) != i:
                    pool.release(key)
        self._placement = {ipam[k]: idx for k, idx in placed.items()}
        self._not_ready &= keyset
        pods = []
        for d, key in zip(drafts, keys):
            idx = placed.get(key)
            node = self.nodes[idx] if idx is not None else None
            pods.append(Pod(namespace=d.namespace, name=d.name,
                            ip=self._pod_ips[idx].allocate(ipam[key]) if node else "",
                            labels=d.labels, ports=d.ports, listening=d.listening, servers=d.servers,
                            ready=node is not None and key not in self._not_ready, hostname=d.hostname,
                            subdomain=d.subdomain, owner=d.owner,
                            node=node.name if node else "",
                            pending_reason=None if node else fit_error(self.nodes, d.namespace)))
        self.pods = pods
        self._sync_proxy_addresses()

    def _sync_proxy_addresses(self) -> None:
        """Each Gateway of the course's class, and each namespace with served Ingresses (one
        shared ingress Gateway), gets an Envoy container and so an address from the
        LoadBalancer pool, lowest free first (grader.model.gateway / ingress decide which)."""
        from grader.model.gateway import proxy_gateways
        from grader.model.ingress import proxy_namespaces
        wanted = [f"gateway:{ns}/{name}" for ns, name in proxy_gateways(self)]
        wanted += [f"ingress:{ns}" for ns in proxy_namespaces(self)]
        pool = self._alloc.lb_ips
        for key in [k for k in pool.ints.by_key if k.startswith(("gateway:", "ingress:")) and k not in wanted]:
            pool.release(key)
        for key in wanted:
            try:
                pool.allocate(key)
            except AllocationError:
                pass                            # pool exhausted: no address, as live

    def proxy_address(self, key: str) -> str | None:
        """The address of a proxy named by `_sync_proxy_addresses`' keys, if it has one."""
        return self._alloc.lb_ips.get(key)

    def node_of(self, pod: Pod) -> Node | None:
        """The node a running pod is on (None while Pending)."""
        return next((n for n in self.nodes if n.name == pod.node), None) if pod.node else None

    def _replace_pod(self, pod: Pod) -> None:
        """What the owning controller does when one of its pods is deleted: a Deployment's
        or ReplicaSet's replacement gets a new name suffix, a StatefulSet's keeps the name.
        Either way the new pod gets a new IP (taken while the old one is still held, so it
        differs). Deterministic: the suffix is salted with a per-controller counter."""
        assert pod.owner is not None
        owner = f"{pod.namespace}/{pod.owner}"
        n = self._replacements.get(owner, 0) + 1
        self._not_ready.discard(pod.key)
        if pod.owner.startswith("StatefulSet/"):
            self._replacements[owner] = n
            ip_key = f"{pod.key}#{n}"
            if pod.ip:
                self._take_ip_early(ip_key, pod.namespace)
            self._ip_keys[pod.key] = ip_key
            return
        original = next((k for k, v in self._renamed.items() if f"{pod.namespace}/{v}" == pod.key), pod.key)
        prefix = pod.name.rsplit("-", 1)[0]
        taken = {p.name for p in self.pods_in(pod.namespace)}
        while True:
            name = f"{prefix}-{safe_encode('pod-replacement', owner, str(n), length=5)}"
            if name not in taken:
                break
            n += 1
        self._replacements[owner] = n
        self._renamed[original] = name
        if pod.ip:
            self._take_ip_early(f"{pod.namespace}/{name}", pod.namespace)

    def _take_ip_early(self, ip_key: str, namespace: str) -> None:
        """Allocate the replacement's IP (on the feasible node with the fewest pods) while
        the deleted pod still holds its own, so the two differ; with no room, _reconcile
        hands out what the deleted pod frees."""
        load = [0] * len(self.nodes)
        for idx in self._placement.values():
            load[idx] += 1
        feasible = [n for n in self.nodes if tolerates(n, namespace)]
        node = min(feasible, key=lambda n: (load[n.index], n.index)) if feasible else None
        if node is None:
            return
        try:
            self._pod_ips[node.index].allocate(ip_key)
            self._placement[ip_key] = node.index
        except AllocationError:
            pass

    def delete(self, kind: str, name: str, namespace: str) -> None:
        """Delete one object (deleting a workload deletes its pods; deleting a Service frees
        its ClusterIP, NodePorts and LoadBalancer IP). Deleting a pod that a controller owns
        is allowed, as kubectl allows it: the controller creates a replacement at once."""
        k = canonical_kind(kind)
        if k == "Namespace":
            self.delete_namespace(name)
            return
        key = (k, "" if k in CLUSTER_SCOPED_KINDS else namespace, name)
        owned = self.pod(f"{namespace}/{name}") if k == "Pod" and key not in self._objects else None
        if owned is not None and owned.owner and owned.owner.split("/")[0] in CONTROLLER_KINDS:
            self._replace_pod(owned)
            self._reconcile()
            self.generation += 1
            return
        if key not in self._objects:
            raise NotFound(f'Error from server (NotFound): {_plural(k)} "{name}" not found')
        del self._objects[key]
        self._guard_keys.discard(key)
        if k == "Service":
            self._services.pop(f"{namespace}/{name}", None)
            self._alloc.release(f"{namespace}/{name}")
        self._reconcile()
        self.generation += 1

    def create_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> str:
        verb = self._ensure_namespace(name, labels)
        if verb != "unchanged":
            self.generation += 1
        return verb

    def delete_namespace(self, name: str) -> None:
        if name in SYSTEM_NAMESPACES:
            raise ApplyError([f'namespaces "{name}" is forbidden: this namespace may not be deleted'])
        if name not in self.namespaces:
            raise NotFound(f'Error from server (NotFound): namespaces "{name}" not found')
        for key in [k for k in self._objects if k[1] == name]:
            del self._objects[key]
            self._guard_keys.discard(key)
        # a namespace made again starts afresh: replacement pod names repeat across reruns
        self._replacements = {k: v for k, v in self._replacements.items() if not k.startswith(name + "/")}
        for skey in [s for s in self._services if s.startswith(name + "/")]:
            del self._services[skey]
            self._alloc.release(skey)
        del self.namespaces[name]
        self._reconcile()
        self.generation += 1

    def set_ready(self, pod_key_or_selector: str, ready: bool, namespace: str = "default") -> list[Pod]:
        """Mark pods Ready or not (what a failing readiness probe would do), to teach endpoint
        gating. Accepts "ns/name", a pod name, or a label selector. Returns the pods changed."""
        pods = self.find_pods(pod_key_or_selector, namespace)
        if not pods:
            names = ", ".join(p.name for p in self.pods_in(namespace)) or "none"
            raise NotFound(f'no pod matches "{pod_key_or_selector}" in namespace {namespace} '
                           f"(pods there: {names})")
        for p in pods:
            if ready:
                self._not_ready.discard(p.key)
            else:
                self._not_ready.add(p.key)
            p.ready = ready and not p.pending
        self.generation += 1
        return pods


#: Workloads whose spec.selector the API server refuses to change (apps/v1).
SELECTOR_IMMUTABLE_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")


def _refuse_selector_change(kind: str, name: str, previous: Mapping[str, Any], obj: Mapping[str, Any]) -> None:
    """apps/v1 workloads keep the selector they were created with: an update that changes it
    is refused with the API server's "field is immutable" (the usual way out is to delete
    and recreate the workload)."""
    if kind not in SELECTOR_IMMUTABLE_KINDS:
        return
    old = (previous.get("spec") or {}).get("selector")
    new = (obj.get("spec") or {}).get("selector")
    if old != new:
        raise ApplyError([f'{kind}.apps "{name}" is invalid: spec.selector: Invalid value: '
                          f'{json.dumps(new, sort_keys=True)}: field is immutable'], kind, name)
