"""Semantic rules: what the API server refuses although the OpenAPI schema allows it.

`semantic_issues(obj)` dispatches on kind to one module per kind family. Rules never
import grader.manifests (manifests imports them); they speak in (path, message) pairs.
"""
from __future__ import annotations

from typing import Callable

from grader.k8s.fields import Issue
from grader.rules.configmap import configmap_issues
from grader.rules.controllers import controller_issues
from grader.rules.endpoints import endpoints_issues, endpointslice_issues
from grader.rules.ingress import ingress_issues
from grader.rules.meta import metadata_issues
from grader.rules.networkpolicy import networkpolicy_issues
from grader.rules.secret import secret_issues
from grader.rules.service import service_issues
from grader.rules.workloads import pod_issues


def gateway_issues(obj: dict) -> list[Issue]:
    """grader.rules.gateway's, imported only when a Gateway is met: its schema tables and
    patterns cost more to build than checking a file of core objects."""
    from grader.rules.gateway import gateway_issues as rule
    return rule(obj)


def httproute_issues(obj: dict) -> list[Issue]:
    """grader.rules.gateway's, imported only when an HTTPRoute is met (see gateway_issues)."""
    from grader.rules.gateway import httproute_issues as rule
    return rule(obj)


_BY_KIND: dict[str, Callable[[dict], list[Issue]]] = {
    "Service": service_issues,
    "Pod": pod_issues,
    "Deployment": controller_issues,
    "StatefulSet": controller_issues,
    "ReplicaSet": controller_issues,
    "NetworkPolicy": networkpolicy_issues,
    "EndpointSlice": endpointslice_issues,
    "Endpoints": endpoints_issues,
    "Ingress": ingress_issues,
    "ConfigMap": configmap_issues,
    "Secret": secret_issues,
    "Gateway": gateway_issues,
    "HTTPRoute": httproute_issues,
}


def semantic_issues(obj: dict) -> list[Issue]:
    """Every semantic problem of one object (metadata first, then kind-specific)."""
    out = metadata_issues(obj)
    rule = _BY_KIND.get(str(obj.get("kind")))
    if rule is not None:
        out += rule(obj)
    return out


__all__ = ["Issue", "semantic_issues"]
