"""What a submission may bring into the grader: its own regular files, nothing else.

Why: a submission folder is what `unzip` of an LMS archive, `git` or `rsync -a` made of a
learner's upload, and those keep symbolic links. nbgrader copies every file beside the
notebook into autograded/ and then into feedback/<student>/ (the folder handed back to
learners) with `shutil.copy`, which follows links: a link to ~/.ssh/id_rsa or to another
learner's work would be copied out. So the grader never reads a submission in place:

- a submission whose notebook (or student or lab folder) is a symbolic link is refused:
  it is not the learner's own file (a link to a classmate's notebook would be graded);
- every other submission is staged: its regular files are copied (never followed) into a
  folder nbgrader grades from; links and special files (FIFOs, devices) are skipped, each
  named in one line of the instructor's log.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Intake:
    """One lab's submissions: staged ones by student, refused ones with the reason, and a
    line per skipped file."""

    staged: dict[str, Path] = field(default_factory=dict)       # student -> staged notebook
    refused: dict[str, str] = field(default_factory=dict)       # student -> why
    skipped: list[str] = field(default_factory=list)            # "<student>/<lab>: skipped ..."


def _kind(path: Path) -> str | None:
    """None for a regular file or folder; else what it is, in words."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return "not a regular file"


def refusal(course: Path, student: str, lab: str) -> str | None:
    """Why `student`'s submission of `lab` cannot be graded at all, or None."""
    folder = course / "submitted" / student
    for path, what in ((folder, "student folder"), (folder / lab, "lab folder")):
        kind = _kind(path)
        if kind:
            return f"its {what} {path.name} is {kind}, not a folder of its own"
    notebook = folder / lab / f"{lab}.ipynb"
    if os.path.lexists(notebook):
        kind = _kind(notebook)
        if kind:
            return f"the notebook {notebook.name} is {kind}, not the learner's own file"
    return None


def candidates(course: Path, lab: str) -> list[str]:
    """Students with a folder for `lab` under submitted/ (links included, to be refused)."""
    root = course / "submitted"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if os.path.lexists(p / lab))


def stage(course: Path, lab: str, dest: Path) -> Intake:
    """Copy every acceptable submission of `lab` to dest/<student>/<lab>/, regular files only."""
    out = Intake()
    for student in candidates(course, lab):
        why = refusal(course, student, lab)
        if why:
            out.refused[student] = f"not gradable: {why}"
            continue
        source = course / "submitted" / student / lab
        target = dest / student / lab
        for dirpath, dirnames, filenames in os.walk(source):        # never follows links
            here = Path(dirpath)
            rel = here.relative_to(source)
            for name in sorted(dirnames):
                kind = _kind(here / name)
                if kind:
                    dirnames.remove(name)
                    out.skipped.append(f"{student}/{lab}: skipped {rel / name}: {kind}")
            (target / rel).mkdir(parents=True, exist_ok=True)
            for name in sorted(filenames):
                kind = _kind(here / name)
                if kind:
                    out.skipped.append(f"{student}/{lab}: skipped {rel / name}: {kind}")
                    continue
                shutil.copy2(here / name, target / rel / name, follow_symlinks=False)
        notebook = target / f"{lab}.ipynb"
        if notebook.is_file():
            problem = notebook_problem(notebook)
            if problem:
                shutil.rmtree(target)         # nbgrader would fail on it: not graded at all
                out.refused[student] = f"not gradable: {problem}"
            else:
                out.staged[student] = notebook
    return out


def notebook_problem(path: Path) -> str | None:
    """Why nbgrader could not read the notebook at `path`, in one line, or None.

    nbgrader answers these with a traceback that aborts the submission; checking first lets
    the instructor's log say which submission and why, and the rest of the class is graded."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        return "the notebook is not UTF-8 text"
    except ValueError as exc:
        return f"the notebook is not valid JSON, truncated or corrupt ({exc})"
    except OSError as exc:
        return f"the notebook could not be read ({exc.strerror})"
    if not isinstance(nb, dict):
        return "the notebook is not a JSON object"
    major = nb.get("nbformat")
    if not isinstance(major, int) or major < 3:
        return f"the notebook's nbformat is {major!r}; nbgrader reads nbformat 3 and 4"
    if major == 3:
        sheets = nb.get("worksheets")
        cells = [c for ws in sheets for c in ws.get("cells", [])] if isinstance(sheets, list) and all(
            isinstance(ws, dict) for ws in sheets) else None
    else:
        cells = nb.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        return "the notebook has no list of cells"
    for n, cell in enumerate(cells, 1):
        problem = _metadata_problem(cell)
        if problem:
            return f"cell {n}: {problem}"
    return None


def _metadata_problem(cell: dict[str, Any]) -> str | None:
    """What is wrong with a cell's nbgrader metadata (the fields nbgrader reads), or None."""
    meta = cell.get("metadata")
    if meta is None:
        return None
    if not isinstance(meta, dict):
        return "its metadata is not a mapping"
    nb = meta.get("nbgrader")
    if nb is None or nb == {}:
        return None
    if not isinstance(nb, dict):
        return "its nbgrader metadata is not a mapping"
    name = nb.get("grade_id")
    where = f"nbgrader metadata of {name!r}" if isinstance(name, str) else "nbgrader metadata"
    version = nb.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        return f"{where}: schema_version is {version!r}, not a number"
    for flag in ("grade", "solution", "locked", "task"):
        if flag in nb and not isinstance(nb[flag], bool):
            return f"{where}: {flag} is {nb[flag]!r}, not true or false"
    if any(nb.get(flag) for flag in ("grade", "solution", "locked", "task")) and not isinstance(name, str):
        return f"{where}: grade_id is missing"
    points = nb.get("points")
    if nb.get("grade") and (not isinstance(points, (int, float)) or isinstance(points, bool)):
        return f"{where}: points is {nb.get('points')!r}, not a number"
    return None
