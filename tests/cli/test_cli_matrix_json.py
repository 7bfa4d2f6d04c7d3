"""`svclab matrix --format json`: the grouped form, the cell form (--explain), their schema,
and that both say the same thing about every cell."""
from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from test_model_kit import deployment, netpol

from grader.cli import main
from grader.commands.matrix_json import SCHEMA_FILE, write_matrix_json
from grader.model.state import ClusterState

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "netpol"
SHOP, TRAP = str(FIX / "shop"), str(FIX / "service-port-trap")
MANY = ("--ports", "53,8080", "--protocols", "UDP,TCP")


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def schema() -> dict:
    doc = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(doc)
    return doc


def cells_of(capsys, *paths: str, extra: tuple[str, ...] = MANY) -> dict:
    rc, out, _ = run(capsys, "matrix", "--format", "json", "--explain", *extra, *paths)
    assert rc == 0
    return json.loads(out)


def grouped_of(capsys, *paths: str, extra: tuple[str, ...] = MANY, denied: bool = False) -> dict:
    rc, out, _ = run(capsys, "matrix", "--format", "json", *(["--explain-denied"] if denied else []), *extra, *paths)
    assert rc == 0
    return json.loads(out)


@pytest.mark.parametrize("path", [SHOP, TRAP])
def test_every_form_is_valid_under_the_published_schema(capsys, schema, path) -> None:
    for doc in (grouped_of(capsys, path), grouped_of(capsys, path, denied=True), cells_of(capsys, path)):
        jsonschema.validate(doc, schema, cls=jsonschema.Draft202012Validator)


def test_the_schema_refuses_what_the_forms_never_write(schema) -> None:
    good = {"format": "svclab.matrix.grouped/v1", "pods": [{"name": "a/p", "ip": "10.244.0.2", "group": 0}],
            "groups": 1, "tables": [{"port": 80, "protocol": "TCP", "allowed_cells": 1, "allowed": [[]]}]}
    jsonschema.validate(good, schema)
    bad_cell = dict(good, tables=[dict(good["tables"][0], denied=[{"from": "a/p", "to": "a/p"}])])
    bad_protocol = dict(good, tables=[dict(good["tables"][0], protocol="ICMP")])
    mixed = dict(good, results=[])
    for doc in (bad_cell, bad_protocol, mixed):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema)


@pytest.mark.parametrize("path", [SHOP, TRAP])
def test_grouped_form_says_what_the_cells_say(capsys, path) -> None:
    cells, grouped = cells_of(capsys, path), grouped_of(capsys, path, denied=True)
    assert [p["name"] for p in grouped["pods"]] == [p["name"] for p in cells["pods"]]
    assert [p["ip"] for p in grouped["pods"]] == [p["ip"] for p in cells["pods"]]
    group = {p["name"]: p["group"] for p in grouped["pods"]}
    assert max(group.values()) + 1 == grouped["groups"]
    tables = {(t["port"], t["protocol"]): t for t in grouped["tables"]}
    assert set(tables) == {(r["port"], r["protocol"]) for r in cells["results"]}
    for (port, protocol), t in tables.items():
        assert len(t["allowed"]) == grouped["groups"]
        mine = [r for r in cells["results"] if (r["port"], r["protocol"]) == (port, protocol)]
        for r in mine:
            said = r["from"] == r["to"] or group[r["to"]] in t["allowed"][group[r["from"]]]
            assert said == r["allowed"], (port, protocol, r)
        assert t["allowed_cells"] == sum(r["allowed"] for r in mine)
        assert t["denied"] == [{"from": r["from"], "to": r["to"], "reason": r["reason"]}
                               for r in mine if not r["allowed"]]
    assert any(t["denied"] for t in tables.values()) and any(t["allowed_cells"] for t in tables.values())


def test_reasons_only_when_asked(capsys) -> None:
    grouped = grouped_of(capsys, SHOP)
    assert all("denied" not in t for t in grouped["tables"])
    assert "reason" not in json.dumps(grouped)


def test_cell_form_is_the_notebook_api_format(capsys) -> None:
    from grader import manifests
    from grader.commands.matrix import used_namespaces
    from grader.model.matrix import matrix_from_engine

    rc, out, _ = run(capsys, "matrix", "--format", "json", "--explain", *MANY, SHOP)
    objs = [m.obj for m in manifests.load([SHOP])]
    state = ClusterState.from_objects(objs)
    keep = used_namespaces(objs)
    pods = [p for p in state.pods if p.namespace in keep and not p.pending]
    expected = matrix_from_engine(state.policy_engine(), pods, [53, 8080], ["UDP", "TCP"]).to_json()
    assert out == expected + "\n"


def test_the_grouped_form_grows_with_groups_not_pods(tmp_path, capsys) -> None:
    (tmp_path / "app.yaml").write_text(yaml.safe_dump_all([
        deployment("web", {"app": "web"}, replicas=200),
        deployment("db", {"app": "db"}, replicas=100),
        netpol("db-from-web", {"app": "db"}, policyTypes=["Ingress"],
               ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]),
    ]))
    doc = grouped_of(capsys, str(tmp_path), extra=("--nodes", "4", "--ports", "8080"))
    assert len(doc["pods"]) == 300 and doc["groups"] == 2
    web = next(p["group"] for p in doc["pods"] if p["name"].startswith("default/web-"))
    db = 1 - web
    (table,) = doc["tables"]
    assert table["allowed"][web] == sorted([web, db])         # web reaches everyone
    assert table["allowed"][db] == [web]                      # db reaches web, not its siblings
    assert table["allowed_cells"] == 300 * 300 - 100 * 99     # only db -> other db is denied


def test_explain_needs_the_json_format(capsys) -> None:
    rc, _, err = run(capsys, "matrix", "--explain", TRAP)
    assert rc == 2 and "--format json" in err


def test_unknown_explain_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="choose from"):
        write_matrix_json(None, io.StringIO(), "some")  # type: ignore[arg-type]
