"""The clean grading process: `python -I -m grader.grading.clean`.

Reads grading jobs as JSON on stdin, writes results as JSON on stdout:

    [{"id": "alice/lab1-clusterip", "lab": "lab1-clusterip",
      "answers": {"part1": "<the YAML of answer cell part1>"},
      "missing": {"part2": "the answer cell was deleted ..."}}]
    ->
    [{"id": ..., "lab": ..., "parts": {"part1": <Report.to_dict()>, ...}}]

Why a process of its own, started with `-I` (isolated: no current directory, no user site,
no PYTHON* variables on the path): the score must come from a process no learner code ever
ran in. This one sees only the submitted YAML, applies it to a fresh offline cluster per
part and runs the lab spec's visible and hidden checks. Each job runs in a forked child
with memory, CPU and wall-time limits (grader.grading.limits), so one pathological
submission fails alone.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Mapping

from grader.grading.limits import Limits, run_limited, stopped_reason


def grade_job(job: Mapping[str, Any]) -> dict[str, Any]:
    """Grade one submission of one lab: every part, each on a fresh offline cluster."""
    from grader.cluster.offline import OfflineCluster
    from grader.labs import get_lab
    from grader.labs.spec import grade_lab

    lab = get_lab(str(job["lab"]), _learner(job))
    answers = {str(k): (None if v is None else str(v)) for k, v in (job.get("answers") or {}).items()}
    reports = grade_lab(lab, answers, OfflineCluster, missing=job.get("missing") or {})
    return {"id": job.get("id"), "lab": lab.name, "parts": {k: r.to_dict() for k, r in reports.items()}}


def not_graded(job: Mapping[str, Any], reason: str) -> dict[str, Any]:
    """Every check of every part scores 0 with `reason` (the job could not be graded)."""
    from grader.checks.core import run
    from grader.labs import get_lab
    from grader.labs.spec import scaled

    lab = get_lab(str(job["lab"]), _learner(job))
    parts = {}
    for part in lab.parts:
        checks, _ = scaled(part, "", include_hidden=True)
        parts[part.id] = run(None, checks, title=f"{lab.name} {part.id}: {part.title}",
                             not_gradable=reason).to_dict()
    return {"id": job.get("id"), "lab": lab.name, "parts": parts, "not_gradable": reason}


def _learner(job: Mapping[str, Any]) -> str | None:
    """The learner a drawn lab's faults are drawn for (nbgrader's student id), if the job names one."""
    value = job.get("learner")
    return None if value is None else str(value)


def warm_up(lab_names: set[str]) -> None:
    """Load every schema and module the jobs will need once, in the parent, so each forked
    child starts warm (fork shares them copy-on-write)."""
    from grader.cluster.offline import OfflineCluster
    from grader.labs import get_lab
    from grader.labs.spec import prepare

    for name in sorted(lab_names):
        lab = get_lab(name)
        for part in lab.parts:
            ns = prepare(lab, part, OfflineCluster())
            if part.kind == "manifests":
                try:
                    ns.apply(part.reference, source="warm-up")
                except Exception:  # noqa: BLE001  -- a reference that does not apply fails its own test
                    pass


def grade_all(
    jobs: list[Mapping[str, Any]], *, parallel: int = 2, limits: Limits = Limits()
) -> list[dict[str, Any]]:
    """Grade every job within its limits; a job that fails is "not gradable: <why>"."""
    from grader.labs import LAB_MODULES

    known = [j for j in jobs if str(j.get("lab")) in LAB_MODULES]
    warm_up({str(j["lab"]) for j in known})
    outcomes = run_limited(known, grade_job, parallel=parallel, limits=limits)
    results = []
    for job, (status, value) in zip(known, outcomes, strict=True):
        results.append(value if status == "ok" else not_graded(job, stopped_reason(status, limits, value)))
    for job in jobs:
        if job not in known:
            results.append({"id": job.get("id"), "lab": job.get("lab"), "parts": {},
                            "error": f"no lab named {job.get('lab')!r}"})
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -I -m grader.grading.clean", description=__doc__.split("\n")[0])
    ap.add_argument("--parallel", type=int, default=2, help="submissions graded at once (default 2)")
    ap.add_argument("--wall", type=float, default=Limits.wall, help="seconds per submission")
    ap.add_argument("--cpu", type=int, default=Limits.cpu, help="CPU seconds per submission")
    ap.add_argument("--memory", type=int, default=Limits.memory_mib, help="MiB per submission")
    args = ap.parse_args(argv)
    jobs = json.load(sys.stdin)
    out = sys.stdout
    sys.stdout = sys.stderr      # nothing but the result may reach stdout
    results = grade_all(jobs, parallel=args.parallel,
                        limits=Limits(wall=args.wall, cpu=args.cpu, memory_mib=args.memory))
    json.dump(results, out)
    out.write("\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
