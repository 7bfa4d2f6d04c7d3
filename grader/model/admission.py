"""ResourceQuota and LimitRange admission for the offline API server, as the admission
plugins and the workload controllers apply them (the quota arithmetic itself is
grader.k8s.quota, shared with the live backend).

Two callers: the store admits a non-pod create/update as it is applied (`admit_object`);
the controllers ask what a workload's pod template becomes under its namespace's guards
(`admit_templates`) and why the next replica is refused (`next_replica_refusal`).
`Admission` is a read-only view built per call over the store's current objects, so a
rollback of the store can never leave it pointing at stale data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import AbstractSet, Any, Iterable, Mapping, NamedTuple

from grader.k8s import quota as gr
from grader.model.errors import ApplyError
from grader.model.kinds import plural_resource
from grader.model.objects import Pod
from grader.model.workloads import WORKLOAD_KINDS, generate_name, pod_spec_of

#: (kind, namespace, name): how the store keys its objects.
ObjectKey = tuple[str, str, str]
Usage = dict[str, gr.Quantity]
#: (volumeClaimTemplate name, quota usage of one such claim)
Claims = list[tuple[str, Usage]]
#: The objects that make a namespace "guarded" (grader.guardrails enforces them).
GUARD_KINDS = ("ResourceQuota", "LimitRange")


class Workload(NamedTuple):
    """One stored workload as the controllers plan it (a bare Pod counts, with 1 replica)."""
    namespace: str
    kind: str
    name: str
    obj: dict[str, Any]
    replicas: int


@dataclass(frozen=True)
class TemplateVerdict:
    """What the guardrails make of one workload's pod template: one pod's quota usage, why
    no pod can be created at all (or None), and the usage of each PVC a replica gets."""
    pod_usage: Usage = field(default_factory=dict)
    refused: str | None = None
    claims: Claims = field(default_factory=list)

    @property
    def per_replica(self) -> Usage:
        """What one replica costs a quota: its pod and its PVCs."""
        return per_replica(self.pod_usage, self.claims)


def claims_of(obj: Mapping[str, Any]) -> Claims:
    """(template name, quota usage) of each PVC a StatefulSet's pods get."""
    if obj.get("kind") != "StatefulSet":
        return []
    out = []
    for t in (obj.get("spec") or {}).get("volumeClaimTemplates") or []:
        if isinstance(t, Mapping):
            out.append((str((t.get("metadata") or {}).get("name")),
                        gr.object_usage({"kind": "PersistentVolumeClaim", "spec": t.get("spec") or {}})))
    return out


def per_replica(pod_usage: Mapping[str, gr.Quantity], claims: Claims) -> Usage:
    """What one replica costs a quota: its pod and its PVCs."""
    total: Usage = dict(pod_usage)
    for _, usage in claims:
        gr.add_usage(total, usage)
    return total


@dataclass(frozen=True)
class Admission:
    """The guards of the store's namespaces: `objects` and `guard_keys` are the store's own
    (the keys of its ResourceQuota/LimitRange objects, so that a namespace without any costs
    nothing to admit into: an analysis of 10 000 objects stays linear)."""
    objects: Mapping[ObjectKey, dict[str, Any]]
    guard_keys: AbstractSet[ObjectKey]

    def guards(self, ns: str) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
        """(ResourceQuota objects, LimitRange objects) of namespace `ns`."""
        quotas: list[Mapping[str, Any]] = []
        ranges: list[Mapping[str, Any]] = []
        for key in sorted(self.guard_keys):
            if key[1] == ns:
                (quotas if key[0] == "ResourceQuota" else ranges).append(self.objects[key])
        return quotas, ranges

    def _charge_stored(self, tracker: gr.QuotaTracker, ns: str, skip: ObjectKey | None = None) -> None:
        """Charge `tracker` with every non-workload object stored in `ns` (but `skip`)."""
        for key, o in self.objects.items():
            if key[1] == ns and key != skip and key[0] not in WORKLOAD_KINDS:
                tracker.charge(gr.object_usage(o))

    def tracker(self, ns: str, pods: Iterable[Pod], pod_usage: Mapping[str, Usage], *,
                skip: ObjectKey | None = None) -> gr.QuotaTracker:
        """The namespace's quotas charged with what exists there now (but `skip`)."""
        quotas, _ = self.guards(ns)
        tracker = gr.QuotaTracker(quotas)
        if not tracker:
            return tracker
        self._charge_stored(tracker, ns, skip)
        for p in pods:
            if p.namespace == ns:
                tracker.charge(pod_usage.get(p.key, {}))
        return tracker

    def admit_object(self, obj: dict[str, Any], previous: dict[str, Any] | None, key: ObjectKey,
                     pods: Iterable[Pod], pod_usage: Mapping[str, Usage]) -> None:
        """ResourceQuota admission of a non-pod create/update (Services, ConfigMaps, ...):
        ApplyError with the API server's message when it does not fit."""
        kind, ns, name = key
        if not any(k[1] == ns and k[0] == "ResourceQuota" for k in self.guard_keys):
            return
        tracker = self.tracker(ns, pods, pod_usage, skip=key)
        usage = gr.object_usage(obj)
        if previous is not None:
            usage = gr.usage_delta(usage, gr.object_usage(previous))
        why = tracker.refusal(usage)
        if why is not None:
            raise ApplyError([gr.forbidden(plural_resource(kind), name, why)], kind, name)

    def admit_templates(self, plan: Iterable[Workload]
                        ) -> tuple[dict[str, gr.QuotaTracker], dict[tuple[str, str, str], TemplateVerdict]]:
        """For each guarded namespace a quota tracker charged with its non-workload objects,
        and for each of its workloads what the guardrails make of the pod template (the
        LimitRange's defaults applied, then the LimitRange and quota checks), keyed by the
        workload's (namespace, kind, name)."""
        trackers: dict[str, gr.QuotaTracker] = {}
        verdicts: dict[tuple[str, str, str], TemplateVerdict] = {}
        for w in plan:
            quotas, ranges = self.guards(w.namespace)
            if not quotas and not ranges:
                continue
            if w.namespace not in trackers:
                trackers[w.namespace] = gr.QuotaTracker(quotas)
                self._charge_stored(trackers[w.namespace], w.namespace)
            spec = gr.default_resources(pod_spec_of(w.obj), ranges)
            pod_name = w.name if w.kind in ("Pod", "StatefulSet") else generate_name(w.obj)
            why = gr.pod_admission_errors(pod_name, spec, ranges)
            if why is None and quotas:
                missing = gr.missing_requests(spec, trackers[w.namespace].hard_names)
                if missing:
                    why = gr.forbidden("pods", pod_name,
                                       f"failed quota: {quotas[0]['metadata']['name']}: {missing}")
            verdicts[(w.namespace, w.kind, w.name)] = TemplateVerdict(gr.pod_usage(spec), why,
                                                                      claims_of(w.obj))
        return trackers, verdicts


def next_replica_refusal(tracker: gr.QuotaTracker, w: Workload, verdict: TemplateVerdict,
                         ordinal: int) -> str | None:
    """Why the quota refuses the workload's next replica (number `ordinal`), worded as its
    controller reports it. The StatefulSet controller creates the next ordinal's claims
    first (each one that fits stays, so they are charged), then the pod."""
    for claim, claim_usage in verdict.claims:
        refused = tracker.admit(claim_usage)
        if refused is not None:
            return gr.forbidden("persistentvolumeclaims", f"{claim}-{w.name}-{ordinal}", refused)
    refused = tracker.refusal(verdict.pod_usage)
    if refused is None:
        return None
    pod_name = w.name if w.kind == "Pod" else (f"{w.name}-{ordinal}" if w.kind == "StatefulSet"
                                               else generate_name(w.obj))
    return gr.forbidden("pods", pod_name, refused)
