"""Name and label syntax helpers, and metadata rules."""
from __future__ import annotations

import pytest

from grader.manifests import check
from grader.rules import names


@pytest.mark.parametrize("value,ok", [
    ("web", True), ("web-1", True), ("1web", True), ("a" * 63, True),
    ("a" * 64, False), ("Web", False), ("web-", False), ("we.b", False), ("", False),
])
def test_dns1123_label(value, ok):
    assert (names.dns1123_label_problem(value) is None) is ok


@pytest.mark.parametrize("value,ok", [
    ("web", True), ("my-app-1", True), ("my.app", False), ("1web", False), ("web-", False), ("a" * 64, False),
])
def test_dns1035_label(value, ok):
    assert (names.dns1035_label_problem(value) is None) is ok


@pytest.mark.parametrize("value,ok", [
    ("a.b.c", True), ("web", True), ("a..b", False), (".a", False), ("a" * 254, False),
])
def test_dns1123_subdomain(value, ok):
    assert (names.dns1123_subdomain_problem(value) is None) is ok


@pytest.mark.parametrize("key,ok", [
    ("app", True), ("app.kubernetes.io/name", True), ("A_b.c", True),
    ("/app", False), ("Bad_Prefix/app", False), ("app/", False), ("-app", False), ("a" * 64, False),
])
def test_label_keys(key, ok):
    assert (names.qualified_name_problem(key) is None) is ok


@pytest.mark.parametrize("value,ok", [("", True), ("v1.2_3", True), ("-x", False), ("a b", False), ("x" * 64, False)])
def test_label_values(value, ok):
    assert (names.label_value_problem(value) is None) is ok


def cm(metadata: dict) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}


def issues(obj: dict) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(obj)[1]]


def test_name_required():
    assert issues(cm({})) == [("metadata.name", "required: every ConfigMap needs a name")]
    assert "generateName is not supported" in issues(cm({"generateName": "x-"}))[0][1]


def test_object_name_syntax_per_kind():
    assert issues(cm({"name": "a.b"})) == []
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}}
    assert [p for p, _ in issues(ns)] == ["metadata.name"]


def test_labels_are_reported_at_the_map_path_naming_the_key():
    """apimachinery ValidateLabels reports at `metadata.labels`, not per key."""
    got = issues(cm({"name": "x", "labels": {"app.kubernetes.io/name": "-bad"}}))
    assert got == [("metadata.labels",
                    "label value '-bad' (key 'app.kubernetes.io/name') is invalid: a label value may "
                    "contain letters, digits, '-', '_' and '.', and must start and end with a letter or digit")]


def test_namespace_field_syntax():
    assert [p for p, _ in issues(cm({"name": "x", "namespace": "Lab1"}))] == ["metadata.namespace"]


def test_annotation_keys():
    assert issues(cm({"name": "x", "annotations": {"example.com/note": "anything at all"}})) == []
    assert [p for p, _ in issues(cm({"name": "x", "annotations": {"bad key": "v"}}))] == [
        "metadata.annotations"]


def test_annotation_size_limit_counts_utf8_bytes():
    from grader.rules.meta import annotations_issues

    limit = 256 * 1024
    ascii_ok = {"k": "x" * (limit - 1)}
    assert annotations_issues(ascii_ok, "metadata.annotations") == []
    # 100,000 characters but 300,000 bytes: the API server (Go's len) counts bytes.
    wide = {"note": "\u20ac" * 100_000}
    assert annotations_issues(wide, "metadata.annotations") == [
        ("metadata.annotations", "annotations may total at most 256 KiB")]
    assert annotations_issues({"k": "\u00e9" * ((limit - 1) // 2)}, "p") == []
    assert annotations_issues({"kk": "\u00e9" * (limit // 2)}, "p") != []


@pytest.mark.parametrize("value", ["1e999999999999", "1E-999999999999", "1e" + "9" * 5000,
                                   float("nan"), float("inf"), float("-inf"), True, None, [1]])
def test_parse_quantity_never_raises(value):
    from grader.rules.names import parse_quantity

    assert parse_quantity(value) is None


def test_parse_quantity_handles_big_but_finite_values():
    from decimal import Decimal

    from grader.rules.names import parse_quantity

    assert parse_quantity(10**5000) == Decimal(10) ** 5000
    assert parse_quantity("1e3") == 1000 and parse_quantity(0.25) == Decimal("0.25")
    assert parse_quantity("-1Ki") == -1024
