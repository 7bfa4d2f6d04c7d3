"""A class of lab1 submissions as they arrive from an LMS archive, git or rsync: symbolic
links beside a notebook or as the notebook, a huge answer, notebooks nbgrader itself cannot
read, a student id that is a spreadsheet formula and an answer typed in the wrong cell."""
from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path
from typing import Any

import nbformat
from lab_submissions import ROOT, fill, grade_id

from grader.grading import steps
from grader.labs import get_lab

LAB = "lab1-clusterip"
SECRET = "svclab-secret-7f3a: never copied out of the grading machine"
HUGE_BYTES = 2 * 1024 * 1024
#: nbgrader's own failures: each must be one line naming the student and the cause
BROKEN = ("truncated-json", "nbformat-3", "corrupt-metadata", "missing-grade-id")


def _write(course: Path, student: str, nb: dict[str, Any] | str) -> Path:
    path = course / "submitted" / student / LAB / f"{LAB}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb), encoding="utf-8")
    return path


def _answer_below_stub(released: dict[str, Any], part: str, answer: str) -> dict[str, Any]:
    """The stub left as released, the YAML in a new cell right below it."""
    nb = copy.deepcopy(released)
    at = next(i for i, c in enumerate(nb["cells"]) if grade_id(c) == f"answer_{part}") + 1
    nb["cells"].insert(at, {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                            "source": answer})
    return nb


def build(root: Path, secret_dir: Path) -> dict[str, Any]:
    """Release lab1 into a copy of labs/ at `root` and write the class; returns the facts the
    tests compare against (never taken from grading output)."""
    shutil.copytree(ROOT / "labs", root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        "release", "submitted", "autograded", "feedback", "gradebook.db", "svclab-results", "reports"))
    steps.release(root, [LAB])
    lab = get_lab(LAB)
    released = json.loads((root / "release" / LAB / f"{LAB}.ipynb").read_text(encoding="utf-8"))
    solution = fill(released, lab.references())
    secret_dir.mkdir(parents=True, exist_ok=True)
    secret = secret_dir / "id_rsa"
    secret.write_text(SECRET, encoding="utf-8")

    _write(root, "solution", solution)
    _write(root, "=1+2", solution)                                 # a formula as a student id
    _write(root, "blank", released)

    linked = _write(root, "links-beside", solution)
    os.symlink(secret, linked.parent / "notes.txt")                # a link to a file outside
    os.symlink(secret_dir, linked.parent / "home")                 # and to a folder outside
    (linked.parent / "README.txt").write_text("my own notes", encoding="utf-8")

    mine = root / "submitted" / "copycat" / LAB
    mine.mkdir(parents=True)
    os.symlink(root / "submitted" / "solution" / LAB / f"{LAB}.ipynb", mine / f"{LAB}.ipynb")

    huge = "# " + "x" * HUGE_BYTES + "\n" + lab.part("part1").reference
    _write(root, "huge-answer", fill(released, {**lab.references(), "part1": huge}))

    text = json.dumps(solution)
    _write(root, "truncated-json", text[: len(text) // 2])
    v3 = nbformat.convert(nbformat.from_dict(copy.deepcopy(solution)), 3)
    _write(root, "nbformat-3", nbformat.writes(v3, version=3))
    corrupt = copy.deepcopy(solution)
    for cell in corrupt["cells"]:
        if grade_id(cell) == "test_part2":
            cell["metadata"]["nbgrader"]["schema_version"] = "three"
    _write(root, "corrupt-metadata", corrupt)
    no_id = copy.deepcopy(solution)
    for cell in no_id["cells"]:
        if grade_id(cell) == "test_part2":
            del cell["metadata"]["nbgrader"]["grade_id"]
    _write(root, "missing-grade-id", no_id)

    wrong_cell = _answer_below_stub(solution, "part3", lab.part("part3").reference)
    for cell in wrong_cell["cells"]:
        if grade_id(cell) == "answer_part3":
            cell["source"] = "%%answer part3\n# YOUR ANSWER HERE"
    _write(root, "wrong-cell", wrong_cell)
    return {"secret": secret, "points": lab.points}
