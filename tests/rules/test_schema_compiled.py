"""grader.schema_compiled: the compiled validity check answers as the Python validator does
over the complete definitions, on every fixture object and on many broken variants."""
from __future__ import annotations

import copy

import pytest
from test_schema_bundle import corpus, full_verdict, mutations

from grader import schema
from grader.schema_bundle import bundle
from grader.schema_compiled import Unsupported, cached_validator, compile_schema, generate, load


def compiled(kind: str):
    stem = schema.KINDS[kind][1]
    return load(compile_schema(bundle(schema._schema_file(stem), schema._definitions_contents()["$defs"])))


def scalar_variants(obj: dict) -> list[dict]:
    """Each scalar leaf (first 60) replaced by values JSON Schema types tell apart."""
    out = []
    leaves = []

    def walk(node, path):
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            if isinstance(v, (dict, list)):
                walk(v, path + [k])
            else:
                leaves.append(path + [k])

    walk(obj, [])
    for path in leaves[:60]:
        for value in (None, True, 3.0, 3.5, -1, "x", "Http", {}, []):
            o = copy.deepcopy(obj)
            node = o
            for p in path[:-1]:
                node = node[p]
            if path[-1] in ("kind", "apiVersion"):
                continue
            node[path[-1]] = value
            out.append(o)
    return out


def test_compiled_validators_agree_with_the_python_validator() -> None:
    validators = {k: compiled(k) for k in schema.KINDS}
    checked = invalid = 0
    for obj in corpus():
        for o in [obj, *mutations(obj), *scalar_variants(obj)]:
            want = full_verdict(o)
            assert validators[o["kind"]].is_valid(o) == want, (o["kind"], o)
            checked += 1
            invalid += not want
    assert invalid > 1000 and checked - invalid > 200


def test_int_or_string_and_integer_semantics() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": "http"}]}}
    v = compiled("Service")
    for target, ok in (("http", True), (8080, True), (8080.0, True), (8080.5, False), (True, False),
                       (None, False), ([8080], False)):
        o = copy.deepcopy(svc)
        o["spec"]["ports"][0]["targetPort"] = target
        assert v.is_valid(o) is ok and full_verdict(o) is ok, target


def test_a_keyword_it_does_not_implement_is_refused_not_ignored() -> None:
    with pytest.raises(Unsupported, match="pattern"):
        generate({"type": "string", "pattern": "^a"})
    with pytest.raises(Unsupported, match="ref"):
        generate({"$ref": "https://example.com/other.json"})


def test_the_code_is_cached_and_a_damaged_cache_is_rebuilt(tmp_path) -> None:
    calls = []

    def schema_source():
        calls.append(1)
        return {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}

    for _ in range(2):
        v = cached_validator("t-v1", tmp_path, schema_source)
        assert v.is_valid({"a": 1}) and not v.is_valid({"a": "1"}) and not v.is_valid({"b": 1})
    assert len(calls) == 1
    (saved,) = tmp_path.glob("t-v1.*.code")
    saved.write_bytes(b"garbage")
    assert cached_validator("t-v1", tmp_path, schema_source).is_valid({"a": 2}) and len(calls) == 2
