"""When a live probe's answer may be the data plane lagging the API server, and when it is
an answer.

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
from typing import Any, Iterable

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


def changed_within(objs: Iterable[dict[str, Any] | None], seconds: float, now: float | None = None) -> bool:
    """Whether any of `objs` changed less than `seconds` ago. Stamps in whole seconds may
    read up to a second early, so one more second is allowed."""
    now = time.time() if now is None else now
    return any(t is not None and now - t < seconds + 1 for t in map(last_changed, objs))


def terminating(pod: dict[str, Any] | None) -> bool:
    """Whether the pod is being deleted (it may still answer through its grace period)."""
    return bool(((pod or {}).get("metadata") or {}).get("deletionTimestamp"))
