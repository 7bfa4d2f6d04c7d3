"""Live grading: the same lab checks against a real cluster, compared with the offline grade.

    svclab grade live [--lab L ...] [--context CTX]      (make grade-live)

The score a learner gets is the offline one (grader.grading.clean: deterministic, in a
process no learner code ran in). This step answers the instructor's other question: would
the submission do the same on a real cluster? Every submission is graded again, one at a
time, on the live cluster (a fresh namespace per part, as `prepare` makes it, deleted
afterwards), and every check whose verdict differs between the two is reported, with both
feedback sentences. A NetworkPolicy part first runs the enforcement canary
(grader.labs.canary): on a cluster that ignores policies it says so instead of scoring, and
that shows up here as a disagreement to look at, not as a learner's zero. A part this
cluster cannot grade at all (lab 3's Corefile part on a cluster that is not the course's
own: svclab edits CoreDNS only there) is listed as "not gradable live, the offline grade
stands", apart from the disagreements, and its CSV rows say `not gradable live`.

Nothing here runs learner code either: the answers are the YAML bodies of the answer cells
(grader.grading.extract), applied through the same validation and sandbox as every apply.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from grader.checks.core import Report
from grader.grading.extract import answers_from_notebook
from grader.grading.gradesheet import spreadsheet_safe
from grader.grading.steps import StepResult, _labs, submissions
from grader.labs import get_lab
from grader.labs.corefile_answer import NOT_HERE
from grader.labs.root import course_dir
from grader.labs.spec import Lab, grade_lab


@dataclass(frozen=True)
class Disagreement:
    """One check whose live verdict differs from the offline one."""

    student: str
    lab: str
    part: str
    check: str
    offline: str        # "passed 2/2: <feedback>"
    live: str

    def __str__(self) -> str:
        return (f"{self.student}/{self.lab} {self.part} '{self.check}': offline {self.offline} | "
                f"live {self.live}")


def _verdict(earned: float, points: float, feedback: str) -> str:
    state = "passed" if earned >= points - 1e-9 else ("partial" if earned > 0 else "failed")
    return f"{state} {earned:g}/{points:g}: {feedback}"


def compare(student: str, lab: str, offline: Mapping[str, Report],
            live: Mapping[str, Report]) -> list[Disagreement]:
    """Every check (by part and name) whose earned points differ between the two runs."""
    out = []
    for part, off_report in offline.items():
        live_results = {r.name: r for r in live[part].results} if part in live else {}
        for r in off_report.results:
            other = live_results.get(r.name)
            if other is None:
                out.append(Disagreement(student, lab, part, r.name, _verdict(r.earned, r.points, r.feedback),
                                        "not run live"))
            elif abs(other.earned - r.earned) > 1e-6:
                out.append(Disagreement(student, lab, part, r.name, _verdict(r.earned, r.points, r.feedback),
                                        _verdict(other.earned, other.points, other.feedback)))
    return out


def not_gradable_live(offline: Mapping[str, Report], live: Mapping[str, Report]) -> dict[str, str]:
    """Parts this cluster cannot grade at all (a Corefile part on a shared cluster: svclab does
    not edit its DNS) while the offline grade could: part -> why. They are reported apart
    from the disagreements, as neither the learner's mistake nor the model's."""
    return {part: str(report.not_gradable) for part, report in live.items()
            if str(report.not_gradable or "").startswith(NOT_HERE)
            and part in offline and not offline[part].not_gradable}


def _rows(student: str, lab: str, offline: Mapping[str, Report], live: Mapping[str, Report],
          differing: set[tuple[str, str]], unscored: Mapping[str, str]) -> list[dict[str, Any]]:
    """One CSV row per offline check verdict, with the live one beside it."""
    rows = []
    for part, report in offline.items():
        live_by_name = {r.name: r for r in live[part].results} if part in live else {}
        for r in report.results:
            other = live_by_name.get(r.name)
            rows.append({
                "student": student, "lab": lab, "part": part, "check": r.name,
                "offline_earned": r.earned,
                "live_earned": "" if other is None or part in unscored else other.earned,
                "points": r.points,
                "agree": "not gradable live" if part in unscored else (part, r.name) not in differing,
                "offline_feedback": r.feedback,
                "live_feedback": unscored.get(part) or (other.feedback if other else ""),
            })
    return rows


def _cleanup(cluster: Any, lab: Lab) -> None:
    """Delete what grading created for one submission, so the next starts clean."""
    tasks = sorted({p.namespace for p in lab.parts if p.namespace})      # the mock exam's
    for name in [lab.namespace, *lab.other_namespaces, *tasks]:
        try:
            cluster.namespace(name, fresh=False).delete()
        except Exception:  # noqa: BLE001  -- a namespace that is already gone is fine
            pass


def grade_live(course: Path | None = None, labs: Iterable[str] | None = None, *,
               cluster: Any = None, offline_factory: Callable[[], Any] | None = None,
               out_dir: Path | None = None, say: Callable[[str], None] | None = None) -> StepResult:
    """Grade every submission live and offline; write every check's two verdicts to
    `<out_dir>/live-vs-offline.csv` (default labs/reports/) and report disagreements."""
    course = course if course is not None else course_dir()
    from grader.cluster.offline import OfflineCluster

    result = StepResult()
    if cluster is None:
        import grader
        cluster = grader.connect(mode="live")
    if getattr(cluster, "mode", "offline") != "live":
        raise ValueError("live grading needs a live cluster (grader.connect(mode='live'))")
    offline_factory = offline_factory or OfflineCluster
    out_dir = out_dir or course / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    disagreements: list[Disagreement] = []
    not_here: list[str] = []
    for lab_name in _labs(labs):
        subs = submissions(course, lab_name)
        for student, path in subs.items():
            spec = get_lab(lab_name, student)     # a lab drawn per learner: this student's faults
            answers, missing = answers_from_notebook(path, spec)
            offline = grade_lab(spec, answers, offline_factory, missing=missing)
            try:
                live = grade_lab(spec, answers, lambda: cluster, missing=missing)
            finally:
                _cleanup(cluster, spec)
            unscored = not_gradable_live(offline, live)
            found = [d for d in compare(student, lab_name, offline, live) if d.part not in unscored]
            disagreements += found
            rows += _rows(student, lab_name, offline, live, {(d.part, d.check) for d in found}, unscored)
            for part, why in unscored.items():
                not_here.append(f"{student}/{lab_name} {part}: not gradable live, the offline grade stands "
                                f"({why})")
            (say or result.say)(f"{student}/{lab_name}: {len(found)} disagreement(s)"
                                + (f", {len(unscored)} part(s) not gradable live" if unscored else ""))
    csv_path = out_dir / "live-vs-offline.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        fields = ["student", "lab", "part", "check", "offline_earned", "live_earned", "points", "agree",
                  "offline_feedback", "live_feedback"]
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        # student ids and feedback are text a spreadsheet could run as a formula
        writer.writerows({k: spreadsheet_safe(v) if isinstance(v, str) else v for k, v in row.items()}
                         for row in rows)
    for line in [*map(str, disagreements), *not_here]:
        result.say(line)
    result.say(f"live vs offline: {len(rows)} check verdicts, {len(disagreements)} disagreements"
               + (f", {len(not_here)} parts not gradable live" if not_here else "") + f" -> {csv_path}")
    return result
