"""The mock exam on the local cluster: its reference commands, replayed by the real kubectl
against real nodes, leave a state every check passes, as offline; an answer that changes
nothing scores 0 there too; and the Ingress task's listed wrong answers lose there exactly the
checks they lose offline.

Every task runs: q02's node port (30081) is one of the NodePorts the local cluster forwards
from 127.0.0.1 as kind maps them (grader.localcluster.forward); q03's LoadBalancer address
comes from MetalLB and is published on its loopback alias (grader.localcluster.publish);
q10's and q11's Ingresses are served by Traefik (grader.localcluster.edge), and their
backends run agnhost serve-hostname, so the live backend can tell from each answer's body
which pod gave it (tests/labs/test_pod_named_answers.py)."""
from __future__ import annotations

import os

import pytest

from grader.checks.core import Report
from grader.localcluster.layout import CONTEXT

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]


def _verdicts(report: Report) -> list[tuple[str, float]]:
    """Each check's name and what it earned: the live and offline gradings must agree on every one."""
    return [(r.name, r.earned) for r in report.results]


def test_the_reference_commands_score_full_marks_live_and_a_no_op_scores_zero() -> None:
    from grader.cluster.live import LiveCluster
    from grader.cluster.offline import OfflineCluster
    from grader.labs import get_lab
    from grader.labs.spec import grade_part

    lab = get_lab("lab8-mock-exam")
    assert {"q02", "q03", "q10", "q11"} <= {p.id for p in lab.parts}
    cluster = LiveCluster(context=CONTEXT)
    short, differing = [], []
    try:
        for part in lab.parts:
            report = grade_part(lab, part, part.reference, cluster, include_hidden=True)
            if report.score != part.points:
                short.append(str(report))
        for no_op in ("q06", "q10"):
            idle = grade_part(lab, lab.part(no_op), "kubectl get pods\n", cluster, include_hidden=True)
            assert idle.score == 0, str(idle)
        ingress = lab.part("q10")
        for wrong in ingress.wrong_answers:
            live = grade_part(lab, ingress, wrong.answer, cluster, include_hidden=True)
            offline = grade_part(lab, ingress, wrong.answer, OfflineCluster(), include_hidden=True)
            assert offline.score < ingress.points, wrong.text
            if _verdicts(live) != _verdicts(offline):
                differing.append(f"{wrong.text}\nlive:\n{live}\noffline:\n{offline}")
    finally:
        for part in lab.parts:
            try:
                cluster.namespace(part.namespace, fresh=False).delete()
            except Exception:  # noqa: BLE001  -- a namespace that is already gone is fine
                pass
    assert short == [], "\n\n".join(short)
    assert differing == [], "\n\n".join(differing)
