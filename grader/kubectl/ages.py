"""AGE, as kubectl prints it, for objects of the offline model.

The model keeps no clock (it must stay deterministic), so the offline kubectl keeps one: the
first time it sees an object (by kind, namespace, name and, for pods, IP, so a replacement
pod is new) it records the time as the object's creationTimestamp. Every kubectl command
first looks at the whole model (`observe`), so an object kubectl applied is dated at once,
and one applied through `ns.apply(...)` by the next kubectl command, whatever it asks for.
That creation time feeds AGE and metadata.creationTimestamp.

`human_duration` is apimachinery's duration.HumanDuration, rule for rule.
"""
from __future__ import annotations

import datetime as dt
import time
import weakref
from typing import Callable, Hashable


def human_duration(seconds: float) -> str:
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m" if rest == 0 else f"{minutes}m{rest}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d" if rest == 0 else f"{hours // 24}d{rest}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


class Ages:
    """Creation times of the objects of one offline cluster, as first seen."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._born: dict[Hashable, float] = {}

    def born(self, key: Hashable) -> float:
        """The creation time of `key`, recording now if it is new."""
        if key not in self._born:
            self._born[key] = self.clock()
        return self._born[key]

    def forget(self, key: Hashable) -> None:
        self._born.pop(key, None)

    def retain(self, keys: "list[tuple]", kinds: "tuple[str, ...]") -> None:
        """Forget every recorded object of `kinds` that is not in `keys` (it was deleted);
        derived objects of other kinds (EndpointSlices, ReplicaSets) keep their dates."""
        present = set(keys)
        for k in [k for k in self._born if isinstance(k, tuple) and k and k[0] in kinds and k not in present]:
            del self._born[k]

    def age(self, key: Hashable) -> str:
        return human_duration(self.clock() - self.born(key))

    def timestamp(self, key: Hashable) -> str:
        """RFC 3339 in UTC with second precision, as metadata.creationTimestamp."""
        return dt.datetime.fromtimestamp(int(self.born(key)), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def go_time(self, key: Hashable) -> str:
        """metav1.Time printed with %s (describe's "Created on:"): Go's time.String() in UTC."""
        return dt.datetime.fromtimestamp(int(self.born(key)), dt.timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S +0000 UTC")

    def rfc1123(self, key: Hashable) -> str:
        """describe's "Start Time:" (time.RFC1123Z)."""
        return dt.datetime.fromtimestamp(int(self.born(key)), dt.timezone.utc).strftime(
            "%a, %d %b %Y %H:%M:%S +0000")


def observe(state: object, ages: Ages) -> None:
    """Date every object of the model that kubectl has not seen yet, and forget the ones
    gone from it, so an object deleted and made again is new (see the module docstring)."""
    keys: list[tuple] = [(o.get("kind"), (o.get("metadata") or {}).get("namespace", ""),
                          (o.get("metadata") or {}).get("name")) for o in state.objects()]  # type: ignore[attr-defined]
    for svc in state.services:  # type: ignore[attr-defined]
        keys += [("Service", svc.namespace, svc.name), ("Endpoints", svc.namespace, svc.name)]
    keys += [("Pod", p.namespace, p.name, p.ip) for p in state.pods]  # type: ignore[attr-defined]
    keys += [("Namespace", "", name) for name in state.namespaces]  # type: ignore[attr-defined]
    ages.retain(keys, kinds=("Pod", "Service", "Endpoints", "Namespace",
                             *{k[0] for k in keys}))
    for k in keys:
        ages.born(k)


_REGISTRY: "weakref.WeakKeyDictionary[object, Ages]" = weakref.WeakKeyDictionary()


def ages_for(state: object, clock: Callable[[], float] | None = None) -> Ages:
    """The Ages of one model state (one per ClusterState, created on first use)."""
    ages = _REGISTRY.get(state)
    if ages is None:
        ages = Ages(clock or time.time)
        _REGISTRY[state] = ages
    elif clock is not None:
        ages.clock = clock
    return ages
