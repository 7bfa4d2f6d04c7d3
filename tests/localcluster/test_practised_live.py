"""Lab 1's session-affinity part and lab 3's Corefile part on the local cluster's real
kube-proxy and CoreDNS: the reference scores full marks, an answer without affinity does
not, and grading the Corefile part leaves kube-system/coredns exactly as it found it.
(Lab 6's `create ingress` part needs an Ingress controller, which this cluster lacks.)"""
from __future__ import annotations

import os

import pytest

from grader.localcluster.layout import CONTEXT

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]


def _tidy(cluster, lab) -> None:  # type: ignore[no-untyped-def]
    for name in [lab.namespace, *lab.other_namespaces]:
        try:
            cluster.namespace(name, fresh=False).delete()
        except Exception:  # noqa: BLE001 -- already gone
            pass


def test_session_affinity_sticks_on_real_kube_proxy() -> None:
    from grader.cluster.live import LiveCluster
    from grader.labs import get_lab
    from grader.labs.spec import grade_part

    cluster = LiveCluster(context=CONTEXT)
    lab = get_lab("lab1-clusterip")
    part = lab.part("part7")
    try:
        right = grade_part(lab, part, part.reference, cluster, include_hidden=True)
        assert right.score == part.points, str(right)
        loose = part.wrong_answers[0]                    # no affinity at all
        wrong = grade_part(lab, part, loose.answer, cluster, include_hidden=True)
        assert wrong.score <= loose.max_score, str(wrong)
    finally:
        _tidy(cluster, lab)


def test_the_corefile_part_grades_on_real_coredns_and_restores_it() -> None:
    from grader.cluster.live import LiveCluster
    from grader.labs import get_lab
    from grader.labs.spec import grade_part

    cluster = LiveCluster(context=CONTEXT)
    before = cluster.corefile()
    lab = get_lab("lab3-discovery")
    part = lab.part("part5")
    try:
        report = grade_part(lab, part, part.reference, cluster, include_hidden=True)
        assert report.score == part.points, str(report)
    finally:
        _tidy(cluster, lab)
    assert cluster.corefile() == before
