"""nbgrader preprocessors that make autograding tamper-proof.

`CleanGrade` takes the place of nbgrader's `Execute` in the autograde pipeline
(labs/nbgrader_config.py). The learner's kernel is never started: the answer cells' YAML
is extracted from the submitted notebook, graded in the clean process (grader.grading.clean),
and every test cell's outputs are *written* from that result: a report table (the feedback
the learner reads) and the score as the cell's numeric result, which nbgrader's own
SaveAutoGrades then records. So nothing a learner puts in a notebook -- a patched
grader.checks, a redefined assert, a printed "All tests passed", an edited test cell, code
reading the reference, an endless loop, a huge allocation -- runs, or counts.

Feedback is built only from check results; test-cell source holds no hidden checks (they
live in the lab spec), so nbgrader's feedback cannot show them (nbgrader issue #917).

`RestoreTestCells` runs while nbgrader sanitizes a submission: a deleted test cell comes
back (from the gradebook), so its part is still scored and reported, and duplicated cells
no longer abort the class's run, whatever the order or number of the other cells.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode, from_dict
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from grader.checks.core import Report
from grader.grading.extract import answers_from_cells
from grader.grading.jobs import ResultCache, make_job, run_clean
from grader.grading.limits import Limits
from grader.labs import LAB_MODULES, get_lab
from grader.labs.spec import report_from_dict


def cell_outputs(report: Report, points: float, execution_count: int) -> list[NotebookNode]:
    """A test cell's outputs: the report (HTML and text), then the score as the cell's
    last expression, clamped to the cell's points as nbgrader requires."""
    score = max(0.0, min(float(points), round(report.score, 4)))
    return [
        new_output("display_data", data={"text/plain": str(report), "text/html": report._repr_html_()}),
        new_output("execute_result", data={"text/plain": repr(score)}, execution_count=execution_count),
    ]


def cell_report(report: Report, *, hidden: bool) -> Report:
    """The part of a part's report one test cell shows and scores: the visible checks in the
    test cell, the hidden ones in the hidden-checks cell (whose points they are)."""
    title = f"{report.title} (hidden checks)" if hidden else report.title
    return Report(title, [r for r in report.results if r.hidden == hidden], 0, report.not_gradable)


def unknown_test_cell_report(grade_id: str) -> Report:
    from grader.checks.core import Result
    return Report(f"test cell {grade_id}", [Result(grade_id, 0.0, 1.0,
                  "not gradable: this test cell is not part of the lab's specification")])


class CleanGrade(NbGraderPreprocessor):
    """Score every test cell from the clean grading process (see the module docstring)."""

    cache_dir = Unicode("", help="Directory of pre-computed results (svclab grade autograde fills it)").tag(
        config=True
    )
    results_dir = Unicode("svclab-results", help="Where per-student check results go, for item analysis").tag(
        config=True
    )
    wall = Float(Limits.wall, help="Wall-clock seconds one submission may take").tag(config=True)
    cpu = Integer(Limits.cpu, help="CPU seconds one submission may take").tag(config=True)
    memory_mib = Integer(Limits.memory_mib, help="MiB one submission may allocate").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources.get("nbgrader", {})
        lab_name = info.get("assignment")
        if lab_name not in LAB_MODULES:
            raise ValueError(f"assignment {lab_name!r} is not an svclab lab ({', '.join(LAB_MODULES)}); "
                             "CleanGrade grades only labs it has a specification for")
        lab = get_lab(lab_name)
        answers, missing = answers_from_cells(nb.cells, lab)
        job = make_job(f"{info.get('student')}/{lab_name}", lab_name, answers, missing,
                       learner=str(info.get("student")))
        result = self._result(job)
        reports = {pid: report_from_dict(data) for pid, data in result["parts"].items()}
        count = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            count += 1
            cell.execution_count = count
            cell.outputs = []
            if utils.is_grade(cell) and not utils.is_solution(cell):
                grade_id = cell.metadata.nbgrader.get("grade_id", "")
                part = lab.by_test_cell(grade_id)
                report = reports.get(part.id) if part else None
                if report is not None and part is not None:
                    report = cell_report(report, hidden=grade_id == part.hidden_cell)
                cell.outputs = cell_outputs(report or unknown_test_cell_report(grade_id),
                                            float(cell.metadata.nbgrader.get("points", 0)), count)
        self._save(lab_name, str(info.get("student")), result)
        return nb, resources

    def _result(self, job: dict[str, Any]) -> dict[str, Any]:
        cache = ResultCache(self.cache_dir) if self.cache_dir else None
        hit = cache.get(job) if cache else None
        if hit is not None:
            return hit
        limits = Limits(wall=self.wall, cpu=self.cpu, memory_mib=self.memory_mib)
        result = run_clean([job], parallel=1, limits=limits)[0]
        if cache:
            cache.put(job, result)
        return result

    def _save(self, lab: str, student: str, result: dict[str, Any]) -> None:
        if not self.results_dir:
            return
        path = Path(self.results_dir) / lab / f"{student}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1), encoding="utf-8")

    def preprocess_cell(self, cell, resources, index):  # type: ignore[no-untyped-def]
        return cell, resources


class RestoreTestCells(NbGraderPreprocessor):
    """Put back test cells a submission lost (deleted, or stripped of their metadata), from
    the gradebook's source version: after the part's answer cell when it is there, else at
    the end. nbgrader's own add_missing_cells crashes when the cell before a deleted one is
    gone too; this does not."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources["nbgrader"]
        # DeduplicateIds empties the nbgrader metadata of every duplicate but the last, and
        # CheckCellMetadata then rejects `{}` as "schema version 0", which aborts the whole
        # class's run. A duplicate is an ordinary cell: drop the empty metadata.
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", None) == {}:
                del cell.metadata["nbgrader"]
        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
                   if utils.is_grade(c) or utils.is_solution(c)}
        with Gradebook(info["db_url"]) as gb:
            try:
                source_nb = gb.find_notebook(info["notebook"], info["assignment"])
            except MissingEntry:
                return nb, resources
            solution_ids = {c.name for c in source_nb.solution_cells}
            for grade_cell in source_nb.grade_cells:
                if (
                    grade_cell.name in present
                    or grade_cell.name in solution_ids
                    or grade_cell.cell_type != "code"
                ):
                    continue
                source = gb.find_source_cell(grade_cell.name, info["notebook"], info["assignment"])
                cell = from_dict({
                    "cell_type": "code", "execution_count": None, "outputs": [], "source": source.source,
                    "metadata": {"editable": False, "deletable": False, "nbgrader": {
                        "grade": True, "solution": False, "locked": True, "grade_id": grade_cell.name,
                        "points": float(grade_cell.max_score), "schema_version": 3,
                        "checksum": source.checksum}}})
                self.log.warning("Test cell %s was missing; restored it from the source version",
                                 grade_cell.name)
                # after the cell it follows in the released notebook: the part's answer cell
                # for its test cell, the test cell for its hidden-checks cell
                part = get_lab(info["assignment"]).by_test_cell(grade_cell.name) \
                    if info["assignment"] in LAB_MODULES else None
                after = ((part.test_cell if grade_cell.name == part.hidden_cell else part.answer_cell)
                         if part else grade_cell.name.replace("test_", "answer_", 1))
                at = next((i + 1 for i, c in enumerate(nb.cells)
                           if c.metadata.get("nbgrader", {}).get("grade_id") == after), len(nb.cells))
                nb.cells.insert(at, cell)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):  # type: ignore[no-untyped-def]
        return cell, resources


class TrimLongCells(NbGraderPreprocessor):
    """Feedback quotes at most an excerpt of each cell (GenerateFeedback runs this).

    A learner's 50 MB answer would otherwise be copied whole into the HTML page handed back
    (52 MB, which a browser may not open); the autograded notebook keeps the full text for
    the instructor. The note says how much was left out, as a comment in the cell's own
    language so the excerpt still reads as YAML or Markdown."""

    max_chars = Integer(20_000, help="Characters of a cell's source shown in feedback").tag(config=True)
    max_lines = Integer(400, help="Lines of a cell's source shown in feedback").tag(config=True)

    def preprocess_cell(self, cell, resources, index):  # type: ignore[no-untyped-def]
        cell.source = excerpt(cell.source, self.max_chars, self.max_lines,
                              markdown=cell.cell_type == "markdown")
        return cell, resources


def excerpt(source: str, max_chars: int, max_lines: int, *, markdown: bool = False) -> str:
    """`source` unchanged when short, else its beginning and a note of what was left out."""
    lines = source.splitlines(keepends=True)
    if len(source) <= max_chars and len(lines) <= max_lines:
        return source
    shown = "".join(lines[:max_lines])[:max_chars]
    note = (f"shortened for this page: {len(source):,} characters and {len(lines):,} lines in all; "
            f"the first {len(shown):,} characters are shown")
    return shown.rstrip("\n") + ("\n\n*(" + note + ")*" if markdown else "\n# ... (" + note + ")")
