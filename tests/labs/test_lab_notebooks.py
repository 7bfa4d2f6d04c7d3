"""Every lab notebook runs top to bottom in a real kernel, offline, as a learner runs it
(what nbval does for course/, plus checks on what the cells say): the source notebook (with
the reference answers) and a blank one (the released stubs). The self-check must give
exactly the verdicts the autograder gives for the visible checks, and never claim more."""
from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from grader.cluster.offline import OfflineCluster
from grader.labs import all_labs, get_lab
from grader.labs.notebook import path_for
from grader.labs.spec import grade_part

pytestmark = pytest.mark.slow


def _execute(nb: Any, cwd: Path) -> Any:
    env = {**os.environ, "SVCLAB_MODE": "offline"}
    os.environ["SVCLAB_MODE"] = "offline"      # the kernel inherits the environment
    try:
        NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
                       allow_errors=False).execute(env=env)
    finally:
        os.environ.pop("SVCLAB_MODE", None)
    return nb


def _by_id(nb: Any) -> dict[str, Any]:
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def _text(cell: Any) -> str:
    parts = []
    for out in cell.outputs:
        if out.output_type == "stream":
            parts.append(out.text)
        elif "data" in out:
            parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def _score(cell: Any) -> float:
    results = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert results, "a test cell must end with the score"
    return float(results[-1].data["text/plain"])


def _no_stderr(nb: Any) -> None:
    for cell in nb.cells:
        for out in getattr(cell, "outputs", []):
            assert not (out.output_type == "stream" and out.name == "stderr"), out.text
            assert out.output_type != "error"


@pytest.fixture(scope="module", params=[lab.name for lab in all_labs()])
def solved(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    lab = get_lab(request.param)
    path = path_for(lab)
    return lab, _execute(nbformat.read(path, as_version=4), path.parent)


def test_the_source_notebook_runs_with_no_error_and_no_stderr(solved) -> None:
    _no_stderr(solved[1])


def test_self_check_gives_the_autograders_visible_verdicts(solved) -> None:
    lab, nb = solved
    cells = _by_id(nb)
    for part in lab.parts:
        graded = grade_part(lab, part, part.reference, OfflineCluster(), include_hidden=True)
        shown = _text(cells[part.test_cell])
        visible = [r for r in graded.results if not r.hidden]
        for r in visible:
            assert str(r) in shown, (part.id, str(r))
        assert _score(cells[part.test_cell]) == pytest.approx(sum(r.earned for r in visible), abs=1e-3)
        hidden = len(graded.results) - len(visible)
        if hidden:
            assert f"{hidden} hidden check" in shown and "every check passed" not in shown
            # the hidden-checks cell says what will run and leaves no score to judge
            said = _text(cells[part.hidden_cell])
            assert f"{hidden} hidden check" in said and "run when your work is graded" in said
            assert not [o for o in cells[part.hidden_cell].outputs if o.output_type == "execute_result"]
        else:
            assert "every check passed" in shown


def test_a_blank_notebook_runs_and_says_where_to_answer() -> None:
    for lab in all_labs():
        nb = nbformat.read(path_for(lab), as_version=4)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("answer_"):
                cell.source = cell.source.split("\n", 1)[0] + "\n# YOUR ANSWER HERE"
        nb = _execute(copy.deepcopy(nb), path_for(lab).parent)
        _no_stderr(nb)
        for part in lab.parts:
            cell = _by_id(nb)[part.test_cell]
            assert _score(cell) == 0 and "the answer is empty" in _text(cell), (lab.name, part.id)
