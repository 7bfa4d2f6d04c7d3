"""Each kind's schema compiled to Python functions that answer one question, "is this object
valid?", and cached, compiled, next to the kind's bundle (grader.schema_bundle).

Why: the Kubernetes schemas use a handful of JSON Schema keywords (type, properties,
additionalProperties, required, items, enum, oneOf, $ref). A plain Python function per
schema node answers as fast as a general validator, and loading the cached code object
costs about a millisecond, where importing a general validator costs more than validating
a whole file. A schema using any other assertion keyword is not compiled (`Unsupported`):
grader.schema then uses jsonschema-rs for that kind. Only validity is answered here;
the errors of an invalid object come from the Python validator, as before.

Semantics are JSON Schema 2020-12's over JSON-like trees (what grader.safe_yaml builds):
"integer" accepts 3.0, booleans are not numbers, annotations (description, format,
x-kubernetes-*) assert nothing. tests/rules/test_schema_compiled.py holds the compiled
functions to the Python validator's verdict on every fixture and many mutations of them.
"""
from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any, Callable

#: Bump when the generated code changes: cached code of another version is never used.
GENERATOR_VERSION = 1

#: Assertion keywords this compiler does not implement; a schema using one is Unsupported.
UNSUPPORTED = frozenset({
    "allOf", "anyOf", "not", "if", "then", "else", "const", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern",
    "minItems", "maxItems", "uniqueItems", "contains", "minContains", "maxContains",
    "minProperties", "maxProperties", "propertyNames", "patternProperties", "dependentRequired",
    "dependentSchemas", "prefixItems", "unevaluatedItems", "unevaluatedProperties",
    "$dynamicRef", "$recursiveRef", "dependencies", "additionalItems",
})
_TYPE_TESTS = {
    "string": "t is str",
    "integer": "(t is int or (t is float and x.is_integer()))",
    "number": "(t is int or t is float)",
    "boolean": "t is bool",
    "null": "x is None",
    "object": "t is dict",
    "array": "t is list",
}


class Unsupported(ValueError):
    """The schema uses something this compiler does not implement."""


class CompiledValidator:
    """`is_valid(obj)`, as jsonschema-rs's validators offer it."""

    def __init__(self, fn: Callable[[Any], bool]) -> None:
        self.is_valid = fn


def generate(schema: dict) -> str:
    """Python source defining `root(x) -> bool` for a standalone schema (refs "#/$defs/...")."""
    lines: list[str] = []
    consts: list[str] = []
    defs = schema.get("$defs") or {}
    def_fn = {name: f"d{i}" for i, name in enumerate(defs)}
    counter = [0]

    def node(s: Any, name: str | None = None) -> str:
        if s is True or s == {}:
            return "_true"
        if s is False:
            return "_false"
        if not isinstance(s, dict):
            raise Unsupported(f"schema {s!r}")
        bad = UNSUPPORTED.intersection(s)
        if bad:
            raise Unsupported(", ".join(sorted(bad)))
        if name is None:
            counter[0] += 1
            name = f"n{counter[0]}"
        body: list[str] = []
        types = s.get("type")
        if types is not None:
            tlist = [types] if isinstance(types, str) else list(types)
            if not tlist or any(t not in _TYPE_TESTS for t in tlist):
                raise Unsupported(f"type {types!r}")
            body.append(f"if not ({' or '.join(_TYPE_TESTS[t] for t in tlist)}): return False")
        if "enum" in s:
            values = s["enum"]
            if not isinstance(values, list) or not all(v is None or isinstance(v, str) for v in values):
                raise Unsupported("enum of values other than strings and null")
            consts.append(f"E_{name} = frozenset({values!r})")
            body.append(f"if not ((t is str or x is None) and x in E_{name}): return False")
        ref = s.get("$ref")
        if ref is not None:
            if not isinstance(ref, str) or not ref.startswith("#/$defs/") or ref[8:] not in def_fn:
                raise Unsupported(f"$ref {ref!r}")
            body.append(f"if not {def_fn[ref[8:]]}(x): return False")
        obj_lines = []
        required = s.get("required")
        if required:
            consts.append(f"R_{name} = {tuple(required)!r}")
            obj_lines.append(f"for k in R_{name}:\n            if k not in x: return False")
        props = s.get("properties") or {}
        extra = s.get("additionalProperties", True)
        if props or extra is not True:
            pairs = ", ".join(f"{k!r}: {node(v)}" for k, v in props.items())
            consts.append(f"P_{name} = {{{pairs}}}")
            extra_fn = None if extra is False else node(extra)
            loop = (f"for k, v in x.items():\n            g = P_{name}.get(k)\n"
                    f"            if g is not None:\n                if not g(v): return False\n")
            if extra_fn is None:
                loop += "            else: return False"
            elif extra_fn != "_true":
                loop += f"            elif not {extra_fn}(v): return False"
            obj_lines.append(loop.rstrip())
        if obj_lines:
            body.append("if t is dict:\n        " + "\n        ".join(obj_lines))
        if "items" in s:
            item_fn = node(s["items"])
            if item_fn != "_true":
                body.append(f"if t is list:\n        for v in x:\n"
                            f"            if not {item_fn}(v): return False")
        if "oneOf" in s:
            subs = [node(sub) for sub in s["oneOf"]]
            consts.append(f"O_{name} = ({', '.join(subs)},)")
            body.append(f"if sum(1 for g in O_{name} if g(x)) != 1: return False")
        statements = "".join(f"    {b}\n" for b in body)
        lines.append(f"def {name}(x):\n    t = type(x)\n" + statements + "    return True\n")
        return name

    for dname, fname in def_fn.items():
        node(defs[dname], fname)
    node({k: v for k, v in schema.items() if k != "$defs"}, "root")
    head = "def _true(x):\n    return True\n\ndef _false(x):\n    return False\n"
    return head + "\n".join(lines) + "\n" + "\n".join(consts) + "\n"


def compile_schema(schema: dict) -> CodeType:
    return compile(generate(schema), "<svclab compiled schema>", "exec")


def load(code: CodeType) -> CompiledValidator:
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - our own generated code, from our own schema files
    return CompiledValidator(namespace["root"])


def cached_validator(stem: str, folder: Path | None, schema: Callable[[], dict]) -> CompiledValidator:
    """The compiled validator of bundle `stem`, its code object read from `folder` when
    cached there (per Python version and generator version), else compiled and saved."""
    path = None
    if folder is not None:
        path = folder / f"{stem}.v{GENERATOR_VERSION}.{sys.implementation.cache_tag}.code"
        try:
            return load(marshal.loads(path.read_bytes()))
        except (OSError, ValueError, EOFError, TypeError):
            pass
    code = compile_schema(schema())
    if path is not None:
        try:
            import tempfile

            folder.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps(code))
            os.replace(tmp, path)
        except OSError:
            pass
    return load(code)
