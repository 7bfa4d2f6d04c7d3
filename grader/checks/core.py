"""The grading core: a Check observes a namespace and returns a Verdict; `run` runs a list of
them and returns a Report with a score and one feedback sentence per check.

Why it is shaped like this (DESIGN.md, "Grading"):
- Every sub-check runs and is reported, never just the first failed assert, so a learner
  sees everything that is wrong at once and a cell scores the share it earned.
- A check never raises into the cell and never writes to stderr: nbgrader scores a test cell
  0 on any error or stderr output, so exceptions become failed results with a sentence, and
  warnings and stray stderr writes are captured.
- Each check has a time limit, so one pathological answer fails alone.
- Feedback is built from the structured results, never from test source, so a hidden
  check's code never reaches a learner.
"""
from __future__ import annotations

import contextlib
import html
import io
import math
import signal
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from grader.k8s.wording import first_line

#: Seconds one check may take before it fails with a time-limit message.
DEFAULT_TIME_LIMIT = 20.0

PASS_MARK, FAIL_MARK, PARTIAL_MARK = "✓", "✗", "~"

#: How every "nothing was answered" reason starts (manifests and facts answers alike).
EMPTY_ANSWER = "the answer is empty"


@dataclass(frozen=True)
class Verdict:
    """What a check function returns: the share of its points earned (0..1) and why."""

    share: float
    feedback: str

    def __post_init__(self) -> None:
        if not (isinstance(self.share, (int, float)) and 0.0 <= float(self.share) <= 1.0) or \
                (isinstance(self.share, float) and math.isnan(self.share)):
            raise ValueError(f"a verdict's share is between 0 and 1, not {self.share!r}")


def passed(feedback: str) -> Verdict:
    return Verdict(1.0, feedback)


def failed(feedback: str) -> Verdict:
    return Verdict(0.0, feedback)


def partial(share: float, feedback: str) -> Verdict:
    return Verdict(max(0.0, min(1.0, float(share))), feedback)


@dataclass(frozen=True)
class Result:
    """One check's outcome, as a learner and an instructor's report read it."""

    name: str
    earned: float
    points: float
    feedback: str
    hidden: bool = False

    @property
    def passed(self) -> bool:
        # earned is rounded to 6 digits: a third of 4 points (1.333333) is still all of it
        return self.earned >= self.points - 1e-6

    @property
    def mark(self) -> str:
        return PASS_MARK if self.passed else (PARTIAL_MARK if self.earned > 0 else FAIL_MARK)

    def __str__(self) -> str:
        return f"{self.mark} {self.label} [{_num(self.earned)}/{_num(self.points)}]: {self.feedback}"

    @property
    def label(self) -> str:
        """The name, marked when the check was hidden until grading."""
        return f"{self.name} (hidden check)" if self.hidden else self.name


#: A check function: given the namespace under test, say how well it does.
CheckFn = Callable[[Any], Verdict]


@dataclass(frozen=True)
class Check:
    """A named, weighted observation of a namespace. Build them with the factories in
    grader.checks (endpoints_match, reachable, resolves, matrix_matches, ...)."""

    name: str
    fn: CheckFn = field(repr=False)
    points: float = 1.0
    hidden: bool = False
    time_limit: float = DEFAULT_TIME_LIMIT

    def worth(self, points: float) -> "Check":
        """The same check, worth `points`."""
        return Check(self.name, self.fn, float(points), self.hidden, self.time_limit)

    def as_hidden(self) -> "Check":
        """The same check, reported to the learner only after grading."""
        return Check(self.name, self.fn, self.points, True, self.time_limit)

    def named(self, name: str) -> "Check":
        return Check(name, self.fn, self.points, self.hidden, self.time_limit)

    def run(self, ns: Any) -> Result:
        """Run once, within the time limit, with stderr and warnings captured; any failure
        to run becomes a failed Result with a sentence, never an exception."""
        sink = io.StringIO()
        try:
            with warnings.catch_warnings(), contextlib.redirect_stderr(sink), _time_limit(self.time_limit):
                warnings.simplefilter("ignore")
                verdict = self.fn(ns)
            if not isinstance(verdict, Verdict):
                raise TypeError(f"check {self.name!r} returned {type(verdict).__name__}, not a Verdict")
        except CheckTimeout:
            verdict = failed(f"took longer than {self.time_limit:g} s, so it was stopped")
        except NotGradable as exc:
            verdict = failed(f"not gradable: {exc}")
        except LookupError as exc:   # e.g. no pod matches the `frm` selector
            verdict = failed(first_line(exc))
        except Exception as exc:  # noqa: BLE001  -- a check never crashes a test cell
            verdict = failed(f"could not be checked: {type(exc).__name__}: {first_line(exc)}")
        return Result(self.name, round(verdict.share * self.points, 6), self.points,
                      verdict.feedback, self.hidden)


class NotGradable(Exception):
    """The answer cannot be graded at all (invalid YAML, refused by the API server...).
    The message says why; every check of that part scores 0 with it."""


class CheckTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):  # type: ignore[no-untyped-def]
    """SIGALRM-based limit in the main thread (where a notebook kernel runs cells); no
    limit elsewhere, where signals cannot be delivered. The grading pipeline adds a process
    time limit on top, so a submission that blocks signals still cannot stall a class."""
    usable = (seconds and seconds > 0 and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise CheckTimeout()

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Report:
    """The results of one run: a score for nbgrader, a sentence per check for the learner.

    In a notebook the report renders as a table (HTML in JupyterLab, text elsewhere); its
    `score` is the number to leave as a test cell's last expression."""

    title: str
    results: list[Result]
    hidden_pending: int = 0        # hidden checks that run only when the instructor grades
    not_gradable: str | None = None    # why no check could run (empty answer, invalid YAML...)

    @property
    def blank(self) -> bool:
        """Nothing was answered: an item analysis counts it apart from wrong answers."""
        return self.not_gradable is not None and self.not_gradable.startswith(EMPTY_ANSWER)

    @property
    def score(self) -> float:
        # 4 digits: three checks worth 2/3 each must add up to 2, not 2.000001
        return round(sum(r.earned for r in self.results), 4)

    @property
    def points(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if not r.passed]

    def __float__(self) -> float:
        return float(self.score)

    def summary(self) -> str:
        head = f"{self.title}: {_num(self.score)}/{_num(self.points)} points"
        if not self.results:
            head += " (no checks ran)"
        elif self.passed:
            head += ", every visible check passed" if self.hidden_pending else ", every check passed"
        else:
            head += f", {len(self.failures)} of {len(self.results)} checks need work"
        if self.hidden_pending:
            head += (f"; {self.hidden_pending} hidden check{'s' if self.hidden_pending != 1 else ''} "
                     "will also run when your work is graded")
        return head

    def __str__(self) -> str:
        return "\n".join([self.summary()] + ["  " + str(r) for r in self.results])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = []
        for r in self.results:
            colour = "#c8f7c5" if r.passed else ("#f7ecc5" if r.earned > 0 else "#f7c5c5")
            rows.append(
                f"<tr style='background:{colour}'><td style='text-align:center'>{r.mark}</td>"
                f"<td>{html.escape(r.label)}</td>"
                f"<td style='text-align:right'>{_num(r.earned)}/{_num(r.points)}</td>"
                f"<td style='text-align:left'>{html.escape(r.feedback)}</td></tr>"
            )
        return ("<div class='svclab-report'><p><b>" + html.escape(self.summary()) + "</b></p>"
                "<table style='border-collapse:collapse'><tr><th></th><th>check</th><th>points</th>"
                "<th style='text-align:left'>feedback</th></tr>" + "".join(rows) + "</table></div>")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, for the grading pipeline and item analysis."""
        return {"title": self.title, "score": self.score, "points": self.points,
                "hidden_pending": self.hidden_pending, "not_gradable": self.not_gradable,
                "results": [{"name": r.name, "earned": r.earned, "points": r.points,
                             "passed": r.passed, "feedback": r.feedback, "hidden": r.hidden}
                            for r in self.results]}



def run(ns: Any, checks: Iterable[Check], *, title: str = "Checks", answer: Any = None,
        hidden_pending: int = 0, not_gradable: str | None = None) -> Report:
    """Run every check against `ns` and report them all.

    `answer` (YAML text, a path or objects) is applied to `ns` first; if it cannot be
    applied, every check scores 0 with "not gradable: <the problem>". `not_gradable` says
    the same for a reason found earlier (e.g. the answer cell was deleted)."""
    checks = list(checks)
    reason = not_gradable
    if reason is None and answer is not None:
        reason = apply_answer(ns, answer)
    if reason is not None:
        results = [Result(c.name, 0.0, c.points, f"not gradable: {reason}", c.hidden) for c in checks]
    else:
        results = [c.run(ns) for c in checks]
    return Report(title, results, hidden_pending, reason)


def apply_answer(ns: Any, answer: Any) -> str | None:
    """Apply a learner's answer; None when it applied, else the reason it could not be
    (every problem at once, as `svclab check` words them)."""
    from grader.manifests import ManifestError

    if answer is None or (isinstance(answer, str) and is_blank(answer)):
        return empty_answer("your manifests")
    sink = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            ns.apply(answer, source="your answer")
    except ManifestError as exc:
        return "; ".join(str(p) for p in exc.problems[:5]) + (
            f" (and {len(exc.problems) - 5} more problems)" if len(exc.problems) > 5 else "")
    except Exception as exc:  # noqa: BLE001  -- never a traceback in a learner's cell
        return f"{type(exc).__name__}: {first_line(exc)}"
    return None


def empty_answer(what: str) -> str:
    """The reason a blank answer cell (the released stub) is not graded, telling the learner
    what to write there: one wording for every kind of answer."""
    return f"{EMPTY_ANSWER}: write {what} where the cell says YOUR ANSWER HERE"


def is_blank(text: str | None) -> bool:
    """Blank lines and comments only, like the "# YOUR ANSWER HERE" stub of a released lab."""
    return not any(line.strip() and not line.lstrip().startswith("#") for line in (text or "").splitlines())


def check(name: str, points: float = 1.0, *, hidden: bool = False,
          time_limit: float = DEFAULT_TIME_LIMIT) -> Callable[[CheckFn], Check]:
    """Decorator for a lab's own check: `@check("frontend reaches backend", points=2)`."""
    def wrap(fn: CheckFn) -> Check:
        return Check(name, fn, float(points), hidden, time_limit)
    return wrap


def points_text(x: float) -> str:
    """Points as every learner-facing text writes them (see _num)."""
    return _num(x)


def _num(x: float) -> str:
    """Points as a learner reads them: at most 2 decimals ("1.78", "0.67", "3"), never
    "1.7778" or "0.666667" (the score itself keeps 4 digits for nbgrader)."""
    text = f"{round(float(x), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def listing(items: Sequence[str], limit: int = 5) -> str:
    """'a, b and c' (at most `limit` named, then 'and N more')."""
    items = list(items)
    if not items:
        return "none"
    shown = items[:limit]
    rest = len(items) - len(shown)
    if rest:
        return ", ".join(shown) + f" and {rest} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
