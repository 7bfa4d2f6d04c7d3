"""grader.schema_bundle: each kind's standalone schema answers exactly as the full
definitions do, and the user's cache only ever saves time."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from grader import schema
from grader.schema_bundle import bundle, cached_bundle

ROOT = Path(__file__).resolve().parents[2]


def corpus() -> list[dict]:
    """Every object of the test fixtures and the lab solutions that the schema knows."""
    out = []
    for path in sorted([*ROOT.glob("tests/fixtures/**/*.yaml"), *ROOT.glob("solutions/**/*.yaml")]):
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        out += [d for d in docs if isinstance(d, dict) and d.get("kind") in schema.KINDS]
    return out


def mutations(obj: dict) -> list[dict]:
    """Invalid variants: an unknown field and a wrong type at every mapping, one at a time."""
    out = []

    def walk(node, path):
        if isinstance(node, dict):
            yield path
            for k, v in node.items():
                yield from walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, path + [i])

    for path in list(walk(obj, []))[:40]:
        for change in ("unknown", "type"):
            o = copy.deepcopy(obj)
            node = o
            for p in path:
                node = node[p]
            if change == "unknown":
                node["notAField"] = 1
            else:
                for k, v in node.items():
                    if isinstance(v, (str, int)) and not isinstance(v, bool):
                        node[k] = [v]
                        break
                else:
                    continue
            out.append(o)
    return out


def full_verdict(obj: dict) -> bool:
    """The Python validator over the complete definitions file: the reference."""
    return not any(True for _ in schema._validator(obj["kind"]).iter_errors(obj))


def bundled(kind: str):
    stem = schema.KINDS[kind][1]
    return jsonschema_rs.validator_for(bundle(schema._schema_file(stem), schema._definitions_contents()["$defs"]),
                                       validate_formats=False)


def test_bundles_agree_with_the_full_definitions() -> None:
    objs = corpus()
    assert len({o["kind"] for o in objs}) >= 6, "the corpus should cover most kinds"
    validators = {k: bundled(k) for k in schema.KINDS}
    checked = invalid = 0
    for obj in objs:
        for o in [obj, *mutations(obj)]:
            want = full_verdict(o)
            assert validators[o["kind"]].is_valid(o) == want, (o["kind"], json.dumps(o)[:300])
            checked += 1
            invalid += not want
    assert invalid > 100 and checked - invalid > 20


@pytest.mark.parametrize("kind", sorted(schema.KINDS))
def test_a_bundle_is_standalone_and_small(kind) -> None:
    stem = schema.KINDS[kind][1]
    b = bundle(schema._schema_file(stem), schema._definitions_contents()["$defs"])
    text = json.dumps(b)
    assert "_definitions.json" not in text
    assert len(text) < 200_000                       # the definitions file is 1.8 MB
    refs = set(re.findall(r'"\$ref": "#/\$defs/([^"]+)"', text))
    assert refs and refs == set(b["$defs"])          # every definition reached, none more


def test_the_cache_is_written_once_then_read(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SVCLAB_SCHEMA_CACHE", str(tmp_path))
    defs = schema._package_dir() / schema._SCHEMA_DIR / "_definitions.json"
    calls = []

    def build():
        calls.append(1)
        return {"type": "object"}

    assert cached_bundle("x-v1", defs, build) == {"type": "object"}
    assert cached_bundle("x-v1", defs, build) == {"type": "object"}
    assert len(calls) == 1
    (saved,) = tmp_path.glob("*/x-v1.json")
    saved.write_text("{not json")                    # a damaged file is rebuilt, not trusted
    assert cached_bundle("x-v1", defs, build) == {"type": "object"} and len(calls) == 2


def test_a_cache_that_cannot_be_written_costs_only_time(tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("SVCLAB_SCHEMA_CACHE", str(blocker / "sub"))   # under a file: mkdir fails
    defs = schema._package_dir() / schema._SCHEMA_DIR / "_definitions.json"
    assert cached_bundle("y-v1", defs, lambda: {"type": "string"}) == {"type": "string"}
