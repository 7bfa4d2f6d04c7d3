"""Start the cluster's daemons so that they outlive `svclab cluster up --local`: each in a
session of its own, output to a log file, placed in the cluster's tracking cgroup before it
runs, and entered into a node's namespaces with nsenter when it belongs to a node."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from grader.localcluster import cgroups


class StartError(RuntimeError):
    """A part of the cluster did not come up; the message says which and shows its log."""


def tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Daemon:
    """A process of the local cluster: its name, pid and log (and Popen when this process
    started it)."""

    name: str
    pid: int
    log: Path
    popen: subprocess.Popen | None = None

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return not Path(f"/proc/{self.pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


def enter(holder: int, argv: Sequence[str], *, net: bool = True, mount: bool = True) -> list[str]:
    """argv run inside the namespaces of the process `holder` (a node or the network)."""
    flags = [f"--target={holder}"] + (["--net"] if net else []) + (["--mount"] if mount else [])
    return ["nsenter", *flags, "--", *argv]


def spawn(
    name: str,
    argv: Sequence[str],
    logs: Path,
    *,
    env: dict[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> Daemon:
    """Start a daemon in the background; it joins the tracking cgroup before it execs."""
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{name}.log"
    procs = cgroups.procs_file()

    def join_cgroup() -> None:  # pragma: no cover (runs in the child)
        procs.write_text(str(os.getpid()))

    with open(log, "ab") as out:
        popen = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=join_cgroup,
            env=env,
            pass_fds=tuple(pass_fds),
            close_fds=True,
        )
    return Daemon(name, popen.pid, log, popen)


def run(argv: Sequence[str], what: str, timeout: float = 60.0, input: str | None = None) -> str:
    """Run a short command; a failure raises StartError naming `what` with its stderr."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, input=input)
    except subprocess.TimeoutExpired:
        raise StartError(f"{what}: `{' '.join(argv)}` took longer than {timeout:g}s") from None
    if done.returncode != 0:
        raise StartError(
            f"{what}: `{' '.join(argv)}` failed (exit {done.returncode}): "
            f"{(done.stderr or done.stdout).strip()[-800:]}"
        )
    return done.stdout


def wait_until(daemon: Daemon, what: str, ready: Callable[[], bool], timeout: float = 120.0) -> float:
    """Poll `ready` until true; the daemon exiting or the timeout raises StartError with
    the tail of its log. Returns the seconds waited."""
    started = time.monotonic()
    last = ""
    while time.monotonic() - started < timeout:
        if not daemon.alive():
            raise StartError(
                f"{daemon.name} exited before {what}; its log ({daemon.log}) ends:\n{tail(daemon.log)}"
            )
        try:
            if ready():
                return time.monotonic() - started
        except Exception as exc:  # not ready yet: connection refused, 503, ...
            last = str(exc)[:200]
        time.sleep(0.2)
    raise StartError(
        f"{daemon.name}: no {what} within {timeout:g}s ({last}); its log ({daemon.log}) ends:\n"
        f"{tail(daemon.log)}"
    )
