"""Fixtures for the tests against upstream's own control plane (see upstream.py).

These tests run only when asked for (`pytest -m controlplane`, or `make test-control-plane`,
which builds first) and only where the binaries are built; otherwise they are skipped
with the reason. One control plane serves the whole session; each test works in its own
namespace. When any test fails, the components' logs are kept and their tails printed.
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.controlplane.upstream import ControlPlane

ROOT = Path(__file__).resolve().parents[2]
_LOG_TAIL_LINES = 15


def _build_module():
    """controlplane/build.py, imported by path: it decides where the binaries are."""
    spec = importlib.util.spec_from_file_location("svclab_controlplane_build",
                                                  ROOT / "controlplane" / "build.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _selected(config: pytest.Config) -> bool:
    return "controlplane" in (config.getoption("markexpr", "") or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    ours = [item for item in items if item.get_closest_marker("controlplane")]
    if not ours:
        return
    if not _selected(config):
        reason = "control-plane test: run `make test-control-plane` (or pytest -m controlplane)"
    else:
        found = _build_module().installed()
        reason = found if isinstance(found, str) else None
    if reason:
        for item in ours:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def binaries() -> dict[str, Path]:
    found = _build_module().installed()
    if isinstance(found, str):
        pytest.skip(found)
    return found


_kept_logs: list[Path] = []


@pytest.fixture(scope="session")
def control_plane(binaries: dict[str, Path], tmp_path_factory: pytest.TempPathFactory,
                  request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    workdir = tmp_path_factory.mktemp("controlplane")
    cp = ControlPlane(binaries, workdir)
    try:
        cp.start()
    except Exception:
        _kept_logs.append(cp.logs)
        raise
    failed_before = request.session.testsfailed
    try:
        yield cp
    finally:
        died = cp.dead()
        cp.stop()
        if request.session.testsfailed > failed_before or died:
            _kept_logs.append(cp.logs)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if died:
        pytest.fail(f"control-plane components died during the session: {', '.join(died)}")


@pytest.fixture
def live_env(control_plane: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> ControlPlane:
    """KUBECONFIG and SVCLAB_CONTEXT point at the control plane (for the CLI and connect())."""
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    monkeypatch.setenv("SVCLAB_CONTEXT", control_plane.context)
    monkeypatch.delenv("SVCLAB_MODE", raising=False)
    return control_plane


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    for logs in _kept_logs:
        terminalreporter.section(f"control-plane logs kept in {logs}")
        for log in sorted(logs.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-_LOG_TAIL_LINES:]
            terminalreporter.write_line(f"--- {log.name} (last {len(lines)} lines)")
            for line in lines:
                terminalreporter.write_line(line)

