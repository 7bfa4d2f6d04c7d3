"""Object metadata and label selectors: rules shared by every kind."""
from __future__ import annotations

from typing import Any, Callable

from grader.k8s.fields import Issue, dicts, items, join_index, join_key, mapping, quote, text
from grader.k8s.selectors import OPERATORS, SelectorError, compile_selector
from grader.rules.names import (
    dns1123_label_problem,
    dns1123_subdomain_problem,
    label_value_problem,
    labels_issues,
    qualified_name_problem,
)

NameRule = Callable[[str], "str | None"]

#: Which syntax each kind's name must follow (the API server's choice per kind). Service
#: names become DNS labels (`backend.lab1.svc`): a DNS-1123 label since v1.37, where
#: RelaxedServiceNameValidation is GA (before, DNS-1035: no leading digit); StatefulSet
#: names become pod hostnames `name-0`, hence a DNS-1123 label (apps/validation
#: ValidateStatefulSetName uses NameIsDNSLabel). Everything else
#: course-relevant is a DNS-1123 subdomain (apimachinery NameIsDNSSubdomain).
NAME_RULES: dict[str, NameRule] = {
    "Service": dns1123_label_problem,
    "Namespace": dns1123_label_problem,
    "StatefulSet": dns1123_label_problem,
}

SELECTOR_OPERATORS = OPERATORS  # grader.k8s.selectors' list, re-exported for old callers
_ANNOTATIONS_MAX = 256 * 1024  # bytes of UTF-8, keys plus values (apimachinery TotalAnnotationSizeLimitB)


def _mask_trailing_dash(name: str) -> str:
    """apimachinery maskTrailingDash: a generateName prefix may end in '-'."""
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def metadata_issues(obj: dict) -> list[Issue]:
    """apimachinery ValidateObjectMetaAccessor, for the fields a learner writes."""
    kind = text(obj.get("kind")) or "object"
    meta = mapping(obj.get("metadata"))
    out: list[Issue] = []
    if "metadata" not in obj:
        return [
            ("metadata", f"required field 'metadata' is missing; every {kind} needs at least metadata.name")
        ]
    name_rule = NAME_RULES.get(kind, dns1123_subdomain_problem)
    generate = meta.get("generateName")
    if isinstance(generate, str) and generate:
        why = name_rule(_mask_trailing_dash(generate))
        if why:
            out.append(
                ("metadata.generateName", f"{quote(generate)} is not a valid name prefix for a {kind}: {why}")
            )
    name = meta.get("name")
    if name is None or name == "":
        if generate:
            # The API server would generate a name; `kubectl apply` (and this course's
            # apply) refuses generateName, and every object here needs a stable name.
            out.append(("metadata.name", "generateName is not supported here; give the object a fixed name"))
        else:
            out.append(("metadata.name", f"required: every {kind} needs a name"))
    elif isinstance(name, str):
        why = name_rule(name)
        if why:
            out.append(("metadata.name", f"{quote(name)} is not a valid {kind} name: {why}"))
    ns = meta.get("namespace")
    if isinstance(ns, str) and ns:
        why = dns1123_label_problem(ns)
        if why:
            out.append(("metadata.namespace", f"{quote(ns)} is not a valid namespace name: {why}"))
    out += labels_issues(meta.get("labels"), "metadata.labels")
    out += annotations_issues(meta.get("annotations"), "metadata.annotations")
    for i, fin in enumerate(items(meta.get("finalizers"))):
        if isinstance(fin, str):
            why = qualified_name_problem(fin)
            if why:
                out.append(
                    (join_index("metadata.finalizers", i), f"finalizer {quote(fin)} is invalid: {why}")
                )
    return out


def annotations_issues(annotations: Any, path: str) -> list[Issue]:
    """apimachinery ValidateAnnotations: keys are qualified names compared in lower case
    (so 'Example.com/Note' is fine), reported at the map's path; 256 KiB in total, counted
    in bytes as Go's len() does (a non-ASCII character is 2-4 bytes)."""
    out: list[Issue] = []
    total = 0
    for key, value in mapping(annotations).items():
        if not isinstance(key, str):
            continue
        why = qualified_name_problem(key.lower())
        if why:
            out.append((path, f"annotation key {quote(key)} is invalid: {why}"))
        total += _utf8_len(key) + (_utf8_len(value) if isinstance(value, str) else 0)
    if total > _ANNOTATIONS_MAX:
        out.append((path, "annotations may total at most 256 KiB"))
    return out


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


def selector_issues(selector: Any, path: str) -> list[Issue]:
    """meta/v1/validation ValidateLabelSelector: matchLabels and matchExpressions."""
    sel = mapping(selector)
    out = labels_issues(sel.get("matchLabels"), join_key(path, "matchLabels"))
    for epath, expr in dicts(sel.get("matchExpressions"), join_key(path, "matchExpressions")):
        op = expr.get("operator")
        values = expr.get("values")
        if isinstance(op, str) or op is None:
            if op in ("In", "NotIn"):
                if not items(values):
                    out.append((join_key(epath, "values"),
                                f"required: operator '{op}' needs a non-empty list of values"))
            elif op in ("Exists", "DoesNotExist"):
                if items(values):
                    out.append(
                        (
                            join_key(epath, "values"),
                            f"must be empty when operator is '{op}' "
                            "(it only checks whether the key is present)",
                        )
                    )
            elif isinstance(op, str):
                hint = " (Gt and Lt exist only for node affinity)" if op in ("Gt", "Lt") else ""
                for good in SELECTOR_OPERATORS:
                    if good.lower() == op.lower():
                        hint = f" (did you mean '{good}'?)"
                out.append(
                    (
                        join_key(epath, "operator"),
                        f"unsupported operator {quote(op)}; "
                        f"use 'In', 'NotIn', 'Exists' or 'DoesNotExist'{hint}",
                    )
                )
        key = expr.get("key")
        if isinstance(key, str):
            why = qualified_name_problem(key)
            if why:
                out.append((join_key(epath, "key"), f"label key {quote(key)} is invalid: {why}"))
        for i, v in enumerate(items(values)):
            if isinstance(v, str):
                why = label_value_problem(v)
                if why:
                    out.append(
                        (
                            join_index(join_key(epath, "values"), i),
                            f"label value {quote(v)} is invalid: {why}",
                        )
                    )
    return out


def selector_is_empty(selector: Any) -> bool:
    sel = mapping(selector)
    return not mapping(sel.get("matchLabels")) and not items(sel.get("matchExpressions"))


def selector_matches(selector: Any, labels: dict) -> bool:
    """Does a LabelSelector select these labels? (Empty selector selects everything.)
    Evaluated by grader.k8s.selectors, so rules and the offline model agree; call it
    only for a selector `selector_issues` found nothing wrong with. A selector that still
    cannot be compiled (wrongly typed parts, which the schema reports) counts as matching,
    so no second, confusing problem is added."""
    try:
        compiled = compile_selector(mapping(selector))
    except (SelectorError, AttributeError, TypeError):
        return True
    return compiled is None or compiled.matches(labels)


def describe_selector(selector: Any) -> str:
    """`app=web, tier in (a, b)` -- how kubectl prints a selector."""
    sel = mapping(selector)
    parts = [f"{k}={v}" for k, v in mapping(sel.get("matchLabels")).items()]
    for expr in items(sel.get("matchExpressions")):
        expr = mapping(expr)
        key, op, values = expr.get("key"), expr.get("operator"), items(expr.get("values"))
        vals = ", ".join(str(v) for v in values)
        parts.append({"In": f"{key} in ({vals})", "NotIn": f"{key} notin ({vals})",
                      "Exists": f"{key}", "DoesNotExist": f"!{key}"}.get(str(op), f"{key} {op}"))
    return ", ".join(parts) or "(everything)"


def describe_labels(labels: Any) -> str:
    lab = mapping(labels)
    return ", ".join(f"{k}={v}" for k, v in lab.items()) or "(none)"
