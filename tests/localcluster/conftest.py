"""The live modules here share one local cluster, and with it the ten node ports kind maps to
127.0.0.1 (grader.kind.COURSE_NODEPORTS), which several modules ask for by number.

A module's namespaces are deleted in the background when it ends (`LiveNamespace.delete`
returns at once), and a Service keeps its node port until the namespace controller reaches
it. Measured on the local cluster: the mock exam's q02 (`kubectl patch` to nodePort 30081)
ran while test_local_cluster_live's `externalTrafficPolicy: Local` Service on 30081 was still
there, so the patch failed ("provided port is already allocated") and 127.0.0.1:30081 led to
the old Service, whose endpoints were terminating: REFUSED. So, before each live module, the
Services of course namespaces being deleted that hold one of those ports are deleted and
waited for; nothing else is touched."""
from __future__ import annotations

import os
import time
from typing import Any, Iterator

import pytest

from grader.localcluster.layout import CONTEXT

#: How long the Services of a terminating namespace may take to go once deleted.
RELEASE_TIMEOUT = 60.0


def _holders(cluster: Any) -> list[tuple[Any, str]]:
    """(namespace, Service) pairs: Services of course namespaces being deleted that hold a
    course node port."""
    from grader.cluster.live import MANAGED_SELECTOR
    from grader.cluster.live_namespace import LiveNamespace
    from grader.kind import COURSE_NODEPORTS

    found = []
    for ns in cluster._api.list_namespaces(MANAGED_SELECTOR):
        meta = ns.get("metadata") or {}
        if not meta.get("deletionTimestamp"):
            continue
        namespace = LiveNamespace(cluster, meta["name"])
        for svc in namespace.services():
            if any(p.node_port in COURSE_NODEPORTS for p in svc.ports):
                found.append((namespace, svc.name))
    return found


def release_course_node_ports(cluster: Any, timeout: float = RELEASE_TIMEOUT) -> list[str]:
    """Delete the Services that hold a course node port in namespaces already being deleted,
    and wait until none is left; returns "namespace/service" for each one deleted."""
    held = _holders(cluster)
    for namespace, name in held:
        namespace.delete("Service", name)
    deadline = time.monotonic() + timeout
    while left := _holders(cluster):
        if time.monotonic() > deadline:
            raise TimeoutError("course node ports still held after "
                               f"{timeout:g}s: {', '.join(f'{ns.name}/{name}' for ns, name in left)}")
        time.sleep(0.5)
    return [f"{ns.name}/{name}" for ns, name in held]


@pytest.fixture(autouse=True, scope="module")
def _course_node_ports_free(request: pytest.FixtureRequest) -> Iterator[None]:
    # session.items holds every collected item, nbval's notebook cells too (no .module)
    live = any(item.get_closest_marker("live") for item in request.session.items
               if getattr(item, "module", None) is request.module)
    if live and os.environ.get("SVCLAB_CONTEXT") == CONTEXT:
        from grader.cluster.live import LiveCluster

        release_course_node_ports(LiveCluster(context=CONTEXT, progress=False))
    yield
