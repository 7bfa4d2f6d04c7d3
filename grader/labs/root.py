"""Where the course repository is: the directory that holds `labs/` (the nbgrader course
root, marked by labs/nbgrader_config.py), `course/` and `solutions/`.

Why not a path relative to this file: an installed package (a wheel in site-packages) has
no labs/ beside it. So the root is explicit: an argument, else $SVCLAB_ROOT, else the
nearest directory at or above the working directory that holds labs/nbgrader_config.py
(make, svclab and pytest run at the repository root; notebooks run in a folder below it).
"""
from __future__ import annotations

import os
from pathlib import Path

ENV = "SVCLAB_ROOT"
MARKER = Path("labs") / "nbgrader_config.py"


class RootNotFound(LookupError):
    """No course repository where we looked; the message says where and how to point at one."""


def project_root(explicit: Path | str | None = None, *, start: Path | None = None) -> Path:
    """The course repository root (see the module docstring for the order of the places)."""
    if explicit is not None or os.environ.get(ENV):
        root = Path(explicit if explicit is not None else os.environ[ENV]).expanduser().resolve()
        if not (root / MARKER).is_file():
            source = "the given root" if explicit is not None else f"${ENV}"
            raise RootNotFound(f"{source} {root} is not the course repository (no {MARKER} in it)")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    raise RootNotFound(f"no course repository at or above {here} (no {MARKER}): run from the "
                       f"repository, or set {ENV} to its path")


def course_dir(root: Path | str | None = None) -> Path:
    """The nbgrader course root, labs/ of the course repository."""
    return project_root(root) / "labs"
