"""Validate objects against the official Kubernetes OpenAPI schema of one pinned version.

The JSON schemas ship inside the `kubernetes-validate` package (strict variant: unknown
fields such as `selecter` are errors, as `kubectl apply` with server-side field validation
reports them). We do not call `kubernetes_validate.validate()`: it re-reads the 1.8 MB
definitions file on every call. Instead each kind gets a standalone bundle holding only
the definitions it reaches (grader.schema_bundle, kept in the user's cache), and one
validator is built lazily per kind and cached.

Two validators, one verdict. A fast one answers "is this object valid?": the kind's
bundle compiled to Python functions (grader.schema_compiled, its code cached too), or
jsonschema-rs for a schema that compiler does not handle. Only for an invalid object is
the pure-Python `jsonschema` stack imported (0.15 s) to list every error in the detail our
messages need. Most objects a learner checks are valid, so `svclab check` usually never
imports jsonschema. They agree on validity (tests/rules/test_schema.py, test_schema_compiled.py
and test_schema_bundle.py hold them to it); where they would not, the Python validator's
answer is the one reported.

Errors are translated from jsonschema's vocabulary into field paths (`spec.ports[0].port`)
and sentences a learner can act on.
"""
from __future__ import annotations

import _thread
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from grader.k8s.fields import Issue, join_index, join_key, quote

if TYPE_CHECKING:  # pragma: no cover
    import jsonschema
    from referencing import Resource

K8S_SCHEMA_VERSION = "1.37"
_SCHEMA_DIR = f"kubernetes-json-schema/v{K8S_SCHEMA_VERSION}.0-local-strict"

#: The kinds this course knows: kind -> (apiVersion, schema file stem).
KINDS: dict[str, tuple[str, str]] = {
    "Pod": ("v1", "pod-v1"),
    "Service": ("v1", "service-v1"),
    "Endpoints": ("v1", "endpoints-v1"),
    "ConfigMap": ("v1", "configmap-v1"),
    "Secret": ("v1", "secret-v1"),
    "Namespace": ("v1", "namespace-v1"),
    "Deployment": ("apps/v1", "deployment-apps-v1"),
    "StatefulSet": ("apps/v1", "statefulset-apps-v1"),
    "ReplicaSet": ("apps/v1", "replicaset-apps-v1"),
    "EndpointSlice": ("discovery.k8s.io/v1", "endpointslice-discovery-v1"),
    "NetworkPolicy": ("networking.k8s.io/v1", "networkpolicy-networking-v1"),
    "Ingress": ("networking.k8s.io/v1", "ingress-networking-v1"),
    "IngressClass": ("networking.k8s.io/v1", "ingressclass-networking-v1"),
}

_lock = _thread.allocate_lock()   # threading's Lock, without importing threading

#: Tests set this: every object then also goes through the Python validator, and an
#: object the fast validator accepts but jsonschema refuses fails the test (tests/conftest.py).
CROSS_CHECK = False


@lru_cache(maxsize=1)
def _package_dir() -> Path:
    """kubernetes_validate's folder, found without importing it (its __init__ imports
    jsonschema, the cost the fast path exists to avoid)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("kubernetes-validate is not installed; run 'make setup'")
    return Path(list(spec.submodule_search_locations)[0])


def _schema_file(stem: str) -> Any:
    import json  # only when a bundle is (re)built or errors are listed: not on a valid file's path

    with (_package_dir() / _SCHEMA_DIR / f"{stem}.json").open("r", encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def _definitions_contents() -> Any:
    return _schema_file("_definitions")


@lru_cache(maxsize=1)
def _definitions() -> "Resource":
    from referencing import Resource

    return Resource.from_contents(_definitions_contents())


def _definitions_file() -> Path:
    return _package_dir() / _SCHEMA_DIR / "_definitions.json"


def _bundle(stem: str) -> Any:
    """The kind's schema with the definitions it reaches inlined (grader.schema_bundle),
    from the user's cache after the first run."""
    from grader.schema_bundle import bundle, cached_bundle

    return cached_bundle(stem, _definitions_file(),
                         lambda: bundle(_schema_file(stem), _definitions_contents()["$defs"]))


@lru_cache(maxsize=None)
def _fast_validator(kind: str) -> Any:
    """A validity-only validator for one kind, built from its standalone bundle (no 1.8 MB
    definitions file to read and index): the bundle compiled to Python functions
    (grader.schema_compiled, cached), or jsonschema-rs for a schema that compiler does not
    handle, or None where neither is available (then every object goes through the Python
    validator: slower, same answers)."""
    stem = KINDS[kind][1]
    with _lock:
        from grader.schema_bundle import cache_folder
        from grader.schema_compiled import Unsupported, cached_validator

        try:
            return cached_validator(stem, cache_folder(_definitions_file()), lambda: _bundle(stem))
        except Unsupported:
            pass
        try:
            import jsonschema_rs
        except ImportError:  # pragma: no cover - it is a declared dependency
            return None
        # Formats are annotations, as in the Python validator and the API server's schema.
        return jsonschema_rs.validator_for(_bundle(stem), validate_formats=False)


def _is_valid(obj: dict) -> bool:
    fast = _fast_validator(obj["kind"])
    return fast is not None and bool(fast.is_valid(obj))


@lru_cache(maxsize=None)
def _validator(kind: str) -> "jsonschema.protocols.Validator":
    import jsonschema
    from referencing import Registry, Resource

    with _lock:
        schema = _schema_file(KINDS[kind][1])
        # No crawl(): every $ref is a URI plus a JSON pointer into a registered resource,
        # resolved when first followed; crawling would index all ~12,000 definitions up
        # front (0.2 s) for the handful one kind uses.
        registry: Registry = Registry().with_resources([
            (schema["$id"], Resource.from_contents(schema)),
            (_definitions().id(), _definitions()),  # type: ignore[list-item]
        ])
        return jsonschema.Draft202012Validator(schema, registry=registry)


def identity_issues(obj: dict) -> list[Issue]:
    """apiVersion/kind problems. Non-empty means: do not validate further."""
    out: list[Issue] = []
    kind = obj.get("kind")
    api_version = obj.get("apiVersion")
    if kind is None or kind == "":
        out.append(("kind", "required field 'kind' is missing (e.g. 'kind: Service')"))
    elif not isinstance(kind, str):
        out.append(("kind", f"must be a string such as 'Service', got {quote(kind)}"))
    elif kind not in KINDS and kind not in _crd_kinds():
        out.append(("kind", _unknown_kind(kind)))
    if api_version is None or api_version == "":
        hint = (
            f" (for {kind}: 'apiVersion: {KINDS[kind][0]}')"
            if isinstance(kind, str) and kind in KINDS
            else ""
        )
        out.append(("apiVersion", f"required field 'apiVersion' is missing{hint}"))
    elif not isinstance(api_version, str):
        out.append(("apiVersion", f"must be a string such as 'v1', got {quote(api_version)}"))
    elif isinstance(kind, str) and kind not in KINDS and kind in _crd_kinds():
        from grader.k8s.gateway_crd import api_version_issue

        why = api_version_issue(kind, api_version)
        if why:
            out.append(("apiVersion", why))
    elif isinstance(kind, str) and kind in KINDS and api_version != KINDS[kind][0]:
        out.append(("apiVersion", f"apiVersion {quote(api_version)} is wrong for {kind}; "
                    f"use '{KINDS[kind][0]}'"))
    return out


def _crd_kinds() -> Any:
    """The Gateway API kinds (grader.k8s.gateway_crd), imported only when an object is not of
    a core kind: building that module's schema tables costs more than a file of Services."""
    from grader.k8s.gateway_crd import CRD_KINDS

    return CRD_KINDS


def _unknown_kind(kind: str) -> str:
    CRD_KINDS = _crd_kinds()
    msg = f"kind {quote(kind)} is not a kind this course knows"
    for known in [*KINDS, *CRD_KINDS]:
        if known.lower() == kind.lower():
            return f"{msg}; did you mean '{known}'? (kinds are case-sensitive)"
    import difflib

    close = difflib.get_close_matches(kind, [*KINDS, *CRD_KINDS], n=1, cutoff=0.6)
    if close:
        return f"{msg}; did you mean '{close[0]}'?"
    return f"{msg}; use one of: {', '.join(sorted([*KINDS, *CRD_KINDS]))}"


def schema_issues(obj: dict) -> list[Issue]:
    """Every schema violation of an object whose apiVersion and kind are known, in
    jsonschema's order and possibly repeated: grader.manifests.validate_object sorts and
    de-duplicates them together with the semantic rules' issues."""
    if obj["kind"] not in KINDS and obj["kind"] in _crd_kinds():   # Gateway API CRDs
        from grader.k8s.gateway_crd import crd_schema_issues

        return crd_schema_issues(obj)
    fast_says_valid = _is_valid(obj)
    if fast_says_valid and not CROSS_CHECK:
        return []
    validator = _validator(obj["kind"])
    out: list[Issue] = []
    for error in validator.iter_errors(obj):
        out += _translate(error)
    if fast_says_valid and out:
        raise AssertionError(f"the fast validator accepts what jsonschema refuses: {out}")
    return out


def _path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path = join_index(path, part) if isinstance(part, int) else join_key(path, str(part))
    return path


_TYPE_WORDS = {
    "integer": "an integer", "string": "a string", "boolean": "true or false",
    "object": "a mapping (key: value pairs)", "array": "a list", "number": "a number",
}


def _type_words(types: Any) -> str:
    names = [types] if isinstance(types, str) else [t for t in types if t != "null"]
    return " or ".join(_TYPE_WORDS.get(t, t) for t in names) or "null"


def _got(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return quote(value)


def _translate(error: "jsonschema.ValidationError") -> list[Issue]:
    path = _path(error.absolute_path)
    keyword = error.validator
    value = error.instance
    if keyword == "additionalProperties" and isinstance(value, dict):
        import difflib

        known = list(error.schema.get("properties", {}))
        out = []
        for key in value:
            if key in known:
                continue
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            lower = [k for k in known if k.lower() == key.lower()]
            hint = f" (did you mean '{(lower or close)[0]}'?)" if lower or close else ""
            out.append((join_key(path, key), f"unknown field {quote(key)}{hint}"))
        return out
    if keyword == "required" and isinstance(value, dict):
        return [(join_key(path, name), f"required field '{name}' is missing")
                for name in error.validator_value if name not in value]
    if keyword == "type":
        want = _type_words(error.validator_value)
        extra = ""
        if isinstance(value, str) and "integer" in str(error.validator_value) and value.strip().isdigit():
            extra = " (remove the quotes)"
        if isinstance(value, (int, float, bool)) and error.validator_value in ("string", ["string", "null"]):
            extra = " (put it in quotes)"
        return [(path, f"must be {want}, got {_got(value)}{extra}")]
    if keyword == "enum":
        return [(path, f"unsupported value {_got(value)}; use one of "
                 + ", ".join(quote(v) for v in error.validator_value))]
    if keyword == "oneOf":
        if value is None:
            # IntOrString and Quantity are `oneOf` two nullable types, so null matches both
            # and fails oneOf; the API server decodes null as "unset" and accepts it.
            return []
        types = {t for s in error.validator_value for t in _flat_types(s)}
        if types >= {"integer", "string"}:
            return [(path, f"must be an integer or a string, got {_got(value)}")]
    return [(path, error.message)]


def _flat_types(schema: Any) -> list[str]:
    t = schema.get("type", []) if isinstance(schema, dict) else []
    return [t] if isinstance(t, str) else list(t)
