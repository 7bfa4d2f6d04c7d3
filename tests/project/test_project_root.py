"""The package finds the course repository (labs/, solutions/) from an explicit root, the
SVCLAB_ROOT variable or the working directory, never from where the package is installed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grader.labs.root import ENV, RootNotFound, course_dir, project_root

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A minimal course repository: only the marker file."""
    monkeypatch.delenv(ENV, raising=False)
    (tmp_path / "course-repo" / "labs" / "source" / "lab1").mkdir(parents=True)
    (tmp_path / "course-repo" / "labs" / "nbgrader_config.py").write_text("c = get_config()\n")
    return tmp_path / "course-repo"


def test_found_from_a_folder_below_the_root(repo_copy: Path) -> None:
    assert project_root(start=repo_copy / "labs" / "source" / "lab1") == repo_copy.resolve()
    assert course_dir(repo_copy) == repo_copy.resolve() / "labs"


def test_the_environment_variable_wins_over_the_working_directory(repo_copy: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, str(repo_copy))
    assert project_root(start=REPO) == repo_copy.resolve()


def test_a_wrong_root_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(RootNotFound, match=r"is not the course repository \(no labs/nbgrader_config.py in it\)"):
        project_root(tmp_path)
    with pytest.raises(RootNotFound, match=f"no course repository at or above .*set {ENV}"):
        project_root(start=tmp_path)


def test_svclab_grade_outside_a_repository_says_how_to_point_at_one(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "grader.cli", "grade", "grades"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert f"no course repository at or above {tmp_path.resolve()}" in out.stderr and "--course" in out.stderr


def test_no_module_locates_the_repository_from_its_own_file() -> None:
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "grader").rglob("*.py")
                 if "parents[2]" in p.read_text(encoding="utf-8")]
    assert offenders == []
