"""Grading jobs: build them from notebooks, run them in the clean process, cache results.

The cache lets `svclab grade autograde` grade the whole class in parallel first (where the
time goes) and then run nbgrader's bookkeeping, whose preprocessor finds each result by the
hash of exactly what it would grade (lab, answers, missing cells)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from grader.grading.limits import Limits


def make_job(job_id: str, lab: str, answers: Mapping[str, str], missing: Mapping[str, str],
             learner: str | None = None) -> dict[str, Any]:
    """A grading job; `learner` (nbgrader's student id) for a lab whose faults are drawn per
    learner (grader.labs.drawn), so the clean process redraws that learner's faults."""
    job = {"id": job_id, "lab": lab, "answers": dict(answers), "missing": dict(missing)}
    if learner is not None:
        job["learner"] = learner
    return job


def job_key(job: Mapping[str, Any]) -> str:
    """What the result depends on, hashed (the id is not part of it; the learner is, for a
    lab drawn per learner: one answer scores differently for two learners)."""
    what = {"lab": job["lab"], "answers": job["answers"], "missing": job["missing"]}
    if job.get("learner") is not None:
        what["learner"] = job["learner"]
    blob = json.dumps(what, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def run_clean(jobs: list[dict[str, Any]], *, parallel: int = 2, limits: Limits = Limits(),
              timeout: float | None = None) -> list[dict[str, Any]]:
    """Grade `jobs` in a fresh `python -I -m grader.grading.clean` process."""
    if not jobs:
        return []
    batches = -(-len(jobs) // max(1, parallel))
    timeout = timeout or (60 + limits.wall * batches)
    cmd = [sys.executable, "-I", "-m", "grader.grading.clean", "--parallel", str(parallel),
           "--wall", str(limits.wall), "--cpu", str(limits.cpu), "--memory", str(limits.memory_mib)]
    proc = subprocess.run(cmd, input=json.dumps(jobs), capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"the clean grading process failed (exit {proc.returncode}): "
                           + proc.stderr.strip()[-2000:])
    return json.loads(proc.stdout)


class ResultCache:
    """Results by job key, as JSON files in one directory."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)

    def _path(self, job: Mapping[str, Any]) -> Path:
        return self.dir / f"{job_key(job)}.json"

    def get(self, job: Mapping[str, Any]) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(job).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, job: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._path(job).write_text(json.dumps(result), encoding="utf-8")
