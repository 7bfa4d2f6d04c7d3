"""Lab 2's node-by-node parts (1 and 5) on a two-node cluster: what `externalTrafficPolicy:
Local` does on a node without a local endpoint (kube-proxy drops outside traffic there, and
its health check answers 503: pkg/proxy/topology.go, pkg/proxy/healthcheck/service_health.go).
The generic tests grade references, blanks and wrong answers; these pin that the grade does
not depend on which node the scheduler chose, and that looking as the task says gives the
right facts."""
from __future__ import annotations

import pytest

from grader.cluster.offline import OfflineCluster
from grader.labs import get_lab
from grader.labs.spec import grade_part, prepare
from grader.observations import Outcome

LAB = get_lab("lab2-external-access")
PART5 = LAB.part("part5")


def _said(outcome: Outcome) -> str:
    status = outcome.status.value
    return {"OK": "answers", "TIMEOUT": "times out", "REFUSED": "refused"}[status]


def test_looking_as_part5_says_gives_the_facts_that_earn_every_point() -> None:
    ns = prepare(LAB, PART5, OfflineCluster(say=lambda _: None))
    placed = {e.node for e in ns.endpoints("solo")}
    seen = {}
    for node, ip in ns.cluster.node_addresses().items():
        port = ns.cluster.probe_external(30085, host=ip, path="/hostname")
        health = ns.cluster.probe_external(30086, host=ip, path="/healthz")
        role = "node_with_the_pod" if node in placed else "node_without_the_pod"
        seen[role] = (_said(port), int(health.reason.split()[1].rstrip(":")))
    assert seen == {"node_with_the_pod": ("answers", 200), "node_without_the_pod": ("times out", 503)}
    answer = "".join(f"{role}:\n  node_port: {p}\n  health_check: {h}\n" for role, (p, h) in seen.items())
    report = grade_part(LAB, PART5, answer, OfflineCluster(say=lambda _: None), include_hidden=True)
    assert report.score == PART5.points, report


@pytest.mark.parametrize("node", ["svclab-control-plane", "svclab-worker"])
def test_part5_judges_by_where_the_pod_runs_not_by_a_node_name(node: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pod bound to either node (spec.nodeName): the reference earns every point, and the
    node named in the feedback as the one without the pod is the other node."""
    import dataclasses

    pinned = PART5.setup.replace("    spec:\n      containers:", f"    spec:\n      nodeName: {node}\n      containers:")
    assert pinned != PART5.setup
    part = dataclasses.replace(PART5, setup=pinned)
    report = grade_part(LAB, part, part.reference, OfflineCluster(say=lambda _: None), include_hidden=True)
    assert report.score == part.points, report
    other = ({"svclab-control-plane", "svclab-worker"} - {node}).pop()
    assert f"{other} (does not run solo's pod)" in str(report)


@pytest.mark.parametrize("policy", ["Cluster", "Local"])
def test_part1_loses_local_wherever_the_web_pods_run(policy: str) -> None:
    """Part 1's every-node check scales web to one pod first, so a node without one exists on
    two nodes whatever the scheduler did; only Local loses on it."""
    part = LAB.part("part1")
    answer = part.reference + (f"  externalTrafficPolicy: {policy}\n")
    report = grade_part(LAB, part, answer, OfflineCluster(say=lambda _: None), include_hidden=True)
    every = next(r for r in report.results if r.name.startswith("every node answers"))
    assert (every.earned == every.points) is (policy == "Cluster"), every.feedback
