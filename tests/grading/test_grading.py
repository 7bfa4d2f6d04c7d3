"""The grading pipeline's parts, fast: answers extracted from notebooks by metadata, the
resource limits that make a pathological submission fail alone, the clean process, the
nbgrader preprocessor, the enforcement canary and the CLI shell."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest

from grader.checks import core
from grader.grading.extract import DELETED, answers_from_cells, answers_from_notebook
from grader.grading.limits import Limits, run_limited, stopped_reason
from grader.labs import get_lab, magic
from grader.labs.canary import NOT_ENFORCED, enforcement_problem
from grader.labs.facts import parse_facts
from grader.observations import Outcome, Status

LAB1 = get_lab("lab1-clusterip")


def _cell(source: str, grade_id: str | None = None, cell_type: str = "code") -> dict:
    meta = {"nbgrader": {"grade_id": grade_id, "solution": True, "grade": False}} if grade_id else {}
    return {"cell_type": cell_type, "metadata": meta, "source": source, "outputs": []}


# --------------------------------------------------------------------- the %%answer magic
def test_the_magic_stores_the_text_and_runs_nothing() -> None:
    said = magic.record("part1 ", "import os\nos.system('x')\n")
    assert magic.ANSWERS.pop("part1") == "import os\nos.system('x')\n" and "answer saved" in said
    assert "still empty" in magic.record("part2", "# YOUR ANSWER HERE\n")
    magic.ANSWERS.pop("part2")
    assert "needs a part name" in magic.record("", "x")


def test_the_magic_registers_as_a_cell_magic() -> None:
    seen = {}
    fake = SimpleNamespace(register_magic_function=lambda fn, magic_kind, magic_name: seen.update(
        fn=fn, kind=magic_kind, name=magic_name))
    magic.load_ipython_extension(fake)
    assert (seen["kind"], seen["name"]) == ("cell", "answer")


def test_split_magic_reads_the_part_from_the_first_line() -> None:
    assert magic.split_magic("%%answer part3\nkind: Service\n") == ("part3", "kind: Service\n")
    assert magic.split_magic("kind: Service\n") == (None, "kind: Service\n")


# --------------------------------------------------------------------- extraction
def test_answers_come_from_cells_by_grade_id_and_the_last_duplicate_wins() -> None:
    cells = [_cell("%%answer part1\nfirst", "answer_part1"), _cell("print('hi')"),
             _cell("%%answer part1\nsecond", "answer_part1")]
    answers, missing = answers_from_cells(cells, LAB1)
    assert answers["part1"] == "second"
    assert missing["part2"] == DELETED and "part1" not in missing


def test_a_magic_cell_that_lost_its_metadata_still_counts_but_markdown_never_does() -> None:
    answers, _ = answers_from_cells([_cell("%%answer part2\nkind: Service")], LAB1)
    assert answers["part2"] == "kind: Service"
    answers, missing = answers_from_cells([_cell("%%answer part2\nx", "answer_part2", "markdown")], LAB1)
    assert "part2" not in answers and missing["part2"] == DELETED


def test_an_unreadable_notebook_makes_every_part_not_gradable(tmp_path) -> None:
    bad = tmp_path / "x.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    answers, missing = answers_from_notebook(bad, LAB1)
    assert answers == {} and set(missing) == {p.id for p in LAB1.parts}
    assert "could not be read as .ipynb" in missing["part1"]


# --------------------------------------------------------------------- limits
def _work(job: str) -> str:
    if job == "loop":
        while True:
            pass
    if job == "sleep":
        time.sleep(60)
    if job == "allocate":
        hog = []
        while True:
            hog.append(bytearray(64 * 1024 * 1024))
    if job == "crash":
        raise RuntimeError("bug")
    return f"graded {job}"


def test_a_looping_allocating_or_sleeping_job_fails_alone_within_its_limits() -> None:
    limits = Limits(wall=6.0, cpu=1, memory_mib=256)   # 1 CPU second fits in 6 s even on a busy machine
    start = time.monotonic()
    out = run_limited(["a", "loop", "allocate", "sleep", "crash", "b"], _work, parallel=2, limits=limits)
    assert time.monotonic() - start < 30
    assert out[0] == ("ok", "graded a") and out[5] == ("ok", "graded b")
    assert out[1][0] == "cpu" and out[2][0] == "memory" and out[3][0] == "wall"
    assert out[4] == ("error", "RuntimeError: bug")
    assert stopped_reason("wall", limits) == "grading stopped: it took longer than 6 s"


# --------------------------------------------------------------------- the clean process
def test_the_clean_process_grades_from_yaml_alone_and_prints_only_json() -> None:
    jobs = [{"id": "a", "lab": LAB1.name, "answers": {"part1": LAB1.part("part1").reference}, "missing": {}},
            {"id": "b", "lab": "lab9", "answers": {}, "missing": {}}]
    proc = subprocess.run([sys.executable, "-I", "-m", "grader.grading.clean", "--parallel", "1"],
                          input=json.dumps(jobs), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out[0]["parts"]["part1"]["score"] == 3 and "has not been run" in \
        out[0]["parts"]["part2"]["results"][0]["feedback"]
    assert out[1]["error"] == "no lab named 'lab9'"


def test_a_stopped_job_is_not_gradable_for_every_check() -> None:
    from grader.grading.clean import not_graded
    result = not_graded({"id": "x", "lab": LAB1.name}, "grading stopped: it took longer than 90 s")
    fb = [r["feedback"] for p in result["parts"].values() for r in p["results"]]
    assert fb and all(f == "not gradable: grading stopped: it took longer than 90 s" for f in fb)


# --------------------------------------------------------------------- the preprocessor
def test_clean_grade_writes_every_test_cell_from_the_clean_result(tmp_path) -> None:
    import nbformat

    from grader.grading.preprocessors import CleanGrade
    from grader.labs.notebook import build

    nb = build(LAB1)
    for cell in nb.cells:                      # the source notebook holds every reference answer
        gid = cell.metadata["nbgrader"]["grade_id"]
        if gid.startswith("answer_") and gid != "answer_part2":
            cell.source = f"%%answer {gid[7:]}\n# YOUR ANSWER HERE"
    rogue = nbformat.v4.new_code_cell("1000", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "grade_id": "test_rogue", "points": 5}})
    nb.cells.append(rogue)
    pre = CleanGrade(results_dir=str(tmp_path))
    nb, _ = pre.preprocess(nb, {"nbgrader": {"assignment": LAB1.name, "student": "s1"}})
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells}
    scores = {gid: float(c.outputs[-1]["data"]["text/plain"]) for gid, c in cells.items()
              if gid.startswith("test_")}
    part2 = LAB1.part("part2")
    graded_cells = {c for p in LAB1.parts for c in (p.test_cell, p.hidden_cell if p.hidden else None) if c}
    assert set(scores) == graded_cells | {"test_rogue"}          # every grade cell written, the rogue too
    assert scores[part2.test_cell] + scores.get(part2.hidden_cell, 0.0) == pytest.approx(part2.points)
    assert all(v == 0.0 for gid, v in scores.items() if gid not in (part2.test_cell, part2.hidden_cell))
    assert "not part of the lab's specification" in cells["test_rogue"].outputs[0]["data"]["text/plain"]
    assert all(not c.outputs for gid, c in cells.items() if gid.startswith("answer_"))
    assert json.loads((tmp_path / LAB1.name / "s1.json").read_text())["parts"]["part2"]["score"] == 2


def test_clean_grade_scores_hidden_checks_in_their_own_cell(tmp_path) -> None:
    from grader.grading.preprocessors import CleanGrade
    from grader.labs.notebook import build

    nb, _ = CleanGrade(results_dir=str(tmp_path)).preprocess(
        build(LAB1), {"nbgrader": {"assignment": LAB1.name, "student": "s1"}})
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells}
    part = LAB1.part("part1")
    visible, hidden = cells[part.test_cell], cells[part.hidden_cell]
    assert float(visible.outputs[-1]["data"]["text/plain"]) == visible.metadata["nbgrader"]["points"]
    assert float(hidden.outputs[-1]["data"]["text/plain"]) == hidden.metadata["nbgrader"]["points"]
    assert "(hidden check)" in hidden.outputs[0]["data"]["text/plain"]
    assert "(hidden check)" not in visible.outputs[0]["data"]["text/plain"]


def test_clean_grade_refuses_an_assignment_it_has_no_spec_for() -> None:
    import nbformat

    from grader.grading.preprocessors import CleanGrade
    with pytest.raises(ValueError, match="not an svclab lab"):
        CleanGrade().preprocess(nbformat.v4.new_notebook(), {"nbgrader": {"assignment": "hw1"}})


# --------------------------------------------------------------------- the canary
class _FakeLive:
    mode = "live"

    def __init__(self, status: Status) -> None:
        self.status, self.deleted = status, False

    def namespace(self, name: str):  # type: ignore[no-untyped-def]
        fake = self

        class Ns:
            def apply(self, *a, **k): return []
            def wait_ready(self, timeout=0): pass
            def pods(self): return [SimpleNamespace(name="canary-server", ip="10.244.0.9")]
            def probe(self, target, frm): return Outcome(fake.status, target)
            def delete(self): fake.deleted = True
        return Ns()


def test_the_canary_reports_a_cluster_that_does_not_enforce_policy(monkeypatch) -> None:
    monkeypatch.setattr("grader.labs.canary.time.sleep", lambda s: None)
    allowing = _FakeLive(Status.OK)
    assert enforcement_problem(allowing) == NOT_ENFORCED and allowing.deleted
    assert enforcement_problem(_FakeLive(Status.TIMEOUT)) is None
    from grader.cluster.offline import OfflineCluster
    assert enforcement_problem(OfflineCluster()) is None


# --------------------------------------------------------------------- small additions
def test_a_comment_only_answer_is_empty() -> None:
    assert "the answer is empty" in core.apply_answer(None, "# YOUR ANSWER HERE\n\n  # still nothing\n")


def test_hidden_results_are_labelled_and_scores_add_up_to_whole_points() -> None:
    r = core.Result("x", 2 / 3, 2 / 3, "ok", hidden=True)
    assert "x (hidden check) [" in str(r)
    assert core.Report("t", [core.Result("a", 0.666667, 0.666667, ""), core.Result("b", 0.666667, 0.666667, ""),
                             core.Result("c", 0.666667, 0.666667, "")]).score == 2.0


def test_facts_must_be_one_mapping() -> None:
    assert parse_facts("a: 1\n") == ({"a": 1}, None)
    assert "one YAML mapping" in parse_facts("- a\n- b\n")[1]
    assert "empty" in parse_facts("# nothing\n")[1]


def test_the_cli_has_every_step_and_checks_the_course_root(tmp_path, capsys) -> None:
    from grader.cli import main
    with pytest.raises(SystemExit):
        main(["grade", "--help"])
    helptext = capsys.readouterr().out
    assert all(step in helptext for step in ("release", "autograde", "feedback", "grades", "report"))
    assert main(["grade", "grades", "--course", str(tmp_path)]) == 2
    assert "not an nbgrader course root" in capsys.readouterr().err


def test_a_check_worth_a_third_of_the_points_passes_when_fully_earned() -> None:
    full = core.Check("x", lambda ns: core.passed("ok"), points=4 / 3).run(None)
    assert full.passed and full.mark == core.PASS_MARK
    assert not core.Check("y", lambda ns: core.partial(0.999, "almost"), points=4 / 3).run(None).passed
