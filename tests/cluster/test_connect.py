"""connect() picks live only when the course context exists and answers; says why in one line."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader.cluster import connect as conn

REPO = Path(__file__).resolve().parents[2]


def _kubeconfig(tmp_path: Path, server: str = "https://127.0.0.1:9", context: str = "kind-svclab") -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": context,
        "clusters": [{"name": context, "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
        "users": [{"name": context, "user": {"token": "t"}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
    }))
    return path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SVCLAB_MODE", raising=False)
    monkeypatch.delenv("SVCLAB_CONTEXT", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))


def _connect(**kw):
    lines: list[str] = []
    cluster = conn.connect(say=lines.append, **kw)
    return cluster, lines


def test_forced_offline() -> None:
    cluster, lines = _connect(mode="offline")
    assert cluster.mode == "offline"
    assert lines == ["svclab: offline mode (SVCLAB_MODE=offline / mode='offline')"]


def test_env_forces_offline_even_with_a_context(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path)))
    monkeypatch.setenv("SVCLAB_MODE", "offline")
    cluster, lines = _connect()
    assert cluster.mode == "offline" and len(lines) == 1


def test_no_kubeconfig_means_offline_and_says_how_to_get_live() -> None:
    cluster, lines = _connect()
    assert cluster.mode == "offline"
    assert lines == ["svclab: offline mode (no kubeconfig context 'kind-svclab'; "
                     "run `make cluster` for live mode)"]


def test_context_that_does_not_answer_means_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path)))
    cluster, lines = _connect(timeout=1.0)
    assert cluster.mode == "offline"
    assert len(lines) == 1 and "context 'kind-svclab' did not answer within 1s" in lines[0]


def test_forced_live_without_a_cluster_explains_what_to_do() -> None:
    with pytest.raises(conn.LiveClusterUnavailable, match=r"make cluster.*SVCLAB_CONTEXT"):
        _connect(mode="live")


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="offline"):
        _connect(mode="cloud")


def test_live_when_the_context_answers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from grader.cluster import live

    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path, context="classroom")))
    monkeypatch.setenv("SVCLAB_CONTEXT", "classroom")
    monkeypatch.setattr(live.LiveCluster, "ping", lambda self, timeout=2.0: "v1.37.0")
    cluster, lines = _connect()
    assert cluster.mode == "live" and cluster.context == "classroom"
    assert lines == ["svclab: live mode (context 'classroom', Kubernetes v1.37.0)"]


def test_kubeconfig_path_list_is_merged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    import os
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(_kubeconfig(a, context="x")),
                                                      str(_kubeconfig(b, context="kind-svclab"))]))
    assert conn.kubeconfig_contexts() == ["x", "kind-svclab"]


def test_offline_connect_never_loads_the_kubernetes_client(tmp_path: Path) -> None:
    code = ("import sys, grader; grader.connect(); "
            "print('LOADED' if 'kubernetes' in sys.modules else 'CLEAN')")
    env = {"KUBECONFIG": str(tmp_path / "none"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "CLEAN"
    assert out.stderr == ""  # nbgrader scores a cell with stderr output 0


def test_only_the_live_client_boundary_imports_kubernetes() -> None:
    """grader/cluster/live_api.py is the one module that talks to the client; the rest of the
    live backend (live, live_namespace, live_pods) works on the dicts it returns."""
    pattern = re.compile(r"^\s*(import kubernetes\b|from kubernetes\b)", re.M)
    importers = [p.relative_to(REPO).as_posix() for p in (REPO / "grader").rglob("*.py")
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert importers == ["grader/cluster/live_api.py"]


@pytest.mark.parametrize("error, shown", [
    (ConnectionError("\nMax retries exceeded with url: /version\nCaused by ..."),
     "Max retries exceeded with url: /version"),
    (TimeoutError(), "TimeoutError"),
    (OSError("x" * 300 + "\nsecond line"), "x" * 160),
])
def test_a_context_that_fails_is_named_with_the_first_line_of_the_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: BaseException, shown: str) -> None:
    from grader.cluster import live

    def ping(self: object, timeout: float = 2.0) -> str:
        raise error
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path)))
    monkeypatch.setattr(live.LiveCluster, "ping", ping)
    cluster, lines = _connect(timeout=1.0)
    assert cluster.mode == "offline"
    assert lines == [f"svclab: offline mode (context 'kind-svclab' did not answer within 1s: {shown}; "
                     f"run `make cluster` for live mode)"]


def test_connect_imports_kindctl_without_a_cycle_or_the_kubernetes_client(tmp_path: Path) -> None:
    code = ("import sys; import grader.cluster.connect as c; from grader import kindctl; from grader.k8s import wording; "
            "assert c.first_line is kindctl.first_line is wording.first_line; "
            "print('LOADED' if 'kubernetes' in sys.modules else 'CLEAN')")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "CLEAN"
