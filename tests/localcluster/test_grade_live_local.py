"""`svclab grade live` on the local cluster: every lab's reference solution and blank
submission graded on real nodes and offline must get the same verdict on every check.
(The mutants and tamper submissions take about an hour live; `LIVE_GRADE_ALL=1` adds them,
`LIVE_GRADE_STUDENTS=mutant-pod-port,reordered` grades only the submissions named, so a run
by hand fits in one hold of the shared cluster.)
Lab 2's LoadBalancer part runs on MetalLB's addresses, lab 6's Ingress and Gateway parts on
Traefik (grader.localcluster.edge)."""
from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

import pytest

from grader.localcluster.layout import CONTEXT

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "labs"))
from lab_submissions import _write, build_class, fill  # noqa: E402

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
DRAWN = "lab7-troubleshooting-drawn"
#: Labs graded side by side (`svclab grade live --jobs`); `LIVE_GRADE_JOBS=1` one at a time.
JOBS = int(os.environ.get("LIVE_GRADE_JOBS", "4"))


def _readiness_submissions(course: Path) -> tuple[str, str]:
    """Lab 7's "solution" and "blank" learners leave its readiness fault unfixed or undrawn, so
    two more learners who drew it submit: one their solution (the db pod must become Ready
    live), one the listed wrong answer that deletes the probe (the hidden check must see a
    broken db build take traffic). Returns their ids."""
    import json

    from grader.labs import get_lab
    from grader.labs.lab7_faults import FAULTS
    from grader.labs.lab7_troubleshooting_drawn import faults_for
    drew = [f"learner{n:02d}" for n in range(100) if FAULTS["readiness-wrong-port"] in faults_for(f"learner{n:02d}")]
    fixer, deleter = drew[:2]
    released = json.loads((course / "release" / DRAWN / f"{DRAWN}.ipynb").read_text(encoding="utf-8"))
    _write(course, fixer, DRAWN, fill(released, get_lab(DRAWN, fixer).references()))
    deleted = next(w for w in get_lab(DRAWN, deleter).part("fixes").wrong_answers
                   if w.text.startswith("Deleting the database's readiness probe"))
    _write(course, deleter, DRAWN, fill(released, {"fixes": deleted.answer}))
    return fixer, deleter


def test_every_lab_grades_the_same_live_and_offline(tmp_path: Path) -> None:
    from grader.cluster.live import LiveCluster
    from grader.grading.live import grade_live

    build_class(tmp_path)
    keep = NAMED or (None if os.environ.get("LIVE_GRADE_ALL") else set(QUICK))
    if keep is not None:
        for student in (tmp_path / "submitted").iterdir():
            if student.name not in keep:
                shutil.rmtree(student)
    probed = _readiness_submissions(tmp_path) if DRAWN in CHOSEN else None
    lines: list[str] = []
    result = grade_live(tmp_path, CHOSEN, cluster=LiveCluster(context=CONTEXT), say=lines.append, jobs=JOBS)
    summary = result.lines[-1]
    assert not summary.startswith("live vs offline: 0 check verdicts"), "no submission of those labs was graded"
    assert summary.endswith(f"-> {tmp_path / 'reports' / 'live-vs-offline.csv'}")
    differing = [line for line in result.lines if " | live " in line]
    assert differing == [], "\n".join(result.lines)
    assert ", 0 disagreements" in summary
    earned, points = _live_totals(tmp_path / "reports" / "live-vs-offline.csv")
    for lab in CHOSEN if keep is None or set(QUICK) <= keep else ():
        # graded live, not only alike: the solution full marks, the blank none
        assert points[("solution", lab)] > 0, lab
        assert earned[("solution", lab)] == pytest.approx(points[("solution", lab)]), lab
        assert earned[("blank", lab)] == 0, lab
    if probed:
        fixer, deleter = probed
        assert earned[(fixer, DRAWN)] == pytest.approx(points[(fixer, DRAWN)])
        assert 0 < earned[(deleter, DRAWN)] < points[(deleter, DRAWN)]


def _live_totals(path: Path) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    """(student, lab) -> points earned live, and the points there were, from the report."""
    earned: dict[tuple[str, str], float] = {}
    points: dict[tuple[str, str], float] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = (row["student"], row["lab"])
            earned[key] = earned.get(key, 0.0) + float(row["live_earned"] or 0)
            points[key] = points.get(key, 0.0) + float(row["points"])
    return earned, points
