"""The offline cluster's workload controllers: the Deployment/ReplicaSet/StatefulSet
controllers and the API server's admission of bare Pods, deriving the pods from the stored
workloads after every change, then handing them to the scheduler (grader.model.scheduler).

- Scaling keeps existing names, a template change gives new names (a rollout), deleting a
  workload deletes its pods. Pods already running are kept first (a quota never evicts).
- New pods are created while the namespace's quota (grader.model.admission) and the
  model's ceiling (grader.model.state.MAX_MODEL_PODS, passed in) have room; a workload
  keeps the pods that fit and `failed_creates` says why the rest could not be created, as
  the ReplicaSet controller reports it; a bare Pod beyond the quota is refused (ApplyError) as
  the API server does.
- Pods are mortal: `replace_pod` is what the owning controller does when one is deleted."""
from __future__ import annotations

from typing import Any, Iterable

from grader.k8s import quota as gr
from grader.model.admission import Admission, TemplateVerdict, Usage, Workload, next_replica_refusal
from grader.model.errors import ApplyError
from grader.model.ipam import safe_encode
from grader.model.nodes import Node
from grader.model.objects import Pod
from grader.model.pod_env import EnvError, container_env
from grader.model.scheduler import Scheduler, Started
from grader.model.workloads import WORKLOAD_KINDS, PodDraft, pods_for, replicas_of

#: The controllers that recreate a deleted pod.
CONTROLLER_KINDS = ("Deployment", "ReplicaSet", "StatefulSet")


def workload_plan(admission: Admission) -> list[Workload]:
    """Every stored workload: bare pods first (the API server admits them as they are
    applied), then controllers, in name order."""
    plan = [Workload(ns, kind, name, obj, replicas_of(obj))
            for (kind, ns, name), obj in sorted(admission.objects.items()) if kind in WORKLOAD_KINDS]
    plan.sort(key=lambda w: (w.kind != "Pod", w.namespace, w.kind, w.name))
    return plan


def _owner_of(w: Workload) -> str:
    """How pods name their owner when counted: "ns/Kind/name", or a bare pod's own key."""
    return f"{w.namespace}/{w.kind}/{w.name}" if w.kind != "Pod" else f"{w.namespace}/{w.name}"


def _owned_counts(pods: Iterable[Pod]) -> dict[str, int]:
    """How many pods each owner ("ns/Kind/name", or a bare pod's key) has now."""
    counts: dict[str, int] = {}
    for p in pods:
        owner = f"{p.namespace}/{p.owner}" if p.owner else p.key
        counts[owner] = counts.get(owner, 0) + 1
    return counts


class PodControllers:
    """The controllers' memory between reconciles, and the scheduler they feed.

    Deleted controller pods are remembered so their replacements stay replaced: `renamed`
    maps an original pod key to its replacement's name (Deployment, ReplicaSet), `ip_keys`
    a pod key to the IPAM key of its current incarnation (StatefulSet), and `replacements`
    "ns/Kind/name" to how many pods that controller has replaced (salts new names)."""

    def __init__(self, nodes: list[Node], max_pods: int) -> None:
        self.scheduler = Scheduler(nodes, max_pods)
        #: "ns/Kind/name" -> (pods that could not be created, the API server's reason)
        self.failed_creates: dict[str, tuple[int, str]] = {}
        #: "ns/Kind/name" -> replicas not modelled because of the model's ceiling
        self.not_modelled: dict[str, int] = {}
        self.pod_usage: dict[str, Usage] = {}       # pod key -> its quota usage
        self.not_ready: set[str] = set()
        self.renamed: dict[str, str] = {}
        self.ip_keys: dict[str, str] = {}
        self.replacements: dict[str, int] = {}
        #: pod key -> container -> the environment it started with: kept for the pod's life,
        #: so a ConfigMap edited later changes nothing until the pod is replaced
        self.started_env: dict[str, dict[str, dict[str, str]]] = {}

    # ------------------------------------------------------------------ reconcile
    def reconcile(self, admission: Admission, pods: list[Pod], *, ceiling: int) -> list[Pod]:
        """The pods the stored workloads now have (admitted by the namespace's guardrails,
        never more than `ceiling` in all), scheduled: pods already running keep their node and
        IP, new ones go to the feasible node with the fewest pods, the rest stay Pending
        without an IP. Raises ApplyError when a bare Pod does not fit its quota."""
        prev_owned = _owned_counts(pods)
        plan = workload_plan(admission)
        originals: set[str] = set()                # pod keys before renaming
        trackers, verdicts = admission.admit_templates(plan)
        kept = self._keep_running(plan, {p.key for p in pods}, prev_owned, trackers, verdicts,
                                  originals, ceiling)
        drafts, usage = self._create_new(plan, kept, prev_owned, trackers, verdicts,
                                         ceiling - len(kept), originals)
        self.renamed = {k: v for k, v in self.renamed.items() if k in originals}
        self.pod_usage = usage
        return self._schedule(drafts, admission)

    def _drafts(self, w: Workload, limit: int, originals: set[str]) -> list[PodDraft]:
        """The workload's first `limit` pods, under their replacement names where a
        replaced pod has one; their original keys are added to `originals`."""
        ds = pods_for(w.obj, w.namespace, limit=limit)
        for d in ds:
            originals.add(f"{d.namespace}/{d.name}")
            d.name = self.renamed.get(f"{d.namespace}/{d.name}", d.name)
        return ds

    def _keep_running(self, plan: list[Workload], prev: set[str], prev_owned: dict[str, int],
                      trackers: dict[str, gr.QuotaTracker],
                      verdicts: dict[tuple[str, str, str], TemplateVerdict], originals: set[str],
                      ceiling: int) -> set[str]:
        """The keys of pods that exist and are still wanted (at most `ceiling` of one
        workload): kept, and charged to their namespace's quota first (quota never evicts)."""
        kept: set[str] = set()
        for w in plan:
            n = min(w.replicas, prev_owned.get(_owner_of(w), 0), ceiling)
            for d in self._drafts(w, n, originals):
                key = f"{d.namespace}/{d.name}"
                if key in prev:
                    kept.add(key)
                    if w.namespace in trackers:
                        trackers[w.namespace].charge(verdicts[(w.namespace, w.kind, w.name)].per_replica)
        return kept

    def _create_new(self, plan: list[Workload], kept: set[str], prev_owned: dict[str, int],
                    trackers: dict[str, gr.QuotaTracker],
                    verdicts: dict[tuple[str, str, str], TemplateVerdict], budget: int,
                    originals: set[str]) -> tuple[list[PodDraft], dict[str, Usage]]:
        """Every wanted pod (the kept ones and new ones, while the quota and the model's
        ceiling `budget` have room) with its quota usage; a workload's shortfall is recorded
        in `failed_creates` or `not_modelled`."""
        drafts: list[PodDraft] = []
        usage: dict[str, Usage] = {}
        self.failed_creates, self.not_modelled = {}, {}
        for w in plan:
            verdict = verdicts.get((w.namespace, w.kind, w.name), TemplateVerdict())
            pod_usage = verdict.per_replica                 # the pod and its PVCs
            tracker = trackers.get(w.namespace)
            room = budget
            if tracker is not None:
                fits = tracker.room(pod_usage)
                room = room if fits is None else min(room, fits)
            if verdict.refused is not None:
                room = 0
            limit = min(w.replicas, prev_owned.get(_owner_of(w), 0) + room)
            made = kept_here = 0
            for d in self._drafts(w, limit, originals):
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
            missing = w.replicas - kept_here - made
            if missing > 0:
                self._record_shortfall(w, missing, verdict, tracker, ordinal=kept_here + made)
        return drafts, usage

    def _record_shortfall(self, w: Workload, missing: int, verdict: TemplateVerdict,
                          tracker: gr.QuotaTracker | None, *, ordinal: int) -> None:
        """Say why `missing` of the workload's replicas do not exist: refused by the
        guardrails (`failed_creates`; a bare Pod raises ApplyError instead), or past the
        model's ceiling (`not_modelled`)."""
        why = verdict.refused
        if why is None and tracker is not None:
            why = next_replica_refusal(tracker, w, verdict, ordinal)
        if w.kind == "Pod" and why is not None:
            raise ApplyError([why], "Pod", w.name)
        owner = f"{w.namespace}/{w.kind}/{w.name}"
        if why is not None:
            self.failed_creates[owner] = (missing, why)
        else:
            self.not_modelled[owner] = missing

    def _schedule(self, drafts: list[PodDraft], admission: Admission) -> list[Pod]:
        """Hand the wanted pods to the scheduler, forgetting what belongs to pods that are gone."""
        drafts.sort(key=lambda d: (d.namespace, d.name))
        keys = [f"{d.namespace}/{d.name}" for d in drafts]
        keyset = set(keys)
        self.ip_keys = {k: v for k, v in self.ip_keys.items() if k in keyset}
        ipam = {k: self.ip_keys.get(k, k) for k in keys}
        self.not_ready &= keyset
        self.started_env = {k: v for k, v in self.started_env.items() if k in keyset}
        started = {k: self._start(d, k, admission) for d, k in zip(drafts, keys, strict=True)}
        return self.scheduler.schedule(drafts, ipam, self.not_ready, started)

    def _start(self, draft: PodDraft, key: str, admission: Admission) -> Started:
        """The environment the pod's containers run with: the one they started with, or,
        for a pod not yet started, resolved now from the stored ConfigMaps and Secrets;
        (None, why) while the kubelet could not start a container (it retries every time)."""
        if key in self.started_env:
            return self.started_env[key], None

        def lookup(kind: str, namespace: str, name: str) -> Any:
            return admission.objects.get((kind, namespace, name))
        env: dict[str, dict[str, str]] = {}
        for c in draft.containers:
            try:
                env[str(c.get("name", ""))] = container_env(c, draft.namespace, lookup)
            except EnvError as exc:
                return None, f"CreateContainerConfigError: {exc}"
        self.started_env[key] = env
        return env, None

    # ------------------------------------------------------------------ pod deletion
    def replace_pod(self, pod: Pod, taken: set[str]) -> None:
        """What the owning controller does when one of its pods is deleted: a Deployment's
        or ReplicaSet's replacement gets a new name suffix (not one of `taken`, the pod
        names in its namespace), a StatefulSet's keeps the name. Either way the new pod gets
        a new IP (taken while the old one is still held, so it differs). Deterministic: the
        suffix is salted with a per-controller counter. The next reconcile creates it."""
        assert pod.owner is not None
        owner = f"{pod.namespace}/{pod.owner}"
        n = self.replacements.get(owner, 0) + 1
        self.not_ready.discard(pod.key)
        self.started_env.pop(pod.key, None)
        if pod.owner.startswith("StatefulSet/"):
            self.replacements[owner] = n
            ip_key = f"{pod.key}#{n}"
            if pod.ip:
                self.scheduler.take_ip_early(ip_key, pod.namespace)
            self.ip_keys[pod.key] = ip_key
            return
        original = next((k for k, v in self.renamed.items() if f"{pod.namespace}/{v}" == pod.key), pod.key)
        prefix = pod.name.rsplit("-", 1)[0]
        while True:
            name = f"{prefix}-{safe_encode('pod-replacement', owner, str(n), length=5)}"
            if name not in taken:
                break
            n += 1
        self.replacements[owner] = n
        self.renamed[original] = name
        if pod.ip:
            self.scheduler.take_ip_early(f"{pod.namespace}/{name}", pod.namespace)

    def forget_namespace(self, name: str) -> None:
        """A namespace made again starts afresh: replacement pod names repeat across reruns."""
        self.replacements = {k: v for k, v in self.replacements.items() if not k.startswith(name + "/")}
