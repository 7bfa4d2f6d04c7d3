"""Benchmark: how long a learner waits for `svclab check` and `svclab matrix`.

    python bench/cli_bench.py [--runs 15]

Writes a lab-sized application (one file, 13 objects: a Namespace, three Deployments
and their Services, five NetworkPolicies, a ConfigMap) and a copy with two mistakes,
then times whole processes, as a learner's shell runs them, round-robin so that machine
load hits every command alike:

- `svclab check app.yaml`, `svclab check broken.yaml` (the error path loads more),
- `svclab matrix app.yaml`,
- `kubernetes-validate --strict app.yaml`, the same schemas through the upstream CLI.

Prints the median and fastest wall time and the median CPU time of each (on a busy machine
wall time includes waiting for a core; CPU time does not), and how many times faster
svclab check and matrix are than kubernetes-validate on the same file. Targets: each under 0.3 s and at
least 5x faster than kubernetes-validate. Exit status 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.labs.workloads import Port, netexec_workload

TARGET_SECONDS = 0.3
TARGET_SPEEDUP = 5.0


def _deployment(name: str, port: int) -> str:
    return netexec_workload(name, {"app": name}, replicas=2, namespace="shop", http_port=port,
                            ports=[Port(port, "http")], readiness_probe=True) + f"""---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def _allow(name: str, to: str, frm: str, port: int) -> str:
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}, namespace: shop}}
spec:
  podSelector: {{matchLabels: {{app: {to}}}}}
  policyTypes: [Ingress]
  ingress:
  - from: [{{podSelector: {{matchLabels: {{app: {frm}}}}}}}]
    ports: [{{protocol: TCP, port: {port}}}]
"""


def lab_application() -> str:
    """13 objects, the size of a lab answer."""
    docs = ["apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
            _deployment("frontend", 8080), _deployment("backend", 9090), _deployment("db", 5432),
            """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
""",
            """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
""",
            _allow("frontend-to-backend", "backend", "frontend", 9090),
            _allow("backend-to-db", "db", "backend", 5432),
            """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-inside, namespace: shop}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{to: [{podSelector: {}}]}]
""",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n"
            "data: {LOG_LEVEL: info}\n"]
    return "---\n".join(docs)


def broken_application() -> str:
    """The same with an unknown field and a quoted port: the path that lists errors."""
    return lab_application().replace("  selector: {app: backend}", "  selecter: {app: backend}", 1) \
        .replace("containerPort: 5432", "containerPort: '5432'", 1)


def _script(name: str) -> str:
    """A console script of this environment (the one running the benchmark)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        sys.exit(f"{name} is not installed next to {sys.executable}; run `make setup`")
    return str(path)


def _time(cmd: list[str], expect: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process. CPU time (user + system) is what
    the process itself cost; wall time also holds whatever else the machine was doing."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != expect:
        sys.exit(f"`{' '.join(cmd)}` exited {proc.returncode}, expected {expect}:\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="runs of each command (median reported)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="svclab-cli-bench-") as tmp:
        good, bad = Path(tmp) / "app.yaml", Path(tmp) / "broken.yaml"
        good.write_text(lab_application())
        bad.write_text(broken_application())
        svclab, kv = _script("svclab"), _script("kubernetes-validate")
        commands = {
            "svclab check (valid file)": ([svclab, "check", str(good)], 0),
            "svclab check (2 mistakes)": ([svclab, "check", str(bad)], 1),
            "svclab matrix": ([svclab, "matrix", str(good)], 0),
            "kubernetes-validate --strict": ([kv, "--strict", "--quiet", str(good)], 0),
        }
        for cmd, expect in commands.values():   # warm the OS file cache once, untimed
            _time(cmd, expect)
        times: dict[str, list[float]] = {label: [] for label in commands}
        cpu: dict[str, list[float]] = {label: [] for label in commands}
        for _ in range(args.runs):
            for label, (cmd, expect) in commands.items():
                wall, used = _time(cmd, expect)
                times[label].append(wall)
                cpu[label].append(used)

    medians = {label: statistics.median(t) for label, t in times.items()}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{len(lab_application().split('---'))} objects in one file, {args.runs} runs each, "
          f"{os.cpu_count()} CPUs, load average {load:.1f}; whole process")
    width = max(map(len, times))
    for label, t in times.items():
        print(f"  {label:<{width}}  wall median {medians[label]:.3f} s, fastest {min(t):.3f} s;"
              f"  CPU median {statistics.median(cpu[label]):.3f} s")
    reference = medians["kubernetes-validate --strict"]
    ok = True
    for label in ("svclab check (valid file)", "svclab check (2 mistakes)", "svclab matrix"):
        speedup = reference / medians[label]
        meets = medians[label] < TARGET_SECONDS and speedup >= TARGET_SPEEDUP
        ok &= meets
        print(f"  {label}: {speedup:.1f}x faster than kubernetes-validate "
              f"({'meets' if meets else 'MISSES'} < {TARGET_SECONDS} s and >= {TARGET_SPEEDUP:g}x)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
