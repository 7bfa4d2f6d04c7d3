"""Benchmark: autograde a class through the real nbgrader pipeline, in parallel.

    python bench/autograde_bench.py [--submissions 50] [--parallel 2]

Builds a temporary course from labs/, releases every lab, writes N submissions spread over
the five labs (reference answers, mutants from tests/labs/mutants and blank notebooks, in
turn), then runs `svclab grade autograde` (grader.grading.steps.autograde) and prints the
wall time, split into clean grading and nbgrader's bookkeeping.
Target: 50 submissions in under 3 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "labs"))

from lab_submissions import fill, mutants  # noqa: E402

from grader.grading import steps  # noqa: E402
from grader.labs import all_labs  # noqa: E402


def build(course: Path, count: int) -> None:
    shutil.copytree(ROOT / "labs", course, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        "release", "submitted", "autograded", "feedback", "gradebook.db", "svclab-results", "reports"))
    steps.release(course)
    labs = all_labs()
    variants = {
        lab.name: [lab.references(), None] + [m.all_answers() for m in mutants(lab.name)] for lab in labs
    }
    cycle = itertools.cycle(labs)
    for i in range(count):
        lab = next(cycle)
        released = json.loads(
            (course / "release" / lab.name / f"{lab.name}.ipynb").read_text(encoding="utf-8")
        )
        answers = variants[lab.name][(i // len(labs)) % len(variants[lab.name])]
        nb = released if answers is None else fill(released, answers)
        path = course / "submitted" / f"student{i:03d}" / lab.name / f"{lab.name}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--submissions", type=int, default=50)
    ap.add_argument("--parallel", type=int, default=2)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="svclab-bench-") as tmp:
        course = Path(tmp)
        t0 = time.perf_counter()
        build(course, args.submissions)
        t1 = time.perf_counter()
        result = steps.autograde(course, parallel=args.parallel)
        t2 = time.perf_counter()
    for line in result.lines:
        print("  " + line)
    print(f"setup (copy + release + write submissions): {t1 - t0:.1f} s")
    print(f"autograde {args.submissions} submissions, {args.parallel} in parallel: {t2 - t1:.1f} s wall"
          f" ({'within' if t2 - t1 < 180 else 'OVER'} the 3-minute target); failed: {len(result.failed)}")
    return 0 if not result.failed else 1


if __name__ == "__main__":
    sys.exit(main())
