"""Gateway API objects (GatewayClass, Gateway, HTTPRoute, ReferenceGrant): the CRDs'
OpenAPI schema and CEL rules for the fields the course uses, worded like grader.schema.

These kinds are CustomResourceDefinitions, so the Kubernetes OpenAPI schema that
grader.schema validates against does not know them. This module holds the part of the
Gateway API v1.5 standard-channel CRDs (the version cloud-provider-kind v0.11.1 installs)
that a course manifest touches: field names and types (unknown fields are errors, as with
server-side field validation), required fields, enums, lengths and ranges, plus the
`x-kubernetes-validations` (CEL) rules the API server runs on them, quoting their messages.
Fields outside the course (TLS options, timeouts, mirrors, CORS, extension refs) are
accepted without a deeper look, so this never refuses what the API server accepts; fields
only the experimental channel has (retry, sessionPersistence, useDefaultGateways...) are
unknown fields, as they are for the standard CRDs.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from grader.rules.base import Issue, dicts, is_int, items, join_index, join_key, mapping, quote

GROUP = "gateway.networking.k8s.io"
#: kind -> the apiVersions the v1.5 standard CRDs serve (the first is the one to write).
CRD_KINDS: dict[str, tuple[str, ...]] = {
    "GatewayClass": (f"{GROUP}/v1", f"{GROUP}/v1beta1"),
    "Gateway": (f"{GROUP}/v1", f"{GROUP}/v1beta1"),
    "HTTPRoute": (f"{GROUP}/v1", f"{GROUP}/v1beta1"),
    "ReferenceGrant": (f"{GROUP}/v1", f"{GROUP}/v1beta1"),
}

_PRECISE_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PROTOCOL = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$")
_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PATH_CHARS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
_SECTION_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_OBJECT_NAME = _SECTION_NAME
_CONTROLLER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$")
_GROUP = re.compile(r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_KIND = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


# ---------------------------------------------------------------- a tiny schema language
@dataclass(frozen=True)
class S:
    """One schema node: `t` is "object", "string", "integer", "array", "map" or "any"."""

    t: str
    props: dict[str, "S"] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    item: "S | None" = None
    enum: tuple[Any, ...] = ()
    pattern: re.Pattern | None = None
    pattern_text: str = ""
    min_len: int | None = None
    max_len: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    max_items: int | None = None


def _str(**kw: Any) -> S:
    if "pattern" in kw:
        kw["pattern_text"] = kw["pattern"].pattern
    return S("string", **kw)


def _obj(props: dict[str, S], required: tuple[str, ...] = ()) -> S:
    return S("object", props=props, required=required)


ANY = S("any")
INT_PORT = S("integer", minimum=1, maximum=65535)
HOSTNAME = _str(min_len=1, max_len=253, pattern=_HOSTNAME)
PRECISE_HOSTNAME = _str(min_len=1, max_len=253, pattern=_PRECISE_HOSTNAME)
OBJECT_NAME = _str(min_len=1, max_len=253)
SECTION_NAME = _str(min_len=1, max_len=253, pattern=_SECTION_NAME)
GROUP_S = _str(max_len=253, pattern=_GROUP)
KIND_S = _str(min_len=1, max_len=63, pattern=_KIND)
NAMESPACE_S = _str(min_len=1, max_len=63, pattern=_NAMESPACE)
LABEL_SELECTOR = _obj({"matchLabels": S("map"), "matchExpressions": S("array", item=_obj(
    {"key": _str(), "operator": _str(), "values": S("array", item=_str())}, ("key", "operator")))})
METADATA = _obj({k: ANY for k in (
    "name", "generateName", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers", "ownerReferences",
    "managedFields", "selfLink")})

PARENT_REF = _obj({"group": GROUP_S, "kind": KIND_S, "namespace": NAMESPACE_S, "name": OBJECT_NAME,
                   "sectionName": SECTION_NAME, "port": INT_PORT}, ("name",))
HEADER = _obj({"name": _str(min_len=1, max_len=256, pattern=_HEADER_NAME), "value": _str(min_len=1, max_len=4096)},
              ("name", "value"))
HEADER_FILTER = _obj({"set": S("array", item=HEADER, max_items=16), "add": S("array", item=HEADER, max_items=16),
                      "remove": S("array", item=_str(), max_items=16)})
PATH_MODIFIER = _obj({"type": _str(enum=("ReplaceFullPath", "ReplacePrefixMatch")),
                      "replaceFullPath": _str(max_len=1024), "replacePrefixMatch": _str(max_len=1024)}, ("type",))
FILTER = _obj({
    "type": _str(enum=("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
                       "URLRewrite", "ExtensionRef", "CORS")),
    "requestHeaderModifier": HEADER_FILTER, "responseHeaderModifier": HEADER_FILTER,
    "requestRedirect": _obj({"scheme": _str(enum=("http", "https")), "hostname": PRECISE_HOSTNAME, "path": PATH_MODIFIER,
                             "port": INT_PORT, "statusCode": S("integer", enum=(301, 302, 303, 307, 308))}),
    "urlRewrite": _obj({"hostname": PRECISE_HOSTNAME, "path": PATH_MODIFIER}),
    "requestMirror": ANY, "extensionRef": ANY, "cors": ANY}, ("type",))
MATCH = _obj({
    "path": _obj({"type": _str(enum=("Exact", "PathPrefix", "RegularExpression")), "value": _str(max_len=1024)}),
    "headers": S("array", max_items=16, item=_obj({"type": _str(enum=("Exact", "RegularExpression")),
                                                   "name": _str(min_len=1, max_len=256, pattern=_HEADER_NAME),
                                                   "value": _str(min_len=1, max_len=4096)}, ("name", "value"))),
    "queryParams": S("array", max_items=16, item=_obj({"type": _str(enum=("Exact", "RegularExpression")),
                                                       "name": _str(min_len=1, max_len=256, pattern=_HEADER_NAME),
                                                       "value": _str(min_len=1, max_len=1024)}, ("name", "value"))),
    "method": _str(enum=("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")),
})
BACKEND_REF = _obj({"group": GROUP_S, "kind": KIND_S, "name": OBJECT_NAME, "namespace": NAMESPACE_S,
                    "port": INT_PORT, "weight": S("integer", minimum=0, maximum=1000000),
                    "filters": S("array", item=FILTER, max_items=16)}, ("name",))
RULE = _obj({"name": SECTION_NAME, "matches": S("array", item=MATCH, max_items=64),
             "filters": S("array", item=FILTER, max_items=16),
             "backendRefs": S("array", item=BACKEND_REF, max_items=16), "timeouts": ANY})
LISTENER = _obj({"name": SECTION_NAME, "hostname": HOSTNAME, "port": INT_PORT,
                 "protocol": _str(min_len=1, max_len=255, pattern=_PROTOCOL), "tls": ANY,
                 "allowedRoutes": _obj({
                     "namespaces": _obj({"from": _str(enum=("All", "Selector", "Same")), "selector": LABEL_SELECTOR}),
                     "kinds": S("array", max_items=8, item=_obj({"group": GROUP_S, "kind": KIND_S}, ("kind",)))})},
                ("name", "port", "protocol"))
STATUS = ANY  # written by controllers; a learner's copy of it is accepted and ignored

SCHEMAS: dict[str, S] = {
    "GatewayClass": _obj({"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "status": STATUS, "spec": _obj({
        "controllerName": _str(min_len=1, max_len=253, pattern=_CONTROLLER_NAME), "parametersRef": ANY,
        "description": _str(max_len=64)}, ("controllerName",))}, ("spec",)),
    "Gateway": _obj({"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "status": STATUS, "spec": _obj({
        "gatewayClassName": OBJECT_NAME, "listeners": S("array", item=LISTENER, max_items=64),
        "addresses": ANY, "infrastructure": ANY, "tls": ANY, "allowedListeners": ANY},
        ("gatewayClassName", "listeners"))}, ("spec",)),
    "HTTPRoute": _obj({"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "status": STATUS, "spec": _obj({
        "parentRefs": S("array", item=PARENT_REF, max_items=32),
        "hostnames": S("array", item=HOSTNAME, max_items=16),
        "rules": S("array", item=RULE, max_items=16)})}, ("spec",)),
    "ReferenceGrant": _obj({"apiVersion": ANY, "kind": ANY, "metadata": METADATA, "spec": _obj({
        "from": S("array", min_len=None, max_items=16, item=_obj(
            {"group": GROUP_S, "kind": KIND_S, "namespace": NAMESPACE_S}, ("group", "kind", "namespace"))),
        "to": S("array", max_items=16, item=_obj({"group": GROUP_S, "kind": KIND_S, "name": OBJECT_NAME},
                                                  ("group", "kind")))}, ("from", "to"))}),
}

_TYPE_WORDS = {"string": "a string", "integer": "an integer", "object": "a mapping (key: value pairs)",
               "array": "a list", "map": "a mapping (key: value pairs)"}


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return quote(value)


def _walk(node: S, value: Any, path: str) -> list[Issue]:
    """Schema problems of `value` at `path`, in grader.schema's words."""
    if node.t == "any" or value is None:
        return []
    ok = {"string": isinstance(value, str), "integer": is_int(value), "object": isinstance(value, dict),
          "map": isinstance(value, dict), "array": isinstance(value, list)}[node.t]
    if not ok:
        extra = ""
        if node.t == "integer" and isinstance(value, str) and value.strip().isdigit():
            extra = " (remove the quotes)"
        if node.t == "string" and isinstance(value, (int, float, bool)):
            extra = " (put it in quotes)"
        return [(path, f"must be {_TYPE_WORDS[node.t]}, got {_got(value)}{extra}")]
    out: list[Issue] = []
    if node.t == "object":
        for key in value:
            if key not in node.props:
                known = list(node.props)
                lower = [k for k in known if k.lower() == str(key).lower()]
                close = lower or difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                out.append((join_key(path, str(key)), f"unknown field {quote(key)}{hint}"))
        for name in node.required:
            if name not in value:
                out.append((join_key(path, name), f"required field '{name}' is missing"))
        for key, sub in node.props.items():
            if key in value:
                out += _walk(sub, value[key], join_key(path, key))
    elif node.t == "map":
        for k, v in value.items():
            if not isinstance(v, str):
                out.append((join_key(path, str(k)), f"must be a string, got {_got(v)} (put it in quotes)"))
    elif node.t == "array":
        if node.max_items is not None and len(value) > node.max_items:
            out.append((path, f"must have at most {node.max_items} items, got {len(value)}"))
        for i, item in enumerate(value):
            if node.item is not None:
                out += _walk(node.item, item, join_index(path, i))
    else:
        if node.enum and value not in node.enum:
            out.append((path, f"unsupported value {_got(value)}; use one of " + ", ".join(quote(v) for v in node.enum)))
        if node.t == "string":
            if node.min_len is not None and len(value) < node.min_len:
                out.append((path, "must not be empty" if node.min_len == 1 else f"must be at least {node.min_len} characters"))
            elif node.max_len is not None and len(value) > node.max_len:
                out.append((path, f"must be at most {node.max_len} characters, got {len(value)}"))
            elif node.pattern is not None and value and not node.pattern.match(value):
                out.append((path, f"{quote(value)} must match the pattern {node.pattern_text}"))
        if node.t == "integer":
            if node.minimum is not None and value < node.minimum:
                out.append((path, f"must be greater than or equal to {node.minimum}, got {value}"))
            elif node.maximum is not None and value > node.maximum:
                out.append((path, f"must be less than or equal to {node.maximum}, got {value}"))
    return out


def crd_schema_issues(obj: dict) -> list[Issue]:
    """The CRD schema's problems (structural: fields, types, enums, limits)."""
    return _walk(SCHEMAS[str(obj["kind"])], obj, "")


def api_version_issue(kind: str, api_version: str) -> str | None:
    served = CRD_KINDS[kind]
    if api_version in served:
        return None
    return f"apiVersion {quote(api_version)} is wrong for {kind}; use '{served[0]}'"


# ---------------------------------------------------------------- CEL rules
def gateway_issues(obj: dict) -> list[Issue]:
    """x-kubernetes-validations of the Gateway CRD (listeners)."""
    out: list[Issue] = []
    listeners = [(p, lst) for p, lst in dicts(mapping(obj.get("spec")).get("listeners"), "spec.listeners")]
    names = [lst.get("name") for _, lst in listeners]
    if len(names) != len(set(map(str, names))):
        out.append(("spec.listeners", "Listener name must be unique within the Gateway"))
    combos = [(lst.get("port"), lst.get("protocol"), lst.get("hostname")) for _, lst in listeners]
    if len(combos) != len(set(map(str, combos))):
        out.append(("spec.listeners", "Combination of port, protocol and hostname must be unique for each listener"))
    for p, lst in listeners:
        proto = lst.get("protocol")
        if proto in ("HTTP", "TCP", "UDP") and lst.get("tls") is not None:
            out.append(("spec.listeners", "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"))
        if proto in ("TCP", "UDP") and lst.get("hostname"):
            out.append(("spec.listeners", "hostname must not be specified for protocols ['TCP', 'UDP']"))
        ns = mapping(mapping(lst.get("allowedRoutes")).get("namespaces"))
        if ns.get("from") == "Selector" and ns.get("selector") is None:
            out.append((join_key(join_key(join_key(p, "allowedRoutes"), "namespaces"), "selector"),
                        "required when from is 'Selector' (a label selector on namespaces)"))
    return out


def _path_value_issues(path: dict, where: str) -> list[Issue]:
    """HTTPPathMatch's CEL rules."""
    ptype = path.get("type", "PathPrefix")
    value = path.get("value", "/")
    if ptype not in ("Exact", "PathPrefix") or not isinstance(value, str):
        return []
    at = where                       # the API server reports CEL errors on the path object
    kinds = "when type one of ['Exact', 'PathPrefix']"
    out: list[Issue] = []
    if not value.startswith("/"):
        out.append((at, f"value must be an absolute path and start with '/' {kinds}"))
    for bad in ("//", "/./", "/../", "%2f", "%2F", "#"):
        if bad in value:
            out.append((at, f"must not contain '{bad}' {kinds}"))
    for bad in ("/..", "/."):
        if value.endswith(bad):
            out.append((at, f"must not end with '{bad}' {kinds}"))
    if value and not _PATH_CHARS.match(value):
        out.append((at, "must only contain valid characters (matching "
                    "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']"))
    return out


def _filters_issues(filters: list, where: str) -> list[Issue]:
    out: list[Issue] = []
    types = [mapping(f).get("type") for f in filters]
    if "RequestRedirect" in types and "URLRewrite" in types:
        out.append((where, "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, "
                    "but not both"))
    for t in ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"):
        if types.count(t) > 1:
            out.append((where, f"{t} filter cannot be repeated"))
    fields = {"RequestHeaderModifier": "requestHeaderModifier", "ResponseHeaderModifier": "responseHeaderModifier",
              "RequestMirror": "requestMirror", "RequestRedirect": "requestRedirect", "URLRewrite": "urlRewrite",
              "ExtensionRef": "extensionRef", "CORS": "cors"}
    for fpath, f in dicts(filters, where):
        for ftype, fname in fields.items():
            if fname in f and f.get("type") != ftype:
                out.append((fpath, f"filter.{fname} must be nil if the filter.type is not {ftype}"))
            if f.get("type") == ftype and fname not in f:
                out.append((fpath, f"filter.{fname} must be specified for {ftype} filter.type"))
        for fname in ("requestRedirect", "urlRewrite"):
            modifier = mapping(mapping(f.get(fname)).get("path"))
            mtype = modifier.get("type")
            mpath = join_key(join_key(fpath, fname), "path")
            if mtype == "ReplaceFullPath" and "replaceFullPath" not in modifier:
                out.append((mpath, "replaceFullPath must be specified when type is set to 'ReplaceFullPath'"))
            if "replaceFullPath" in modifier and mtype != "ReplaceFullPath":
                out.append((mpath, "type must be 'ReplaceFullPath' when replaceFullPath is set"))
            if mtype == "ReplacePrefixMatch" and "replacePrefixMatch" not in modifier:
                out.append((mpath, "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'"))
            if "replacePrefixMatch" in modifier and mtype != "ReplacePrefixMatch":
                out.append((mpath, "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set"))
    return out


def httproute_issues(obj: dict) -> list[Issue]:
    """x-kubernetes-validations of the HTTPRoute CRD for matches, filters and backendRefs."""
    spec = mapping(obj.get("spec"))
    out: list[Issue] = []
    rules = items(spec.get("rules"))
    total = sum(len(items(mapping(r).get("matches")) or [None]) for r in rules)
    if total > 128:
        out.append(("spec.rules", "While 16 rules and 64 matches per rule are allowed, the total number of "
                    "matches across all rules in a route must be less than 128"))
    for rpath, rule in dicts(rules, "spec.rules"):
        matches = items(rule.get("matches"))
        for mpath, match in dicts(matches, join_key(rpath, "matches")):
            if isinstance(match.get("path"), dict):
                out += _path_value_issues(match["path"], join_key(mpath, "path"))
        filters = items(rule.get("filters"))
        out += _filters_issues(filters, join_key(rpath, "filters"))
        backends = items(rule.get("backendRefs"))
        types = [mapping(f).get("type") for f in filters]
        if backends and "RequestRedirect" in types:
            out.append((rpath, "RequestRedirect filter must not be used together with backendRefs"))
        for fname, label in (("requestRedirect", "RequestRedirect"), ("urlRewrite", "URLRewrite")):
            prefix_rewrite = [f for f in filters if mapping(mapping(mapping(f).get(fname)).get("path")).get("type")
                              == "ReplacePrefixMatch" and "replacePrefixMatch" in mapping(mapping(f)[fname]["path"])]
            if len(prefix_rewrite) == 1:
                only = mapping(matches[0]).get("path") if len(matches) == 1 else None
                if only is None or mapping(only).get("type", "PathPrefix") != "PathPrefix":
                    out.append((rpath, f"When using {label} filter with path.replacePrefixMatch, exactly one "
                                "PathPrefix match must be specified"))
        for bpath, ref in dicts(backends, join_key(rpath, "backendRefs")):
            if (ref.get("group") or "") == "" and (ref.get("kind") or "Service") == "Service" and "port" not in ref:
                out.append((bpath, "Must have port for Service reference"))
            out += _filters_issues(items(ref.get("filters")), join_key(bpath, "filters"))
    # parentRefs' two CEL rules (group and kind defaulted first, as the API server does)
    refs = [mapping(r) for r in items(spec.get("parentRefs"))]
    parents: dict[str, list[str]] = {}
    for r in refs:
        key = repr((r.get("group", GROUP), r.get("kind", "Gateway"), r.get("name"), r.get("namespace") or ""))
        parents.setdefault(key, []).append(str(r.get("sectionName") or ""))
    for sections in parents.values():
        if len({s == "" for s in sections}) > 1:
            out.append(("spec.parentRefs", "sectionName must be specified when parentRefs includes 2 or more "
                        "references to the same parent"))
            break
    for sections in parents.values():
        if len(sections) != len(set(sections)):
            out.append(("spec.parentRefs", "sectionName must be unique when parentRefs includes 2 or more "
                        "references to the same parent"))
            break
    return out
