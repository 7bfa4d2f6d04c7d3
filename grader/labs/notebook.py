"""Build each lab's nbgrader source notebook from its spec: `python -m grader.labs.notebook`.

The spec (grader/labs/labN_*.py) is the one source of truth for the task text, the answer
cells' reference solutions, the points and the cell ids; the notebook is generated from it
so the notebook, the autograder and solutions/ can never disagree (tests/labs checks the
committed notebooks are up to date). The cell layout, and why each cell is what it is:

- read-only Markdown (locked): intro, concept, each task;
- the setup cell (locked): loads the `%%answer` magic and opens the lab;
- per part: an answer cell (nbgrader "autograded answer", `answer_<part>`) holding
  `%%answer <part>` and the reference between BEGIN/END SOLUTION, which generate_assignment
  replaces by "# YOUR ANSWER HERE"; then a test cell (`test_<part>`, locked, with points)
  that self-checks and leaves the score as its last expression, worth the visible checks'
  points; when the part has hidden checks, a second test cell (`test_<part>_hidden`,
  locked) holds their points: it shows nothing to score while the learner works, so
  nbgrader's Validate passes a correct part, and the autograder writes their result there;
- manual questions: a Markdown answer cell graded by hand;
- no hidden test code in any cell: hidden checks live in the spec only.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.checks.core import points_text
from grader.labs.root import project_root
from grader.labs.spec import Lab, Part


def _meta(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
          points: float | None = None) -> dict[str, Any]:
    nb: dict[str, Any] = {"grade": grade, "grade_id": grade_id, "locked": locked,
                          "schema_version": 3, "solution": solution}
    if points is not None:
        nb["points"] = int(points) if float(points).is_integer() else points
    meta: dict[str, Any] = {"nbgrader": nb}
    if locked:
        meta.update(editable=False, deletable=False)
    return meta


def _md(grade_id: str, text: str, **kw: Any) -> Any:
    cell = new_markdown_cell(text.strip(), metadata=_meta(grade_id, locked=True, **kw))
    cell.id = grade_id
    return cell


def _code(grade_id: str, text: str, **kw: Any) -> Any:
    cell = new_code_cell(text.strip(), metadata=_meta(grade_id, **kw))
    cell.id = grade_id
    return cell


def build(lab: Lab) -> Any:
    """The source notebook of `lab` (with solutions), as an nbformat NotebookNode."""
    cells = [
        _md("intro", f"# {lab.title}\n\n## Goals\n\n{lab.goals.strip()}"),
        _md("concept", f"## Concept\n\n{lab.concept.strip()}"),
        _code("setup", f'%load_ext grader.labs.magic\nfrom grader.labs import open_lab\n\n'
                       f'lab = open_lab("{lab.name}")\n'
                       + (f"{lab.setup_extra.strip()}\n" if lab.setup_extra else "") + "lab", locked=True),
        _md("how", lab.how_to or HOW_TO),
    ]
    for n, part in enumerate(lab.parts, 1):
        cells.append(_md(f"task_{part.id}", f"### Part {n}: {part.title} ({points_heading(part)})\n\n"
                                            f"{part.task.strip()}"))
        cells.append(_code(part.answer_cell, f"%%answer {part.id}\n### BEGIN SOLUTION\n"
                                             f"{part.reference.rstrip()}\n### END SOLUTION", solution=True))
        cells.append(_code(part.test_cell, f'report = lab.self_check("{part.id}")\nreport.score',
                           grade=True, locked=True, points=part.visible_points))
        if part.hidden_points:
            # No score as its last expression: nbgrader's Validate counts the cell as passed
            # (the learner cannot run hidden checks); the autograder writes their score here.
            cells.append(_code(part.hidden_cell, f'lab.hidden_checks("{part.id}")',
                               grade=True, locked=True, points=part.hidden_points))
        for q in (q for q in lab.manual if q.after == part.id):
            cells.append(
                _md(
                    f"prompt_{q.id}",
                    f"### Explain ({q.points:g} points, graded by your instructor)\n\n{q.prompt.strip()}",
                )
            )
            answer = new_markdown_cell(f"### BEGIN SOLUTION\n{q.model_answer.strip()}\n### END SOLUTION",
                                       metadata=_meta(q.id, grade=True, solution=True, points=q.points))
            answer.id = q.id
            cells.append(answer)
    cells.append(_md("check_yourself", CHECK_YOURSELF))
    cells.append(_code("overview", "lab.check_all()", locked=True))
    cells.append(_md("whats_next", f"## What's next\n\n{lab.whats_next.strip()}"))
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    return nb


def points_heading(part: Part) -> str:
    """"4 points", or "4 points: 3.2 from the checks below, 0.8 from hidden checks", the
    same numbers the self-check, nbgrader's Validate and the autograder use."""
    if not part.hidden_points:
        return f"{points_text(part.points)} points"
    return (f"{points_text(part.points)} points: {points_text(part.visible_points)} from the checks below, "
            f"{points_text(part.hidden_points)} from hidden checks when your work is graded")


HOW_TO = """
## Try it

Each part has an **answer cell** that starts with `%%answer partN`. Below that line, write
YAML only (the manifests, or the `key: value` facts the part asks for); the magic stores
your text, it runs nothing. Run the answer cell, then the **check cell** under it: it runs
the visible checks against a fresh namespace and shows one line per check with what it
observed. Some parts also have hidden checks; the check cell says how many, and they run
when your work is graded. `lab.explore("partN")` gives you a namespace prepared like the
grader's (workloads and your answer applied) to probe by hand, and `lab.show()` prints
the workloads the lab provides.
"""

CHECK_YOURSELF = """
## Check yourself

Before you submit, run the cell below: it re-checks every part from your last-run answer
cells. Your grade comes only from the YAML in the answer cells of the notebook you submit,
graded again from scratch, so make sure each answer cell holds your final answer.
"""


def path_for(lab: Lab, root: Path | None = None) -> Path:
    """labs/source/<lab>/<lab>.ipynb under the repository root (default: found as
    grader.labs.root says)."""
    return (root or project_root()) / "labs" / "source" / lab.name / f"{lab.name}.ipynb"


def render(lab: Lab) -> str:
    return nbformat.writes(build(lab)) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write every lab's source notebook under the repository root (first argument, else
    found as grader.labs.root says)."""
    from grader.labs import all_labs
    args = sys.argv[1:] if argv is None else argv
    root = project_root(args[0] if args else None)
    for lab in all_labs():
        path = path_for(lab, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(lab), encoding="utf-8")
        print(f"wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
