"""The offline backend's Ingress and Gateway API observations, as the Cluster API returns them
(grader.observations types), so grader.cluster.offline stays a thin shell."""
from __future__ import annotations

from typing import TYPE_CHECKING

from grader.model import gateway as gw_model
from grader.model import ingress as ing_model
from grader.model.http_probe import http_request
from grader.model.state import NotFound
from grader.observations import GatewayStatus, ListenerStatus, ParentStatus

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state import ClusterState

__all__ = ["gateway_address", "gateway_status", "http_request", "ingress_address", "route_status"]


def _must_get(state: "ClusterState", kind: str, namespace: str, name: str) -> dict:
    obj = state.get(kind, name, namespace)
    if obj is None:
        plural = {"Ingress": "ingresses.networking.k8s.io", "Gateway": "gateways.gateway.networking.k8s.io",
                  "HTTPRoute": "httproutes.gateway.networking.k8s.io"}[kind]
        raise NotFound(f'Error from server (NotFound): {plural} "{name}" not found')
    return obj


def ingress_address(state: "ClusterState", namespace: str, name: str) -> str | None:
    ing = _must_get(state, "Ingress", namespace, name)
    if ing_model.why_unserved(state, ing) is not None:
        return None
    return state.proxy_address(f"ingress:{namespace}")


def gateway_address(state: "ClusterState", namespace: str, name: str) -> str | None:
    _must_get(state, "Gateway", namespace, name)
    return gw_model.view(state, namespace, name).address


def gateway_status(state: "ClusterState", namespace: str, name: str) -> GatewayStatus:
    _must_get(state, "Gateway", namespace, name)
    v = gw_model.view(state, namespace, name)
    listeners = tuple(ListenerStatus(ls.listener.name, ls.attached_routes, tuple(ls.conditions),
                                     tuple(ls.supported_kinds)) for ls in v.listeners)
    return GatewayStatus(v.key, (v.address,) if v.address else (), tuple(v.conditions), listeners)


def route_status(state: "ClusterState", namespace: str, name: str) -> list[ParentStatus]:
    _must_get(state, "HTTPRoute", namespace, name)
    return gw_model.route_status(state, namespace, name)
