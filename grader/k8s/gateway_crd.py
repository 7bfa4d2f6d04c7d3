"""The Gateway API CRDs' OpenAPI schema for the fields the course uses (GatewayClass,
Gateway, HTTPRoute, ReferenceGrant, v1.5 standard channel), worded like grader.schema.

Why here, on the bottom floor: the schema is the API server's, not a course rule, and both
grader.schema (structural validation of every kind) and grader.rules.gateway (the CRDs'
CEL rules) need it. Unknown fields are errors, as with server-side field validation; fields
outside the course (TLS options, timeouts, mirrors, CORS, extension refs) are accepted
without a deeper look, so this never refuses what the API server accepts; fields only the
experimental channel has (retry, sessionPersistence, useDefaultGateways...) are unknown
fields, as they are for the standard CRDs.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from grader.k8s.fields import Issue, is_int, join_index, join_key, quote

GROUP = "gateway.networking.k8s.io"
#: kind -> the apiVersions the v1.5 standard CRDs serve (the first is the one to write).
CRD_KINDS: dict[str, tuple[str, ...]] = {
    "GatewayClass": (f"{GROUP}/v1", f"{GROUP}/v1beta1"),
    "Gateway": (f"{GROUP}/v1", f"{GROUP}/v1beta1"),
    "HTTPRoute": (f"{GROUP}/v1", f"{GROUP}/v1beta1"),
    "ReferenceGrant": (f"{GROUP}/v1", f"{GROUP}/v1beta1"),
}

_PRECISE_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PROTOCOL = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$"
                       r"|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$")
_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
PATH_CHARS = re.compile(r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$")
_SECTION_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CONTROLLER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
                              r"\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$")
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
HEADER = _obj({"name": _str(min_len=1, max_len=256, pattern=_HEADER_NAME),
               "value": _str(min_len=1, max_len=4096)}, ("name", "value"))
HEADER_FILTER = _obj({"set": S("array", item=HEADER, max_items=16),
                      "add": S("array", item=HEADER, max_items=16),
                      "remove": S("array", item=_str(), max_items=16)})
PATH_MODIFIER = _obj({"type": _str(enum=("ReplaceFullPath", "ReplacePrefixMatch")),
                      "replaceFullPath": _str(max_len=1024), "replacePrefixMatch": _str(max_len=1024)},
                     ("type",))
FILTER = _obj({
    "type": _str(enum=("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
                       "URLRewrite", "ExtensionRef", "CORS")),
    "requestHeaderModifier": HEADER_FILTER, "responseHeaderModifier": HEADER_FILTER,
    "requestRedirect": _obj({"scheme": _str(enum=("http", "https")), "hostname": PRECISE_HOSTNAME,
                             "path": PATH_MODIFIER, "port": INT_PORT,
                             "statusCode": S("integer", enum=(301, 302, 303, 307, 308))}),
    "urlRewrite": _obj({"hostname": PRECISE_HOSTNAME, "path": PATH_MODIFIER}),
    "requestMirror": ANY, "extensionRef": ANY, "cors": ANY}, ("type",))
MATCH = _obj({
    "path": _obj({"type": _str(enum=("Exact", "PathPrefix", "RegularExpression")),
                  "value": _str(max_len=1024)}),
    "headers": S("array", max_items=16, item=_obj({
        "type": _str(enum=("Exact", "RegularExpression")),
        "name": _str(min_len=1, max_len=256, pattern=_HEADER_NAME),
        "value": _str(min_len=1, max_len=4096)}, ("name", "value"))),
    "queryParams": S("array", max_items=16, item=_obj({
        "type": _str(enum=("Exact", "RegularExpression")),
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
                     "namespaces": _obj({"from": _str(enum=("All", "Selector", "Same")),
                                         "selector": LABEL_SELECTOR}),
                     "kinds": S("array", max_items=8,
                                item=_obj({"group": GROUP_S, "kind": KIND_S}, ("kind",)))})},
                ("name", "port", "protocol"))
STATUS = ANY  # written by controllers; a learner's copy of it is accepted and ignored
_TOP = {"apiVersion": ANY, "kind": ANY, "metadata": METADATA}

SCHEMAS: dict[str, S] = {
    "GatewayClass": _obj({**_TOP, "status": STATUS, "spec": _obj({
        "controllerName": _str(min_len=1, max_len=253, pattern=_CONTROLLER_NAME), "parametersRef": ANY,
        "description": _str(max_len=64)}, ("controllerName",))}, ("spec",)),
    "Gateway": _obj({**_TOP, "status": STATUS, "spec": _obj({
        "gatewayClassName": OBJECT_NAME, "listeners": S("array", item=LISTENER, max_items=64),
        "addresses": ANY, "infrastructure": ANY, "tls": ANY, "allowedListeners": ANY},
        ("gatewayClassName", "listeners"))}, ("spec",)),
    "HTTPRoute": _obj({**_TOP, "status": STATUS, "spec": _obj({
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
            out.append((path, f"unsupported value {_got(value)}; use one of "
                        + ", ".join(quote(v) for v in node.enum)))
        if node.t == "string":
            if node.min_len is not None and len(value) < node.min_len:
                out.append((path, "must not be empty" if node.min_len == 1
                            else f"must be at least {node.min_len} characters"))
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
