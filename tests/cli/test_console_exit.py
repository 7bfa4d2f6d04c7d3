"""How the console script ends (grader.cli.run): after a command that only reads files and
prints, without the interpreter's teardown, yet with everything a normal exit does that
anyone relies on: the exit code, every byte of output, the exit functions (the dataclass
cache is saved by one). Anything else, or a run with another thread alive, exits as usual."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from grader import cli

ROOT = Path(__file__).resolve().parents[2]
SHOP = str(ROOT / "tests" / "fixtures" / "netpol" / "shop")


class Left(Exception):
    """os._exit, caught: the process would have ended here with `code`."""

    def __init__(self, code: int) -> None:
        self.code = code


@pytest.fixture
def ending(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What happened at the end, in order: exit functions run, streams flushed, os._exit."""
    events: list[str] = []
    monkeypatch.setattr(cli, "main", lambda: 3)
    monkeypatch.setattr(cli.atexit, "_run_exitfuncs", lambda: events.append("exit functions"))

    def leave(code: int) -> None:
        events.append(f"_exit({code})")
        raise Left(code)
    monkeypatch.setattr(cli.os, "_exit", leave)
    return events


def test_a_command_that_only_prints_leaves_at_once_after_the_exit_functions(
        ending: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["svclab", "matrix", "some/dir"])
    # the console script's process has one thread; a test runner's worker has its own
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    with pytest.raises(Left) as left:
        cli.run()
    assert left.value.code == 3
    assert ending == ["exit functions", "_exit(3)"]


@pytest.mark.parametrize("argv", [["svclab", "grade", "live"], ["svclab", "cluster", "up"], ["svclab"]])
def test_other_commands_exit_as_usual(ending: list[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        cli.run()
    assert exited.value.code == 3 and ending == []


def test_a_run_with_another_thread_alive_exits_as_usual(ending: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["svclab", "check", "x.yaml"])
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        with pytest.raises(SystemExit) as exited:
            cli.run()
    finally:
        stop.set()
        worker.join()
    assert exited.value.code == 3 and ending == []


def test_every_byte_reaches_a_pipe_and_the_exit_functions_ran(tmp_path: Path) -> None:
    """A whole process, its JSON read through a pipe: nothing lost by leaving at once, and
    the dataclass cache (saved by an exit function) written."""
    env = dict(os.environ, SVCLAB_STARTUP_CACHE=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "grader.cli", "matrix", "--format", "json", "--explain",
                          "--ports", "80,8080", SHOP], capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["results"]) == len(doc["pods"]) ** 2 * 2 > 0     # every ordered pair, two ports
    assert [p.name for p in tmp_path.glob("dataclasses-matrix-*.marshal")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 99999}]}\n")
    out = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(bad)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert out.returncode == 1
    assert "spec.ports[0].port: must be between 1 and 65535, got 99999" in out.stdout + out.stderr
