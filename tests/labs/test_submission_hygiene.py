"""Submissions as they really arrive, through the real nbgrader pipeline (lab1 only): nothing
outside a submission is read or handed back, a notebook that is not the learner's own file is
refused, nbgrader's own failures are one line each while the class is graded, the feedback
quotes a bounded excerpt and loads nothing from the network, grades.csv is safe to open in a
spreadsheet and the item analysis counts only what could be graded."""
from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from hygiene_class import BROKEN, HUGE_BYTES, LAB, SECRET, build

from grader.grading import report, steps
from grader.labs import get_lab

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("hygiene")
    facts = build(root / "course", root / "outside")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        result = steps.autograde(root / "course", [LAB], parallel=2)
        steps.feedback(root / "course", [LAB])
        steps.grades(root / "course")
        report.write_report(root / "course")
    return {"root": root / "course", "lines": result.lines, "failed": result.failed, "stderr": err.getvalue(),
            **facts}


def _score(root: Path, student: str) -> float:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return gb.find_submission(LAB, student).score


def _feedback(root: Path, student: str) -> str:
    return (root / "feedback" / student / LAB / f"{LAB}.html").read_text(encoding="utf-8")


def _grades(root: Path) -> list[list[str]]:
    with (root / "grades.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_nothing_a_symlink_points_to_is_copied_into_autograded_or_feedback(graded: dict[str, Any]) -> None:
    root = graded["root"]
    for folder in ("autograded", "feedback"):
        for dirpath, dirnames, filenames in os.walk(root / folder):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                assert not path.is_symlink(), path
                if path.is_file():
                    assert SECRET.encode() not in path.read_bytes(), path
    returned = root / "feedback" / "links-beside" / LAB
    assert (returned / "README.txt").read_text(encoding="utf-8") == "my own notes"   # its own files still go back
    assert not (returned / "notes.txt").exists() and not (returned / "home").exists()
    for name in ("notes.txt", "home"):
        assert f"links-beside/{LAB}: skipped {name}: a symbolic link" in graded["lines"]
    assert _score(root, "links-beside") == pytest.approx(graded["points"], abs=1e-3)


def test_a_notebook_that_is_a_symlink_is_refused_not_graded(graded: dict[str, Any]) -> None:
    root = graded["root"]
    assert not (root / "autograded" / "copycat").exists() and not (root / "feedback" / "copycat").exists()
    line = [ln for ln in graded["lines"] if ln.startswith(f"copycat/{LAB}: ")]
    assert line == [f"copycat/{LAB}: not gradable: the notebook {LAB}.ipynb is a symbolic link, "
                    "not the learner's own file"]
    assert f"copycat/{LAB}" in graded["failed"]


@pytest.mark.parametrize("student", [s for s in BROKEN if s != "nbformat-3"])
def test_a_notebook_nbgrader_cannot_read_is_one_line_naming_it_and_the_cause(graded: dict[str, Any],
                                                                            student: str) -> None:
    lines = [ln for ln in graded["lines"] if ln.startswith(f"{student}/{LAB}: ")]
    assert len(lines) == 1 and lines[0].startswith(f"{student}/{LAB}: not gradable: "), lines
    cause = {"truncated-json": "not valid JSON", "corrupt-metadata": "schema_version is 'three'",
             "missing-grade-id": "grade_id is missing"}[student]
    assert cause in lines[0]
    assert f"{student}/{LAB}" in graded["failed"]


def test_no_traceback_reaches_the_instructor_and_the_rest_of_the_class_is_graded(graded: dict[str, Any]) -> None:
    assert "Traceback" not in graded["stderr"] and not any("Traceback" in ln for ln in graded["lines"])
    for student in ("solution", "=1+2", "links-beside", "nbformat-3"):      # nbformat 3 reads as v4
        assert _score(graded["root"], student) == pytest.approx(graded["points"], abs=1e-3), student
    assert _score(graded["root"], "blank") == 0


def test_feedback_quotes_a_bounded_excerpt_of_a_huge_answer(graded: dict[str, Any]) -> None:
    page = _feedback(graded["root"], "huge-answer")
    assert len(page) < len(_feedback(graded["root"], "solution")) + 50_000      # the excerpt, not 2 MB
    assert "shortened for this page" in html.unescape(page)
    assert (graded["root"] / "autograded" / "huge-answer" / LAB / f"{LAB}.ipynb").stat().st_size > HUGE_BYTES


def test_feedback_loads_nothing_from_the_network(graded: dict[str, Any]) -> None:
    page = _feedback(graded["root"], "solution")
    remote = re.findall(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*['\"]?(?:https?:)?//[^>]*>", page,
                        re.IGNORECASE)
    assert remote == []
    assert not re.search(r"@import\s+url\(\s*['\"]?(?:https?:)?//", page)


def test_an_answer_typed_below_the_untouched_stub_is_told_where_the_answer_cell_is(graded: dict[str, Any]) -> None:
    text = html.unescape(_feedback(graded["root"], "wrong-cell"))
    assert "the answer is empty: the answer cell of Part 3" in text
    assert "Only the cell that starts with `%%answer part3` is graded" in text
    lab = get_lab(LAB)
    assert _score(graded["root"], "wrong-cell") == pytest.approx(lab.points - lab.part("part3").points)


def test_grades_csv_is_per_released_lab_with_maxima_and_not_gradable_apart_from_zero(graded: dict[str, Any]) -> None:
    rows = _grades(graded["root"])
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert header == ["student", LAB, f"{LAB} max", "total", "max", "not_gradable", "needs_manual_grade"]
    points = f"{graded['points']:g}"
    assert body["solution"][LAB] == points and body["solution"][f"{LAB} max"] == points
    assert body["solution"]["max"] == points                     # only lab1 was released
    assert body["blank"][LAB] == "0" and body["blank"]["not_gradable"] == ""
    for student in ("copycat", "truncated-json", "corrupt-metadata", "missing-grade-id"):
        assert body[student][LAB].startswith("not gradable: "), body[student]
        assert body[student]["not_gradable"] == LAB and body[student]["total"] == "0"
        assert body[student]["needs_manual_grade"] == ""
    assert "symbolic link" in body["copycat"][LAB]


def test_grades_csv_never_holds_a_spreadsheet_formula(graded: dict[str, Any]) -> None:
    rows = _grades(graded["root"])
    assert "'=1+2" in [r[0] for r in rows]
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]
    numbers = [cell for row in rows[1:] for cell in row if re.fullmatch(r"\d+(\.\d+)?", cell)]
    assert numbers and all(len(n.partition(".")[2]) <= 2 for n in numbers)


def test_item_analysis_counts_blank_and_ungradable_submissions_apart(graded: dict[str, Any]) -> None:
    with (graded["root"] / "reports" / "item-analysis.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    row = next(r for r in rows if r["part"] == "part3" and r["hidden"] == "False")
    # gradable part3 answers: solution, =1+2, links-beside, nbformat-3, huge-answer
    assert int(row["students"]) == 5 and int(row["passed"]) == 5
    assert int(row["blank"]) == 2                     # blank, wrong-cell
    assert int(row["not_gradable"]) == 4              # copycat and the three nbgrader could not read


def _page_requests(page: Path, tmp: Path) -> list[str]:
    """URLs a page asks for when headless Chromium opens it with the network blocked (every
    request goes to a dead proxy and resolves nowhere), read from Chromium's net log: the
    page's own requests carry its origin as initiator, the browser's own do not."""
    import subprocess
    log = tmp / "net.json"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--proxy-server=127.0.0.1:9",
                    "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp / 'profile'}",
                    f"--log-net-log={log}", "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    data = json.loads(log.read_text(encoding="utf-8"))
    start = data["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    jobs = [e.get("params") or {} for e in data["events"] if e["type"] == start]
    return sorted({p["url"] for p in jobs if "url" in p and p.get("initiator") != "not an origin"
                   and not p["url"].startswith(("file:", "data:", "blob:"))})


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_feedback_makes_no_network_request_in_a_browser(graded: dict[str, Any], tmp_path: Path) -> None:
    page = graded["root"] / "feedback" / "solution" / LAB / f"{LAB}.html"
    control = tmp_path / "control.html"       # the page as it was: MathJax from a CDN
    control.write_text(page.read_text(encoding="utf-8").replace(
        "</head>", '<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js"></script></head>'),
        encoding="utf-8")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert _page_requests(control, tmp_path / "a") == ["https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js"]
    assert _page_requests(page, tmp_path / "b") == []
