"""The environment a container of the offline cluster starts with, from its `env` and
`envFrom` and the ConfigMaps and Secrets stored at that moment.

Why its own module: the kubelet resolves these once, when it starts the container, so a pod
keeps the values it started with; editing a ConfigMap changes nothing in a running pod
until it is replaced (`kubectl rollout restart deployment/<name>` changes the pod template,
so the Deployment creates new pods). The controllers call `container_env` once per pod and
remember the answer for as long as the pod lives.

Upstream behaviour followed (Kubernetes docs, "Configure a Pod to Use a ConfigMap" and
"Define Environment Variables for a Container"):
- `envFrom` entries come first, in order (a later one wins a clash), then `env` entries,
  which win over `envFrom`; `prefix` is prepended to every key of an `envFrom` source.
- A reference to a missing ConfigMap/Secret, or a missing key, stops the container from
  starting (CreateContainerConfigError) unless the reference says `optional: true`; the
  kubelet retries, so it starts once the object exists.
- `$(VAR)` references in values are expanded from earlier variables; `$$` escapes.
- `fieldRef`/`resourceFieldRef` values are not modelled: they are left out (said here).
Only the declared variables are modelled: a real container also has PATH, HOSTNAME,
KUBERNETES_SERVICE_HOST and the docker-link variables of every Service.
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Callable, Mapping

__all__ = ["EnvError", "container_env"]

#: (kind, namespace, name) -> the stored object, or None.
Lookup = Callable[[str, str, str], "Mapping[str, Any] | None"]

_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class EnvError(Exception):
    """The container cannot start: the kubelet's CreateContainerConfigError message."""


def _data(kind: str, obj: Mapping[str, Any]) -> dict[str, str]:
    """A ConfigMap's data, or a Secret's data decoded (and stringData, as the API server
    merges it into data)."""
    out = {str(k): str(v) for k, v in (obj.get("data") or {}).items()}
    if kind == "Secret":
        decoded = {}
        for k, v in out.items():
            try:
                decoded[k] = base64.b64decode(v, validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                decoded[k] = v
        out = decoded
        out.update({str(k): str(v) for k, v in (obj.get("stringData") or {}).items()})
    return out


def _source(lookup: Lookup, namespace: str, kind: str, ref: Mapping[str, Any]) -> dict[str, str] | None:
    obj = lookup(kind, namespace, str(ref.get("name", "")))
    if obj is None:
        if ref.get("optional"):
            return None
        raise EnvError(f'{kind.lower()} "{ref.get("name", "")}" not found')
    return _data(kind, obj)


def _expand(value: str, env: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _REF.sub(sub, value)


def _value_from(lookup: Lookup, namespace: str, name: str, source: Mapping[str, Any]) -> str | None:
    for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
        ref = source.get(field)
        if not isinstance(ref, Mapping):
            continue
        data = _source(lookup, namespace, kind, ref)
        key = str(ref.get("key", ""))
        if data is None or key not in data:
            if ref.get("optional"):
                return None
            if data is not None:
                raise EnvError(f'couldn\'t find key {key} in {kind} {namespace}/{ref.get("name", "")}')
            return None
        return data[key]
    return None       # fieldRef / resourceFieldRef: not modelled


def container_env(container: Mapping[str, Any], namespace: str, lookup: Lookup) -> dict[str, str]:
    """The declared environment `container` starts with now; raises EnvError when the
    kubelet could not start it."""
    env: dict[str, str] = {}
    for entry in container.get("envFrom") or []:
        prefix = str(entry.get("prefix") or "")
        for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
            ref = entry.get(field)
            if isinstance(ref, Mapping):
                data = _source(lookup, namespace, kind, ref) or {}
                env.update({prefix + k: v for k, v in data.items()})
    for var in container.get("env") or []:
        name = str(var.get("name", ""))
        if "value" in var or "valueFrom" not in var:
            env[name] = _expand(str(var.get("value") or ""), env)
            continue
        value = _value_from(lookup, namespace, name, var.get("valueFrom") or {})
        if value is not None:
            env[name] = value
    return env
