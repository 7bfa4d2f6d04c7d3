"""svclab check FILE_OR_DIR...: validate manifests the way the graders will, offline.

Exit status: 0 all good, 1 any problem in the manifests, 2 usage error (a path that does
not exist). With --namespace the submission sandbox rules are checked too, so a learner
sees before submitting what the live grader would refuse.
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    missing = [p for p in args.paths if p != "-" and not os.path.exists(p)]
    if missing:
        for p in missing:
            print(f"svclab check: {p}: no such file or directory", file=sys.stderr)
        return 2
    from grader.safe_yaml import DEFAULT_LIMITS  # light: no schema stack

    sources: list[object] = []
    for p in args.paths:
        if p == "-":
            # One character over the limit is enough for the size check to refuse it.
            sources.append(sys.stdin.read(DEFAULT_LIMITS.max_bytes + 1) or "")
        else:
            sources.append(Path(p))
    from grader.manifests import check  # lazily: the schema stack takes ~1 s to import

    manifests, problems = check(sources)
    if args.namespace and not problems:
        from grader.sandbox import sandbox_problems

        problems = sandbox_problems(manifests, args.namespace)
    if args.warnings:
        from grader.sandbox import image_warnings

        for w in image_warnings(manifests):
            print(f"warning: {w}")
        from grader.manifests import Problem
        from grader.rules.gateway import backend_warnings

        for i, path, message in backend_warnings([m.obj for m in manifests]):
            m = manifests[i]
            print(f"warning: {Problem(m.file, m.doc, m.kind, m.name, path, message)}")
    if problems:
        _print_grouped(problems)
        n = len(problems)
        print(f"{n} problem{'s' if n != 1 else ''} found", file=sys.stderr)
        return 1
    n = len(manifests)
    print(f"OK, {n} object{'s' if n != 1 else ''}")
    return 0


def _print_grouped(problems: "list[Problem]") -> None:
    """Problems grouped by file, in the order files were read; one line each."""
    order: "dict[str, list[Problem]]" = {}
    for p in problems:
        order.setdefault(p.file, []).append(p)
    for group in order.values():
        for p in group:
            print(p)
