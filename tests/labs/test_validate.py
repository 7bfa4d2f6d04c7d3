"""nbgrader's Validate button, as a learner presses it: on a released lab with correct
answers it must report no failure. A part's hidden checks sit in a cell of their own, so
the visible test cell is judged against the visible points only and never reads as
"Partial credit; passed some but not all of the tests"."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from lab_submissions import MANUAL_TEXT, ROOT, fill

from grader.grading import steps
from grader.labs import all_labs, get_lab

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("validate")
    shutil.copytree(ROOT / "labs", root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        "release", "submitted", "autograded", "feedback", "gradebook.db", "svclab-results", "reports"))
    steps.release(root)
    return root


def _validate(course: Path, nb: dict[str, Any], lab: str) -> dict[str, Any]:
    from nbgrader.validator import Validator

    path = course / "learner" / lab / f"{lab}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    os.environ["SVCLAB_MODE"] = "offline"          # the kernel inherits the environment
    try:
        return Validator(config=steps._config(course)).validate(str(path))
    finally:
        os.environ.pop("SVCLAB_MODE", None)


def _released(course: Path, lab: str) -> dict[str, Any]:
    return json.loads((course / "release" / lab / f"{lab}.ipynb").read_text(encoding="utf-8"))


@pytest.mark.parametrize("lab", [lab.name for lab in all_labs()])
def test_validate_passes_a_released_lab_with_correct_answers(course: Path, lab: str) -> None:
    results = _validate(course, fill(_released(course, lab), get_lab(lab).references(), manual=MANUAL_TEXT), lab)
    assert results == {}, [f.get("raw_error", f) for f in results.get("failed", [])]


def test_validate_still_fails_a_wrong_part(course: Path) -> None:
    lab = get_lab("lab4-network-policy")
    answers = {**lab.references(), "part2": "# YOUR ANSWER HERE"}
    results = _validate(course, fill(_released(course, lab.name), answers, manual=MANUAL_TEXT), lab.name)
    failed = results.get("failed", [])
    assert len(failed) == 1 and 'lab.self_check("part2")' in failed[0]["source"], failed
