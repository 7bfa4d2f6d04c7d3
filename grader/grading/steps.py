"""The instructor's workflow, one function per step, over nbgrader's Python API.

    release(course)              generate_assignment for every lab: source/ -> release/, then
                                 publish it to nbgrader's exchange when the course names one
    autograde(course, lab)       grade labs/submitted/*/<lab>/ in parallel, then let nbgrader
                                 record the scores (autograded/ + gradebook.db)
    feedback(course, lab)        HTML feedback per student: feedback/<student>/<lab>/
    grades(course, path)         grades.csv: per student each released lab's score, the total
    (item analysis: grader.grading.report)

`course` is the nbgrader course root (labs/). Every step reads labs/nbgrader_config.py, so
the plain `nbgrader` commands and these steps grade identically."""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from grader.grading.extract import answers_from_notebook
from grader.grading.gradesheet import grade_table, write_csv
from grader.grading.intake import Intake, candidates, refusal, stage
from grader.grading.jobs import ResultCache, make_job, run_clean
from grader.grading.limits import Limits
from grader.k8s.wording import first_line
from grader.labs import LAB_MODULES, get_lab
from grader.labs.root import course_dir


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


def release(course: Path | None = None, labs: Iterable[str] | None = None) -> StepResult:
    """generate_assignment for each lab (the student version, solutions and hidden parts
    removed), into course/release/<lab>/; then, when the course names an exchange (a class
    on JupyterHub: make class), release_assignment publishes it there for learners to fetch
    from Assignment List. A lab already published is replaced by the new version."""
    course = course if course is not None else course_dir()
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
    """student id -> submitted notebook of `lab`, for every submission the grader may read
    (a notebook that is a symbolic link is not one: grader.grading.intake)."""
    found = {}
    for student in candidates(course, lab):
        path = course / "submitted" / student / lab / f"{lab}.ipynb"
        if refusal(course, student, lab) is None and path.is_file():
            found[student] = path
    return found


def results_dir(course: Path) -> Path:
    """Per-submission results (CleanGrade's, and the reasons a submission was not graded)."""
    return course / "svclab-results"


def record_not_gradable(course: Path, student: str, lab: str, reason: str) -> None:
    """Remember why a submission has no grade, for grades.csv and the item analysis."""
    path = results_dir(course) / lab / f"{student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"id": f"{student}/{lab}", "lab": lab, "parts": {}, "not_gradable": reason}),
                    encoding="utf-8")


def autograde(course: Path | None = None, labs: Iterable[str] | None = None, *,
              parallel: int | None = None, limits: Limits = Limits()) -> StepResult:
    """Grade every submission of each lab: first every answer of the class in parallel, in
    one clean process (where the time goes), then nbgrader's bookkeeping lab by lab, which
    finds each result in the cache by content. nbgrader grades a staged copy holding only
    each submission's regular files (grader.grading.intake). A submission that fails to
    grade fails alone, with one line naming it and the cause."""
    course = course if course is not None else course_dir()
    out = StepResult()
    parallel = parallel or max(1, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="svclab-grade-") as tmp:
        staged_root = Path(tmp) / "submitted"
        chosen: dict[str, Intake] = {}
        for lab in _labs(labs):
            intake = stage(course, lab, staged_root)
            chosen[lab] = intake
            out.lines += intake.skipped
            for student, why in intake.refused.items():
                _fail(out, course, student, lab, why)
        jobs = []
        for lab, intake in chosen.items():
            spec = get_lab(lab)
            for student, path in intake.staged.items():
                answers, missing = answers_from_notebook(path, spec)
                jobs.append(make_job(f"{student}/{lab}", lab, answers, missing, learner=student))
        cache = ResultCache(Path(tmp) / "cache")
        started = time.perf_counter()
        for job, result in zip(jobs, run_clean(jobs, parallel=parallel, limits=limits), strict=True):
            cache.put(job, result)
        out.say(f"clean grading: {len(jobs)} submissions in {time.perf_counter() - started:.1f} s, "
                f"{parallel} at a time")
        api = _api(course, CleanGrade__cache_dir=str(cache.dir), CleanGrade__wall=limits.wall,
                   CleanGrade__cpu=limits.cpu, CleanGrade__memory_mib=limits.memory_mib,
                   CourseDirectory__submitted_directory=str(staged_root))
        for lab, intake in chosen.items():
            subs = sorted(p.parent.name for p in staged_root.glob(f"*/{lab}"))
            if not subs:
                out.say(f"{lab}: no submissions to grade in {course / 'submitted'}/*/{lab}/")
                continue
            started = time.perf_counter()
            with _quiet():
                result = api.autograde(lab, "*", force=True, create=True)
            # Some nbgrader errors abort the whole run, not just one notebook: grade whoever
            # is left one by one, so a broken submission fails alone.
            failed = []
            if not result.get("success"):
                for student in subs:
                    if not (course / "autograded" / student / lab / f"{lab}.ipynb").exists():
                        with _quiet():
                            retry = api.autograde(lab, student, force=True, create=True)
                        if not retry.get("success"):
                            failed.append(student)
                            _fail(out, course, student, lab, f"not gradable: {nbgrader_cause(retry)}")
            total = len(subs) + len(intake.refused)
            out.say(f"{lab}: graded {len(subs) - len(failed)} of {total} submissions "
                    f"(nbgrader {time.perf_counter() - started:.1f} s)")
    return out


def _fail(out: StepResult, course: Path, student: str, lab: str, reason: str) -> None:
    out.failed.append(f"{student}/{lab}")
    out.say(f"{student}/{lab}: {reason}")
    record_not_gradable(course, student, lab, reason)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """nbgrader logs its failures (tracebacks included) to stderr as well as into the result
    it returns; the step reports each failure once, as one line, from that result."""
    import logging

    logger = logging.getLogger("NbGraderAPI")
    handlers = [h for h in logging.getLogger().handlers + logger.handlers
                if isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is sys.stderr]
    levels = [h.level for h in handlers]
    for h in handlers:
        h.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # SQLAlchemy's and nbformat's, about nbgrader's own use
            yield
    finally:
        for h, level in zip(handlers, levels, strict=True):
            h.setLevel(level)


_EXCEPTION = re.compile(r"^\s*(?:\[\w+\]\s*)?([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$")


def nbgrader_cause(result: dict[str, Any]) -> str:
    """One line saying why nbgrader could not grade a submission, from the result its API
    returns: the last exception its log names, never the traceback around it."""
    text = "\n".join([result.get("log") or "", result.get("error") or ""])
    found = [m.groups() for m in map(_EXCEPTION.match, text.splitlines())
             if m and not m.group(1).endswith("NbGraderException")]
    if not found:
        return "nbgrader failed on it and gave no reason"
    kind, message = found[-1]
    return f"nbgrader failed on it ({kind.rsplit('.', 1)[-1]}: {first_line(message)[:200]})"


def feedback(course: Path | None = None, labs: Iterable[str] | None = None) -> StepResult:
    """HTML feedback for every autograded submission: course/feedback/<student>/<lab>/."""
    course = course if course is not None else course_dir()
    out = StepResult()
    api = _api(course)
    for lab in _labs(labs):
        if not any((course / "autograded").glob(f"*/{lab}")):
            continue
        with _quiet():
            result = api.generate_feedback(lab, force=True)
        if not result.get("success"):
            # one page that cannot be made must not cost the class its feedback
            for student in sorted(p.parent.name for p in (course / "autograded").glob(f"*/{lab}")):
                if not (course / "feedback" / student / lab / f"{lab}.html").exists():
                    with _quiet():
                        retry = api.generate_feedback(lab, student, force=True)
                    if not retry.get("success"):
                        out.failed.append(f"{student}/{lab}")
                        out.say(f"{student}/{lab}: no feedback: {nbgrader_cause(retry)}")
        out.say(f"{lab}: feedback in {course / 'feedback'}/*/{lab}/")
    return out


def released_labs(course: Path, gradebook_labs: Iterable[str]) -> list[str]:
    """The labs that count towards a total: in the gradebook and released to the class
    (course/release/<lab>/ exists), in gradebook order."""
    return [lab for lab in gradebook_labs if (course / "release" / lab).is_dir()]


def not_gradable_reasons(course: Path) -> dict[tuple[str, str], str]:
    """(student, lab) -> why that submission has no grade (refused, or nbgrader or the
    clean grader could not grade it), from the per-submission results."""
    found = {}
    for path in sorted(results_dir(course).glob("*/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("not_gradable"):
            found[(path.stem, path.parent.name)] = str(data["not_gradable"])
    return found


def grades(course: Path | None = None, path: Path | None = None) -> StepResult:
    """grades.csv: one row per student; per released lab its score and its maximum (an empty
    score: not submitted; "not gradable: <why>": submitted but could not be graded, which is
    not a 0), the total and maximum over released labs, the labs waiting for a manual grade.
    Safe to open in a spreadsheet (grader.grading.gradesheet)."""
    course = course if course is not None else course_dir()
    from nbgrader.api import Gradebook, MissingEntry

    path = path or course / "grades.csv"
    out = StepResult()
    reasons = not_gradable_reasons(course)
    scores: dict[str, dict[str, float]] = {}
    pending: dict[str, list[str]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        labs = released_labs(course, [a.name for a in gb.assignments])
        maxima = {lab: float(gb.find_assignment(lab).max_score) for lab in labs}
        for student in (s.id for s in gb.students):
            for lab in labs:
                try:
                    sub = gb.find_submission(lab, student)
                except MissingEntry:
                    continue
                scores.setdefault(student, {})[lab] = float(sub.score)
                if sub.needs_manual_grade and (student, lab) not in reasons:
                    pending.setdefault(student, []).append(lab)
    students = sorted(set(scores) | {s for s, lab in reasons if lab in maxima})
    header, rows = grade_table(students, maxima, scores, reasons, pending)
    write_csv(path, header, rows)
    out.say(f"grades of {len(rows)} students over {len(labs)} released labs -> {path}")
    return out
