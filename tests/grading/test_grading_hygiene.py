"""Submission hygiene and instructor outputs, fast (no nbgrader run): staging never follows a
link, notebooks nbgrader cannot read are named with their cause, grades.csv cells are safe
in a spreadsheet, the item analysis counts only gradable answers, feedback excerpts are
bounded, points read with 2 decimals and an answer in the wrong cell is pointed at."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grader.checks import core
from grader.grading.extract import answers_from_cells
from grader.grading.gradesheet import grade_table, spreadsheet_safe
from grader.grading.intake import notebook_problem, stage
from grader.grading.preprocessors import excerpt
from grader.grading.report import collect
from grader.grading.steps import nbgrader_cause
from grader.labs import get_lab

LAB1 = get_lab("lab1-clusterip")
NB = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}


def _submit(course: Path, student: str, lab: str = "lab") -> Path:
    folder = course / "submitted" / student / lab
    folder.mkdir(parents=True)
    (folder / f"{lab}.ipynb").write_text(json.dumps(NB), encoding="utf-8")
    return folder


# --------------------------------------------------------------------- staging
def test_staging_copies_regular_files_and_skips_every_link_by_name(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "id_rsa").write_text("secret", encoding="utf-8")
    course = tmp_path / "course"
    alice = _submit(course, "alice")
    (alice / "notes.md").write_text("mine", encoding="utf-8")
    (alice / "data").mkdir()
    (alice / "data" / "x.yaml").write_text("kind: Service", encoding="utf-8")
    os.symlink(outside / "id_rsa", alice / "key")
    os.symlink(outside, alice / "data" / "home")
    os.mkfifo(alice / "pipe")                       # shutil.copy would block on it for ever
    out = stage(course, "lab", tmp_path / "staged")
    copied = sorted(str(p.relative_to(tmp_path / "staged")) for p in (tmp_path / "staged").rglob("*"))
    assert copied == ["alice", "alice/lab", "alice/lab/data", "alice/lab/data/x.yaml", "alice/lab/lab.ipynb",
                      "alice/lab/notes.md"]
    assert sorted(out.skipped) == ["alice/lab: skipped data/home: a symbolic link",
                                   "alice/lab: skipped key: a symbolic link", "alice/lab: skipped pipe: not a regular file"]
    assert out.staged == {"alice": tmp_path / "staged" / "alice" / "lab" / "lab.ipynb"} and out.refused == {}


def test_a_linked_notebook_lab_folder_or_student_folder_is_refused(tmp_path: Path) -> None:
    course = tmp_path / "course"
    alice = _submit(course, "alice")
    (course / "submitted" / "bob" / "lab").mkdir(parents=True)
    os.symlink(alice / "lab.ipynb", course / "submitted" / "bob" / "lab" / "lab.ipynb")
    (course / "submitted" / "carol").mkdir()
    os.symlink(alice, course / "submitted" / "carol" / "lab")
    os.symlink(course / "submitted" / "alice", course / "submitted" / "dave")
    out = stage(course, "lab", tmp_path / "staged")
    assert set(out.staged) == {"alice"}
    assert out.refused == {
        "bob": "not gradable: the notebook lab.ipynb is a symbolic link, not the learner's own file",
        "carol": "not gradable: its lab folder lab is a symbolic link, not a folder of its own",
        "dave": "not gradable: its student folder dave is a symbolic link, not a folder of its own"}


def test_a_notebook_nbgrader_cannot_read_is_refused_at_staging_with_its_cause(tmp_path: Path) -> None:
    course = tmp_path / "course"
    folder = _submit(course, "eve")
    (folder / "lab.ipynb").write_text(json.dumps(NB)[:20], encoding="utf-8")
    out = stage(course, "lab", tmp_path / "staged")
    assert out.staged == {} and out.refused["eve"].startswith("not gradable: the notebook is not valid JSON")
    assert not (tmp_path / "staged" / "eve" / "lab").exists()


def _cell(nbgrader: dict) -> dict:
    return {"cell_type": "code", "metadata": {"nbgrader": nbgrader}, "source": "", "outputs": []}


@pytest.mark.parametrize("notebook, cause", [
    ('{"cells": [', "not valid JSON"),
    ('[1, 2]', "not a JSON object"),
    ('{"nbformat": 2, "cells": []}', "nbformat is 2"),
    ('{"nbformat": 4, "cells": {}}', "no list of cells"),
    (json.dumps({**NB, "cells": [_cell({"grade": True, "grade_id": "t", "points": 1, "schema_version": "3"})]}),
     "cell 1: nbgrader metadata of 't': schema_version is '3', not a number"),
    (json.dumps({**NB, "cells": [_cell({"grade": "yes", "grade_id": "t", "points": 1, "schema_version": 3})]}),
     "grade is 'yes', not true or false"),
    (json.dumps({**NB, "cells": [_cell({"grade": True, "points": 1, "schema_version": 3})]}),
     "cell 1: nbgrader metadata: grade_id is missing"),
    (json.dumps({**NB, "cells": [_cell({"grade": True, "grade_id": "t", "points": "9", "schema_version": 3})]}),
     "points is '9', not a number"),
])
def test_notebook_problems_name_the_cause(tmp_path: Path, notebook: str, cause: str) -> None:
    path = tmp_path / "x.ipynb"
    path.write_text(notebook, encoding="utf-8")
    assert cause in (notebook_problem(path) or "")


def test_a_readable_notebook_has_no_problem(tmp_path: Path) -> None:
    from grader.labs.notebook import render
    path = tmp_path / "x.ipynb"
    path.write_text(render(LAB1), encoding="utf-8")
    assert notebook_problem(path) is None


def test_nbgrader_cause_is_the_last_exception_it_logged_in_one_line() -> None:
    log = ("[INFO] Converting notebook\n[ERROR] There was an error processing assignment: /x\n"
           "[ERROR] Traceback (most recent call last):\n      File \"x.py\", line 1, in f\n"
           "        raise NotJSONError(message) from e\n"
           "    nbformat.reader.NotJSONError: Notebook does not appear to be JSON: '{\"cells...\n"
           "[ERROR] Please see the the above traceback for details on the specific errors on the above failures.\n")
    error = "Traceback (most recent call last):\nnbgrader.converters.base.NbGraderException: Please see the above"
    cause = nbgrader_cause({"log": log, "error": error})
    assert cause == "nbgrader failed on it (NotJSONError: Notebook does not appear to be JSON: '{\"cells...)"
    assert nbgrader_cause({}) == "nbgrader failed on it and gave no reason"


# --------------------------------------------------------------------- grades.csv
@pytest.mark.parametrize("value, cell", [
    ("=1+2", "'=1+2"), ("+44 20", "'+44 20"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("alice", "alice"), (1.7777, "1.78"), (11.0, "11"), (0.0, "0"), ("", ""),
])
def test_spreadsheet_safe_quotes_formulas_and_rounds_numbers(value: object, cell: str) -> None:
    assert spreadsheet_safe(value) == cell


def test_grade_table_totals_released_labs_and_keeps_not_gradable_apart_from_zero() -> None:
    header, rows = grade_table(
        ["ann", "bo", "cy"], {"lab1": 11.0, "lab2": 7.0},
        {"ann": {"lab1": 10.5, "lab2": 7.0, "lab9": 5.0}, "bo": {"lab1": 0.0}},
        {("cy", "lab1"): "not gradable: the notebook is not valid JSON"}, {"ann": ["lab2"]})
    assert header == ["student", "lab1", "lab1 max", "lab2", "lab2 max", "total", "max", "not_gradable",
                      "needs_manual_grade"]
    ann, bo, cy = rows
    assert (ann["total"], ann["max"], ann["needs_manual_grade"]) == (17.5, 18.0, "lab2")   # lab9 is not released
    assert (bo["lab1"], bo["lab2"], bo["not_gradable"]) == (0.0, "", "")                    # 0, and not submitted
    assert cy["lab1"] == "not gradable: the notebook is not valid JSON" and cy["not_gradable"] == "lab1"


# --------------------------------------------------------------------- item analysis
def _result(student: str, part: dict, *, not_gradable: str | None = None) -> dict:
    return {"id": f"{student}/lab1", "lab": "lab1", "parts": {"part1": part} if part else {},
            "not_gradable": not_gradable}


def _part(passed: bool, feedback: str, not_gradable: str | None = None) -> dict:
    return {"title": "t", "score": 1 if passed else 0, "points": 1, "hidden_pending": 0,
            "not_gradable": not_gradable,
            "results": [{"name": "c", "earned": 1 if passed else 0, "points": 1, "passed": passed,
                         "feedback": feedback, "hidden": False}]}


def test_item_analysis_rates_gradable_answers_and_counts_blank_and_ungradable_apart(tmp_path: Path) -> None:
    empty = "the answer is empty: write your manifests where the cell says YOUR ANSWER HERE"
    results = {
        "a": _result("a", _part(True, "ok")),
        "b": _result("b", _part(False, "Service selects app=back")),
        "c": _result("c", _part(False, "Service selects app=back")),
        "d": _result("d", _part(False, "not gradable: " + empty, not_gradable=empty)),
        "e": _result("e", _part(False, "not gradable: " + empty, not_gradable=empty)),
        "f": _result("f", _part(False, "not gradable: " + empty, not_gradable=empty)),
        "g": _result("g", _part(False, "not gradable: bad YAML", not_gradable="bad YAML")),
        "h": _result("h", {}, not_gradable="not gradable: the notebook is a symbolic link"),
    }
    (tmp_path / "lab1").mkdir()
    for student, data in results.items():
        (tmp_path / "lab1" / f"{student}.json").write_text(json.dumps(data), encoding="utf-8")
    [item] = collect(tmp_path)
    row = item.row()
    assert (row["students"], row["passed"], row["pass_rate"]) == (3, 1, round(1 / 3, 4))
    assert (row["blank"], row["not_gradable"]) == (3, 2)
    assert row["top_feedback"] == "Service selects app=back"


# --------------------------------------------------------------------- feedback
def test_an_excerpt_is_bounded_and_says_what_was_left_out() -> None:
    assert excerpt("kind: Service\n", 100, 10) == "kind: Service\n"
    long = "x" * 5000
    cut = excerpt(long, 1000, 10)
    assert cut.startswith("x" * 1000) and len(cut) < 1200
    assert "# ... (shortened for this page: 5,000 characters and 1 lines in all; the first 1,000" in cut
    many = "".join(f"line {i}\n" for i in range(50))
    assert excerpt(many, 10_000, 5).splitlines()[:6] == [f"line {i}" for i in range(5)] + [
        "# ... (shortened for this page: 390 characters and 50 lines in all; the first 35 characters are shown)"]
    assert excerpt(long, 1000, 10, markdown=True).endswith(")*")


def test_points_read_with_at_most_two_decimals() -> None:
    assert str(core.Result("c", 16 / 9, 2.0, "ok")).startswith("~ c [1.78/2]")
    assert str(core.Result("c", 0.0, 2 / 3, "no")).startswith("✗ c [0/0.67]")
    assert core.Report("lab1 part3", [core.Result("c", 1.3333, 1.3333, "ok")]).summary() == \
        "lab1 part3: 1.33/1.33 points, every check passed"


# --------------------------------------------------------------------- the wrong cell
def _code(source: str, grade_id: str | None = None) -> dict:
    meta = {"nbgrader": {"grade_id": grade_id, "solution": True, "grade": False}} if grade_id else {}
    return {"cell_type": "code", "metadata": meta, "source": source, "outputs": []}


def test_an_answer_below_the_untouched_stub_is_not_graded_but_the_reason_says_where_to_write_it() -> None:
    cells = [_code("%%answer part3\n# YOUR ANSWER HERE", "answer_part3"),
             _code("apiVersion: v1\nkind: Service\n"), _code("report = lab.self_check('part3')", "test_part3")]
    answers, missing = answers_from_cells(cells, LAB1)
    assert "part3" not in answers
    assert missing["part3"].startswith("the answer is empty: the answer cell of Part 3 (")
    assert "Only the cell that starts with `%%answer part3` is graded" in missing["part3"]
    # nothing typed anywhere: the usual sentence, no hint
    answers, missing = answers_from_cells(cells[:1] + cells[2:], LAB1)
    assert answers["part3"] == "# YOUR ANSWER HERE" and "part3" not in missing


def test_a_copied_answer_cell_is_graded_when_the_original_stub_was_left_empty() -> None:
    cells = [_code("%%answer part3\n# YOUR ANSWER HERE", "answer_part3"), _code("%%answer part3\nkind: Service\n")]
    answers, missing = answers_from_cells(cells, LAB1)
    assert answers["part3"] == "kind: Service\n" and "part3" not in missing


def test_feedback_that_fails_for_one_student_is_one_line_and_the_others_get_theirs(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    from grader.grading import steps

    course = tmp_path / "course"
    for student in ("ann", "bo"):
        (course / "autograded" / student / "lab1-clusterip").mkdir(parents=True)
    made = []

    class Api:
        def generate_feedback(self, lab, student=None, force=True):  # type: ignore[no-untyped-def]
            if student is None:
                return {"success": False, "log": "[ERROR] ...", "error": "Traceback"}
            if student == "bo":
                return {"success": False, "log": "    ValueError: bad cell\n[ERROR] There was an error", "error": ""}
            made.append(student)
            return {"success": True}

    monkeypatch.setattr(steps, "_api", lambda course: Api())
    out = steps.feedback(course, ["lab1-clusterip"])
    assert made == ["ann"] and out.failed == ["bo/lab1-clusterip"]
    assert "bo/lab1-clusterip: no feedback: nbgrader failed on it (ValueError: bad cell)" in out.lines
