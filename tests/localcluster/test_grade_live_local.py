"""`svclab grade live` on the local cluster: every lab's reference solution and blank
submission graded on real nodes and offline must get the same verdict on every check.
(The mutants and tamper submissions take about an hour live; `LIVE_GRADE_ALL=1` adds them,
`LIVE_GRADE_STUDENTS=mutant-pod-port,reordered` grades only the submissions named, so a run
by hand fits in one hold of the shared cluster.)
Lab 2's LoadBalancer part runs on MetalLB's addresses, lab 6's Ingress and Gateway parts on
Traefik (grader.localcluster.edge)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from grader.localcluster.layout import CONTEXT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "labs"))
from lab_submissions import build_class  # noqa: E402

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]

QUICK = ("solution", "blank")
#: lab6-ingress's routing checks name the pod that answered from the response's body: its apps
#: run agnhost serve-hostname, which answers every path with the pod's name (netexec, which
#: names itself only on /hostname, left every routing check failing live).
LABS = ("lab1-clusterip", "lab2-external-access", "lab3-discovery", "lab4-network-policy", "lab5-troubleshooting",
        "lab6-ingress")
#: `LIVE_GRADE_LABS=lab7-troubleshooting-drawn,lab9-capstone` grades other labs instead.
CHOSEN = tuple(filter(None, os.environ.get("LIVE_GRADE_LABS", "").split(","))) or LABS
NAMED = set(filter(None, os.environ.get("LIVE_GRADE_STUDENTS", "").split(",")))


def test_every_lab_grades_the_same_live_and_offline(tmp_path: Path) -> None:
    from grader.cluster.live import LiveCluster
    from grader.grading.live import grade_live

    build_class(tmp_path)
    keep = NAMED or (None if os.environ.get("LIVE_GRADE_ALL") else set(QUICK))
    if keep is not None:
        for student in (tmp_path / "submitted").iterdir():
            if student.name not in keep:
                shutil.rmtree(student)
    lines: list[str] = []
    result = grade_live(tmp_path, CHOSEN, cluster=LiveCluster(context=CONTEXT), say=lines.append)
    summary = result.lines[-1]
    assert not summary.startswith("live vs offline: 0 check verdicts"), "no submission of those labs was graded"
    assert summary.endswith(f"-> {tmp_path / 'reports' / 'live-vs-offline.csv'}")
    differing = [line for line in result.lines if " | live " in line]
    assert differing == [], "\n".join(result.lines)
    assert ", 0 disagreements" in summary
