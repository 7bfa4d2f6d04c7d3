"""Benchmark: run every course notebook top to bottom offline, as a learner (or CI) would.

    python bench/course_bench.py [course/*.ipynb ...]

Executes each notebook in a fresh kernel with nbclient (SVCLAB_MODE=offline), prints the
wall seconds per notebook, the total, and whether any cell raised. Target (the course
issue): the whole course under 90 s on 2 cores. Nothing is written back: the notebooks
in git stay output-free.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_notebook(path: Path, timeout: int = 300) -> tuple[float, str | None]:
    """(seconds, error or None) for one notebook executed in a fresh kernel."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
        error = None
    except CellExecutionError as exc:
        error = str(exc).strip().splitlines()[-1][:200]
    return time.perf_counter() - start, error


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or sorted((ROOT / "course").glob("*.ipynb"))
    os.environ["SVCLAB_MODE"] = "offline"
    total, failures = 0.0, 0
    print(f"{'notebook':<48} {'seconds':>8}  result")
    for path in paths:
        seconds, error = run_notebook(path)
        total += seconds
        failures += error is not None
        print(f"{path.name:<48} {seconds:8.2f}  {'ok' if error is None else 'FAILED: ' + error}")
    print(f"{'total (' + str(len(paths)) + ' notebooks)':<48} {total:8.2f}  "
          f"{'all ran' if not failures else f'{failures} failed'} (target: under 90 s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
