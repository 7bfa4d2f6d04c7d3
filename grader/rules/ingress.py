"""Ingress basics: hosts, paths and backends (after networking/validation ValidateIngressSpec)."""
from __future__ import annotations

from typing import cast

from grader.k8s.fields import Issue, dicts, is_int, items, join_index, join_key, mapping, quote
from grader.rules.base import enum_issue
from grader.rules.names import (
    dns1123_label_problem,
    dns1123_subdomain_problem,
    iana_svc_name_problem,
    parse_ip_sloppy,
    port_number_problem,
    wildcard_subdomain_problem,
)

PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")
_BAD_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_BAD_SUFFIXES = ("/..", "/.")
_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def ingress_issues(obj: dict) -> list[Issue]:
    spec = mapping(obj.get("spec"))
    out: list[Issue] = []
    rules = items(spec.get("rules"))
    if not rules and spec.get("defaultBackend") is None:
        out.append(("spec", "an Ingress needs either rules or a defaultBackend"))
    if spec.get("defaultBackend") is not None:
        out += _backend_issues(mapping(spec["defaultBackend"]), "spec.defaultBackend")
    for rpath, rule in dicts(rules, "spec.rules"):
        host = rule.get("host")
        if isinstance(host, str) and host:
            out += _host_issues(host, join_key(rpath, "host"), rule_host=True)
        http = rule.get("http")
        if isinstance(http, dict):
            hpath = join_key(rpath, "http")
            paths = items(http.get("paths"))
            if not paths and (http.get("paths") is None or isinstance(http.get("paths"), list)):
                out.append((join_key(hpath, "paths"), "required: list at least one path"))
            for ppath, p in dicts(paths, join_key(hpath, "paths")):
                out += _path_issues(p, ppath)
    for tpath, tls in dicts(spec.get("tls"), "spec.tls"):
        for i, host in enumerate(items(tls.get("hosts"))):
            if isinstance(host, str):
                out += _host_issues(host, join_index(join_key(tpath, "hosts"), i), rule_host=False)
        secret = tls.get("secretName")
        if isinstance(secret, str) and secret:
            why = dns1123_subdomain_problem(secret)
            if why:
                out.append(
                    (join_key(tpath, "secretName"), f"{quote(secret)} is not a valid Secret name: {why}")
                )
    cls = spec.get("ingressClassName")
    if isinstance(cls, str):
        why = dns1123_subdomain_problem(cls)
        if why:
            out.append(("spec.ingressClassName", f"{quote(cls)} is not a valid class name: {why}"))
        annotation = mapping(mapping(obj.get("metadata")).get("annotations")).get(_CLASS_ANNOTATION)
        if annotation is not None and annotation != cls:
            out.append((f"annotations.{_CLASS_ANNOTATION}", f"the annotation {quote(annotation)} must match "
                        f"ingressClassName {quote(cls)} when both are given (better: drop the annotation)"))
    return out


def _host_issues(host: str, path: str, rule_host: bool) -> list[Issue]:
    """validateIngressRules (rule hosts may not be IPs) and validateIngressTLS."""
    out: list[Issue] = []
    if rule_host and parse_ip_sloppy(host) is not None:
        out.append((path, f"{quote(host)} is an IP address; an Ingress host must be a DNS name"))
    if "*" in host:
        why = wildcard_subdomain_problem(host)
    else:
        why = dns1123_subdomain_problem(host)
    if why:
        out.append((path, f"{quote(host)} is not a valid host name: {why}"))
    return out


def _path_issues(p: dict, ppath: str) -> list[Issue]:
    """validateHTTPIngressPath."""
    out: list[Issue] = []
    ptype = p.get("pathType")
    if ptype is None:
        return out  # the schema reports the missing pathType; the API server stops here too
    bad = enum_issue(join_key(ppath, "pathType"), ptype, PATH_TYPES, "pathType")
    if bad:
        out.append(bad)
    value = p.get("path")
    value = value if isinstance(value, str) else ""
    vpath = join_key(ppath, "path")
    if ptype in ("Exact", "Prefix"):
        if not value.startswith("/"):
            out.append((vpath, f"must be an absolute path starting with '/' when pathType is '{ptype}'"))
        for seq in _BAD_SEQUENCES:
            if seq in value:
                out.append((vpath, f"must not contain '{seq}'"))
        for suffix in _BAD_SUFFIXES:
            if value.endswith(suffix):
                out.append((vpath, f"cannot end with '{suffix}'"))
    elif ptype == "ImplementationSpecific" and value and not value.startswith("/"):
        out.append((vpath, "must be an absolute path starting with '/'"))
    out += _backend_issues(mapping(p.get("backend")), join_key(ppath, "backend"))
    return out


def _backend_issues(backend: dict, path: str) -> list[Issue]:
    """validateIngressBackend: exactly one of service/resource; a service needs a name
    (a DNS-1123 label, like Service names) and a port number or name (not both). Both-or-neither
    port problems are reported at the backend itself, as the API server does."""
    has_service = backend.get("service") is not None
    has_resource = backend.get("resource") is not None
    if has_service and has_resource:
        return [(path, "cannot set both resource and service backends")]
    if not has_service and not has_resource:
        return [(path, "a resource or service backend is required")]
    if not has_service:
        return []
    out: list[Issue] = []
    svc = mapping(backend.get("service"))
    name = svc.get("name")
    spath = join_key(path, "service")
    if name == "":
        out.append((join_key(spath, "name"), "required: the Service to send traffic to"))
    elif isinstance(name, str):
        why = dns1123_label_problem(name)
        if why:
            out.append((join_key(spath, "name"), f"{quote(name)} is not a valid Service name: {why}"))
    port = mapping(svc.get("port"))
    pname = port.get("name")
    number = port.get("number")
    has_name = isinstance(pname, str) and pname != ""
    has_number = is_int(number) and number != 0
    if has_name and has_number:
        out.append((path, "cannot set both port name and port number"))
    elif has_name:
        why = iana_svc_name_problem(cast(str, pname))
        if why:
            out.append((join_key(join_key(spath, "port"), "name"), why))
    elif has_number:
        why = port_number_problem(cast(int, number))
        if why:
            out.append((join_key(join_key(spath, "port"), "number"), why))
    else:
        out.append(
            (path, "a service port name or number is required (service.port.number or service.port.name)")
        )
    return out
