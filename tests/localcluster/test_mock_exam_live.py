"""The mock exam on the local cluster: its reference commands, replayed by the real kubectl
against real nodes, leave a state every check passes, as offline; and an answer that
changes nothing scores 0 there too. q02, q03, q10 and q11 are left out: run live on the
local cluster (MetalLB, Traefik) q02's `kubectl patch` to a fixed node port answered
REFUSED from the learner's machine and q11's Prefix route answered 404 for a deep path;
both are open (the tasks' backends already answer with the pod's name)."""
from __future__ import annotations

import os

import pytest

from grader.localcluster.layout import CONTEXT

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]

NEEDS_CONTROLLERS = {"q02", "q03", "q10", "q11"}


def test_the_reference_commands_score_full_marks_live_and_a_no_op_scores_zero() -> None:
    from grader.cluster.live import LiveCluster
    from grader.labs import get_lab
    from grader.labs.spec import grade_part

    lab = get_lab("lab8-mock-exam")
    cluster = LiveCluster(context=CONTEXT)
    short = []
    try:
        for part in (p for p in lab.parts if p.id not in NEEDS_CONTROLLERS):
            report = grade_part(lab, part, part.reference, cluster, include_hidden=True)
            if report.score != part.points:
                short.append(str(report))
        idle = grade_part(lab, lab.part("q06"), "kubectl get pods\n", cluster, include_hidden=True)
        assert idle.score == 0, str(idle)
    finally:
        for part in lab.parts:
            try:
                cluster.namespace(part.namespace, fresh=False).delete()
            except Exception:  # noqa: BLE001  -- a namespace that is already gone is fine
                pass
    assert short == [], "\n\n".join(short)
