"""Notebooks in git are teaching material, not run logs: no outputs, no execution counts, and
the same five-part structure everywhere so learners always know where they are."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COURSE = sorted((ROOT / "course").glob("*.ipynb"))
ALL_NOTEBOOKS = COURSE + sorted((ROOT / "labs" / "source").rglob("*.ipynb")) + sorted(
    (ROOT / "solutions").rglob("*.ipynb"))
SECTIONS = ("Goals", "Concept", "Try it", "Check yourself", "What's next")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_there_is_a_course() -> None:
    assert COURSE, "course/ has no notebooks"


PIN = "# NBVAL_CHECK_OUTPUT"
#: What a pinned output must never contain: it would change with the allocator or the clock.
VOLATILE = re.compile(r"\b(?:10|172|192)\.\d{1,3}\.\d{1,3}\.\d{1,3}\b|-[a-z0-9]{10}-[a-z0-9]{5}\b")


def _pinned(cell: dict) -> bool:
    return "".join(cell["source"]).lstrip().startswith(PIN)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_outputs_are_cleared(path: Path) -> None:
    """No outputs in git, except the cells pinned with # NBVAL_CHECK_OUTPUT (re-pinned by
    grader/pin_outputs.py (make pin-outputs)), whose output nbval compares on every run."""
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code" or _pinned(cell):
            continue
        assert not cell.get("outputs"), f"{path.name} cell {i} has committed outputs"
        assert cell.get("execution_count") is None, f"{path.name} cell {i} has an execution count"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_pinned_outputs_are_stored_and_stable(path: Path) -> None:
    """A pin without a stored output and an execution count checks nothing (nbval skips
    such cells); a pin on an address or a generated pod name fails for no reason."""
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code" or not _pinned(cell):
            continue
        assert cell.get("outputs") and cell.get("execution_count"), \
            f"{path.name} cell {i} is pinned but has no stored output: run grader/pin_outputs.py (make pin-outputs)"
        text = json.dumps(cell["outputs"])
        assert not VOLATILE.search(text), f"{path.name} cell {i} pins a volatile value: {VOLATILE.search(text)[0]}"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_course_notebook_structure(path: Path) -> None:
    headings = [
        line.lstrip("#").strip()
        for cell in _cells(path) if cell["cell_type"] == "markdown"
        for line in "".join(cell["source"]).splitlines() if line.startswith("## ")
    ]
    found = [s for s in SECTIONS if any(h.startswith(s) for h in headings)]
    assert found == list(SECTIONS), f"{path.name}: sections {found}, expected {list(SECTIONS)} in order"
    order = [next(i for i, h in enumerate(headings) if h.startswith(s)) for s in SECTIONS]
    assert order == sorted(order), f"{path.name}: sections out of order: {headings}"
    assert any("```mermaid" in "".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown"), \
        f"{path.name}: the Concept section needs a diagram (a ```mermaid block)"


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.name)
def test_course_notebooks_never_import_the_kubernetes_client(path: Path) -> None:
    for cell in _cells(path):
        src = "".join(cell["source"])
        assert "import kubernetes" not in src and "from kubernetes" not in src, \
            f"{path.name}: notebooks use grader.connect(), never the kubernetes client"
