"""Answers out of a submitted notebook, by nbgrader cell metadata, as plain text.

Nothing here executes anything: a submission is JSON, and an answer is the body of the
cell whose nbgrader grade_id is `answer_<part>` (below its `%%answer` line). Whatever
Python a learner added to the notebook is never run by the grader, so it cannot patch
grader.checks, redefine assert, print "passed" or read the reference to any effect.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from grader.checks.core import EMPTY_ANSWER, is_blank
from grader.labs.magic import split_magic
from grader.labs.spec import Lab

DELETED = "the answer cell was deleted (restore it from the released notebook and resubmit)"


def _source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _grade_id(cell: Mapping[str, Any]) -> str | None:
    meta = cell.get("metadata") or {}
    nb = meta.get("nbgrader") if isinstance(meta, Mapping) else None
    return nb.get("grade_id") if isinstance(nb, Mapping) else None


def answers_from_cells(cells: list[Mapping[str, Any]], lab: Lab) -> tuple[dict[str, str], dict[str, str]]:
    """(part -> answer text, part -> why it cannot be graded).

    By grade_id first; the last cell with an id wins, as nbgrader's DeduplicateIds keeps the
    last one. A code cell that starts with `%%answer <part>` but lost its metadata (copied into
    a new cell) is the fallback, so a learner's honest answer is not lost to a notebook edit:
    it is also graded when the answer cell itself was left as released, since that copy is
    what the learner's own self-check ran. YAML typed into a new cell without the magic is not
    graded, but the reason says where the answer cell is."""
    answers: dict[str, str] = {}
    missing: dict[str, str] = {}
    for n, part in enumerate(lab.parts, 1):
        by_id = [c for c in cells if c.get("cell_type") == "code" and _grade_id(c) == part.answer_cell]
        fallback = [c for c in cells if c.get("cell_type") == "code" and _grade_id(c) is None
                    and split_magic(_source(c))[0] == part.id]
        candidates = by_id or fallback
        chosen = candidates[-1] if candidates else None
        if chosen is None:
            missing[part.id] = DELETED
            continue
        answer = split_magic(_source(chosen))[1]
        if is_blank(answer):
            answered = [c for c in fallback if not is_blank(split_magic(_source(c))[1])]
            if answered:
                answer = split_magic(_source(answered[-1]))[1]
            elif _answered_nearby(cells, cells.index(chosen)):
                missing[part.id] = wrong_cell(part.id, n, part.title)
                continue
        answers[part.id] = answer
    return answers, missing


def wrong_cell(part_id: str, number: int, title: str) -> str:
    """The reason given when the answer cell was left empty and an answer sits in a new cell."""
    return (f"{EMPTY_ANSWER}: the answer cell of Part {number} ({title}) was left as released, and your "
            f"answer seems to be in a cell of its own below it. Only the cell that starts with "
            f"`%%answer {part_id}` is graded: put your YAML below that line")


def _answered_nearby(cells: list[Mapping[str, Any]], at: int) -> bool:
    """Whether a cell the learner added after the answer cell at `at` (before the next part's
    task or answer cell) holds something other than blank lines and comments."""
    for cell in cells[at + 1:]:
        gid = _grade_id(cell) or ""
        if gid.startswith(("answer_", "task_")) or gid in ("check_yourself", "overview"):
            return False
        if not gid and cell.get("cell_type") in ("code", "raw") and not is_blank(_source(cell)):
            return True
    return False


def answers_from_notebook(path: str | Path, lab: Lab) -> tuple[dict[str, str], dict[str, str]]:
    """The same, from an .ipynb file; an unreadable file makes every part not gradable."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(nb, dict) and nb.get("nbformat") == 3:     # nbgrader grades it as v4: so do we
            import nbformat
            nb = nbformat.convert(nbformat.from_dict(nb), 4)
        cells = nb["cells"]
        if not isinstance(cells, list):
            raise TypeError("cells is not a list")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        why = f"the notebook could not be read as .ipynb ({type(exc).__name__}: {exc})"
        return {}, {p.id: why for p in lab.parts}
    return answers_from_cells(cells, lab)
