"""`kubectl create ingress NAME --rule=host/path=service:port[,tls[=secret]] ...` offline:
the Ingress kubectl 1.37 builds from its flags, for cmd_apply's `create` to apply.

kubectl's rules, followed here: a rule is `host/path=service:port`, the host may be empty
and may hold `*`; the path is everything after the first `/`; a path ending in `*` becomes
pathType Prefix (without the `*`), any other path Exact; rules for the same host share one
IngressRule; a numeric port is `port.number`, any other `port.name`; `,tls` adds the host to
spec.tls (with `,tls=SECRET`, under that secretName; one TLS entry per secret). Without a
rule or a `--default-backend` kubectl refuses, as here."""
from __future__ import annotations

import re
from typing import Any

from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session

_RULE = re.compile(r"^(?P<host>[\w*.-]*)/(?P<path>.*)=(?P<svc>[\w-]+):(?P<port>[\w-]+)"
                   r"(,(?P<tls>tls)=?(?P<secret>[\w-]+)?)?$")


def _backend(service: str, port: str) -> dict[str, Any]:
    return {"service": {"name": service, "port": {"number": int(port)} if port.isdigit() else {"name": port}}}


def _tls(rules: list[re.Match[str]]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    seen_hosts: set[str] = set()
    for m in rules:
        host = m["host"]
        if not m["tls"] or host in seen_hosts:
            continue
        seen_hosts.add(host)
        secret = m["secret"] or ""
        same = next((e for e in entries if e.get("secretName", "") == secret), None)
        if same is not None:
            same.setdefault("hosts", []).append(host)
            continue
        entry: dict[str, Any] = {}
        if host:
            entry["hosts"] = [host]
        if secret:
            entry["secretName"] = secret
        if entry:
            entries.append(entry)
    return entries


def build(s: Session, rest: list[str]) -> dict[str, Any]:
    """The Ingress `create ingress` would send, from the command's arguments and flags."""
    inv = s.inv
    if len(rest) != 1:
        raise KubectlError("error: exactly one NAME is required, got %d" % len(rest))
    rules_flag = list(inv.flag("rule") or [])
    default = inv.flag("default-backend")
    if not rules_flag and not default:
        raise KubectlError("error: not enough information provided: every ingress has to either specify a "
                           "default-backend (which catches all traffic) or a list of rules (which catch "
                           "specific paths)")
    matches = []
    for rule in rules_flag:
        m = _RULE.match(rule)
        if m is None:
            raise KubectlError(f"error: rule {rule} is invalid and should be in format "
                               "host/path=svcname:svcport[,tls[=secret]]")
        matches.append(m)
    spec: dict[str, Any] = {}
    if inv.flag("class"):
        spec["ingressClassName"] = inv.flag("class")
    if default:
        svc, sep, port = default.partition(":")
        if not sep or ":" in port:
            raise KubectlError("error: default-backend should be in format servicename:serviceport")
        spec["defaultBackend"] = _backend(svc, port)
    rules: list[dict[str, Any]] = []
    for m in matches:
        path, path_type = "/" + m["path"], "Exact"
        if path.endswith("*"):
            path, path_type = path[:-1], "Prefix"
        entry = {"path": path, "pathType": path_type, "backend": _backend(m["svc"], m["port"])}
        same = next((r for r in rules if r.get("host", "") == m["host"]), None)
        if same is not None:
            same["http"]["paths"].append(entry)
            continue
        rules.append({**({"host": m["host"]} if m["host"] else {}), "http": {"paths": [entry]}})
    if tls := _tls(matches):
        spec["tls"] = tls
    if rules:
        spec["rules"] = rules
    meta: dict[str, Any] = {"name": rest[0]}
    annotations = {}
    for a in inv.flag("annotation") or []:
        key, sep, value = a.partition("=")
        if not sep:
            raise KubectlError(f"error: annotation {a} is invalid and should be in format key=[value]")
        annotations[key] = value
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}
