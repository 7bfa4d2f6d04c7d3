"""The guardrails every course namespace carries, defined once for both backends, and the
admission rules that enforce them, worded as the API server words its refusals.

Live, `grader.cluster.live` applies `guardrail_objects(ns)` and the API server enforces them.
Offline, `grader.cluster.offline` applies the same objects into the model, and the model
(grader.model.state) enforces them with grader.k8s.quota, the way the admission plugins
and controllers do:

- LimitRanger (plugin/pkg/admission/limitranger): a container without limits/requests gets
  the LimitRange's `default` / `defaultRequest`; one above `max` (or below `min`) is refused:
  `pods "web" is forbidden: maximum cpu usage per Container is 1, but limit is 2`
- ResourceQuota (k8s.io/apiserver .../admission/plugin/resourcequota): a create (or the
  growth of an update) that would take usage past `hard` is refused:
  `pods "web" is forbidden: exceeded quota: svclab-quota, requested: pods=1, used: pods=20,
  limited: pods=20` (only the exceeded resources are listed, sorted by name). A pod that
  omits a request/limit the quota tracks is refused with `failed quota: ...: must specify`.
- The ReplicaSet / StatefulSet controllers: a workload's pods are created one by one, so
  those that fit are created and the rest are reported (`pods "big-7d4b9c-" is forbidden:
  ...`, the name being the generateName prefix, as the API server reports it).

The admission arithmetic itself (quantities, LimitRanger, quota usage) is Kubernetes
semantics and lives in grader.k8s.quantity and grader.k8s.quota; this module holds only what
the course decides: the namespace objects and their numbers.
"""
from __future__ import annotations

from typing import Any

from grader.kind import MANAGED_BY_LABEL

QUOTA_NAME = "svclab-quota"
LIMITS_NAME = "svclab-limits"

#: What each course namespace may hold (DESIGN.md, "Security model for live grading").
QUOTA_HARD: dict[str, str] = {
    "pods": "20", "services": "10", "services.nodeports": "10",
    "services.loadbalancers": "3", "configmaps": "20",
    # a StatefulSet's volumeClaimTemplates would otherwise claim any size
    "persistentvolumeclaims": "5", "requests.storage": "5Gi",
    "requests.cpu": "2", "requests.memory": "2Gi",
    "limits.cpu": "4", "limits.memory": "4Gi",
}
#: Container defaults and ceiling: pods without resources still get requests/limits (the
#: quota requires them), and no single container can take the whole quota.
CONTAINER_LIMITS: dict[str, Any] = {
    "type": "Container",
    "default": {"cpu": "200m", "memory": "128Mi"},
    "defaultRequest": {"cpu": "20m", "memory": "32Mi"},
    "max": {"cpu": "1", "memory": "512Mi"},
}


def guardrail_objects(namespace: str) -> list[dict[str, Any]]:
    """The namespace every course run gets, with the limits that make it safe to apply a
    learner's manifests on a shared cluster: Pod Security `baseline` (no hostNetwork,
    hostPath, privileged), a ResourceQuota, and a LimitRange so pods without resources
    still get requests/limits (the quota requires them)."""
    return [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": namespace, "labels": {
             MANAGED_BY_LABEL[0]: MANAGED_BY_LABEL[1],
             "pod-security.kubernetes.io/enforce": "baseline",
             "pod-security.kubernetes.io/enforce-version": "latest",
         }}},
        {"apiVersion": "v1", "kind": "ResourceQuota",
         "metadata": {"name": QUOTA_NAME, "namespace": namespace},
         "spec": {"hard": dict(QUOTA_HARD)}},
        {"apiVersion": "v1", "kind": "LimitRange",
         "metadata": {"name": LIMITS_NAME, "namespace": namespace},
         "spec": {"limits": [{k: (dict(v) if isinstance(v, dict) else v)
                              for k, v in CONTAINER_LIMITS.items()}]}},
    ]
