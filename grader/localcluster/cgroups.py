"""The cluster's cgroup, /svclab-local in every hierarchy: every process the cluster starts
(namespace holders, daemons, containerd's shims, the containers kubelet creates under
/svclab-local/<node>) lives below it, so teardown finds them all there, even after a crash
that lost the state file, and removes the cgroups afterwards."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from grader.localcluster.layout import CGROUP_NAME

ROOT = Path("/sys/fs/cgroup")
#: Where daemons are placed to be found again (the pids hierarchy on cgroup v1).
TRACKING = "system"


def unified() -> bool:
    """cgroup v2 only (one hierarchy at /sys/fs/cgroup)."""
    return (ROOT / "cgroup.controllers").exists()


def hierarchies() -> list[Path]:
    if unified():
        return [ROOT]
    return sorted(p for p in ROOT.iterdir() if p.is_dir() and (p / "cgroup.procs").exists())


def tracking_hierarchy() -> Path:
    return ROOT if unified() else ROOT / "pids"


def ensure(relative: str) -> None:
    """mkdir -p the cgroup in every hierarchy; cpuset children get their parent's CPUs and
    memory nodes (a v1 cpuset cgroup starts empty and refuses processes)."""
    for hierarchy in hierarchies():
        path = hierarchy
        for part in Path(relative).parts:
            parent, path = path, path / part
            if not path.exists():
                path.mkdir()
                for name in ("cpuset.cpus", "cpuset.mems"):
                    if (parent / name).exists() and hierarchy.name == "cpuset":
                        (path / name).write_text((parent / name).read_text())


def procs_file(relative: str = TRACKING) -> Path:
    return tracking_hierarchy() / CGROUP_NAME / relative / "cgroup.procs"


def _tree(hierarchy: Path) -> list[Path]:
    top = hierarchy / CGROUP_NAME
    if not top.exists():
        return []
    found = [Path(d) for d, _, _ in os.walk(top)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)  # deepest first


def pids() -> set[int]:
    """Every process in the cluster's cgroups, in any hierarchy."""
    found: set[int] = set()
    for hierarchy in hierarchies():
        for cg in _tree(hierarchy):
            try:
                found.update(int(x) for x in (cg / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
    return found


def kill_all(grace: float = 10.0) -> int:
    """SIGTERM every process in the cgroups, SIGKILL what is left after `grace` seconds;
    return how many there were. Frozen cgroups are thawed first."""
    for cg in _tree(ROOT / "freezer") if not unified() else []:
        try:
            (cg / "freezer.state").write_text("THAWED")
        except OSError:
            pass
    victims = pids()
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        for pid in pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while pids() and time.monotonic() < deadline:
            time.sleep(0.1)
        if not pids():
            break
    return len(victims)


def remove_all() -> list[str]:
    """rmdir the cluster's cgroups, deepest first; return those that could not be removed."""
    left = []
    for hierarchy in hierarchies():
        for cg in _tree(hierarchy):
            try:
                cg.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                left.append(f"{cg}: {exc.strerror}")
    return left
