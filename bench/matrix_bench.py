"""Benchmark: the full reachability matrix of a synthetic cluster, in memory and as a user
runs it.

    python -m bench.matrix_bench [--pods 1000] [--namespaces 20] [--policies 200] [--ports 80,81]
                                 [--nodes N] [--no-cli]

Part 1, the engine: pods, groups, policies, ordered pairs x ports x protocols, seconds to
compute every verdict (grouped bitsets; explanations are rendered lazily, on read), the
allowed count, and peak memory (tracemalloc for Python allocations, ru_maxrss for the
process). Target: 1000 pods / 200 policies / 2 ports under 1 s on one core, under 500 MB.

Part 2, the user's path: the same cluster written as manifests (bench.generate
.generate_manifests: Namespaces, Deployments, NetworkPolicies) to a temporary directory,
then the whole `svclab matrix --ports ... DIR` process timed from start to exit (imports,
YAML loading, validation, the model, the table on stdout), with the child's peak RSS and
the Pending-pod report it printed on stderr. Run twice: on the default kind layout (one
node: most pods are Pending, and the report must say so) and with enough nodes for every
pod (default: the fewest kind nodes that hold them). Target: 1000 pods, 20 namespaces,
200 policies, 2 ports: under 2 s wall and under 500 MB.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate, generate_manifests  # noqa: E402
from grader.model.matrix import compute_matrix  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--policies", type=int, default=200)
    ap.add_argument("--ports", default="80,81")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--sample", type=int, default=2000, help="explanations rendered after the run (timed separately)"
    )
    ap.add_argument("--nodes", type=int, default=None,
                    help="kind nodes for the CLI run (default: the fewest that hold every pod)")
    ap.add_argument("--no-cli", action="store_true", help="skip part 2 (the whole svclab matrix process)")
    a = ap.parse_args(argv)
    ports = [int(p) for p in a.ports.split(",") if p]
    pods, nss, pols = generate(a.pods, a.namespaces, a.policies, a.seed)

    tracemalloc.start()
    t0 = time.perf_counter()
    m = compute_matrix(pods, nss, pols, ports=ports)
    t1 = time.perf_counter()
    allowed = m.count_allowed()  # type: ignore[attr-defined]
    t2 = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    step = max(1, len(m.results) // max(1, a.sample))
    t3 = time.perf_counter()
    for i in range(0, len(m.results), step):
        m.results[i]
    t4 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (
        1024 if sys.platform != "darwin" else 1024 * 1024
    )
    print(f"pods        {len(pods)} ({len(m.groups)} groups)")  # type: ignore[attr-defined]
    print(f"namespaces  {len(nss)}")
    print(f"policies    {len(pols)}")
    print(f"ports       {','.join(map(str, ports))}/TCP")
    print(f"results     {len(m.results)} (ordered pairs x ports)")
    print(f"allowed     {allowed}")
    print(f"seconds     {t1 - t0:.3f} (verdicts)  + {t2 - t1:.3f} (count)")
    print(
        f"explain     {(t4 - t3) / max(1, len(range(0, len(m.results), step))) * 1e6:.1f} "
        "us per result rendered"
    )
    print(f"peak memory {peak / 1e6:.1f} MB traced, {rss:.0f} MB max RSS")
    if not a.no_cli:
        cli_bench(a.pods, a.namespaces, a.policies, a.ports, a.seed, a.nodes)
    return 0


def _nodes_for(pods: int) -> int:
    """The fewest kind nodes that run `pods` pods: with workers the control plane runs only
    CoreDNS, so each worker adds kubelet's 110."""
    from grader.model.nodes import MAX_PODS_PER_NODE
    if pods <= MAX_PODS_PER_NODE:
        return 1
    return 1 + -(-(pods - 2) // MAX_PODS_PER_NODE)


def _run_cli(args: list[str]) -> tuple[float, float, float, int, str]:
    """(wall seconds, CPU seconds, the child's peak RSS in MB, stdout bytes, stderr) of one
    svclab run. CPU time is shown beside wall time: on a shared machine the difference is
    time spent waiting for a core."""
    usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = usage0.ru_maxrss
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "grader.cli", *args], stdout=out,
                              stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent)
        wall = time.perf_counter() - t0
        size = out.tell()
    if proc.returncode != 0:
        raise SystemExit(f"svclab {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024
    # ru_maxrss of children is the largest child so far; runs go smallest-first below
    return wall, cpu, max(usage1.ru_maxrss, before) / scale, size, proc.stderr


def cli_bench(pods: int, namespaces: int, policies: int, ports: str, seed: int, nodes: int | None) -> None:
    import yaml

    objs = generate_manifests(pods, namespaces, policies, seed)
    with tempfile.TemporaryDirectory(prefix="svclab-bench-") as tmp:
        by_ns: dict[str, list[dict]] = {}
        for o in objs:      # one file per namespace, as an app's manifests are usually kept
            meta = o["metadata"]
            by_ns.setdefault(meta["name"] if o["kind"] == "Namespace" else meta["namespace"], []).append(o)
        for ns, docs in by_ns.items():
            Path(tmp, f"{ns}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        want = nodes or _nodes_for(pods)
        print()
        print(
            f"svclab matrix, whole process: {len(objs)} manifests in {len(by_ns)} files ({size / 1e3:.0f} kB)"
        )
        for label, extra in (("default nodes", []), (f"--nodes {want}", ["--nodes", str(want)])):
            wall, cpu, rss, out_bytes, err = _run_cli(["matrix", "--ports", ports, *extra, tmp])
            report = err.strip().splitlines()[0] if err.strip() else "(nothing left out)"
            print(f"  {label:14s} {wall:.2f} s wall ({cpu:.2f} s CPU), {rss:.0f} MB peak RSS, "
                  f"{out_bytes / 1e6:.1f} MB of tables")
            print(f"  {'':14s} stderr: {report[:160]}")
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"  target: under 2 s wall and under 500 MB with every pod placed ({cpus} CPUs here)")


if __name__ == "__main__":
    sys.exit(main())
