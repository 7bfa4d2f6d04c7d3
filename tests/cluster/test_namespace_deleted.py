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


# ------------------------------------------------------------------ live (the client faked)
# A real API server lists a deleted namespace as empty instead of failing, so without the
# stand-in these uses returned [] and notebook 09's `next(...)` raised a bare StopIteration.
from tests.fakes.kube_client import NS, World  # noqa: E402


@pytest.fixture()
def live_tidied_up():
    world = World()
    ns = world.cluster.namespace(NS)
    ns.delete()
    return world, ns


@pytest.mark.parametrize("use", [
    lambda ns: next(p.ip for p in ns.pods() if p.name == "db"),
    lambda ns: ns.probe("db:5432", frm="app=db"),
    lambda ns: ns.endpoints("db"),
    lambda ns: ns.apply(POD),
    lambda ns: ns.matrix(),
    lambda ns: ns.lookup("db", frm="app=db"),
], ids=["pods", "probe", "endpoints", "apply", "matrix", "lookup"])
def test_live_using_a_deleted_namespace_names_the_tidy_up_cell(live_tidied_up, use) -> None:
    world, ns = live_tidied_up
    assert world.rec.named("delete_namespace") == [((NS,), {})]
    with pytest.raises(NamespaceDeleted, match=rf"namespace {NS} was deleted by the tidy-up cell .*run the cells above"):
        use(ns)


def test_live_a_namespace_still_terminating_counts_as_deleted(live_tidied_up) -> None:
    world, ns = live_tidied_up
    world.core.namespaces[NS] = {"metadata": {"name": NS, "deletionTimestamp": "2026-12-06T10:00:00Z"}}
    with pytest.raises(NamespaceDeleted):
        ns.pods()


def test_live_running_the_tidy_up_twice_is_harmless_and_a_recreated_namespace_is_usable(live_tidied_up) -> None:
    world, ns = live_tidied_up
    ns.delete()
    assert len(world.rec.named("delete_namespace")) == 2
    world.core.namespaces[NS] = {"metadata": {"name": NS}}      # `cluster.namespace(name)` ran again
    assert ns.pods() == []
