"""`svclab grade release` in a class: the student version is also published to nbgrader's
exchange when the course names one (Exchange.root), so learners fetch it from Assignment
List; a course without an exchange is told so and nothing is created."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from grader.grading import steps

REPO = Path(__file__).resolve().parents[2]
LAB = "lab1-clusterip"


def _course(tmp_path: Path, exchange: Path | None) -> Path:
    course = tmp_path / "course"
    shutil.copytree(REPO / "labs" / "source" / LAB, course / "source" / LAB)
    lines = [f"load_subconfig({str(REPO / 'labs' / 'nbgrader_config.py')!r})",
             f"c.CourseDirectory.root = {str(course)!r}"]
    if exchange:
        lines += [f"c.Exchange.root = {str(exchange)!r}", "c.Exchange.path_includes_course = True"]
    (course / "nbgrader_config.py").write_text("c = get_config()\n" + "\n".join(lines) + "\n")
    return course


def _sources(notebook: Path) -> str:
    return "\n".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"])


def test_release_publishes_the_student_version_to_the_exchange(tmp_path: Path) -> None:
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    course = _course(tmp_path, exchange)

    result = steps.release(course, [LAB])

    published = exchange / "svclab" / "outbound" / LAB / f"{LAB}.ipynb"
    assert published.exists(), result.lines
    text = _sources(published)
    assert "# YOUR ANSWER HERE" in text and "BEGIN SOLUTION" not in text and "targetPort: web" not in text
    assert any(line.startswith(f"published {LAB} to the exchange {exchange}") for line in result.lines)

    # Releasing again replaces what learners fetch (nbgrader alone would refuse: it exists).
    source = course / "source" / LAB / f"{LAB}.ipynb"
    nb = json.loads(source.read_text())
    nb["cells"][0]["source"] = "# Lab 1, second edition\n"
    source.write_text(json.dumps(nb))

    steps.release(course, [LAB])

    assert "second edition" in _sources(exchange / "svclab" / "outbound" / LAB / f"{LAB}.ipynb")


def test_a_course_without_an_exchange_is_told_and_nothing_is_published(tmp_path: Path) -> None:
    course = _course(tmp_path, None)

    result = steps.release(course, [LAB])

    assert (course / "release" / LAB / f"{LAB}.ipynb").exists()
    assert any("not published" in line and "Exchange.root" in line for line in result.lines), result.lines
    assert not any(line.startswith("published") for line in result.lines)


def test_the_repository_course_names_no_exchange() -> None:
    # make release keeps working on a laptop: labs/ hands out release/ notebooks only.
    assert steps.exchange_root(REPO / "labs") is None
