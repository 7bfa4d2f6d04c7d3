"""`kubectl create ingress NAME --rule=host/path=service:port[,tls[=secret]]`: the Ingress
kubectl builds from its flags, before anything is sent (offline, `create` then applies it
through the namespace, validated and sandboxed like any answer).

kubectl's own rules, written from its documentation and examples:
- a rule is `host/path=service:port`; the host may be empty (`/path=svc:80` matches any
  host); the port is a number or a Service port name;
- a path ending in `*` has pathType Prefix (the `*` dropped), any other path is Exact;
- rules of the same host become paths of one Ingress rule, in the order given;
- `--class` sets spec.ingressClassName, `--default-backend=svc:port` spec.defaultBackend,
  `--annotation k=v` (repeatable) metadata.annotations.
TLS (`,tls`) is refused offline: the model serves plain HTTP only.
"""

from __future__ import annotations

import re
from typing import Any

from grader.kubectl.resources import NotModelled
from grader.kubectl.result import KubectlError

RULE = re.compile(
    r"^(?P<host>[\w*.-]*)(?P<path>/[^=]*)=(?P<service>[\w-]+):(?P<port>[\w-]+)"
    r"(?P<tls>,tls(=[\w-]+)?)?$"
)
BACKEND = re.compile(r"^(?P<service>[\w-]+):(?P<port>[\w-]+)$")


def _backend(service: str, port: str) -> dict[str, Any]:
    ref: dict[str, Any] = {"number": int(port)} if port.isdigit() else {"name": port}
    return {"service": {"name": service, "port": ref}}


def _path(path: str) -> dict[str, str]:
    if path.endswith("*"):
        return {"path": path[:-1], "pathType": "Prefix"}
    return {"path": path, "pathType": "Exact"}


def build_ingress(
    name: str,
    rules: list[str],
    *,
    ingress_class: str | None = None,
    default_backend: str | None = None,
    annotations: list[str] | None = None,
) -> dict[str, Any]:
    """The Ingress object `kubectl create ingress` sends; KubectlError for a malformed flag,
    in kubectl's words."""
    if not rules and not default_backend:
        raise KubectlError(
            "error: not enough information provided: every ingress has to either "
            "specify a default-backend (which catches all traffic) or a list of rules "
            "(which catch specific paths)"
        )
    spec: dict[str, Any] = {}
    if ingress_class:
        spec["ingressClassName"] = ingress_class
    if default_backend:
        m = BACKEND.match(default_backend)
        if not m:
            raise KubectlError(
                f"error: default-backend should be in format servicename:serviceport, got {default_backend!r}"
            )
        spec["defaultBackend"] = _backend(m["service"], m["port"])
    by_host: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        m = RULE.match(rule)
        if not m:
            raise KubectlError(
                f"error: rule {rule} is invalid and should be in format "
                "host/path=svcname:svcport[,tls[=secret]]"
            )
        if m["tls"]:
            raise NotModelled("create ingress with tls", "the model serves plain HTTP: leave out ,tls")
        path = {**_path(m["path"]), "backend": _backend(m["service"], m["port"])}
        by_host.setdefault(m["host"], []).append(path)
    if by_host:
        spec["rules"] = [
            {**({"host": host} if host else {}), "http": {"paths": paths}} for host, paths in by_host.items()
        ]
    meta: dict[str, Any] = {"name": name}
    notes = {}
    for a in annotations or []:
        key, eq, value = a.partition("=")
        if not eq or not key:
            raise KubectlError(f"error: annotation {a} is invalid and should be in format key=[value]")
        notes[key] = value
    if notes:
        meta["annotations"] = notes
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}
