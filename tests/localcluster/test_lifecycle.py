"""up refuses while a cluster runs; down is safe from any state."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.localcluster import cgroups, lifecycle, namespaces, preflight
from grader.localcluster.processes import StartError


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SVCLAB_LOCAL_CLUSTER_DIR", str(tmp_path / "local"))
    monkeypatch.setattr(preflight, "require", lambda say=print: None)
    return tmp_path / "local"


def test_second_up_refuses_with_how_to_use_or_stop_it(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups, "pids", lambda: {101, 102})
    with pytest.raises(lifecycle.AlreadyRunning, match=r"already running \(2 processes.*cluster down --local"):
        lifecycle.up(say=lambda line: None)


def test_down_with_nothing_running_removes_leftovers(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups, "kill_all", lambda grace=10.0: 0)
    monkeypatch.setattr(cgroups, "remove_all", lambda: [])
    paths = lifecycle.Paths(state)
    (paths.run / "nodes").mkdir(parents=True)
    paths.state.write_text("{}")
    said: list[str] = []
    lifecycle.down(say=said.append)
    assert not paths.run.exists() and not paths.state.exists()
    assert said == ["local cluster: stopped 0 processes, removed its cgroups and namespaces"]


def test_down_reports_cgroups_it_could_not_remove(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgroups, "kill_all", lambda grace=10.0: 3)
    monkeypatch.setattr(cgroups, "remove_all", lambda: ["/sys/fs/cgroup/pids/svclab-local: Device or resource busy"])
    with pytest.raises(RuntimeError, match="teardown left: /sys/fs/cgroup/pids/svclab-local"):
        lifecycle.down(say=lambda line: None)


@pytest.mark.parametrize("folder", ["/run/svclab", "/var/lib/svclab", "/var/log"])
def test_state_folder_under_what_nodes_hide_is_refused(folder: str) -> None:
    with pytest.raises(StartError, match="is under .*SVCLAB_LOCAL_CLUSTER_DIR"):
        namespaces.refuse_unsafe_state_dir(Path(folder))
