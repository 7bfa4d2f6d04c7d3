"""Submissions for grading tests: mutants (realistic wrong answers with the score and the
feedback sentence they must get) and tamper attempts, built from a released notebook."""
from __future__ import annotations

import copy
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from grader.grading import steps
from grader.labs import all_labs, get_lab, is_drawn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MANUAL_TEXT = "A NodePort suits development; a LoadBalancer gives production one stable address."
TAMPER_LAB = "lab1-clusterip"
#: Labs whose blank release also gets every tamper attempt (each must score 0 everywhere):
#: the capstone, whose hidden checks are the largest, and so the most worth reaching; lab 3
#: (its Corefile part is graded by editing the cluster's DNS) and lab 6 (its part 5 replays
#: kubectl commands), whose answer kinds differ from lab 1's.
MORE_TAMPER_LABS = ("lab9-capstone", "lab3-discovery", "lab6-ingress")
MUTANTS = HERE / "mutants"


@dataclass(frozen=True)
class Mutant:
    lab: str
    name: str
    answers: dict[str, str]
    expect: dict[str, dict[str, Any]]

    @property
    def student(self) -> str:
        return f"mutant-{self.name}"

    def part_scores(self) -> dict[str, float]:
        """Expected score of every part: the mutated ones as the file says, the others
        (which hold the reference answer) full marks."""
        lab = get_lab(self.lab)
        return {p.id: float(self.expect[p.id]["score"]) if p.id in self.expect else p.points for p in lab.parts}

    def all_answers(self) -> dict[str, str]:
        return {**get_lab(self.lab).references(), **self.answers}


def mutants(lab: str | None = None) -> list[Mutant]:
    found = []
    for path in sorted(MUTANTS.glob("*/*.yaml")):
        if lab and path.parent.name != lab:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found.append(Mutant(path.parent.name, path.stem, dict(data["answers"]), dict(data["expect"])))
    return found


def cells(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return nb["cells"]


def grade_id(cell: dict[str, Any]) -> str | None:
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def fill(released: dict[str, Any], answers: dict[str, str], manual: str | None = None) -> dict[str, Any]:
    """The released notebook with answer cells holding `answers` (others left blank), as a
    learner would submit it."""
    nb = copy.deepcopy(released)
    for cell in cells(nb):
        gid = grade_id(cell) or ""
        if gid.startswith("answer_") and gid[len("answer_"):] in answers:
            part = gid[len("answer_"):]
            cell["source"] = f"%%answer {part}\n{answers[part]}"
        elif gid.startswith("manual_") and manual is not None:
            cell["source"] = manual
    return nb


def _code(source: str) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}


def _insert_after_setup(nb: dict[str, Any], source: str) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    at = next(i for i, c in enumerate(cells(nb)) if grade_id(c) == "setup") + 1
    cells(nb).insert(at, _code(source))
    return nb


def _edit_tests(nb: dict[str, Any], source: str) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    for cell in cells(nb):
        if (grade_id(cell) or "").startswith("test_"):
            cell["source"] = source
    return nb


def _drop(nb: dict[str, Any], prefix: str) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in cells(nb) if not (grade_id(c) or "").startswith(prefix)]
    return nb


def _points(nb: dict[str, Any]) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    for cell in cells(nb):
        if (grade_id(cell) or "").startswith("test_"):
            cell["metadata"]["nbgrader"]["points"] = 1000
    return nb


#: Tamper attempts on a BLANK submission: each must gain nothing (every part 0).
TAMPER: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "monkeypatch-checks": lambda nb: _insert_after_setup(nb, (
        "import grader.checks.core as core\n"
        "core.Report.score = property(lambda self: self.points)\n"
        "core.Result.passed = property(lambda self: True)\n"
        "core.run = lambda *a, **k: core.Report('x', [core.Result('x', 99, 99, 'ok')])")),
    "redefine-assert": lambda nb: _insert_after_setup(nb, (
        "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})\n"
        "builtins.float = lambda *a: 1000.0")),
    "print-passed": lambda nb: _edit_tests(nb, 'print("All tests passed")\n3.0'),
    "edit-test-cells": lambda nb: _edit_tests(nb, "1000"),
    "delete-test-cells": lambda nb: _drop(nb, "test_"),
    "raise-points": _points,
    "read-reference": lambda nb: _insert_after_setup(nb, (
        "from grader.labs import get_lab\nfrom grader.labs.magic import ANSWERS\n"
        "ANSWERS.update(get_lab(lab.lab.name).references())")),
    "infinite-loop": lambda nb: _insert_after_setup(nb, "while True:\n    pass"),
    "huge-allocation": lambda nb: _insert_after_setup(nb, "hog = bytearray(64 * 1024 ** 3)"),
}


EXAM_LAB = "lab8-mock-exam"


def _fake_outputs(nb: dict[str, Any]) -> dict[str, Any]:
    """Answer cells left blank, but every cell carries outputs claiming success: the commands'
    printed lines, and each test cell's full score as its result."""
    nb = copy.deepcopy(nb)
    for n, cell in enumerate(cells(nb), 1):
        if cell["cell_type"] != "code":
            continue
        gid = grade_id(cell) or ""
        cell["execution_count"] = n
        if gid.startswith("answer_"):
            cell["outputs"] = [{"output_type": "stream", "name": "stdout",
                                "text": "service/web-svc exposed\n1 command replayed, all succeeded\n"}]
        elif gid.startswith("test_"):
            points = cell["metadata"]["nbgrader"].get("points", 0)
            cell["outputs"] = [{"output_type": "execute_result", "execution_count": n, "metadata": {},
                                "data": {"text/plain": repr(float(points))}}]
    return nb


def _replayed_outputs(nb: dict[str, Any]) -> dict[str, Any]:
    """Each answer cell holds what the reference commands print, and claims them as comments
    (an edited transcript): replayed, nothing in it is a command that changes anything."""
    from grader.cluster.offline import OfflineCluster
    from grader.labs.replay import replay
    from grader.labs.spec import prepare
    lab = get_lab(EXAM_LAB)
    answers = {}
    for part in lab.parts:
        out = replay(prepare(lab, part, OfflineCluster(say=lambda _: None)), part.reference).transcript()
        answers[part.id] = "\n".join([ln for ln in out.splitlines() if not ln.startswith("$ ")]
                                     + ["# ran: " + ln for ln in part.reference.splitlines()]) + "\n"
    return fill(nb, answers)


def _other_namespace(nb: dict[str, Any]) -> dict[str, Any]:
    """The reference commands aimed at kube-system: refused, so nothing is created."""
    lab = get_lab(EXAM_LAB)
    return fill(nb, {p.id: "".join(ln + " -n kube-system\n" if ln.startswith("kubectl") else ln + "\n"
                                   for ln in p.reference.splitlines()) for p in lab.parts})


#: Tamper attempts on the mock exam's blank release: each must gain nothing (every task 0).
EXAM_TAMPER: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "fake-outputs": _fake_outputs,
    "replayed-outputs": _replayed_outputs,
    "kubectl-in-a-new-cell": lambda nb: _insert_after_setup(nb, (
        "from grader.labs import get_lab\nfrom grader.labs import magic\n"
        "for p in get_lab('lab8-mock-exam').parts:\n    magic.AFTER_RECORD[0](p.id, p.reference)\n"
        "    magic.ANSWERS[p.id] = p.reference")),
    "other-namespace": _other_namespace,
}


def reversed_cells(nb: dict[str, Any]) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    nb["cells"] = cells(nb)[::-1]
    return nb


def duplicated_cells(nb: dict[str, Any]) -> dict[str, Any]:
    """Every cell twice: nbgrader keeps the last copy of each id."""
    nb = copy.deepcopy(nb)
    doubled = []
    for c in cells(nb):
        twin = copy.deepcopy(c)
        if "id" in twin:
            twin["id"] = f"{twin['id'][:56]}-copy"     # JupyterLab gives a pasted cell a new id
        doubled += [c, twin]
    nb["cells"] = doubled
    return nb


def _write(course: Path, student: str, lab: str, nb: dict[str, Any]) -> None:
    path = course / "submitted" / student / lab / f"{lab}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")


def _drop_cells(nb: dict[str, Any], *ids: str) -> dict[str, Any]:
    nb = copy.deepcopy(nb)
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) not in ids]
    return nb


def _write_drawn(root: Path, lab: str, released: dict[str, Any], expected: dict[Any, dict[str, float]]) -> None:
    """A lab drawn per learner: "solution", "reordered" and "duplicated" each submit the
    solution of their own draw (full marks), "blank" nothing, and "wrong-learner" the
    solution of "solution"'s draw, which misses a fault of their own (below full, checked
    by the test)."""
    for student, arrange in (("solution", None), ("reordered", reversed_cells), ("duplicated", duplicated_cells)):
        nb = fill(released, get_lab(lab, student).references())
        _write(root, student, lab, arrange(nb) if arrange else nb)
        expected[(student, lab)] = {p.id: p.points for p in get_lab(lab, student).parts}
    _write(root, "wrong-learner", lab, fill(released, get_lab(lab, "solution").references()))
    _write(root, "blank", lab, released)
    expected[("blank", lab)] = {p.id: 0.0 for p in get_lab(lab, "blank").parts}
    for name, tamper in TAMPER.items():
        _write(root, f"tamper-{name}", lab, tamper(released))
        expected[(f"tamper-{name}", lab)] = {p.id: 0.0 for p in get_lab(lab, f"tamper-{name}").parts}


def build_class(root: Path) -> dict[tuple[str, str], dict[str, float]]:
    """Copy labs/ to `root`, release every lab and write the class's submissions; returns what
    each (student, lab) must score, part by part (from the mutant files and the specs, never
    from grading output)."""
    shutil.copytree(ROOT / "labs", root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        "release", "submitted", "autograded", "feedback", "gradebook.db", "svclab-results", "reports"))
    steps.release(root)
    expected: dict[tuple[str, str], dict[str, float]] = {}
    for lab in all_labs():
        released = json.loads((root / "release" / lab.name / f"{lab.name}.ipynb").read_text(encoding="utf-8"))
        full = {p.id: p.points for p in lab.parts}
        if is_drawn(lab.name):      # faults drawn per learner: each student fills in their own solution
            _write_drawn(root, lab.name, released, expected)
            continue
        _write(root, "solution", lab.name, fill(released, lab.references(), manual=MANUAL_TEXT))
        expected[("solution", lab.name)] = full
        _write(root, "blank", lab.name, released)
        expected[("blank", lab.name)] = {p.id: 0.0 for p in lab.parts}
        for m in mutants(lab.name):
            _write(root, m.student, lab.name, fill(released, m.all_answers()))
            expected[(m.student, lab.name)] = m.part_scores()
        solution = fill(released, lab.references())
        _write(root, "reordered", lab.name, reversed_cells(solution))
        expected[("reordered", lab.name)] = full
        _write(root, "duplicated", lab.name, duplicated_cells(solution))
        expected[("duplicated", lab.name)] = full
    lab1 = get_lab(TAMPER_LAB)
    released = json.loads((root / "release" / TAMPER_LAB / f"{TAMPER_LAB}.ipynb").read_text(encoding="utf-8"))
    for name, tamper in TAMPER.items():
        _write(root, f"tamper-{name}", TAMPER_LAB, tamper(released))
        expected[(f"tamper-{name}", TAMPER_LAB)] = {p.id: 0.0 for p in lab1.parts}
    for more in MORE_TAMPER_LABS:
        blank = json.loads((root / "release" / more / f"{more}.ipynb").read_text(encoding="utf-8"))
        for name, tamper in TAMPER.items():
            _write(root, f"tamper-{name}", more, tamper(blank))
            expected[(f"tamper-{name}", more)] = {p.id: 0.0 for p in get_lab(more).parts}
    exam = get_lab(EXAM_LAB)
    exam_released = json.loads((root / "release" / EXAM_LAB / f"{EXAM_LAB}.ipynb").read_text(encoding="utf-8"))
    for name, tamper in EXAM_TAMPER.items():
        _write(root, f"exam-{name}", EXAM_LAB, tamper(exam_released))
        expected[(f"exam-{name}", EXAM_LAB)] = {p.id: 0.0 for p in exam.parts}
    solution = fill(released, lab1.references())
    # deleted test cells are restored and still score; a deleted answer cell (with its test
    # cell, which nbgrader's own restore would crash on) is "not gradable" for that part only
    _write(root, "deleted-tests", TAMPER_LAB, _drop_cells(solution, *[c for p in lab1.parts
                                                                       for c in (p.test_cell, p.hidden_cell)]))
    expected[("deleted-tests", TAMPER_LAB)] = {p.id: p.points for p in lab1.parts}
    _write(root, "deleted-answer", TAMPER_LAB, _drop_cells(solution, "answer_part1", "test_part1"))
    expected[("deleted-answer", TAMPER_LAB)] = {**{p.id: p.points for p in lab1.parts}, "part1": 0.0}

    return expected
