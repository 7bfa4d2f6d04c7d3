"""Benchmark: svclab against the Go tools that do the same jobs, whole process against
whole process, on this machine, in one run.

    python bench/peers_bench.py [--rounds 5] [--only check|matrix] [--build-only]

Peers (built once into a cache outside the clone, never at test time):
- kubeconform v0.8.0 (`go install github.com/yannh/kubeconform/cmd/kubeconform@v0.8.0`),
  strict, offline: its schemas are generated from the ones svclab ships (the
  kubernetes-validate package's v1.37.0 strict schemas, each kind's definitions inlined by
  grader.schema_bundle), so both tools judge by the same rules;
- kubernetes-validate --strict (the console script of this environment, same schemas);
- policy-assistant (sigs.k8s.io/network-policy-api, cmd/policy-assistant, commit PA_COMMIT).
  Its module path is not servable by the Go module proxy (the module lives in a folder
  whose name differs from its path), so it is built from a git checkout: --pa-source
  (default: the GitHub repository) cloned into the cache; dependencies come through the
  Go module proxy as usual. It runs `analyze --mode probe` on a probe model of the same
  pods, namespaces and policies as the manifests svclab reads.

The cache: ${SVCLAB_PEERS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/svclab/peers}. Without Go, or
when a build fails, that peer's rows print as skipped with the reason.

Timing: for each row the commands run in turn, A B A B ... (after one untimed warm-up
each: it also fills svclab's schema cache, as any first run on a machine does), so machine
load hits them alike; each run's wall time and peak RSS come from
os.wait4 (the kernel's accounting of that child). Printed: medians, and the ratio as the
median of the per-round ratios. A peer slower than --slow seconds runs once (it would
take minutes per round), and one over --timeout is reported as "over N s". The load
average before and after is printed: on a shared machine, read ratios, not absolutes.
CPU seconds (user + system, every thread) are printed beside wall seconds: on a busy
machine wall time is mostly waiting for a core, and a multi-threaded Go peer waits less.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

KUBECONFORM = "github.com/yannh/kubeconform/cmd/kubeconform"
KUBECONFORM_VERSION = "v0.8.0"
PA_SOURCE = "https://github.com/kubernetes-sigs/network-policy-api"
PA_COMMIT = "0eec1b0e5fa92715b4c0f4c48d3c8d2913ed2159"

#: The issue's targets (issue 22), checked at the end.
CHECK_ONE_FILE_SECONDS = 0.08
CHECK_DIR_VS_KUBECONFORM = 2.0
KEEP_AHEAD_OF_KUBERNETES_VALIDATE = 14.0
MATRIX_JSON_1000 = (1.0, 200.0)  # seconds, MB
MATRIX_JSON_2000_SECONDS = 3.0
MATRIX_100_AHEAD_OF_PA = 5.0


def cache_dir() -> Path:
    env = os.environ.get("SVCLAB_PEERS_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "svclab" / "peers"


# ------------------------------------------------------------------------- building
class Skip(Exception):
    """A peer that cannot be measured here; the message says why."""


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise Skip("Go is not installed (https://go.dev/dl/); the Go peers are skipped")
    return go


def build_kubeconform(cache: Path) -> Path:
    binary = cache / f"kubeconform-{KUBECONFORM_VERSION}" / "kubeconform"
    if binary.exists():
        return binary
    env = dict(os.environ, GOBIN=str(binary.parent), GOFLAGS="-trimpath")
    proc = subprocess.run(
        [_go(), "install", f"{KUBECONFORM}@{KUBECONFORM_VERSION}"], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0 or not binary.exists():
        raise Skip(f"go install {KUBECONFORM}@{KUBECONFORM_VERSION} failed: {proc.stderr.strip()[-400:]}")
    return binary


def build_policy_assistant(cache: Path, source: str) -> Path:
    binary = cache / f"policy-assistant-{PA_COMMIT[:12]}" / "policy-assistant"
    if binary.exists():
        return binary
    go = _go()
    git = shutil.which("git")
    if git is None:
        raise Skip("git is not installed; policy-assistant is built from its repository")
    src = cache / f"network-policy-api-{PA_COMMIT[:12]}"
    if not (src / "cmd" / "policy-assistant" / "go.mod").exists():
        shutil.rmtree(src, ignore_errors=True)
        for cmd in (
            [git, "clone", "--quiet", source, str(src)],
            [git, "-C", str(src), "checkout", "--quiet", PA_COMMIT],
        ):
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise Skip(
                    f"{' '.join(cmd[:3])} ... failed: {proc.stderr.strip()[-300:]} "
                    "(give --pa-source a local clone of kubernetes-sigs/network-policy-api)"
                )
    proc = subprocess.run(
        [go, "build", "-trimpath", "-o", str(binary), "./cmd/policy-assistant"],
        cwd=src / "cmd" / "policy-assistant",
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or not binary.exists():
        raise Skip(f"building policy-assistant failed: {proc.stderr.strip()[-400:]}")
    return binary


def kubeconform_schemas(cache: Path) -> Path:
    """The schemas svclab ships, one standalone strict file per kind, named as kubeconform's
    -schema-location template below expects ({{ .ResourceKind }}{{ .KindSuffix }}.json)."""
    from grader import schema
    from grader.schema_bundle import bundle

    out = cache / f"schemas-v{schema.K8S_SCHEMA_VERSION}.0-strict"
    if not out.exists():
        tmp = Path(tempfile.mkdtemp(dir=cache, prefix=".schemas-"))
        defs = schema._definitions_contents()["$defs"]
        for _, stem in schema.KINDS.values():
            (tmp / f"{stem}.json").write_text(json.dumps(bundle(schema._schema_file(stem), defs)))
        os.replace(tmp, out)
    return out


# ------------------------------------------------------------------------- workloads
def write_check_inputs(root: Path) -> dict[str, list[str]]:
    """The three check inputs of the issue's table: one Service, the 13-object lab
    application, and a directory of 500 one-object files (the lab's objects, renamed)."""
    import yaml

    from bench.cli_bench import lab_application

    one = root / "service.yaml"
    one.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
        "  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n"
    )
    lab = root / "lab.yaml"
    lab.write_text(lab_application())
    folder = root / "class"
    folder.mkdir()
    docs = [d for d in yaml.safe_load_all(lab_application()) if d["kind"] != "Namespace"]
    files = []
    for i in range(500):
        doc = json.loads(json.dumps(docs[i % len(docs)]))
        doc["metadata"]["name"] = f"{doc['metadata']['name']}-{i}"
        path = folder / f"{i:03d}-{doc['kind'].lower()}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        files.append(str(path))
    return {"one": [str(one)], "lab": [str(lab)], "dir": [str(folder)], "dir_files": files}


def write_matrix_inputs(
    root: Path, pods: int, policies: int, namespaces: int = 20
) -> tuple[Path, Path, Path]:
    """(manifests folder for svclab, policies folder and probe model for policy-assistant),
    all describing the cluster of bench.generate."""
    import yaml

    from bench.generate import generate, generate_manifests

    folder = root / f"m{pods}-{policies}"
    folder.mkdir()
    by_ns: dict[str, list[dict]] = {}
    for o in generate_manifests(pods, namespaces, policies):
        meta = o["metadata"]
        by_ns.setdefault(meta["name"] if o["kind"] == "Namespace" else meta["namespace"], []).append(o)
    for ns, docs in by_ns.items():
        (folder / f"{ns}.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    model_pods, nss, pols = generate(pods, namespaces, policies)
    pol_dir = root / f"pa-policies-{pods}-{policies}"
    pol_dir.mkdir()
    for i, pol in enumerate(pols):
        (pol_dir / f"{i:04d}.yaml").write_text(yaml.safe_dump(with_policy_types(pol), sort_keys=False))
    probe = root / f"pa-probe-{pods}-{policies}.json"
    probe.write_text(json.dumps(probe_model(model_pods, nss, ports=(80, 81))))
    return folder, pol_dir, probe


def with_policy_types(policy: dict) -> dict:
    """The policy with spec.policyTypes spelled out as the API server defaults it (Ingress,
    plus Egress when there are egress rules): policy-assistant refuses a policy without it."""
    spec = dict(policy.get("spec") or {})
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if "egress" in spec else [])
    return dict(policy, spec=spec)


def probe_model(pods: list[Any], namespaces: dict[str, Any], ports: tuple[int, ...]) -> dict:
    """policy-assistant's synthetic probe model (its examples/probe-example.json) of the
    same pods: namespaces with labels, pods with labels, IP and container ports."""
    return {
        "Probes": [{"Protocol": "TCP", "Port": p} for p in ports],
        "Resources": {
            "Namespaces": {name: dict(info.labels) for name, info in namespaces.items()},
            "Pods": [
                {
                    "Namespace": p.namespace,
                    "Name": p.name,
                    "Labels": dict(p.labels),
                    "IP": p.ip,
                    "Containers": [
                        {
                            "Name": f"c{i}",
                            "Port": cp.port,
                            "Protocol": cp.protocol.lower(),
                            **({"PortName": cp.name} if cp.name else {}),
                        }
                        for i, cp in enumerate(p.ports or ())
                    ]
                    or [{"Name": "c0", "Port": 80, "Protocol": "tcp"}],
                }
                for p in pods
            ],
        },
    }


def nodes_for(pods: int) -> int:
    from bench.matrix_bench import _nodes_for

    return _nodes_for(pods)


# ------------------------------------------------------------------------- timing
@dataclass
class Run:
    wall: float
    cpu: float  # user + system seconds, all threads
    rss_mb: float
    code: int


def run_once(cmd: list[str], timeout: float) -> Run | None:
    """One whole process, its output thrown away; None when it outlived `timeout`."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            proc.returncode = -9
            return None
        time.sleep(0.002)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    scale = 1024 if sys.platform != "darwin" else 1024 * 1024
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / scale, proc.returncode)


@dataclass
class Row:
    label: str
    commands: dict[str, list[str]]  # name -> argv; the first is svclab's
    expect: dict[str, int] = field(default_factory=dict)
    runs: dict[str, list[Run]] = field(default_factory=dict)
    timed_out: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(r.wall for r in self.runs[name])

    def rss(self, name: str) -> float:
        return statistics.median(r.rss_mb for r in self.runs[name])

    def cpu(self, name: str) -> float:
        return statistics.median(r.cpu for r in self.runs[name])

    def ratio(self, name: str, base: str, what: str = "wall") -> float:
        """Median over rounds of name's time / base's time (wall or cpu), paired round by round."""
        mine, theirs = self.runs[name], self.runs[base]
        if len(mine) == 1:  # a slow peer ran once: against base's median
            return getattr(mine[0], what) / statistics.median(getattr(r, what) for r in theirs)
        pairs = zip(mine, theirs, strict=False)
        return statistics.median(getattr(a, what) / getattr(b, what) for a, b in pairs)


def measure(row: Row, rounds: int, slow: float, timeout: float) -> Row:
    names = list(row.commands)
    live = list(names)
    for name in names:  # warm-up: caches, page cache, schema bundles
        first = run_once(row.commands[name], timeout)
        if first is None:
            row.timed_out[name] = timeout
            live.remove(name)
            continue
        if first.code != row.expect.get(name, 0):
            raise SystemExit(
                f"{row.label}: {' '.join(row.commands[name])} exited {first.code}, "
                f"expected {row.expect.get(name, 0)}"
            )
        row.runs[name] = []
        if first.wall > slow and name != names[0]:
            row.runs[name].append(first)  # too slow to repeat: its one run counts
            live.remove(name)
    for _ in range(rounds):
        for name in live:
            r = run_once(row.commands[name], timeout)
            if r is None:
                row.timed_out[name] = timeout
                live.remove(name)
                row.runs.pop(name, None)
                continue
            row.runs[name].append(r)
    return row


def describe(row: Row) -> str:
    base = next(iter(row.commands))
    parts = [f"{row.label}:"]
    parts.append(
        f"  {base:<28} {row.median(base):8.3f} s wall {row.cpu(base):7.3f} s CPU "
        f"{row.rss(base):6.0f} MB  ({len(row.runs[base])} runs)"
    )
    for name in list(row.commands)[1:] + list(row.skipped):
        if name in row.skipped:
            parts.append(f"  {name:<28} skipped: {row.skipped[name]}")
        elif name in row.timed_out:
            parts.append(f"  {name:<28} over {row.timed_out[name]:.0f} s (killed)")
        elif name in row.runs:
            ratio, cpu_ratio = row.ratio(name, base), row.ratio(name, base, "cpu")
            if name.startswith("svclab"):  # another form of the same command
                verdict = f"{ratio:.2f}x the time of {base}"
            else:
                verdict = (
                    f"svclab {ratio:.1f}x ahead"
                    if ratio >= 1
                    else f"{name.split()[0]} {1 / ratio:.1f}x faster"
                )
            parts.append(
                f"  {name:<28} {row.median(name):8.3f} s wall {row.cpu(name):7.3f} s CPU "
                f"{row.rss(name):6.0f} MB  ({len(row.runs[name])} runs)  ratio {ratio:.2f} wall, "
                f"{cpu_ratio:.2f} CPU: {verdict}"
            )
    return "\n".join(parts)


# ------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds per row (default 5)")
    ap.add_argument("--only", choices=("check", "matrix"), default=None)
    ap.add_argument(
        "--slow",
        type=float,
        default=20.0,
        help="a peer whose warm-up takes longer runs only once (default 20 s)",
    )
    ap.add_argument("--timeout", type=float, default=600.0, help="kill a run after this many seconds")
    ap.add_argument(
        "--pa-source", default=PA_SOURCE, help="git URL or local clone of kubernetes-sigs/network-policy-api"
    )
    ap.add_argument("--build-only", action="store_true", help="build the peers into the cache and stop")
    a = ap.parse_args(argv)

    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    peers: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    for name, build in (
        ("kubeconform", lambda: build_kubeconform(cache)),
        ("policy-assistant", lambda: build_policy_assistant(cache, a.pa_source)),
    ):
        try:
            peers[name] = build()
        except Skip as exc:
            skipped[name] = str(exc)
    for name, why in skipped.items():
        print(f"{name}: skipped: {why}")
    if a.build_only:
        for name, path in peers.items():
            print(f"{name}: {path}")
        return 0

    # As an installed package has them: bytecode for every module (PYTHONDONTWRITEBYTECODE
    # would otherwise make each timed run compile the sources again).
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "grader"), quiet=1)
    py = sys.executable
    script = Path(py).parent / "svclab"  # the console script, as a user runs it
    svclab = [str(script)] if script.exists() else [py, "-m", "grader.cli"]
    kv = str(Path(py).parent / "kubernetes-validate")
    rows: list[Row] = []
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="svclab-peers-") as tmp:
        root = Path(tmp)
        if a.only in (None, "check"):
            inputs = write_check_inputs(root)
            location = None
            if "kubeconform" in peers:
                location = str(kubeconform_schemas(cache)) + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"
            for label, key in (
                ("check, 1 Service", "one"),
                ("check, 13-object lab file", "lab"),
                ("check, directory of 500 one-object files", "dir"),
            ):
                commands = {"svclab check": [*svclab, "check", *inputs[key]]}
                if location:
                    commands["kubeconform -strict"] = [
                        str(peers["kubeconform"]),
                        "-strict",
                        "-schema-location",
                        location,
                        *inputs[key],
                    ]
                kv_args = inputs["dir_files"] if key == "dir" else inputs[key]
                commands["kubernetes-validate --strict"] = [kv, "--strict", "--quiet", *kv_args]
                row = Row(label, commands)
                if "kubeconform" in skipped:
                    row.skipped["kubeconform"] = skipped["kubeconform"]
                rows.append(measure(row, a.rounds, a.slow, a.timeout))
                print(describe(rows[-1]), flush=True)
        if a.only in (None, "matrix"):
            for pods, policies in ((100, 20), (1000, 200), (2000, 400)):
                folder, pol_dir, probe = write_matrix_inputs(root, pods, policies)
                nodes = str(nodes_for(pods))
                commands = {
                    "svclab matrix": [*svclab, "matrix", "--ports", "80,81", "--nodes", nodes, str(folder)]
                }
                if pods >= 1000:
                    commands["svclab matrix --format json"] = [
                        *commands["svclab matrix"][:-1],
                        "--format",
                        "json",
                        str(folder),
                    ]
                if "policy-assistant" in peers:
                    commands["policy-assistant"] = [
                        str(peers["policy-assistant"]),
                        "analyze",
                        "--mode",
                        "probe",
                        "--policy-path",
                        str(pol_dir),
                        "--probe-path",
                        str(probe),
                    ]
                row = Row(f"matrix, {pods} pods / {policies} policies, ports 80,81", commands)
                if "policy-assistant" in skipped:
                    row.skipped["policy-assistant"] = skipped["policy-assistant"]
                rows.append(measure(row, a.rounds, a.slow, a.timeout))
                print(describe(rows[-1]), flush=True)
            folder, _, _ = write_matrix_inputs(root, 1000, 0)
            base = [*svclab, "matrix", "--nodes", "11"]
            row = Row(
                "matrix --nodes 11 --format json, 1000 pods, no policy",
                {
                    "svclab matrix --format json": [*base, "--format", "json", str(folder)],
                    "svclab matrix (text)": [*base, str(folder)],
                },
            )
            rows.append(measure(row, a.rounds, a.slow, a.timeout))
            print(describe(rows[-1]), flush=True)
    load_after = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"\n{cpus} CPUs; load average before {_load(load_before)}, after {_load(load_after)}")
    return 0 if report_targets(rows) else 1


def _load(load: tuple[float, float, float] | None) -> str:
    return "n/a" if load is None else " ".join(f"{x:.1f}" for x in load)


def report_targets(rows: list[Row]) -> bool:
    """The issue's targets, each with the figure that decides it."""
    checks: list[tuple[str, bool]] = []

    def get(prefix: str) -> Row | None:
        return next((r for r in rows if r.label.startswith(prefix)), None)

    one = get("check, 1 Service")
    if one:
        checks.append(
            (
                f"check, 1 Service: {one.median('svclab check'):.3f} s < {CHECK_ONE_FILE_SECONDS} s",
                one.median("svclab check") < CHECK_ONE_FILE_SECONDS,
            )
        )
        if "kubernetes-validate --strict" in one.runs:
            r = one.ratio("kubernetes-validate --strict", "svclab check")
            checks.append(
                (
                    f"check, 1 Service: {r:.1f}x ahead of kubernetes-validate "
                    f">= {KEEP_AHEAD_OF_KUBERNETES_VALIDATE:g}x",
                    r >= KEEP_AHEAD_OF_KUBERNETES_VALIDATE,
                )
            )
    folder = get("check, directory")
    if folder and "kubeconform -strict" in folder.runs:
        r = 1 / folder.ratio("kubeconform -strict", "svclab check")
        checks.append(
            (
                f"check, 500 files: {r:.2f}x kubeconform's time <= {CHECK_DIR_VS_KUBECONFORM:g}x",
                r <= CHECK_DIR_VS_KUBECONFORM,
            )
        )
    small = get("matrix, 100 pods")
    if small and "policy-assistant" in small.runs:
        r = small.ratio("policy-assistant", "svclab matrix")
        checks.append(
            (
                f"matrix, 100 pods: {r:.1f}x ahead of policy-assistant >= {MATRIX_100_AHEAD_OF_PA:g}x",
                r >= MATRIX_100_AHEAD_OF_PA,
            )
        )
    nopol = get("matrix --nodes 11 --format json")
    if nopol:
        s, mb = nopol.median("svclab matrix --format json"), nopol.rss("svclab matrix --format json")
        checks.append(
            (
                f"matrix --format json, 1000 pods: {s:.2f} s, {mb:.0f} MB < {MATRIX_JSON_1000[0]:g} s, "
                f"{MATRIX_JSON_1000[1]:g} MB",
                s < MATRIX_JSON_1000[0] and mb < MATRIX_JSON_1000[1],
            )
        )
    big = get("matrix, 2000 pods")
    if big and "svclab matrix --format json" in big.runs:
        s = big.median("svclab matrix --format json")
        checks.append(
            (
                f"matrix --format json, 2000 pods: {s:.2f} s < {MATRIX_JSON_2000_SECONDS:g} s",
                s < MATRIX_JSON_2000_SECONDS,
            )
        )
    print("targets (issue 22):")
    for text, ok in checks:
        print(f"  {'meets ' if ok else 'MISSES'} {text}")
    return all(ok for _, ok in checks)


if __name__ == "__main__":
    sys.exit(main())
