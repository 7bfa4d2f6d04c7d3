"""What the Ingress and Gateway controllers read from the cluster state: the few queries
grader.model.gateway and grader.model.ingress make, as a Protocol.

Why not name ClusterState: the state runs those controllers (it asks them which Gateways
and Ingress namespaces get a proxy), so a controller that imported the state back would
close an import cycle. ClusterState satisfies this Protocol structurally.
"""
from __future__ import annotations

from typing import Any, Protocol

from grader.model.objects import NamespaceInfo
from grader.model.services import Service


class StateView(Protocol):
    namespaces: dict[str, NamespaceInfo]
    #: round-robin positions of weighted backends, per routing slot
    rr_counters: dict[str, int]

    def service(self, namespace: str, name: str) -> Service | None: ...

    def objects(self, kind: str | None = None, namespace: str | None = None) -> list[dict[str, Any]]: ...

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None: ...

    def proxy_address(self, key: str) -> str | None: ...
