"""The real nbgrader pipeline, end to end, on a temporary copy of labs/: release every lab,
autograde the solution, the blank notebook, the mutants and the tamper attempts, generate
feedback, export grades and the item analysis. One run, shared by every assertion."""
from __future__ import annotations

import html
import inspect
from pathlib import Path
from typing import Any

import pytest
from lab_submissions import EXAM_LAB, EXAM_TAMPER, MORE_TAMPER_LABS, TAMPER, TAMPER_LAB, build_class, mutants

from grader.grading import report, steps
from grader.labs import all_labs, get_lab, is_drawn
from grader.labs.replay import parse_commands
from grader.labs.spec import checks_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Build the class, grade it, and return the course root with what each submission must score."""
    root = tmp_path_factory.mktemp("course")
    expected = build_class(root)
    graded = steps.autograde(root, parallel=2)
    steps.feedback(root)
    steps.grades(root)
    report.write_report(root)
    return {"root": root, "expected": expected, "failed": graded.failed}


def _grades(root: Path, student: str, lab: str) -> dict[str, Any]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(lab, lab, student)
        return {g.name: (g.auto_score, g.needs_manual_grade, g.max_score) for g in nb.grades}


def _part_scores(grades: dict[str, Any], lab: str) -> dict[str, float]:
    """Each part's score: its visible test cell plus its hidden-checks cell."""
    return {p.id: grades[p.test_cell][0] + (grades[p.hidden_cell][0] if p.hidden_cell in grades else 0.0)
            for p in get_lab(lab).parts}


def _feedback(root: Path, student: str, lab: str) -> str:
    return (root / "feedback" / student / lab / f"{lab}.html").read_text(encoding="utf-8")


def test_every_submission_was_graded(course: dict[str, Any]) -> None:
    assert course["failed"] == []
    for student, lab in course["expected"]:
        assert (course["root"] / "autograded" / student / lab / f"{lab}.ipynb").exists(), (student, lab)


@pytest.mark.parametrize("lab", [lab.name for lab in all_labs()])
def test_the_solution_gets_full_marks_and_waits_only_for_manual_grading(course: dict[str, Any], lab: str) -> None:
    grades = _grades(course["root"], "solution", lab)
    spec = get_lab(lab)
    for part in spec.parts:
        cells = [grades[c] for c in (part.test_cell, part.hidden_cell) if c in grades]
        assert all(score == max_score and not manual for score, manual, max_score in cells), (part.id, cells)
        assert sum(score for score, _, _ in cells) == pytest.approx(part.points), part.id
    for q in spec.manual:
        assert grades[q.id][1] is True     # the free-text answer goes to the instructor


@pytest.mark.parametrize("lab", [lab.name for lab in all_labs()])
def test_the_blank_release_scores_zero_everywhere(course: dict[str, Any], lab: str) -> None:
    grades = _grades(course["root"], "blank", lab)
    assert all(score == 0 for score, _, _ in grades.values()), grades
    assert "YOUR ANSWER HERE" in html.unescape(_feedback(course["root"], "blank", lab))


@pytest.mark.parametrize("mutant", mutants(), ids=lambda m: f"{m.lab}/{m.name}")
def test_a_mutant_gets_its_partial_score_and_feedback_sentence(course: dict[str, Any], mutant) -> None:
    grades = _grades(course["root"], mutant.student, mutant.lab)
    lab = get_lab(mutant.lab)
    scores = _part_scores(grades, mutant.lab)
    for part in lab.parts:
        assert scores[part.id] == pytest.approx(mutant.part_scores()[part.id], abs=1e-3), part.id
    text = html.unescape(_feedback(course["root"], mutant.student, mutant.lab))
    for part, want in mutant.expect.items():
        assert want["feedback"] in text, (part, want["feedback"])


def test_every_lab_has_at_least_three_mutants() -> None:
    for lab in all_labs():
        if not is_drawn(lab.name):     # a drawn lab's wrong answers are per learner (test_lab7_drawn.py)
            assert len(mutants(lab.name)) >= 3, lab.name


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tampering_with_a_drawn_lab_gains_nothing(course: dict[str, Any], name: str) -> None:
    for lab in (lab.name for lab in all_labs() if is_drawn(lab.name)):
        grades = _grades(course["root"], f"tamper-{name}", lab)
        assert [g[0] for g in grades.values()] == [0.0] * len(grades), (lab, grades)


def test_a_classmates_solution_of_a_drawn_lab_scores_below_full(course: dict[str, Any]) -> None:
    for lab in (lab.name for lab in all_labs() if is_drawn(lab.name)):
        mine, theirs = get_lab(lab, "wrong-learner"), get_lab(lab, "solution")
        assert mine.references() != theirs.references()      # the draws differ, so the test means something
        scores = _part_scores(_grades(course["root"], "wrong-learner", lab), lab)
        assert sum(scores.values()) < mine.points, scores


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tampering_gains_nothing(course: dict[str, Any], name: str) -> None:
    grades = _grades(course["root"], f"tamper-{name}", TAMPER_LAB)
    assert [g[0] for g in grades.values()] == [0.0] * len(grades), grades
    text = html.unescape(_feedback(course["root"], f"tamper-{name}", TAMPER_LAB))
    assert "the answer is empty" in text


@pytest.mark.parametrize("name", sorted(TAMPER))
@pytest.mark.parametrize("lab", MORE_TAMPER_LABS)
def test_tampering_with_the_capstone_gains_nothing(course: dict[str, Any], lab: str, name: str) -> None:
    grades = _grades(course["root"], f"tamper-{name}", lab)
    assert [g[0] for g in grades.values()] == [0.0] * len(grades), grades


@pytest.mark.parametrize("name", sorted(EXAM_TAMPER))
def test_mock_exam_tampering_gains_nothing(course: dict[str, Any], name: str) -> None:
    """Outputs claiming success, a transcript of commands never run, commands run from a
    cell of one's own, commands aimed at another namespace: the clean grader replays only the
    answer cells' commands, on a fresh cluster, so none of it earns a point."""
    grades = _grades(course["root"], f"exam-{name}", EXAM_LAB)
    assert [g[0] for g in grades.values()] == [0.0] * len(grades), grades
    text = html.unescape(_feedback(course["root"], f"exam-{name}", EXAM_LAB))
    if name == "other-namespace":
        assert "refused: `-n kube-system`: this task works in namespace a01-web only" in text


def test_mock_exam_feedback_says_per_task_why(course: dict[str, Any]) -> None:
    """A mutant of the exam is told, task by task, what its commands did and what the state
    lacks: the replay's first failed command and each check's sentence."""
    text = html.unescape(_feedback(course["root"], "mutant-edit-and-pipes", EXAM_LAB))
    assert "1 command replayed, 1 failed; line 1 `kubectl edit service search`: refused: `kubectl edit` opens " \
           "an editor" in text
    assert "search:80/hostname from app=client: expected OK, got REFUSED" in text
    full = html.unescape(_feedback(course["root"], "solution", EXAM_LAB))
    for part in get_lab(EXAM_LAB).parts:
        n = len(parse_commands(part.reference))
        assert f"{part.id}: {part.title} ({n} command{'s' if n > 1 else ''} replayed, all succeeded)" in full


@pytest.mark.parametrize("student", ["reordered", "duplicated", "deleted-tests", "deleted-answer"])
def test_edited_notebooks_are_still_graded(course: dict[str, Any], student: str) -> None:
    for (who, lab), parts in course["expected"].items():
        if who != student:
            continue
        grades = _grades(course["root"], who, lab)
        assert _part_scores(grades, lab) == pytest.approx(parts), (who, lab)


def test_a_deleted_answer_cell_is_named_in_the_feedback(course: dict[str, Any]) -> None:
    text = html.unescape(_feedback(course["root"], "deleted-answer", TAMPER_LAB))
    assert "not gradable: the answer cell was deleted" in text


def _hidden_sources(lab_name: str) -> list[str]:
    lines = []
    lab = get_lab(lab_name)
    for part in lab.parts:
        for check in checks_for(part.hidden, part.reference):
            try:
                src = inspect.getsource(check.fn)
            except (OSError, TypeError):
                continue
            lines += [ln.strip() for ln in src.splitlines() if len(ln.strip()) > 24]
    return lines


@pytest.mark.parametrize("lab", [lab.name for lab in all_labs()])
def test_feedback_shows_hidden_results_but_never_test_source(course: dict[str, Any], lab: str) -> None:
    page = _feedback(course["root"], "solution", lab)
    text = html.unescape(page)
    hidden = _hidden_sources(lab)
    assert "HIDDEN TESTS" not in text
    assert not [ln for ln in hidden if ln in text]
    if any(get_lab(lab).part(p.id).hidden for p in get_lab(lab).parts):
        assert "(hidden check)" in text          # results of hidden checks are reported after grading
    blank = html.unescape(_feedback(course["root"], "blank", lab))
    for part in get_lab(lab).parts:              # nor does the reference answer leak to a learner
        assert part.reference.strip() not in blank


def test_grades_csv_has_a_row_per_student(course: dict[str, Any]) -> None:
    import csv
    rows = {r["student"]: r for r in csv.DictReader((course["root"] / "grades.csv").open(encoding="utf-8"))}
    assert float(rows["blank"]["total"]) == 0
    assert float(rows["solution"]["total"]) == sum(lab.points for lab in all_labs())
    assert "lab2-external-access" in rows["solution"]["needs_manual_grade"]


def test_item_analysis_reports_the_class_pass_rate_of_every_check(course: dict[str, Any]) -> None:
    import csv
    root = course["root"]
    assert (root / "reports" / "item-analysis.html").exists()
    rows = list(csv.DictReader((root / "reports" / "item-analysis.csv").open(encoding="utf-8")))
    row = next(r for r in rows if r["lab"] == "lab1-clusterip" and r["part"] == "part1"
               and r["check"] == "Service backend selects app=backend")
    lab1 = [(who, parts) for (who, lab), parts in course["expected"].items() if lab == "lab1-clusterip"]
    blank = ["blank"] + [f"tamper-{name}" for name in TAMPER]      # part1 left as released
    deleted = ["deleted-answer"]                                    # part1's answer cell deleted
    full = sum(1 for _, parts in lab1 if parts["part1"] == 3)
    # rates are over the gradable answers; blank and ungradable ones are counted apart
    assert int(row["blank"]) == len(blank) and int(row["not_gradable"]) == len(deleted)
    assert int(row["students"]) == len(lab1) - len(blank) - len(deleted)
    assert int(row["passed"]) == full
    # the most common real mistake, not "the answer is empty" of the blank submissions
    selector_typo = next(m for m in mutants("lab1-clusterip") if m.name == "selector-typo")
    assert selector_typo.expect["part1"]["feedback"] in row["top_feedback"]
    html_page = (root / "reports" / "item-analysis.html").read_text(encoding="utf-8")
    assert "Service backend selects app=backend" in html_page and "(hidden)" in html_page


def test_grades_csv_has_a_score_and_a_maximum_per_lab(course: dict[str, Any]) -> None:
    import csv
    rows = {r["student"]: r for r in csv.DictReader((course["root"] / "grades.csv").open(encoding="utf-8"))}
    for lab in all_labs():
        assert float(rows["solution"][f"{lab.name} max"]) == lab.points + sum(q.points for q in lab.manual)
        assert float(rows["solution"][lab.name]) == lab.points
    assert float(rows["solution"]["max"]) == sum(lab.points + sum(q.points for q in lab.manual) for lab in all_labs())
