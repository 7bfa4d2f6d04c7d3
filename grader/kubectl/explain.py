"""`kubectl explain RESOURCE[.field.path]` offline, from the API schema the project already
installs (kubernetes-validate's JSON schema of Kubernetes 1.37, the same one manifests are
validated against), in kubectl's plaintext layout: KIND, VERSION, FIELD, DESCRIPTION and
FIELDS with `<type>` and `-required-`.

That schema is derived from OpenAPI v2, so what it lacks kubectl's OpenAPI v3 answer has:
the ENUM section and the "Possible enum values" notes. `--recursive` is not modelled.
"""
from __future__ import annotations

import json
import textwrap
from functools import lru_cache
from importlib import resources
from typing import Any

from grader.kubectl.resources import NotModelled, lookup
from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session

SCHEMA_DIR = "kubernetes-json-schema/v1.37.0-local"


@lru_cache(maxsize=1)
def _defs() -> dict[str, Any]:
    ref = resources.files("kubernetes_validate").joinpath(f"{SCHEMA_DIR}/_definitions.json")
    with ref.open("r", encoding="utf-8") as fh:
        return json.load(fh)["$defs"]


def _root_name(kind: str, api_version: str) -> str | None:
    group, _, version = api_version.rpartition("/")
    for name, d in _defs().items():
        for gvk in d.get("x-kubernetes-group-version-kind") or []:
            if gvk.get("kind") == kind and gvk.get("version") == version and gvk.get("group", "") == group:
                return name
    return None


def _deref(schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = schema.get("$ref")
    if not ref:
        return None, schema
    name = ref.rsplit("/", 1)[-1]
    return name, _defs().get(name, {})


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def type_name(schema: dict[str, Any]) -> str:
    """kubectl's <type>: string, integer, boolean, []X, map[string]X, or a type's name."""
    name, target = _deref(schema)
    if name:
        if "properties" not in target and target.get("type"):
            named = [x for x in (target["type"] if isinstance(target["type"], list) else [target["type"]])
                     if x != "null"]
            if name.endswith("IntOrString"):
                return "IntOrString"
            if name.endswith("Quantity"):
                return "Quantity"
            return named[0] if named else _short(name)
        return _short(name)
    declared = schema.get("type") or []
    types = [t for t in (declared if isinstance(declared, list) else [declared]) if t != "null"]
    t = types[0] if types else "Object"
    if t == "array":
        return "[]" + type_name(schema.get("items") or {})
    if t == "object":
        if "additionalProperties" in schema:
            return "map[string]" + type_name(schema["additionalProperties"])
        return "Object"
    return t


def _wrap(text: str, indent: str = "    ") -> str:
    out = []
    for para in text.split("\n"):
        if not para.strip():
            out.append(indent.rstrip() if False else "")
            continue
        out.append(textwrap.fill(para, width=76, initial_indent=indent, subsequent_indent=indent,
                                 break_long_words=False, break_on_hyphens=False))
    return "\n".join(out)


def explain(resource: str) -> str:
    head, *path = resource.split(".")
    kind = lookup(head)
    root = _root_name(kind.kind, kind.api_version)
    if root is None:
        raise NotModelled(f"explain {resource}")
    schema = _defs()[root]
    field_name, field_schema = None, None
    for part in path:
        props = schema.get("properties") or {}
        if part not in props:
            raise KubectlError(f'error: field "{part}" does not exist')
        field_name, field_schema = part, props[part]
        sub = props[part]
        while True:
            _, target = _deref(sub)
            if (target.get("type") == "array" or "array" in (target.get("type") or [])) and "items" in target:
                sub = target["items"]
                continue
            break
        schema = target
    group, _, version = kind.api_version.rpartition("/")
    out = ""
    if group:
        out += f"GROUP:      {group}\n"
    out += f"KIND:       {kind.kind}\nVERSION:    {version}\n\n"
    if field_name is not None:
        out += f"FIELD: {field_name} <{type_name(field_schema or {})}>\n\n"
        desc = (field_schema or {}).get("description", "")
        if schema is not field_schema and schema.get("description") and schema.get("properties"):
            desc = (desc + "\n" + schema["description"]).strip()
    else:
        desc = schema.get("description", "")
    out += "DESCRIPTION:\n" + _wrap(desc or "<empty>") + "\n    \n"
    props = schema.get("properties") or {}
    if props:
        required = set(schema.get("required") or [])
        out += "FIELDS:\n"
        for name in sorted(props):
            p = props[name]
            out += f"  {name}\t<{type_name(p)}>" + (" -required-" if name in required else "") + "\n"
            if p.get("description"):
                out += _wrap(p["description"]) + "\n"
            out += "\n"
    return out


def run(s: Session) -> None:
    if s.inv.flag("recursive"):
        raise NotModelled("explain --recursive")
    if len(s.inv.args) != 1:
        raise KubectlError(
            "error: You must specify the type of resource to explain. Use \"kubectl api-resources\" "
            "for a complete list of supported resources."
        )
    s.write(explain(s.inv.args[0]))
