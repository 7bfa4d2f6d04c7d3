"""Plain records the offline model is made of. No behaviour beyond look-ups, so every
module of the model (workloads, services, DNS, NetworkPolicy) can share them without
importing one another; and how the store copies the objects it keeps (copy_object)."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

NODE_NAME = "svclab-control-plane"
NODE_IP = "172.18.0.2"          # what a one-node kind cluster's node usually gets


@dataclass(frozen=True)
class ContainerPort:
    """A port a container declares."""

    port: int
    protocol: str = "TCP"
    name: str | None = None


@dataclass
class NamespaceInfo:
    """A namespace and its labels."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)  # always includes kubernetes.io/metadata.name


@dataclass
class Pod:
    """A running pod as the model sees it. `ports` are the declared container ports;
    `listening` are (port, protocol) pairs something actually serves on, and `servers`
    says which server answers there (e.g. agnhost netexec), for the HTTP bodies."""

    namespace: str
    name: str
    ip: str
    labels: dict[str, str] = field(default_factory=dict)
    ports: tuple[ContainerPort, ...] = ()
    listening: frozenset[tuple[int, str]] = frozenset()
    servers: dict[tuple[int, str], str] = field(default_factory=dict)
    ready: bool = True
    hostname: str | None = None
    subdomain: str | None = None
    owner: str | None = None       # "Deployment/web", "StatefulSet/db", None for bare pods
    node: str = NODE_NAME
    #: Why the scheduler left the pod Pending (then `ip` is "" and `ready` False); None once
    #: it runs on the node.
    pending_reason: str | None = None
    #: Why a scheduled pod is not Ready by itself: a failing readiness/startup probe or a
    #: container that cannot start (CreateContainerConfigError); None when nothing says so.
    unready_reason: str | None = None
    #: container name -> the declared environment it started with (grader.model.pod_env)
    env: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def pending(self) -> bool:
        return self.pending_reason is not None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def named_port(self, name: str, protocol: str | None = None) -> ContainerPort | None:
        """The container port called `name` (and of `protocol`, when given), if any."""
        for p in self.ports:
            if p.name == name and (protocol is None or p.protocol == protocol):
                return p
        return None

    def listens(self, port: int, protocol: str = "TCP") -> bool:
        return (port, protocol) in self.listening


@dataclass(frozen=True)
class Address:
    """A non-pod network peer: the learner's machine, a node, or anything outside the
    cluster. NetworkPolicy sees it only through ipBlock."""

    ip: str

    @property
    def key(self) -> str:
        return self.ip


def namespace_labels(name: str, labels: Mapping[str, str] | None = None) -> dict[str, str]:
    """Labels as the API server stores them: the immutable name label is always added."""
    out = dict(labels or {})
    out["kubernetes.io/metadata.name"] = name
    return out


def copy_object(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of an object's data, so the store and its caller never share a part:
    dicts and lists are copied, str/int/float/bool/None kept, anything else deep-copied.
    What copy.deepcopy makes of a manifest's tree, about four times faster: deepcopy keeps
    a memo to keep shared parts shared, and an object as the API server stores it (JSON)
    has none."""
    return {k: _copy_value(v) for k, v in obj.items()}


def _copy_value(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _copy_value(v) for k, v in value.items()}
    if kind is list:
        return [_copy_value(v) for v in value]
    if kind in (str, int, float, bool) or value is None:
        return value
    return copy.deepcopy(value)
