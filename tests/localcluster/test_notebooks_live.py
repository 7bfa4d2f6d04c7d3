"""All 13 course notebooks, top to bottom, in live mode (SVCLAB_MODE=live) against the local
cluster, under `pytest --nbval-lax` exactly as `make test` runs them offline: every cell must
run, and the cells pinned with NBVAL_CHECK_OUTPUT must print what they print offline (the
model and the real cluster agree, or the notebook says why not).

Run by `make test-live`; skipped unless SVCLAB_CONTEXT is the local cluster's context."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from grader.localcluster.layout import CONTEXT

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "course").glob("[0-9][0-9]-*.ipynb"))
#: Notebooks running at once.
CONCURRENT = 4

def test_thirteen_notebooks() -> None:
    assert len(NOTEBOOKS) == 13


def _run(notebook: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SVCLAB_MODE="live")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-cell-timeout=300", "-p", "no:cacheprovider",
         "-q", "-o", "addopts=", str(notebook.relative_to(ROOT))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Future[subprocess.CompletedProcess[str]]]]:
    """Every notebook started at once, CONCURRENT at a time (each has namespaces and node
    ports of its own; most of a run is waiting for pods): the slow ones first."""
    pool = ThreadPoolExecutor(max_workers=CONCURRENT)
    # the longest first (05 waits for a LoadBalancer address, 11 for its routes)
    order = sorted(NOTEBOOKS, key=lambda nb: nb.name not in ("05-loadbalancer.ipynb", "11-ingress-and-gateway.ipynb"))
    try:
        yield {nb.name: pool.submit(_run, nb) for nb in order}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda nb: nb.stem)
def test_notebook_runs_top_to_bottom_in_live_mode(notebook: Path, runs) -> None:  # type: ignore[no-untyped-def]
    run = runs[notebook.name].result()
    assert run.returncode == 0, f"{notebook.name} failed in live mode:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
