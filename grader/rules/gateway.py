"""Gateway API objects (GatewayClass, Gateway, HTTPRoute, ReferenceGrant): the CRDs' CEL
rules for the fields the course uses, worded like grader.schema.

These kinds are CustomResourceDefinitions, so the Kubernetes OpenAPI schema that
grader.schema validates against does not know them. Their structural schema (field names
and types, required fields, enums, lengths and ranges of the v1.5 standard-channel CRDs that
cloud-provider-kind v0.11.1 installs) is grader.k8s.gateway_crd; this module holds the
`x-kubernetes-validations` (CEL) rules the API server runs on them, quoting their messages.
Fields outside the course are accepted without a deeper look, so this never refuses what
the API server accepts.
"""
from __future__ import annotations

from grader.k8s.fields import Issue, dicts, items, join_key, mapping
from grader.k8s.gateway_crd import GROUP, PATH_CHARS


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
        out.append(
            ("spec.listeners", "Combination of port, protocol and hostname must be unique for each listener")
        )
    for p, lst in listeners:
        proto = lst.get("protocol")
        if proto in ("HTTP", "TCP", "UDP") and lst.get("tls") is not None:
            out.append(("spec.listeners", "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"))
        tls = mapping(lst.get("tls"))
        if proto == "HTTPS" and tls.get("mode", "Terminate") not in ("", "Terminate"):
            out.append(("spec.listeners", "tls mode must be Terminate for protocol HTTPS"))
        if tls and tls.get("mode", "Terminate") == "Terminate" and not (
                tls.get("certificateRefs") or tls.get("options")):
            out.append((join_key(p, "tls"), "certificateRefs or options must be specified "
                        "when mode is Terminate"))
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
    if value and not PATH_CHARS.match(value):
        out.append(
            (
                at,
                "must only contain valid characters (matching "
                "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']",
            )
        )
    return out


def _filters_issues(filters: list, where: str) -> list[Issue]:
    out: list[Issue] = []
    types = [mapping(f).get("type") for f in filters]
    if "RequestRedirect" in types and "URLRewrite" in types:
        out.append(
            (
                where,
                "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, "
                "but not both",
            )
        )
    for t in ("RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite"):
        if types.count(t) > 1:
            out.append((where, f"{t} filter cannot be repeated"))
    fields = {
        "RequestHeaderModifier": "requestHeaderModifier",
        "ResponseHeaderModifier": "responseHeaderModifier",
        "RequestMirror": "requestMirror",
        "RequestRedirect": "requestRedirect",
        "URLRewrite": "urlRewrite",
        "ExtensionRef": "extensionRef",
        "CORS": "cors",
    }
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
                out.append(
                    (mpath, "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'")
                )
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
            prefix_rewrite = [
                f
                for f in filters
                if mapping(mapping(mapping(f).get(fname)).get("path")).get("type") == "ReplacePrefixMatch"
                and "replacePrefixMatch" in mapping(mapping(f)[fname]["path"])
            ]
            if len(prefix_rewrite) == 1:
                only = mapping(matches[0]).get("path") if len(matches) == 1 else None
                if only is None or mapping(only).get("type", "PathPrefix") != "PathPrefix":
                    out.append((rpath, f"When using {label} filter with path.replacePrefixMatch, exactly one "
                                "PathPrefix match must be specified"))
        for bpath, ref in dicts(backends, join_key(rpath, "backendRefs")):
            if (
                (ref.get("group") or "") == ""
                and (ref.get("kind") or "Service") == "Service"
                and "port" not in ref
            ):
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
