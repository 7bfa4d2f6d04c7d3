"""The mock exam's clock: when the exam started, how long it may take, and one line saying
how much time is left, printed by the start cell and after every answer cell.

The start is kept in a small file in the user's cache (`~/.cache/svclab/exam-clock/`, one per
lab and notebook folder; `SVCLAB_CLOCK_DIR` moves it), so a restarted kernel keeps counting from
the first start instead of giving the time back. Not beside the notebook: nbgrader releases
every file of a lab's source folder, and a clock started there would travel to the class.
The clock is for the learner: it lives in their kernel and their folder, so it could be
reset, and grading never trusts it. The score comes only from the cluster state the
answer cells' commands build when the autograder replays them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


def _utc(t: float) -> str:
    return time.strftime("%H:%M UTC", time.gmtime(t))


def default_folder() -> Path:
    """Where clocks are kept: the user's cache, one folder per notebook folder."""
    base = Path(os.environ.get("SVCLAB_CLOCK_DIR") or Path.home() / ".cache" / "svclab" / "exam-clock")
    here = hashlib.sha256(str(Path.cwd().resolve()).encode()).hexdigest()[:12]
    return base / here


@dataclass
class ExamClock:
    """A timed lab's clock: which lab, how many minutes, when it started (kept on disk, see
    `start`)."""

    lab: str
    minutes: int
    started: float
    now: Callable[[], float] = time.time

    @classmethod
    def start(
        cls,
        lab: str,
        minutes: int,
        *,
        folder: Path | None = None,
        restart: bool = False,
        now: Callable[[], float] = time.time,
    ) -> "ExamClock":
        """The clock of `lab`: started now, or at the start recorded in `folder` (default:
        default_folder()) unless `restart`."""
        path = (folder or default_folder()) / f"clock-{lab}.json"
        started = None
        if not restart:
            try:
                started = float(json.loads(path.read_text(encoding="utf-8"))["started"])
            except (OSError, ValueError, KeyError, TypeError):
                started = None
        if started is None:
            started = now()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"lab": lab, "started": started}), encoding="utf-8")
            except OSError:  # a read-only folder: the clock still runs in this kernel
                pass
        return cls(lab, minutes, started, now)

    def line(self) -> str:
        """'exam clock: 12 min used, 38 min left of 50 (ends 09:40 UTC)', or how far over."""
        used = max(0.0, self.now() - self.started) / 60
        left = self.minutes - used
        end = _utc(self.started + self.minutes * 60)
        if left >= 0:
            return f"exam clock: {used:.0f} min used, {left:.0f} min left of {self.minutes} (ends {end})"
        return (
            f"exam clock: time is up, {-left:.0f} min over the {self.minutes}-minute limit (ended {end}); "
            "in the real exam the terminal would be closed now"
        )
