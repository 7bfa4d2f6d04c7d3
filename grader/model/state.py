"""ClusterState: the offline cluster's stored objects and what the controllers derive from
them (pods, allocated Services). Everything else (EndpointSlices, DNS, connectivity) is
computed from this state on demand, so it can never go stale.

This module is the API server's store and its queries; it delegates admission to
grader.model.admission, the controllers to grader.model.controllers and the scheduler to
grader.model.scheduler (what a new cluster holds: grader.model.bootstrap; kind names:
grader.model.kinds; refusals: grader.model.errors). Names callers import from here
(ApplyError, NotFound, KIND_RESOURCE, MAX_MODEL_PODS, SYSTEM_NAMESPACES...) stay importable.

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
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from grader.k8s import quota as gr
from grader.k8s.apply_order import apply_rank
from grader.k8s.selectors import is_selector, parse_selector
from grader.model.admission import GUARD_KINDS, Admission, ObjectKey
from grader.model.bootstrap import SYSTEM_NAMESPACES, builtin_objects
from grader.model.controllers import CONTROLLER_KINDS, PodControllers
from grader.model.errors import ApplyError, NotFound
from grader.model.ipam import AllocationError
from grader.model.kinds import CLUSTER_SCOPED_KINDS, KIND_RESOURCE, canonical_kind, plural_resource
from grader.model.nodes import (  # noqa: F401  (POD_CIDR, MAX_PODS_PER_NODE: re-exported, as before)
    MAX_PODS_PER_NODE,
    POD_CIDR,
    Node,
    default_node_count,
    fit_error,
    kind_nodes,
)
from grader.model.objects import NamespaceInfo, Pod, copy_object, namespace_labels
from grader.model.services import Service, ServiceAllocator, normalize
from grader.model.workloads import WORKLOAD_KINDS
from grader.observations import Endpoint, ip_sort_key

if TYPE_CHECKING:  # pragma: no cover
    import random

    from grader.model.endpointslices import EndpointSlice

#: The most pods the model holds (running + Pending), whatever the replica counts: the
#: ceiling that bounds the work of an analysis without a quota (`svclab matrix`). A truth
#: table grows with the square of the pods: 2000 pods are 4 million cells per port (about
#: a second and 40 MB of text), twice the 1000-pod benchmark; more would be neither quick
#: nor readable. Course namespaces (20 pods each by quota) never come near it.
MAX_MODEL_PODS = 2_000


class ClusterState:
    """The whole offline cluster. Public attributes: `namespaces`, `pods`, `policies`."""

    def __init__(self, *, max_pods: int = MAX_PODS_PER_NODE, nodes: int | None = None,
                 seed: int = 0) -> None:
        #: the controllers and the scheduler over the kind nodes (grader.model.nodes): the
        #: kind config's count unless `nodes` says
        self._ctl = PodControllers(kind_nodes(default_node_count() if nodes is None else nodes), max_pods)
        self._seed = seed
        self._rng: random.Random | None = None
        self.namespaces: dict[str, NamespaceInfo] = {}
        self.pods: list[Pod] = []
        self.generation = 0                     # bumped on every change (caches key on it)
        # traffic bookkeeping (round-robin counters, ClientIP affinity); not configuration
        self.rr_counters: dict[str, int] = {}
        self.affinity: dict[str, str] = {}
        self._objects: dict[ObjectKey, dict[str, Any]] = {}
        self._services: dict[str, Service] = {}
        self._alloc = ServiceAllocator()
        #: keys of the stored ResourceQuota/LimitRange objects (grader.model.admission)
        self._guard_keys: set[ObjectKey] = set()
        self._engine_cache: tuple[int, Any] | None = None
        for ns in SYSTEM_NAMESPACES:
            self.namespaces[ns] = NamespaceInfo(ns, namespace_labels(ns))
        self._apply(builtin_objects(), "default", rollback=False)

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
        state._apply(objs, "default", rollback=False)   # refused: the caller gets no state at all
        return state

    @property
    def rng(self) -> "random.Random":
        """Endpoint choice is random, as kube-proxy's iptables rules pick; seeded, so a
        notebook run twice shows the same choices. Made on first use: an analysis that
        sends no traffic (`svclab matrix`) does not import `random`."""
        if self._rng is None:
            import random

            self._rng = random.Random(self._seed)
        return self._rng

    # ------------------------------------------------------------------ the controllers' view
    @property
    def nodes(self) -> list[Node]:
        """The kind nodes (grader.model.nodes)."""
        return self._ctl.scheduler.nodes

    @property
    def max_pods(self) -> int:
        """kubelet's maxPods per node; writable, as a kind config can raise it (the next
        change schedules by the new value)."""
        return self._ctl.scheduler.max_pods

    @max_pods.setter
    def max_pods(self, value: int) -> None:
        self._ctl.scheduler.max_pods = value

    @property
    def failed_creates(self) -> dict[str, tuple[int, str]]:
        """"ns/Kind/name" -> (pods that could not be created, the API server's reason)."""
        return self._ctl.failed_creates

    @property
    def not_modelled(self) -> dict[str, int]:
        """"ns/Kind/name" -> replicas not modelled because of MAX_MODEL_PODS."""
        return self._ctl.not_modelled

    def _admission(self) -> Admission:
        """The guards of the objects stored now (a fresh view: rollbacks replace the dicts)."""
        return Admission(self._objects, self._guard_keys)

    def quota_tracker(self, namespace: str) -> gr.QuotaTracker:
        """The namespace's quotas charged with what exists there now: its `used` is what the
        ResourceQuota controller would write in their status."""
        return self._admission().tracker(namespace, self.pods, self._ctl.pod_usage)

    # ------------------------------------------------------------------ read access
    @property
    def policies(self) -> list[dict[str, Any]]:
        return [copy_object(o) for (k, _, _), o in sorted(self._objects.items()) if k == "NetworkPolicy"]

    @property
    def services(self) -> list[Service]:
        return [self._services[k] for k in sorted(self._services)]

    def service(self, namespace: str, name: str) -> Service | None:
        return self._services.get(f"{namespace}/{name}")

    def objects(self, kind: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]:
        return [copy_object(o) for (k, ns, _), o in sorted(self._objects.items())
                if (kind is None or k == kind) and (namespace is None or ns == namespace)]

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        o = self._objects.get((canonical_kind(kind), namespace, name))
        return copy_object(o) if o is not None else None

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

    def slices(self, svc: Service) -> list["EndpointSlice"]:
        """The Service's EndpointSlices, derived now. (grader.model.endpointslices is imported
        here, on first use: a truth table, `svclab matrix`, asks for none.)"""
        from grader.model.endpointslices import slices_for

        objs = [o for (k, ns, _), o in sorted(self._objects.items())
                if ns == svc.namespace and k in ("EndpointSlice", "Endpoints")]
        return slices_for(svc, self.pods, objs)

    def endpoints(self, namespace: str, name: str) -> list[Endpoint]:
        svc = self.service(namespace, name)
        if svc is None:
            raise NotFound(f'Error from server (NotFound): services "{name}" not found')
        from grader.model.endpointslices import endpoints_of

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

    def proxy_address(self, key: str) -> str | None:
        """The address of a proxy named by `_sync_proxy_addresses`' keys, if it has one."""
        return self._alloc.lb_ips.get(key)

    def node_of(self, pod: Pod) -> Node | None:
        """The node a running pod is on (None while Pending)."""
        return next((n for n in self.nodes if n.name == pod.node), None) if pod.node else None

    # ------------------------------------------------------------------ changes
    def _snapshot(self) -> dict[str, Any]:
        keep = ("namespaces", "pods", "_objects", "_services", "_alloc", "_guard_keys", "_ctl")
        return copy.deepcopy({k: getattr(self, k) for k in keep})

    def _restore(self, snap: dict[str, Any]) -> None:
        for k, v in snap.items():
            setattr(self, k, v)

    def apply(self, objs: Iterable[Mapping[str, Any]], namespace: str = "default") -> list[str]:
        """Apply validated objects in grader.k8s.apply_order's order; returns kubectl-like lines. Raises
        ApplyError (state untouched) when the API server would refuse any of them."""
        return self._apply(objs, namespace, rollback=True)

    def _apply(self, objs: Iterable[Mapping[str, Any]], namespace: str, *, rollback: bool) -> list[str]:
        """apply's work. rollback=False skips the snapshot that undoes a refused apply: for a
        state no one sees yet (__init__, from_objects), which a refusal discards whole."""
        ordered = [copy_object(o) for o in objs]
        ordered.sort(key=apply_rank)     # stable: the learner's order within a rank
        snap = self._snapshot() if rollback else None
        lines: list[str] = []
        current: dict[str, Any] = {}
        try:
            for current in ordered:
                lines.append(self._apply_one(current, namespace))
            self._reconcile()
        except AllocationError as exc:
            if snap is not None:
                self._restore(snap)
            name = (current.get("metadata") or {}).get("name")
            raise ApplyError([str(exc)], current.get("kind"), name) from None
        except ApplyError as exc:
            if snap is not None:
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
            self._admission().admit_object(obj, previous, key, self.pods, self._ctl.pod_usage)
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

    def _reconcile(self) -> None:
        """Let the controllers re-derive and schedule the pods (grader.model.controllers),
        then give the proxies their addresses."""
        self.pods = self._ctl.reconcile(self._admission(), self.pods, ceiling=MAX_MODEL_PODS)
        self._sync_proxy_addresses()

    def _sync_proxy_addresses(self) -> None:
        """Each Gateway of the course's class, and each namespace with served Ingresses (one
        shared ingress Gateway), gets an Envoy container and so an address from the
        LoadBalancer pool, lowest free first (grader.model.gateway / ingress decide which)."""
        stored = {kind for kind, _, _ in self._objects}
        wanted = []
        # the Gateway and Ingress models are imported only where there is one to serve: a
        # truth table of plain workloads (`svclab matrix`) then never loads them
        if "Gateway" in stored:
            from grader.model.gateway import proxy_gateways
            wanted += [f"gateway:{ns}/{name}" for ns, name in proxy_gateways(self)]
        if "Ingress" in stored:
            from grader.model.ingress import proxy_namespaces
            wanted += [f"ingress:{ns}" for ns in proxy_namespaces(self)]
        pool = self._alloc.lb_ips
        stale = [k for k in pool.ints.by_key if k.startswith(("gateway:", "ingress:")) and k not in wanted]
        for key in stale:
            pool.release(key)
        for key in wanted:
            try:
                pool.allocate(key)
            except AllocationError:
                pass                            # pool exhausted: no address, as live

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
            self._ctl.replace_pod(owned, {p.name for p in self.pods_in(owned.namespace)})
            self._reconcile()
            self.generation += 1
            return
        if key not in self._objects:
            raise NotFound(f'Error from server (NotFound): {plural_resource(k)} "{name}" not found')
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
        self._ctl.forget_namespace(name)
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
                self._ctl.not_ready.discard(p.key)
            else:
                self._ctl.not_ready.add(p.key)
            p.ready = ready and not p.pending and p.unready_reason is None
        self.generation += 1
        return pods


#: Workloads whose spec.selector the API server refuses to change (apps/v1).
SELECTOR_IMMUTABLE_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet")


def _refuse_selector_change(kind: str, name: str, previous: Mapping[str, Any],
                            obj: Mapping[str, Any]) -> None:
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
