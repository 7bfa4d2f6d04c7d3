"""The lab specs, fast (no nbgrader, no kernel): references score full marks with hidden
checks included, every mutant gets its score and sentence, blank answers score 0, and the
generated notebooks and solutions are up to date with the specs."""
from __future__ import annotations

import pytest
from lab_submissions import mutants

from grader.cluster.offline import OfflineCluster
from grader.labs import all_labs, get_lab
from grader.labs.notebook import path_for, render
from grader.labs.root import project_root
from grader.labs.solutions import files
from grader.labs.spec import grade_lab

LABS = [lab.name for lab in all_labs()]


@pytest.mark.parametrize("name", LABS)
def test_the_reference_answers_score_full_marks(name: str) -> None:
    lab = get_lab(name)
    for part_id, report in grade_lab(lab, lab.references(), OfflineCluster).items():
        assert report.score == lab.part(part_id).points, str(report)


@pytest.mark.parametrize("name", LABS)
def test_blank_and_missing_answers_score_zero_with_a_reason(name: str) -> None:
    lab = get_lab(name)
    blank = grade_lab(lab, {p.id: "# YOUR ANSWER HERE\n" for p in lab.parts}, OfflineCluster)
    assert all(r.score == 0 and "the answer is empty" in r.results[0].feedback for r in blank.values())
    unrun = grade_lab(lab, {}, OfflineCluster)
    assert all("has not been run" in r.results[0].feedback for r in unrun.values())


class _NoNamespaces:
    """A cluster that fails a test when a part asks it for a namespace."""

    mode = "live"

    def namespace(self, name: str, *, fresh: bool = True) -> None:
        raise AssertionError(f"a blank answer built namespace {name}")


@pytest.mark.parametrize("name", LABS)
def test_a_blank_answer_is_told_what_to_write_without_building_anything(name: str) -> None:
    """Live, preparing a part (its namespace, workloads, the enforcement canary) takes half a
    minute; a class's blank parts must not cost that, and must say what the cell wants."""
    lab = get_lab(name)
    blank = grade_lab(lab, {p.id: "# YOUR ANSWER HERE\n\n  # still nothing\n" for p in lab.parts}, _NoNamespaces)
    wants = {"manifests": "your manifests", "facts": "your answer", "commands": "your kubectl commands",
             "corefile": "the whole Corefile"}
    for part in lab.parts:
        feedback = blank[part.id].results[0].feedback
        assert feedback == f"not gradable: the answer is empty: write {wants[part.kind]} where the cell says " \
                           "YOUR ANSWER HERE", (part.id, feedback)


@pytest.mark.parametrize("mutant", mutants(), ids=lambda m: f"{m.lab}/{m.name}")
def test_a_mutant_scores_what_its_file_says(mutant) -> None:
    lab = get_lab(mutant.lab)
    reports = grade_lab(lab, mutant.all_answers(), OfflineCluster)
    for part in lab.parts:
        assert reports[part.id].score == pytest.approx(mutant.part_scores()[part.id], abs=1e-3), str(reports[part.id])
    for part_id, want in mutant.expect.items():
        assert any(want["feedback"] in r.feedback for r in reports[part_id].results), str(reports[part_id])


@pytest.mark.parametrize("name", LABS)
def test_the_committed_notebook_is_generated_from_the_spec(name: str) -> None:
    lab = get_lab(name)
    assert path_for(lab).read_text(encoding="utf-8") == render(lab), \
        "run `python -m grader.labs.notebook` after editing the lab spec"


@pytest.mark.parametrize("name", LABS)
def test_the_committed_solution_is_generated_from_the_spec(name: str) -> None:
    lab = get_lab(name)
    for filename, text in files(lab).items():
        path = project_root() / "solutions" / lab.name / filename
        assert path.read_text(encoding="utf-8") == text, "run `python -m grader.labs.solutions`"


@pytest.mark.parametrize("name", LABS)
def test_every_part_has_a_task_an_explanation_and_common_wrong_answers(name: str) -> None:
    for part in get_lab(name).parts:
        assert part.task.strip() and part.explanation.strip() and part.wrong_answers, part.id


def test_self_check_never_claims_all_passed_while_hidden_checks_remain() -> None:
    from grader.labs import magic
    from grader.labs.session import LabSession
    lab = get_lab("lab1-clusterip")
    session = LabSession(lab, OfflineCluster())
    magic.ANSWERS["part1"] = lab.part("part1").reference
    try:
        report = session.self_check("part1", show=lambda r: None)
    finally:
        magic.ANSWERS.pop("part1", None)
    assert report.passed and report.hidden_pending == 1
    assert "every visible check passed; 1 hidden check will also run" in report.summary()
    assert report.score == pytest.approx(2.4)     # the hidden check's 0.6 is not claimed


def test_an_unknown_part_or_lab_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="parts: part1"):
        get_lab("lab1-clusterip").part("part9")
    with pytest.raises(KeyError, match="labs: lab1-clusterip"):
        get_lab("lab9")


def test_an_answer_asking_for_more_pods_than_the_node_runs_is_not_gradable_not_slow() -> None:
    import time
    lab = get_lab("lab5-troubleshooting")
    reference = lab.part("fixes").reference
    assert reference.count("  replicas: 2\n") == 1        # the api Deployment the reference restarts
    greedy = reference.replace("  replicas: 2\n", "  replicas: 500\n")
    start = time.perf_counter()
    report = grade_lab(lab, {"fixes": greedy}, OfflineCluster)["fixes"]
    assert time.perf_counter() - start < 20
    assert report.score == 0
    assert "not gradable: your answer's pods did not all start" in report.results[0].feedback
    fb = report.results[0].feedback
    assert "ResourceQuota" in fb or "maxPods" in fb     # the reason, whichever limit stops them


@pytest.mark.parametrize("name", LABS)
def test_a_lab_notebook_has_the_course_structure_and_proper_nbgrader_cells(name: str) -> None:
    import json
    lab = get_lab(name)
    cells = json.loads(path_for(lab).read_text(encoding="utf-8"))["cells"]
    headings = [ln[3:].strip() for c in cells if c["cell_type"] == "markdown"
                for ln in "".join(c["source"]).splitlines() if ln.startswith("## ")]
    assert [h for h in headings if h in ("Goals", "Concept", "Try it", "Check yourself", "What's next")] == \
        ["Goals", "Concept", "Try it", "Check yourself", "What's next"]
    assert any("```mermaid" in "".join(c["source"]) for c in cells)
    meta = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"] for c in cells}
    for part in lab.parts:
        answer, test = meta[part.answer_cell], meta[part.test_cell]
        assert answer["solution"] and not answer["grade"] and not answer["locked"]
        assert test["grade"] and test["locked"] and not test["solution"]
        hidden = meta.get(part.hidden_cell, {"points": 0})
        assert test["points"] + hidden["points"] == pytest.approx(part.points), part.id
        if part.hidden:
            assert hidden["grade"] and hidden["locked"] and not hidden["solution"] and hidden["points"] > 0
    for c in cells:     # every instruction cell is read-only
        if c["cell_type"] == "markdown" and not c["metadata"]["nbgrader"]["solution"]:
            assert c["metadata"]["nbgrader"]["locked"] and c["metadata"]["editable"] is False
    for q in lab.manual:
        assert meta[q.id]["grade"] and meta[q.id]["solution"] and meta[q.id]["points"] == q.points


@pytest.mark.parametrize("name", LABS)
def test_heading_self_check_and_grade_cells_agree_on_each_parts_points(name: str) -> None:
    """The heading, the self-check's maximum and the visible test cell's points are one
    number; the hidden-checks cell holds the rest; the autograder's visible checks add up to
    the visible cell's points and its hidden checks to the hidden cell's."""
    import json

    from grader.labs.session import LabSession
    from grader.labs.spec import grade_part
    lab = get_lab(name)
    cells = json.loads(path_for(lab).read_text(encoding="utf-8"))["cells"]
    meta = {c["metadata"]["nbgrader"]["grade_id"]: c for c in cells}
    session = LabSession(lab, OfflineCluster())
    for part in lab.parts:
        heading = "".join(meta[f"task_{part.id}"]["source"]).splitlines()[0]
        visible_points = meta[part.test_cell]["metadata"]["nbgrader"]["points"]
        hidden_cell = meta.get(part.hidden_cell)
        hidden_points = hidden_cell["metadata"]["nbgrader"]["points"] if hidden_cell else 0
        shown = session.self_check(part.id, show=lambda r: None)
        assert shown.points == pytest.approx(visible_points, abs=1e-9), part.id
        graded = grade_part(lab, part, part.reference, OfflineCluster(), include_hidden=True)
        assert sum(r.points for r in graded.results if not r.hidden) == pytest.approx(visible_points, abs=1e-9)
        assert sum(r.points for r in graded.results if r.hidden) == pytest.approx(hidden_points, abs=1e-9)
        if hidden_points:
            assert f"{_text(visible_points)} from the checks below, {_text(hidden_points)} from hidden checks" \
                in heading, heading
            assert f"/{_text(visible_points)} points" in shown.summary()
        else:
            assert heading.endswith(f"({_text(part.points)} points)"), heading


def _text(points: float) -> str:
    return f"{points:.2f}".rstrip("0").rstrip(".")


def test_check_all_counts_the_visible_points_it_can_check() -> None:
    import contextlib
    import io

    from grader.labs.session import LabSession
    lab = get_lab("lab4-network-policy")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        LabSession(lab, OfflineCluster()).check_all()
    visible = sum(sum(c.points for c in _checks(p.visible, p.reference)) * p.points /
                  sum(c.points for c in _checks(p.visible, p.reference) + _checks(p.hidden, p.reference))
                  for p in lab.parts)
    assert f"visible checks: 0 of {_text(visible)} points" in out.getvalue()
    assert f"hidden checks ({_text(lab.points - visible)} points)" in out.getvalue()


def _checks(spec, answer):
    from grader.labs.spec import checks_for
    return checks_for(spec, answer)
