"""When a live probe's answer may be the data plane lagging the API server, and when it is
an answer (and when a refusal means the Service has no endpoints at all).

kube-proxy programs a Service's endpoints a moment after the EndpointSlice controller writes
them (its sync runs at most once a second, later on a loaded node), so for a moment after a
change a Service can refuse (no endpoints programmed yet) or send a request to a pod that is
already terminating. A probe asks again only then. Outside that window a refusal is the
learner's answer: a Service whose pod is Ready but does not listen on its targetPort refuses
one request in three, and asking again until another pod answers would hide exactly the
mistake lab 1's readiness part grades (found by an audit of the live checks: its starter
answer passed live).

How recent a change is comes from what the API server stores, so it covers changes made by
anyone (this process, `%kubectl`, an exam answer's replay): an object's creationTimestamp,
the times in its managedFields (each writer's last update, whole seconds), and on an
EndpointSlice the controller's `endpoints.kubernetes.io/last-change-trigger-time` (the pod or
Service change it reflects)."""
from __future__ import annotations

import datetime
import time
from typing import Any, Callable, Iterable

from grader.cluster import exec_parsing as xp
from grader.rules.service import effective_cluster_ips

#: How long a probe of a Service with ready endpoints retries a refusal, while the Service or
#: its slices changed within as long: kube-proxy programs new endpoints a moment after they
#: become ready (its sync runs at most once a second).
KUBE_PROXY_CATCH_UP = 3.0
#: How long after a NetworkPolicy change a probe waits (LiveCluster._policy_settle), and
#: how long after it, or after its client pod was created, a dropped probe of a Service is
#: asked again (for up to KUBE_PROXY_CATCH_UP) before it counts.
POLICY_CATCH_UP = 2.0
POLICY_RETRY = NEW_POD_RETRY = 10.0
#: How long a probe answered by a terminating pod, while its Service has ready endpoints,
#: asks again: kube-proxy drops the old endpoint at its next sync after the slice changes
#: (a second; longer with a class graded side by side).
LEFTOVER_CATCH_UP = 10.0
#: The EndpointSlice controller's stamp of the change a slice reflects (RFC 3339, sub-second).
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"


def _seconds(stamp: Any) -> float | None:
    """An RFC 3339 time as the API server writes it, in seconds since the epoch; None when
    it cannot be read (nothing is inferred from a stamp that is not one)."""
    if not stamp:
        return None
    text = str(stamp).strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python 3.11 reads at most 6 fraction digits; Go writes up to 9
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def last_changed(obj: dict[str, Any] | None) -> float | None:
    """The newest time the API server recorded for `obj` (creation, any writer's update,
    the slice controller's trigger time); None when it recorded none."""
    meta = (obj or {}).get("metadata") or {}
    stamps = [meta.get("creationTimestamp"), (meta.get("annotations") or {}).get(TRIGGER_TIME)]
    stamps += [entry.get("time") for entry in meta.get("managedFields") or [] if isinstance(entry, dict)]
    times = [t for t in map(_seconds, stamps) if t is not None]
    return max(times) if times else None


def created_within(obj: dict[str, Any] | None, seconds: float, now: float | None = None) -> bool:
    """Whether the API server created `obj` less than `seconds` ago (creationTimestamp has
    whole seconds, so one more is allowed). A Service made by someone else (kubectl in the
    mock exam's replay) is as new to kube-proxy as one this process applied."""
    created = _seconds(((obj or {}).get("metadata") or {}).get("creationTimestamp"))
    return created is not None and (time.time() if now is None else now) - created < seconds + 1


def changed_within(objs: Iterable[dict[str, Any] | None], seconds: float, now: float | None = None) -> bool:
    """Whether any of `objs` changed less than `seconds` ago. Stamps in whole seconds may
    read up to a second early, so one more second is allowed."""
    now = time.time() if now is None else now
    return any(t is not None and now - t < seconds + 1 for t in map(last_changed, objs))


def terminating(pod: dict[str, Any] | None) -> bool:
    """Whether the pod is being deleted (it may still answer through its grace period)."""
    return bool(((pod or {}).get("metadata") or {}).get("deletionTimestamp"))


def service_changed_within(api: Any, ref: tuple[str, str] | None, service: dict[str, Any] | None,
                           seconds: float) -> bool:
    """Whether the Service `ref` names (namespace, name), or one of its EndpointSlices,
    changed in the last `seconds`, so kube-proxy may lag it. `api`: grader.cluster.live_api."""
    if ref is None or service is None:
        return False
    return changed_within([service, *api.list_endpoint_slices(*ref)], seconds)


def answered_by_leftover(api: Any, here: str, t: xp.Target, body: str | None) -> bool:
    """Whether a /hostname answer (from a client in namespace `here`) came from a pod that
    is terminating: a rollout's old pod, still serving through its grace period."""
    if not body or (t.path or "").rstrip("/") != "/hostname":
        return False
    return terminating(api.read_pod(xp.namespace_of(t.host, here), body.strip()))


def service_without_endpoints(api: Any, here: str, t: xp.Target, protocol: str,
                              named: Callable[[], dict[str, Any] | None]) -> str | None:
    """If `t` names a Service port whose EndpointSlices have no ready endpoint, say so (a
    refusal is then "no endpoints", as offline). `named()` is the Service a name-shaped
    target names (None for IPs and other names); an IP is looked up among `here`'s Services."""
    if t.is_ip:
        ns = here
        svc = next((s for s in api.list_services(ns)
                    if t.host in effective_cluster_ips(s.get("spec") or {})), None)
    else:
        ns, svc = xp.namespace_of(t.host, here), named()
    if not svc or (svc.get("spec") or {}).get("type") == "ExternalName":
        return None
    sport = next((p for p in (svc["spec"].get("ports") or [])
                  if p.get("port") == t.port and (p.get("protocol") or "TCP") == protocol), None)
    if sport is None:
        return None
    name = svc["metadata"]["name"]
    for es in api.list_endpoint_slices(ns, name):
        names = {(p.get("name") or "") for p in es.get("ports") or []}
        if (sport.get("name") or "") not in names:
            continue
        if any((ep.get("conditions") or {}).get("ready") is not False for ep in es.get("endpoints") or []):
            return None
    return f"Service {name} has no ready endpoints for port {t.port}"
