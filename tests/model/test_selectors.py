"""Label selectors, from kubernetes.io "Labels and Selectors" and the metav1.LabelSelector
API reference: matchLabels AND matchExpressions; empty selector = everything."""
import pytest

from grader.k8s.selectors import (
    EVERYTHING,
    SelectorError,
    compile_selector,
    labels_text,
    matches,
    parse_selector,
)

WEB = {"app": "web", "tier": "frontend"}
DB = {"app": "db"}


def test_empty_selector_matches_everything():
    sel = compile_selector({})
    assert sel is not None and sel.empty
    assert sel.matches(WEB) and sel.matches({})
    assert EVERYTHING.matches(DB)


def test_null_selector_is_none_and_matches_nothing():
    assert compile_selector(None) is None
    assert not matches(None, WEB)


def test_match_labels_are_anded():
    sel = compile_selector({"matchLabels": {"app": "web", "tier": "frontend"}})
    assert sel.matches(WEB)
    assert not sel.matches({"app": "web"})


def test_labels_and_expressions_are_anded():
    sel = compile_selector({"matchLabels": {"app": "web"},
                            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["backend"]}]})
    assert not sel.matches(WEB)
    assert sel.matches({"app": "web", "tier": "backend"})


@pytest.mark.parametrize("op,values,labels,expected", [
    ("In", ["web", "api"], WEB, True),
    ("In", ["api"], WEB, False),
    ("In", ["web"], DB, False),
    ("NotIn", ["api"], WEB, True),
    ("NotIn", ["web"], WEB, False),
    ("NotIn", ["web"], {}, True),           # key absent: NotIn holds
    ("Exists", None, WEB, True),
    ("Exists", None, {}, False),
    ("DoesNotExist", None, WEB, False),
    ("DoesNotExist", None, {"other": "x"}, True),
])
def test_match_expression_operators(op, values, labels, expected):
    expr = {"key": "app", "operator": op}
    if values is not None:
        expr["values"] = values
    assert compile_selector({"matchExpressions": [expr]}).matches(labels) is expected


@pytest.mark.parametrize("expr", [
    {"key": "app", "operator": "Gt", "values": ["1"]},
    {"key": "app", "operator": "In", "values": []},
    {"key": "app", "operator": "Exists", "values": ["x"]},
    {"operator": "Exists"},
])
def test_invalid_expressions_are_refused(expr):
    with pytest.raises(SelectorError):
        compile_selector({"matchExpressions": [expr]})


@pytest.mark.parametrize("text,labels,expected", [
    ("app=web", WEB, True),
    ("app==web,tier=frontend", WEB, True),
    ("app=web,tier=backend", WEB, False),
    ("app!=db", WEB, True),
    ("app!=db", {}, True),
    ("app in (web,api)", WEB, True),
    ("app notin (web,api)", WEB, False),
    ("tier", WEB, True),
    ("!tier", WEB, False),
    ("!tier", DB, True),
    ("", DB, True),
    ("app in (db, web),!canary", WEB, True),
])
def test_parse_kubectl_selector_strings(text, labels, expected):
    assert parse_selector(text).matches(labels) is expected


def test_describe_round_trips():
    sel = compile_selector({"matchLabels": {"app": "web"},
                            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a", "b"]}]})
    assert sel.describe() == "app=web,tier notin (a,b)"
    assert parse_selector(sel.describe()) == sel
    assert compile_selector({}).describe() == "{}"
    assert labels_text({"b": "2", "a": "1"}) == "a=1,b=2"
