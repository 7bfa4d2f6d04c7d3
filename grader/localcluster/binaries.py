"""The Go binaries the local cluster runs, built (and cached) by controlplane/build.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Callable


def import_root() -> Path:
    """The folder the `grader` package is imported from: in a clone, the clone itself, which
    holds controlplane/ beside grader/ (and what a child `python -m grader...` needs on
    PYTHONPATH). Asked of the import system, not worked out from this file's path."""
    spec = importlib.util.find_spec("grader")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise FileNotFoundError("the grader package has no folder to import from")
    return Path(locations[0]).resolve().parent


BUILD_SCRIPT = import_root() / "controlplane" / "build.py"


def build_module():  # type: ignore[no-untyped-def]
    """controlplane/build.py, imported by path (it runs before the venv exists, so it is no package)."""
    if not BUILD_SCRIPT.exists():
        raise FileNotFoundError(
            f"{BUILD_SCRIPT} is missing: the local cluster runs from a clone of the project"
        )
    name = "svclab_controlplane_build"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BUILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def components():  # type: ignore[no-untyped-def]
    build = build_module()
    return build.COMPONENTS + build.NODE_COMPONENTS


def installed() -> dict[str, Path] | str:
    """{binary: path} when everything is built, else what is missing."""
    build = build_module()
    return build.installed(None, components())


def ensure(say: Callable[[str], None] = print) -> dict[str, Path]:
    """Build what is missing (minutes to tens of minutes the first time), then return the paths."""
    build = build_module()
    goversion = build.go_version()
    if goversion is None:
        raise RuntimeError(build.installed(None))
    for component in components():
        build.build(component, goversion, log=say)
    found = build.installed(goversion, components())
    if isinstance(found, str):
        raise RuntimeError(found)
    return found
