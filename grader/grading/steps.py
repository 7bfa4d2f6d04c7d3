"""The instructor's workflow, one function per step, over nbgrader's Python API.

    release(course)              generate_assignment for every lab: source/ -> release/, then
                                 publish it to nbgrader's exchange when the course names one
    autograde(course, lab)       grade labs/submitted/*/<lab>/ in parallel, then let nbgrader
                                 record the scores (autograded/ + gradebook.db)
    feedback(course, lab)        HTML feedback per student: feedback/<student>/<lab>/
    grades(course, path)         one CSV row per student: each lab's score, the total
    (item analysis: grader.grading.report)

`course` is the nbgrader course root (labs/). Every step reads labs/nbgrader_config.py, so
the plain `nbgrader` commands and these steps grade identically."""
from __future__ import annotations

import csv
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from grader.grading.extract import answers_from_notebook
from grader.grading.jobs import ResultCache, make_job, run_clean
from grader.grading.limits import Limits
from grader.labs import LAB_MODULES, get_lab

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_COURSE = ROOT / "labs"


class GradingError(RuntimeError):
    """A step failed; the message carries nbgrader's log."""


@dataclass
class StepResult:
    """What a step did, for the CLI to print."""

    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)


def _config(course: Path, **overrides: Any) -> Any:
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    cfg = Config()
    path = course / "nbgrader_config.py"
    if path.exists():
        cfg.merge(PyFileConfigLoader(path.name, path=str(course)).load_config())
    cfg.CourseDirectory.root = str(course)
    for dotted, value in overrides.items():
        section, _, name = dotted.partition("__")
        setattr(getattr(cfg, section), name, value)
    return cfg


def _api(course: Path, **overrides: Any) -> Any:
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    # nbgrader runs `alembic` (its database migrations) by name: make this environment's
    # scripts findable even when it is not activated (`.venv/bin/python -m grader.cli ...`).
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    cfg = _config(course, **overrides)
    return NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)


def _labs(names: Iterable[str] | None) -> list[str]:
    chosen = list(names or LAB_MODULES)
    unknown = [n for n in chosen if n not in LAB_MODULES]
    if unknown:
        raise GradingError(f"unknown lab {', '.join(unknown)}; labs: {', '.join(LAB_MODULES)}")
    return chosen


def _check(result: dict[str, Any], what: str) -> None:
    if not result.get("success"):
        raise GradingError(f"{what} failed:\n{result.get('log', '')}\n{result.get('error', '')}".strip())


def exchange_root(course: Path) -> str | None:
    """The exchange the course's nbgrader_config.py names (Exchange.root), or None: nbgrader's
    default (/usr/local/share/nbgrader/exchange) is rarely set up, and a course that names
    no exchange hands its labs out some other way (an LMS, a shared drive)."""
    cfg = _config(course)
    return str(cfg.Exchange.root) if "root" in cfg.Exchange else None


def release(course: Path = DEFAULT_COURSE, labs: Iterable[str] | None = None) -> StepResult:
    """generate_assignment for each lab (the student version, solutions and hidden parts
    removed), into course/release/<lab>/; then, when the course names an exchange (a class
    on JupyterHub: make class), release_assignment publishes it there for learners to fetch
    from Assignment List. A lab already published is replaced by the new version."""
    out = StepResult()
    exchange = exchange_root(course)
    api = _api(course, ExchangeReleaseAssignment__force=True) if exchange else _api(course)
    for lab in _labs(labs):
        _check(api.generate_assignment(lab, force=True), f"generate_assignment {lab}")
        out.say(f"released {lab} -> {course / 'release' / lab}")
        if exchange:
            _check(api.release_assignment(lab), f"release_assignment {lab} (to the exchange {exchange})")
            out.say(f"published {lab} to the exchange {exchange}: learners fetch it from Assignment List")
    if not exchange:
        out.say(f"not published: {course / 'nbgrader_config.py'} names no exchange (Exchange.root); "
                "hand out the release/ notebooks, or see README 'For instructors' for a class")
    return out


def submissions(course: Path, lab: str) -> dict[str, Path]:
    """student id -> submitted notebook of `lab`."""
    found = {}
    for path in sorted((course / "submitted").glob(f"*/{lab}/{lab}.ipynb")):
        found[path.parent.parent.name] = path
    return found


def autograde(course: Path = DEFAULT_COURSE, labs: Iterable[str] | None = None, *,
              parallel: int | None = None, limits: Limits = Limits()) -> StepResult:
    """Grade every submission of each lab: first every answer of the class in parallel, in
    one clean process (where the time goes), then nbgrader's bookkeeping lab by lab, which
    finds each result in the cache by content. A submission that fails to grade fails alone."""
    out = StepResult()
    parallel = parallel or max(1, os.cpu_count() or 1)
    chosen = {lab: submissions(course, lab) for lab in _labs(labs)}
    jobs = []
    for lab, subs in chosen.items():
        spec = get_lab(lab)
        for student, path in subs.items():
            answers, missing = answers_from_notebook(path, spec)
            jobs.append(make_job(f"{student}/{lab}", lab, answers, missing))
    with tempfile.TemporaryDirectory(prefix="svclab-grade-") as tmp:
        cache = ResultCache(tmp)
        started = time.perf_counter()
        for job, result in zip(jobs, run_clean(jobs, parallel=parallel, limits=limits)):
            cache.put(job, result)
        out.say(f"clean grading: {len(jobs)} submissions in {time.perf_counter() - started:.1f} s, "
                f"{parallel} at a time")
        api = _api(course, CleanGrade__cache_dir=tmp, CleanGrade__wall=limits.wall,
                   CleanGrade__cpu=limits.cpu, CleanGrade__memory_mib=limits.memory_mib)
        for lab, subs in chosen.items():
            if not subs:
                out.say(f"{lab}: no submissions in {course / 'submitted'}/*/{lab}/")
                continue
            started = time.perf_counter()
            result = api.autograde(lab, "*", force=True, create=True)
            # Some nbgrader errors abort the whole run, not just one notebook: grade whoever
            # is left one by one, so a broken submission fails alone.
            failed = []
            if not result.get("success"):
                for student in subs:
                    if not (course / "autograded" / student / lab / f"{lab}.ipynb").exists():
                        retry = api.autograde(lab, student, force=True, create=True)
                        if not retry.get("success"):
                            failed.append(f"{student}/{lab}")
                            out.say(f"{student}/{lab}: nbgrader could not grade it:\n" + _last_error(retry))
            out.failed += failed
            out.say(f"{lab}: graded {len(subs) - len(failed)} of {len(subs)} submissions "
                    f"(nbgrader {time.perf_counter() - started:.1f} s)")
    return out


def _last_error(result: dict[str, Any]) -> str:
    lines = [ln for ln in (result.get("log") or "").splitlines() if ln.startswith(("[ERROR]", "[WARNING]"))]
    return "\n".join(lines[-5:]) or (result.get("error") or "")[-500:]


def feedback(course: Path = DEFAULT_COURSE, labs: Iterable[str] | None = None) -> StepResult:
    """HTML feedback for every autograded submission: course/feedback/<student>/<lab>/."""
    out = StepResult()
    api = _api(course)
    for lab in _labs(labs):
        if not any((course / "autograded").glob(f"*/{lab}")):
            continue
        _check(api.generate_feedback(lab, force=True), f"generate_feedback {lab}")
        out.say(f"{lab}: feedback in {course / 'feedback'}/*/{lab}/")
    return out


def grades(course: Path = DEFAULT_COURSE, path: Path | None = None) -> StepResult:
    """A CSV with one row per student: each lab's score (empty when not submitted), the
    total, the maximum, and the labs still waiting for a manual grade."""
    from nbgrader.api import Gradebook, MissingEntry

    path = path or course / "grades.csv"
    out = StepResult()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        labs = [a.name for a in gb.assignments]
        rows = []
        for student in sorted(s.id for s in gb.students):
            row: dict[str, Any] = {"student": student}
            total, pending = 0.0, []
            for lab in labs:
                try:
                    sub = gb.find_submission(lab, student)
                except MissingEntry:
                    row[lab] = ""
                    continue
                row[lab] = round(sub.score, 4)
                total += sub.score
                if sub.needs_manual_grade:
                    pending.append(lab)
            row["total"] = round(total, 4)
            row["max"] = round(sum(gb.find_assignment(lab).max_score for lab in labs), 4)
            row["needs_manual_grade"] = " ".join(pending)
            rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["student", *labs, "total", "max", "needs_manual_grade"])
        writer.writeheader()
        writer.writerows(rows)
    out.say(f"grades of {len(rows)} students -> {path}")
    return out
