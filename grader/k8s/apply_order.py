"""The order both backends apply objects in, and report them in.

What others refer to goes first (a Deployment mounting a ConfigMap starts cleanly; a
selectorless Service exists before the EndpointSlice that names it), policies last, so a
Service never briefly has endpoints that a policy about to arrive would have blocked. One
table for both backends keeps their `apply` output line for line the same.
"""
from __future__ import annotations

from typing import Any, Mapping

APPLY_ORDER: Mapping[str, int] = {
    "Namespace": 0,
    "ConfigMap": 1, "Secret": 1,
    "Service": 2,
    "EndpointSlice": 3, "Endpoints": 3,
    "Deployment": 4, "StatefulSet": 4, "ReplicaSet": 4, "Pod": 4,
    "NetworkPolicy": 5,
    "Ingress": 6, "IngressClass": 6, "GatewayClass": 6,
    "Gateway": 7, "ReferenceGrant": 7,
    "HTTPRoute": 8,
}
_UNKNOWN = max(APPLY_ORDER.values()) + 1


def apply_rank(obj: Mapping[str, Any]) -> int:
    """Sort key for an object dict; kinds not in the table go last (stable sort keeps
    the learner's own order within a rank)."""
    return APPLY_ORDER.get(str(obj.get("kind")), _UNKNOWN)
