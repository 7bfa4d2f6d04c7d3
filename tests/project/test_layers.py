"""The gates of `make lint` prove themselves: the layer contract holds on the real package,
and the checker (and mypy) fail on a copy of the package with a planted defect."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools import check_layers, layer_contract

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    """A copy of grader/ (sources only) to plant defects in."""
    dst = tmp_path / "grader"
    shutil.copytree(REPO / "grader", dst, ignore=shutil.ignore_patterns("__pycache__", "vendor", "templates"))
    return dst


def _plant(path: Path, code: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + code + "\n", encoding="utf-8")


def test_the_package_keeps_the_layer_contract() -> None:
    assert check_layers.violations(REPO / "grader") == []


def test_every_module_is_placed_in_exactly_one_component() -> None:
    prefixes = [p for floor in layer_contract.LAYERS for _, ps in floor for p in ps]
    assert len(prefixes) == len(set(prefixes))
    index = check_layers._component_index()
    assert all(check_layers.place(m, index) for m in check_layers.module_names(REPO / "grader"))


def test_a_function_level_upward_import_fails(package_copy: Path) -> None:
    _plant(package_copy / "k8s" / "fields.py", "def _late() -> None:\n    from grader.model import state  # noqa\n")
    found = check_layers.violations(package_copy)
    assert len(found) == 1
    assert found[0].startswith("grader/k8s/fields.py:")
    assert "upward import: grader.k8s.fields (k8s) imports grader.model.state (model)" in found[0]


def test_a_sibling_import_fails(package_copy: Path) -> None:
    _plant(package_copy / "display.py", "import grader.kubectl.result  # noqa")
    found = check_layers.violations(package_copy)
    assert len(found) == 1 and "sibling import: grader.display (display) imports grader.kubectl.result" in found[0]


def test_checks_may_not_reach_into_the_model(package_copy: Path) -> None:
    _plant(package_copy / "checks" / "dns.py", "from grader.model import dns as _dns  # noqa")
    found = check_layers.violations(package_copy)
    assert len(found) == 1 and "checks may import only" in found[0] and "grader.model.dns" in found[0]


def test_a_cycle_inside_one_component_fails(package_copy: Path) -> None:
    # quota imports quantity; a type-only import back still closes the loop
    _plant(package_copy / "k8s" / "quantity.py",
           "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from grader.k8s.quota import QuotaTracker  # noqa")
    found = check_layers.violations(package_copy)
    assert found == ["grader/k8s/quantity.py:1: import cycle: grader.k8s.quantity -> grader.k8s.quota "
                     "-> grader.k8s.quantity"]


def test_a_module_in_no_layer_fails(package_copy: Path) -> None:
    (package_copy / "helpers.py").write_text('"""misc"""\n', encoding="utf-8")
    found = check_layers.violations(package_copy)
    assert found == ["grader/helpers.py:1: grader.helpers is in no layer: place it in tools/layer_contract.py"]


def test_the_command_line_exits_1_and_names_the_import(package_copy: Path) -> None:
    _plant(package_copy / "observations.py", "import grader.cli  # noqa")
    out = subprocess.run([sys.executable, "-m", "tools.check_layers", str(package_copy)], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "grader/observations.py:" in out.stdout and "imports grader.cli (cli)" in out.stdout


def test_relative_imports_are_resolved(package_copy: Path) -> None:
    target = package_copy / "rules" / "configmap.py"
    _plant(target, "from ..manifests import ManifestError  # noqa")
    line = len(target.read_text(encoding="utf-8").splitlines())          # the planted last line
    found = check_layers.violations(package_copy)
    assert (f"grader/rules/configmap.py:{line}: upward import: grader.rules.configmap (rules) imports "
            "grader.manifests (manifests)") in found


def test_the_one_line_contract_reads_top_down() -> None:
    line = layer_contract.one_line()
    assert line.startswith("cli | pin_outputs | export | jupyter_quiet | classroom > commands > grading > labs > ")
    assert line.endswith(" > k8s | observations | kind")


def test_architecture_md_shows_the_contract_as_written() -> None:
    assert layer_contract.one_line() in (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_mypy_fails_on_a_planted_type_error(package_copy: Path) -> None:
    _plant(package_copy / "k8s" / "wording.py", "def _bad() -> int:\n    return first_line(ValueError('x'))")
    out = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"),
                          "--cache-dir", str(package_copy.parent / ".mypy_cache"), str(package_copy)],
                         cwd=package_copy.parent, capture_output=True, text=True, timeout=600)
    assert out.returncode == 1
    assert 'wording.py:' in out.stdout and 'Incompatible return value type (got "str", expected "int")' in out.stdout
