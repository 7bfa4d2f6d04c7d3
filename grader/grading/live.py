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
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from grader.checks.core import Report
from grader.grading.extract import answers_from_notebook
from grader.grading.gradesheet import spreadsheet_safe
from grader.grading.live_lanes import lanes, run_in_lanes, side_by_side_clients
from grader.grading.live_parts import delete_namespaces, grade_parts
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


def _cleanup(cluster: Any, lab: Lab, before: tuple[str, ...] = ()) -> None:
    """Delete what grading created for one submission, so the next starts clean. A live
    client knows what it made and has not deleted yet (`namespaces_created`, less `before`,
    what it held before): the parts' namespaces and a check's namespace of strangers, and
    not a blank part's, which was never made, nor a canary's, already gone (asking for those
    would create them only to delete them). Elsewhere: the lab's own namespaces."""
    made = getattr(cluster, "namespaces_created", None)
    if made is None:
        tasks = sorted({p.namespace for p in lab.parts if p.namespace})      # the mock exam's
        names = [lab.namespace, *lab.other_namespaces, *tasks]
    else:
        names = [n for n in made if n not in before]
    delete_namespaces(cluster, names)


@dataclass
class _LabOutcome:
    """One lab's live grading: CSV rows, disagreements, parts not gradable live."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    not_here: list[str] = field(default_factory=list)


def _grade_lab(course: Path, lab_name: str, cluster: Any, offline_factory: Callable[[], Any],
               say: Callable[[str], None], jobs: int = 1) -> _LabOutcome:
    """Every submission of one lab, one at a time (they share the lab's namespaces); the
    parts of one submission side by side where they share nothing (the mock exams' tasks:
    grader.grading.live_parts), up to `jobs` at once."""
    out = _LabOutcome()
    for student, path in submissions(course, lab_name).items():
        spec = get_lab(lab_name, student)     # a lab drawn per learner: this student's faults
        answers, missing = answers_from_notebook(path, spec)
        started = time.monotonic()
        offline = grade_lab(spec, answers, offline_factory, missing=missing)
        before = tuple(getattr(cluster, "namespaces_created", ()))
        try:
            live = grade_parts(spec, answers, cluster, jobs=jobs, missing=missing)
        finally:
            _cleanup(cluster, spec, before)
        unscored = not_gradable_live(offline, live)
        found = [d for d in compare(student, lab_name, offline, live) if d.part not in unscored]
        out.disagreements += found
        out.rows += _rows(student, lab_name, offline, live, {(d.part, d.check) for d in found}, unscored)
        for part, why in unscored.items():
            out.not_here.append(f"{student}/{lab_name} {part}: not gradable live, the offline grade stands "
                                f"({why})")
        say(f"{student}/{lab_name}: {len(found)} disagreement(s)"
            + (f", {len(unscored)} part(s) not gradable live" if unscored else "")
            + f" ({time.monotonic() - started:.0f} s)"
            + "".join(f"\n  {d}" for d in found))    # as found: an hour-long run is read as it goes
    return out


def _graded_in_lanes(course: Path, names: list[str], cluster: Any, jobs: int,
                     grade: Callable[[str, Any], _LabOutcome]) -> dict[str, _LabOutcome]:
    """`grade(lab, cluster)` for every lab: with `jobs` > 1, lanes of labs side by side
    (grader.grading.live_lanes), each worker on a client of its own (`cluster.sibling()`)."""
    specs = [get_lab(name) for name in names]
    weights = [len(submissions(course, s.name)) * len(s.parts) for s in specs]
    groups = lanes(specs, weights)
    clients = side_by_side_clients(cluster, jobs, len(groups))
    if len(clients) == 1:
        return {name: grade(name, cluster) for name in names}
    return run_in_lanes(groups, clients, grade)     # each lab's grading cleans up after itself


def grade_live(course: Path | None = None, labs: Iterable[str] | None = None, *,
               cluster: Any = None, offline_factory: Callable[[], Any] | None = None,
               out_dir: Path | None = None, say: Callable[[str], None] | None = None,
               jobs: int = 1) -> StepResult:
    """Grade every submission live and offline; write every check's two verdicts to
    `<out_dir>/live-vs-offline.csv` (default labs/reports/) and report disagreements.
    `jobs` > 1 grades that many labs side by side (never two labs that pin the same node
    port, edit the Corefile or route HTTP: grader.grading.live_lanes), and that many parts of
    a submission side by side where each has a namespace of its own and they share nothing
    (the mock exams: grader.grading.live_parts); the report and the CSV are in lab order
    whatever finished first."""
    course = course if course is not None else course_dir()
    from grader.cluster.offline import OfflineCluster

    result = StepResult()
    if cluster is None:
        import grader
        cluster = grader.connect(mode="live")
    if getattr(cluster, "mode", "offline") != "live":
        raise ValueError("live grading needs a live cluster (grader.connect(mode='live'))")
    factory = offline_factory or OfflineCluster
    out_dir = out_dir or course / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()

    def said(line: str) -> None:
        with lock:
            (say or result.say)(line)

    names = list(_labs(labs))
    outcomes = _graded_in_lanes(course, names, cluster, jobs,
                                lambda name, client: _grade_lab(course, name, client, factory, said, jobs))
    rows = [row for name in names for row in outcomes[name].rows]
    disagreements = [d for name in names for d in outcomes[name].disagreements]
    not_here = [line for name in names for line in outcomes[name].not_here]
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
