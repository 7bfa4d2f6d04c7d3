"""Safe loading: limits are enforced on the event stream, before anything is expanded."""
from __future__ import annotations

import sys
import time

import pytest
import yaml

from grader import safe_yaml
from grader.manifests import Limits, check
from grader.safe_yaml import parse_documents

BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
) + "\n"


def messages(text: str, **limits: int) -> list[str]:
    return [i.message for i in parse_documents(text, Limits(**limits))[1]]


def test_billion_laughs_is_refused_before_expansion():
    start = time.perf_counter()
    docs, issues = parse_documents(BILLION_LAUGHS)
    elapsed = time.perf_counter() - start
    assert docs == []
    assert len(issues) == 1
    assert "aliases would expand to more than 10000 values" in issues[0].message
    assert elapsed < 1.0  # 9**9 nodes if expanded; refused from the event stream


def test_too_many_aliases_even_if_each_is_small():
    text = "base: &x 1\nl: [" + ", ".join(["*x"] * 101) + "]\n"
    assert any("more than 100 YAML aliases" in m for m in messages(text))
    docs, issues = parse_documents(text, Limits(max_aliases=200))
    assert docs and not issues


def test_recursive_alias_is_refused():
    assert any("refers to a node that contains it" in m for m in messages("a: &x\n  b: *x\n"))


def test_aliases_become_independent_copies():
    docs, issues = parse_documents("a: &x {k: [1, 2]}\nb: *x\n")
    assert not issues
    tree = docs[0][1]
    tree["a"]["k"].append(3)
    assert tree["b"] == {"k": [1, 2]}


def test_merge_key_is_not_a_duplicate():
    docs, issues = parse_documents("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n")
    assert not issues
    assert docs[0][1]["m"] == {"x": 1, "y": 3}


def test_duplicate_key_is_reported_with_its_path_and_lines():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n"
    docs, issues = parse_documents(text)
    assert docs == []
    assert issues[0].path == "metadata.name"
    assert "duplicate key 'name' (first at line 4, again at line 5)" in issues[0].message


def test_nesting_depth_is_bounded_without_recursion():
    # 5000 levels under a recursion limit of 300: a parser that recursed once per level would
    # raise RecursionError instead of reporting the depth.
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)
    try:
        msgs = messages(text)
    finally:
        sys.setrecursionlimit(limit)
    assert msgs == ["nesting deeper than 64 levels"]


def test_document_count_is_bounded():
    text = "---\na: 1\n" * 5
    assert messages(text, max_documents=5) == []
    assert "more than 4 YAML documents" in messages(text, max_documents=4)[0]


def test_string_size_is_bounded():
    assert "larger than 1 KiB" in messages("a: " + "x" * 2000, max_bytes=1024)[0]


def test_big_file_is_refused_by_size_without_reading_it(tmp_path, monkeypatch):
    big = tmp_path / "huge.yaml"
    with open(big, "wb") as fh:
        fh.truncate(50 << 20)  # sparse: 50 MiB on paper
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or real_open(*a, **k))
    start = time.perf_counter()
    _, problems = check(big)
    assert time.perf_counter() - start < 1.0
    assert opened == []  # stat said no; the file was never opened
    assert [p.message for p in problems] == [
        "file is 50 MiB, larger than the 1 MiB limit; course manifests are a few kilobytes"]


def test_a_file_longer_than_stat_said_is_read_whole_and_still_bounded(tmp_path, monkeypatch):
    # It grew between stat and read (or is a pipe, whose size stat gives as 0).
    import os
    from types import SimpleNamespace

    from grader.safe_yaml import read_text

    grown = tmp_path / "grown.yaml"
    grown.write_text("a: 1\n" * 100)               # 500 bytes
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: SimpleNamespace(st_size=10) if str(p) == str(grown)
                        else real_stat(p, *a, **k))
    assert read_text(str(grown), Limits()) == ("a: 1\n" * 100, None)
    assert read_text(str(grown), Limits(max_bytes=400)) == (None, safe_yaml.YamlIssue(
        None, "", "file is larger than the 400 bytes limit"))


def test_syntax_error_keeps_the_documents_before_it():
    docs, issues = parse_documents("a: 1\n---\nb: [\n---\nc: 3\n")
    assert [i for i, _ in docs] == [0]
    assert issues[0].doc == 1
    assert issues[0].message.startswith("YAML syntax error at line")


def test_tabs_get_a_hint():
    msgs = messages("a:\n\tb: 1\n")
    assert "indent with spaces, not tabs" in msgs[0]


def test_empty_documents_are_skipped_but_counted():
    docs, issues = parse_documents("---\n---\na: 1\n---\n# comment\n---\nb: 2\n")
    assert not issues
    assert docs == [(1, {"a": 1}), (3, {"b": 2})]


def test_dates_stay_strings_and_keys_become_strings():
    docs, _ = parse_documents("when: 2024-01-01\n80: http\ntrue: yes\n")
    assert docs[0][1] == {"when": "2024-01-01", "80": "http", "true": True}


def test_custom_tags_are_a_problem_not_a_crash():
    assert "unsupported YAML tag" in messages("a: !Ref foo\n")[0]


def test_complex_keys_are_refused():
    assert "a mapping key must be a plain value" in messages("? [a, b]\n: 1\n")[0]


def test_uses_the_c_loader_when_available():
    if hasattr(yaml, "CSafeLoader"):
        assert issubclass(safe_yaml._Loader, yaml.CSafeLoader)


@pytest.mark.parametrize("value", ["=", "x"])
def test_plain_scalars_that_pyyaml_mistypes(value):
    docs, issues = parse_documents(f"a: {value}\n")
    assert not issues and docs[0][1] == {"a": value}


# --------------------------------------------------------------------------- values that cannot become JSON

@pytest.mark.parametrize("text, path, words", [
    ("binaryData: {a: !!binary aGVsbG8=}\n", "binaryData.a", "binary (!!binary) values are not allowed"),
    ("data: !!set {a, b}\n", "data", "Python type 'set'"),
    ("port: " + "1" * 5000 + "\n", "", "thousands of digits"),
    ("a: !!bool foo\n", "", "does not fit its explicit YAML tag"),
    ("a: !!timestamp foo\n", "", "does not fit its explicit YAML tag"),
    ("a: !!int foo\n", "", "cannot be read as its YAML type"),
    ("a: !!timestamp 2024-13-45\n", "", "cannot be read as its YAML type"),
])
def test_unbuildable_values_are_issues_not_crashes(text, path, words):
    docs, issues = parse_documents(text)
    assert docs == []
    assert [(i.doc, i.path) for i in issues] == [(0, path)]
    assert words in issues[0].message


def test_an_unbuildable_document_does_not_spoil_the_next_one():
    docs, issues = parse_documents("a: !!bool foo\n---\nb: 1\n---\nc: !!set {x}\n---\nd: 2\n")
    assert docs == [(1, {"b": 1}), (3, {"d": 2})]
    assert [i.doc for i in issues] == [0, 2]


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.inf", "!!float " + "9" * 400])
def test_non_finite_floats_are_refused(value):
    docs, issues = parse_documents(f"a: {value}\n")
    assert docs == []
    assert [(i.path, i.message) for i in issues] == [
        ("a", "JSON cannot hold NaN or infinity (.nan, .inf); write a finite number")]


@pytest.mark.parametrize("value", [str(2**63), str(-(2**63) - 1), "0x" + "f" * 17, "0b1" + "0" * 64])
def test_integers_outside_int64_are_refused(value):
    docs, issues = parse_documents(f"a: {value}\n")
    assert docs == []
    assert issues[0].path == "a" and issues[0].message.startswith("JSON cannot hold this")


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63)])
def test_int64_bounds_are_fine(value):
    assert parse_documents(f"a: {value}\n") == ([(0, {"a": value})], [])


def test_copy_tree_refuses_what_json_cannot_hold_without_formatting_it():
    with pytest.raises(safe_yaml.TreeError) as info:
        safe_yaml.copy_tree({"spec": {"ports": [{"port": 10**5000}]}})
    assert info.value.path == "spec.ports[0].port"
    assert "JSON cannot hold this 16610-bit integer" in info.value.message
    with pytest.raises(safe_yaml.TreeError, match="JSON cannot hold NaN"):
        safe_yaml.copy_tree({"cpu": float("nan")})
    with pytest.raises(safe_yaml.TreeError, match="is not a string"):
        safe_yaml.copy_tree({10**5000: 1})


# --------------------------------------------------------------------------- YAML 1.1 key collisions

@pytest.mark.parametrize("text, key, spellings", [
    ("data: {0x10: a, 16: b}\n", "16", ("'0x10'", "'16'")),
    ("data: {yes: a, true: b}\n", "true", ("'yes'", "'true'")),
    ("data:\n  on: a\n  'x': 1\n  True: b\n", "true", ("'on' (line 2)", "'True' (line 4)")),
    ("data: {0x10: a, '16': b}\n", "16", ("'0x10'", "'16'")),
])
def test_keys_that_mean_the_same_are_duplicates(text, key, spellings):
    docs, issues = parse_documents(text)
    assert docs == []
    assert [i.path for i in issues] == [f"data.{key}"]
    assert issues[0].message.startswith(f"duplicate key '{key}': ")
    for spelling in spellings:
        assert spelling in issues[0].message


@pytest.mark.parametrize("text, key, spellings", [
    ("data:\n  1.0: a\n  1: b\n", "1", ("'1.0' (line 2)", "'1' (line 3)")),
    ("data: {yes: a, 1: b}\n", "1", ("'yes'", "'1'")),
    ("data: {0: a, off: b}\n", "false", ("'0'", "'off'")),
])
def test_keys_that_one_python_dict_would_merge_are_duplicates(text, key, spellings):
    # Different keys as JSON strings, but 1 == 1.0 == True to PyYAML's dict: it kept one
    # key and the last value, so a learner's value vanished without a word.
    docs, issues = parse_documents(text)
    assert docs == []
    assert [i.path for i in issues] == [f"data.{key}"]
    assert issues[0].message.startswith(f"duplicate key '{key}': ")
    for spelling in spellings:
        assert spelling in issues[0].message


def test_key_collisions_are_found_in_nested_and_aliased_mappings():
    docs, issues = parse_documents("a: &x [{k: {1: a, 01: b}}]\nb: *x\n")
    assert docs == [] and [i.path for i in issues] == ["a[0].k.1"]


def test_merge_keys_may_override_without_a_collision():
    docs, issues = parse_documents("base: &b {16: a}\nc: {<<: *b, 0x10: c}\n")
    assert not issues and docs[0][1]["c"] == {"16": "c"}


def test_copy_tree_refuses_keys_that_collide_as_strings():
    with pytest.raises(safe_yaml.TreeError) as info:
        safe_yaml.copy_tree({"data": {16: "a", "16": "b"}})
    assert info.value.path == "data.16"
    assert info.value.message.startswith("duplicate key '16': 16 and '16'")
    with pytest.raises(safe_yaml.TreeError, match="duplicate key 'true'"):
        safe_yaml.copy_tree({True: 1, "true": 2})


# --------------------------------------------------------------------------- base 60

@pytest.mark.parametrize("value", ["1:20", "-1:20", "190:20:30", "1:20.5", "1:20:30.25"])
def test_base_60_numbers_stay_strings(value):
    assert parse_documents(f"port: {value}\n") == ([(0, {"port": value})], [])


@pytest.mark.parametrize("value, number", [("0x10", 16), ("017", 15), ("0b11", 3), ("1_000", 1000),
                                           ("-12", -12), ("1.5", 1.5), (".5", 0.5), ("1.0e+3", 1000.0), ("-.5", "-.5")])
def test_other_yaml_numbers_are_unchanged(value, number):
    assert parse_documents(f"n: {value}\n") == ([(0, {"n": number})], [])


def test_base_60_port_is_refused_by_the_schema_as_the_api_server_would():
    svc = ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
           "spec: {selector: {app: a}, ports: [{port: 1:20}]}\n")
    _, problems = check(svc)
    assert [(p.path, p.message) for p in problems] == [("spec.ports[0].port", "must be an integer, got '1:20'")]


def test_block_nesting_is_bounded_by_our_limit_not_libyamls():
    # 1100 levels of block mappings (~600 KB, under the size limit): past libyaml's own
    # cap (1000 in the libyaml PyYAML >= 6.0.2 bundles), so only our limit may speak.
    text = "".join(" " * i + f"k{i}:\n" for i in range(1100)) + " " * 1100 + "v\n"
    assert messages(text) == ["nesting deeper than 64 levels"]


def test_flow_nesting_past_our_limit_with_the_pure_python_parser(monkeypatch):
    # Where PyYAML has no C extension, the event walk uses the pure-Python parser.
    from grader import safe_yaml

    text = "a: " + "[" * 200 + "]" * 200 + "\n"
    with pytest.raises(safe_yaml._Refused) as refused:
        safe_yaml._scan(text, safe_yaml.DEFAULT_LIMITS, parser=yaml.SafeLoader)
    assert refused.value.issue.message == "nesting deeper than 64 levels"


# --------------------------------------------------------------------------- the walk's direct build

#: Inputs where building the tree in the event walk could differ from PyYAML's
#: compose + construct + copy_tree: every value type, key spellings that collide once
#: read, and each thing the walk must hand back to PyYAML (anchors, tags, merge keys,
#: values JSON cannot hold), alone and next to plain documents.
DIRECT_BUILD_CASES = [
    "apiVersion: v1\nkind: Service\nmetadata: {name: web, labels: {app.kubernetes.io/name: web}}\n"
    "spec:\n  ports:\n  - {port: 80, targetPort: http, protocol: TCP}\n",
    "a: [1, -2, 0x1F, 017, 0b101, 1_000, 1.5, .5, -.5, 1.0e+3, 1e3, 1:20, true, yes, Off, ~, null, '', x]\n",
    "k: |\n  line one\n  line two\nf: >-\n  folded\n  text\nq: 'single'\nd: \"double\\n\"\n",
    "1: a\n01: b\n", "1: a\n'1': b\n", "0x10: a\n16: b\n", "yes: a\ntrue: b\n", "1.0: a\n1: b\n",
    "null: a\n~: b\n", "'': a\n? b\n", "true: 1\n'true': 2\n", "{on: 1, off: 2, y: 3, n: 4}\n",
    ".inf: a\n", "-.inf: 1\n", f"{2**63}: a\n", "a: .nan\n", f"a: {2**63}\n", "a: " + "1" * 5000 + "\n",
    "=: a\n", "a: =\n", "<<: {a: 1}\nb: 2\n", "a: <<\n", "a: &x 1\nb: 2\n", "a: &x [1]\nb: *x\n",
    "a: !!str 1\n", "a: !!int '7'\n", "a: !!binary aGk=\n", "a: !Ref x\n", "!!map {a: 1}\n",
    "a: 1\na: 2\n", "? [a]\n: 1\n", "? {a: 1}\n: 1\n", "a: [{b: [{c: {d: [1, {e: f}]}}]}]\n",
    "plain scalar\n", "- 1\n- two\n", "", "# only a comment\n", "---\n---\n...\n", "a: 1\n...\n---\nb: 2\n",
    "a: 1\n---\nb: !!bool maybe\n---\nc: 3\n---\nd: &y 4\ne: *y\n---\nf: 0x10\n16: g\n---\nh: 5\n",
    "a: 1\n---\nb: [\n---\nc: 3\n", "a:\n\tb: 1\n", "a: {b: 1, b: 2}\n---\nc: 1\n",
    "a: 2024-01-01\n2024-01-01: x\n", "émoji: ✓\n\"\\u00e9\": 1\n", BILLION_LAUGHS,
    "a: &x 1\nb: &x 2\n---\nc: &y [1]\nd: *y\n", "a: &x 1\r\nb: &x 2\r\n---\r\nc: &y 1\r\nd: *y\r\n",
    "a: &x [&x 1]\n---\n%YAML 1.1\n---\nb: &z 2\nc: *z\n",
]


@pytest.mark.parametrize("text", DIRECT_BUILD_CASES)
def test_the_direct_build_agrees_with_pyyamls_construction(text):
    direct = safe_yaml._parse(text, safe_yaml.DEFAULT_LIMITS, build=True)
    constructed = safe_yaml._parse(text, safe_yaml.DEFAULT_LIMITS, build=False)
    assert repr(direct) == repr(constructed)  # repr: 1, 1.0 and True differ too


def test_a_plain_document_is_built_without_pyyamls_constructors(monkeypatch):
    monkeypatch.setattr(safe_yaml, "_construct", lambda *a, **k: pytest.fail("constructed by PyYAML"))
    docs, issues = parse_documents("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n---\n"
                                   "spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\n")
    assert issues == []
    assert docs == [(0, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
                    (1, {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}})]


def test_built_trees_share_nothing_not_even_across_calls():
    text = "a: {labels: [x]}\nb: {labels: [x]}\n"
    first, _ = parse_documents(text)
    first[0][1]["a"]["labels"].append("y")
    again, _ = parse_documents(text)
    assert first[0][1]["b"] == {"labels": ["x"]} and again[0][1]["a"] == {"labels": ["x"]}


def test_an_anchor_defined_twice_is_reported_and_the_next_documents_still_read():
    # PyYAML's composer refuses it and would end the whole stream there, silently.
    text = "a: 1\n---\nb: &x 1\nc: &x 2\n---\nd: &y [1]\ne: *y\n---\nf: 3\n"
    docs, issues = parse_documents(text)
    assert docs == [(0, {"a": 1}), (2, {"d": [1], "e": [1]}), (3, {"f": 3})]
    assert [(i.doc, i.path, i.message) for i in issues] == [
        (1, "c", "anchor '&x' at line 4 is already defined at line 3; give each anchor its own name")]
