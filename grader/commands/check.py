"""svclab check FILE_OR_DIR...: validate manifests the way the graders will, offline.

Exit status: 0 all good, 1 any problem in the manifests, 2 usage error (a path that does
not exist). With --namespace the submission sandbox rules are checked too, so a learner
sees before submitting what the live grader would refuse.

Many files are parsed and validated on the idle cores this process may use (`-j N` to
choose; grader.manifests.check's `jobs`): the output is the same as on one core. On a
busy machine that is one: a forked worker then only competes for a core already taken,
and still pays for its copy-on-write pages and its own warm-up.

Valid manifests are then linted (grader.lint): mistakes the API server accepts, such as a
Service selector that matches no pod, print as "warning: ..." lines. They leave the exit
status 0 unless --strict is given.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from grader.manifests import Problem


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser(
        "check",
        help="validate Kubernetes manifests (YAML files or directories)",
        description="Validate manifests against the Kubernetes schema and the API server's "
        "rules, without a cluster. Prints one line per problem.",
    )
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR",
                   help="YAML files, or directories searched for *.yaml/*.yml; '-' reads stdin")
    p.add_argument("--namespace", metavar="NS",
                   help="also apply the lab sandbox rules for a submission in namespace NS")
    p.add_argument("--warnings", action="store_true",
                   help="also print advisory warnings (e.g. images without a pinned tag)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when there are warnings (selectors matching no pod, ports "
                   "no container declares, backends naming no Service ...)")
    p.add_argument("-j", "--jobs", type=_jobs, default=None, metavar="N",
                   help="check large inputs (many files) on N cores (default: the idle cores "
                   "this process may use, by the tasks running now); 1 checks everything in one process")
    p.set_defaults(func=run)


def _jobs(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of processes from 1 to 256")
    return int(text)


def available_cores() -> int:
    """The cores this process may run on (its affinity, where the OS tells)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def default_jobs() -> int:
    """The processes to check a large input with: the cores that are idle."""
    busy = busy_elsewhere()
    return available_cores() if busy is None else jobs_for(available_cores(), busy)


def busy_elsewhere(loadavg: str = "/proc/loadavg") -> float | None:
    """How many cores other work keeps busy now; None where the OS does not tell (Windows).

    On Linux, the tasks runnable at this instant besides this one (the fourth field of
    /proc/loadavg, "runnable/total", counts this process too). A check lasts a tenth of a
    second, so the cores idle now are the ones that matter; the 1-minute load average lags
    a minute behind and counts this command's own earlier runs: a CI job or a benchmark
    checking folder after folder keeps it near 1 on an otherwise idle machine, and a second
    core would never be used. Elsewhere, that load average is the best there is."""
    try:
        with open(loadavg, "rb") as fh:
            return max(0, int(fh.read().split()[3].split(b"/")[0]) - 1)
    except (OSError, IndexError, ValueError):
        pass
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def jobs_for(cores: int, load: float) -> int:
    """Cores left idle when `load` of them are busy, at least 1: a worker on a busy
    core finishes no sooner than the parent would, and forking it costs CPU."""
    return max(1, min(cores, int(cores - load + 0.5)))


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if p != "-" and not os.path.exists(p)]
    if missing:
        for p in missing:
            print(f"svclab check: {p}: no such file or directory", file=sys.stderr)
        return 2
    from grader.safe_yaml import DEFAULT_LIMITS  # light: no schema stack

    sources: list[str | Path] = []
    for p in args.paths:
        if p == "-":
            # One character over the limit is enough for the size check to refuse it.
            sources.append(sys.stdin.read(DEFAULT_LIMITS.max_bytes + 1) or "")
        else:
            sources.append(Path(p))
    from grader.manifests import check  # lazily: only once the paths are known to exist

    manifests, problems = check(sources, jobs=args.jobs or default_jobs())
    if args.namespace and not problems:
        from grader.sandbox import sandbox_problems

        problems = sandbox_problems(manifests, args.namespace)
    warnings: list[object] = []
    if args.warnings:
        from grader.sandbox import image_warnings

        warnings += image_warnings(manifests)
    if not problems:
        # Only on a valid whole: with an object missing, "matches no pod" could be wrong.
        from grader.lint import lint

        warnings += lint(manifests)
    for w in warnings:
        print(f"warning: {w}")
    if problems:
        _print_grouped(problems)
        print(f"{_count(len(problems), 'problem')} found", file=sys.stderr)
        return 1
    if warnings and args.strict:
        print(f"{_count(len(warnings), 'warning')} found (--strict: warnings fail the check)",
              file=sys.stderr)
        return 1
    summary = f"OK, {_count(len(manifests), 'object')}"
    print(summary + (f" ({_count(len(warnings), 'warning')})" if warnings else ""))
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _print_grouped(problems: "list[Problem]") -> None:
    """Problems grouped by file, in the order files were read; one line each."""
    order: "dict[str, list[Problem]]" = {}
    for p in problems:
        order.setdefault(p.file, []).append(p)
    for group in order.values():
        for p in group:
            print(p)
