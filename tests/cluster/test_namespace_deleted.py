"""After a notebook's tidy-up cell (`ns.delete()`), re-running a cell above it says what
happened instead of failing with an empty answer (notebook 09 used to die with a bare
StopIteration from `next(p.ip for p in ns.pods() if p.name == "db")`)."""
from __future__ import annotations

import pytest

import grader
from grader.cluster.base import NamespaceDeleted
from grader.labs.workloads import netexec_pod

POD = netexec_pod("db", {"app": "db"}, [5432])


@pytest.fixture()
def tidied_up():
    cluster = grader.connect(mode="offline")
    ns = cluster.namespace("tidy")
    ns.apply(POD)
    ns.delete()
    return cluster, ns


@pytest.mark.parametrize("use", [
    lambda ns: next(p.ip for p in ns.pods() if p.name == "db"),
    lambda ns: ns.probe("db:5432", frm="app=db"),
    lambda ns: ns.endpoints("db"),
    lambda ns: ns.apply(POD),
    lambda ns: ns.matrix(),
], ids=["pods", "probe", "endpoints", "apply", "matrix"])
def test_using_a_deleted_namespace_names_the_tidy_up_cell(tidied_up, use) -> None:
    _, ns = tidied_up
    with pytest.raises(NamespaceDeleted, match=r"namespace tidy was deleted by the tidy-up cell .*run the cells above"):
        use(ns)


def test_creating_it_again_makes_the_namespace_usable(tidied_up) -> None:
    cluster, ns = tidied_up
    cluster.namespace("tidy")
    ns.apply(POD)
    assert [p.name for p in ns.pods()] == ["db"]
