"""`%%answer <part>`: the cell magic that makes a lab's answer cells hold raw YAML.

    %%answer part1
    apiVersion: v1
    kind: Service
    ...

In the learner's kernel the magic only stores the cell's text for the test cells below it
(`lab.self_check("part1")`); it never runs the text. The autograder does not run it at
all: it reads answer-cell bodies straight from the submitted .ipynb (grader.grading.extract),
so whatever a learner's kernel does, only the YAML in the answer cell is graded.

Load it in a lab's first cell with `%load_ext grader.labs.magic`.
"""
from __future__ import annotations

import re
from typing import Any, Callable

#: part id -> the text of the last run of its answer cell, in this kernel.
ANSWERS: dict[str, str] = {}
#: Called with (part id, text) after an answer is stored: a lab whose answers are kubectl
#: commands (the mock exam) runs them here, so the cell shows what a terminal would.
AFTER_RECORD: list[Callable[[str, str], None]] = []

PART_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,40}$")
MAGIC_LINE = re.compile(r"^\s*%%answer\s+(\S+)\s*$")


def record(line: str, cell: str) -> str:
    """Store `cell` as the answer of the part named on the magic line; returns what to say."""
    part = line.strip()
    if not PART_ID.match(part):
        return f"%%answer needs a part name, e.g. `%%answer part1` (got {line.strip()!r})"
    ANSWERS[part] = cell
    from grader.checks.core import is_blank
    if is_blank(cell):
        return f"{part}: the answer is still empty; write your YAML below the %%answer line"
    return f"{part}: answer saved ({len(cell.strip().splitlines())} lines); run the check cell below"


def split_magic(source: str) -> tuple[str | None, str]:
    """(part named on a first `%%answer part` line, the body below it); (None, source) when the
    cell does not start with the magic. Used by the grading pipeline on raw cell sources."""
    first, _, rest = source.partition("\n")
    m = MAGIC_LINE.match(first)
    return (m.group(1), rest) if m else (None, source)


def load_ipython_extension(ipython: Any) -> None:
    def answer(line: str, cell: str) -> None:
        print(record(line, cell))
        for hook in AFTER_RECORD:
            hook(line.strip(), cell)
    ipython.register_magic_function(answer, magic_kind="cell", magic_name="answer")
