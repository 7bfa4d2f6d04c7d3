"""The two ways to install (pip via pyproject.toml, conda via environment.yml) must not
drift apart: a conda learner would otherwise get a JupyterLab or nbgrader the course was
never tested with."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")   # Python 3.11+; the course also supports 3.10

ROOT = Path(__file__).resolve().parents[1]


def _pyproject_bounds() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    out = {}
    for dep in deps:
        m = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", dep)
        out[m.group(1).lower()] = m.group(2).replace(" ", "")
    return out


def _conda_bounds() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            m = re.match(r"([A-Za-z0-9_.-]+)\s*([^#]*)", dep)
            out[m.group(1).lower()] = m.group(2).strip().replace(" ", "")
    return out


def test_conda_pins_agree_with_pyproject() -> None:
    pip, conda = _pyproject_bounds(), _conda_bounds()
    shared = set(pip) & set(conda)
    assert {"jupyterlab", "nbgrader"} <= shared, "environment.yml should take these from conda-forge"
    for name in shared:
        assert pip[name] == conda[name], f"{name}: pyproject says {pip[name]!r}, environment.yml {conda[name]!r}"


def test_conda_env_installs_the_project_with_its_test_extra() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e .[test]" in pip_section


def test_every_phony_make_target_has_a_recipe() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    for target in phony:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"make {target} has no rule"


def test_every_import_points_down_model_never_imports_cluster() -> None:
    """grader.model is the floor the backends stand on: it takes its vocabulary from
    grader.observations, never from grader.cluster (which imports the model)."""
    import ast

    root = Path(__file__).resolve().parents[1] / "grader" / "model"
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith("grader.cluster"), f"{path.name} imports {name}"
