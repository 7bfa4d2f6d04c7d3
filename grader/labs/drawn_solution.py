"""The worked solution of a lab drawn per learner, for one learner:
`python -m grader.labs.drawn_solution <learner id> [--lab NAME] [--out FILE]`.

Why per learner: every learner's faults differ, so the solution in solutions/ (the
self-paced draw) fixes only that draw. This writes the source notebook for `learner`: the
learner's broken shop, their reference answer in the answer cell and a setup cell that
opens the lab for that id (whatever the environment says), so running it top to bottom
self-checks full marks, as the autograder grades that learner."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import nbformat

from grader.labs import get_lab, is_drawn
from grader.labs.notebook import build

DEFAULT_LAB = "lab7-troubleshooting-drawn"


def solution_notebook(lab_name: str, learner: str) -> Any:
    """The source notebook of `lab_name` for `learner`, its setup cell pinned to that id."""
    if not is_drawn(lab_name):
        raise ValueError(f"{lab_name} does not draw its faults per learner: its solution is in "
                         f"solutions/{lab_name}/")
    nb = build(get_lab(lab_name, learner))
    setup = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    opened = f'open_lab("{lab_name}")'
    if opened not in setup.source:
        raise AssertionError(f"the setup cell of {lab_name} does not call {opened}")
    setup.source = setup.source.replace(opened, f'open_lab("{lab_name}", learner={json.dumps(learner)})')
    return nb


def file_name(lab_name: str, learner: str) -> str:
    """A file name for the learner's solution: the id with anything but letters, digits,
    dot, dash and underscore replaced, so an id can never name a path elsewhere."""
    return f"{lab_name}-{re.sub(r'[^A-Za-z0-9._-]', '_', learner) or 'learner'}.ipynb"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grader.labs.drawn_solution",
                                 description=(__doc__ or "").split("\n")[0])
    ap.add_argument("learner", help="the learner's id (JupyterHub user name, nbgrader student id)")
    ap.add_argument("--lab", default=DEFAULT_LAB, help=f"the lab (default {DEFAULT_LAB})")
    ap.add_argument("--out", type=Path, help="the notebook to write (default: <lab>-<learner>.ipynb here)")
    args = ap.parse_args(argv)
    try:
        nb = solution_notebook(args.lab, args.learner)
    except (KeyError, ValueError) as exc:
        print(f"drawn_solution: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path(file_name(args.lab, args.learner))
    out.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    print(f"wrote {out}: the solution of {args.lab} for learner {args.learner!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
