"""Run grading jobs in forked children, each with its own memory, CPU and wall-time limit.

Why children: a pathological submission (an answer the model chews on for ever, a YAML
that grows without bound, a bug of ours it triggers) must fail *alone*, within a time
limit, while the rest of the class is graded. A fork of an already-warm parent costs
milliseconds, so the isolation is nearly free; the parent never runs submission content.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import resource
import signal
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable, Iterable

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per job: seconds of wall time, seconds of CPU, MiB of memory beyond what the warm
    parent already maps."""

    wall: float = 90.0
    cpu: int = 60
    memory_mib: int = 1024

    def describe(self) -> str:
        return f"{self.wall:g} s wall, {self.cpu} s CPU, {self.memory_mib} MiB"


def _mapped_bytes() -> int:
    """The process's current virtual size (VmSize), so the memory limit is a budget on top."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def apply_limits(limits: Limits) -> None:
    """In the child: cap address space and CPU time (the wall time is the parent's job)."""
    budget = _mapped_bytes() + limits.memory_mib * MiB
    resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu, limits.cpu + 1))


def _child(conn: Any, work: Callable[[Any], Any], job: Any, limits: Limits) -> None:
    devnull = open(os.devnull, "w")
    sys.stdout = sys.stderr = devnull         # the parent's stdout carries the JSON result
    os.dup2(devnull.fileno(), 1)
    os.dup2(devnull.fileno(), 2)
    try:
        apply_limits(limits)
        result: Any = ("ok", work(job))
    except MemoryError:
        result = ("memory", None)
    except BaseException as exc:  # noqa: BLE001  -- reported to the parent, never raised
        result = ("error", f"{type(exc).__name__}: {exc}")
    try:
        conn.send(result)
    except BaseException:  # noqa: BLE001  -- e.g. the result itself did not fit in memory
        os._exit(3)
    os._exit(0)


def stopped_reason(kind: str, limits: Limits, detail: str | None = None) -> str:
    return {
        "wall": f"grading stopped: it took longer than {limits.wall:g} s",
        "cpu": f"grading stopped: it used more than {limits.cpu} s of CPU time",
        "memory": f"grading stopped: it needed more than {limits.memory_mib} MiB of memory",
        "error": f"the grader failed on this submission ({detail}); tell your instructor",
    }.get(kind, f"grading stopped unexpectedly ({detail or kind})")


def run_limited(jobs: Iterable[Any], work: Callable[[Any], Any], *, parallel: int = 2,
                limits: Limits = Limits()) -> list[tuple[str, Any]]:
    """[(status, value)] in job order: ("ok", work(job)) or (kind, detail) with kind one of
    wall, cpu, memory, error. At most `parallel` children run at once."""
    ctx = mp.get_context("fork")
    jobs = list(jobs)
    results: list[tuple[str, Any] | None] = [None] * len(jobs)
    queue = list(range(len(jobs)))
    active: dict[int, tuple[Any, Any, float]] = {}
    while queue or active:
        while queue and len(active) < max(1, parallel):
            i = queue.pop(0)
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(send, work, jobs[i], limits), daemon=True)
            proc.start()
            send.close()
            active[i] = (proc, recv, time.monotonic())
        ready = wait([c for _, c, _ in active.values()] + [p.sentinel for p, _, _ in active.values()],
                     timeout=0.05)
        now = time.monotonic()
        for i, (proc, recv, started) in list(active.items()):
            outcome: tuple[str, Any] | None = None
            if recv in ready or recv.poll():
                try:
                    outcome = recv.recv()
                except (EOFError, OSError):
                    outcome = None
            if outcome is None and not proc.is_alive():
                proc.join()
                code = proc.exitcode
                if code == -signal.SIGXCPU or (code == -signal.SIGKILL and now - started >= limits.cpu):
                    kind = "cpu"
                elif code in (3, -signal.SIGKILL):       # no room to send a result, or the OOM killer
                    kind = "memory"
                else:
                    kind = "error"
                outcome = (kind, f"exit code {code}")
            if outcome is None and now - started > limits.wall:
                proc.kill()
                proc.join()
                outcome = ("wall", None)
            if outcome is not None:
                if proc.is_alive():
                    proc.join(timeout=5)
                    if proc.is_alive():
                        proc.kill()
                recv.close()
                results[i] = outcome
                del active[i]
    return [r if r is not None else ("error", "no result") for r in results]
