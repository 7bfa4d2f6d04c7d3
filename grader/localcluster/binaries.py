"""The Go binaries the local cluster runs, built (and cached) by controlplane/build.py."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Callable

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "controlplane" / "build.py"


def build_module():  # type: ignore[no-untyped-def]
    """controlplane/build.py, imported by path (it runs before the venv exists, so it is no package)."""
    if not BUILD_SCRIPT.exists():
        raise FileNotFoundError(f"{BUILD_SCRIPT} is missing: the local cluster runs from a clone of the project")
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
