"""`svclab grade`: the instructor's pipeline (grader.grading), one sub-command per step.

    svclab grade release   [--lab L ...]                 source/ -> release/ (student versions)
    svclab grade autograde [--lab L ...] [--parallel N]  score labs/submitted/*/<lab>/
    svclab grade feedback  [--lab L ...]                 HTML feedback per student
    svclab grade grades    [--out FILE]                  grades CSV (default labs/grades.csv)
    svclab grade report    [--out DIR]                   item analysis HTML + CSV (labs/reports/)
    svclab grade live      [--lab L ...] [--context C]   re-grade on a live cluster, report
                                                         every check that disagrees with offline

Every step works on the nbgrader course root `--course` (default: labs/ of the course repository
at or above the working directory, or of $SVCLAB_ROOT; see grader.labs.root).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("grade", help="instructor pipeline: release, autograde, feedback, grades, report",
                       description=__doc__.split("\n")[0])
    steps = p.add_subparsers(dest="step", metavar="STEP")
    steps.required = True
    for name, help_ in (
        ("release", "generate the student version of each lab"),
        ("autograde", "grade every submission (in parallel, in a clean process)"),
        ("feedback", "write HTML feedback for every graded submission"),
        ("grades", "export a CSV of every student's scores"),
        ("report", "item analysis: the pass rate of every check across the class"),
        ("live", "grade every submission on a live cluster too; report offline/live disagreements"),
    ):
        s = steps.add_parser(name, help=help_)
        s.add_argument("--course", type=Path, default=None, help="nbgrader course root (default: labs/)")
        if name in ("release", "autograde", "feedback", "live"):
            s.add_argument("--lab", action="append", default=None, help="only this lab (repeatable)")
        if name == "autograde":
            s.add_argument(
                "--parallel", type=int, default=None, help="submissions graded at once (default: CPUs)"
            )
            s.add_argument(
                "--wall", type=float, default=None, help="seconds one submission may take (default 90)"
            )
        if name == "live":
            s.add_argument(
                "--context", default=None, help="kubeconfig context (default: SVCLAB_CONTEXT or kind-svclab)"
            )
            s.add_argument(
                "--out",
                type=Path,
                default=None,
                help="directory for live-vs-offline.csv (default labs/reports/)",
            )
            s.add_argument(
                "--jobs",
                type=int,
                default=1,
                help="labs graded side by side, each in its own namespaces (default 1), and as many "
                "parts of a submission where each has a namespace of its own (the mock exams); labs "
                "or parts that share a node port, the Corefile or the Ingress/Gateway proxy still "
                "take turns",
            )
        if name in ("grades", "report"):
            s.add_argument(
                "--out", type=Path, default=None, help="output file (grades) or directory (report)"
            )
        s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from grader.grading import report, steps
    from grader.grading.limits import Limits
    from grader.labs.root import RootNotFound, course_dir

    try:
        course = (args.course or course_dir()).resolve()
    except RootNotFound as exc:
        print(f"svclab grade: {exc}; or pass --course", file=sys.stderr)
        return 2
    if not (course / "nbgrader_config.py").exists():
        print(
            f"svclab grade: {course} is not an nbgrader course root (no nbgrader_config.py)", file=sys.stderr
        )
        return 2
    try:
        if args.step == "release":
            result = steps.release(course, args.lab)
        elif args.step == "autograde":
            limits = Limits(wall=args.wall) if args.wall else Limits()
            result = steps.autograde(course, args.lab, parallel=args.parallel, limits=limits)
        elif args.step == "feedback":
            result = steps.feedback(course, args.lab)
        elif args.step == "live":
            import grader
            from grader.cluster.connect import LiveClusterUnavailable
            from grader.grading.live import grade_live

            try:
                cluster = grader.connect(mode="live", context=args.context)
            except LiveClusterUnavailable as exc:
                print(f"svclab grade live: {exc}", file=sys.stderr)
                return 2
            result = grade_live(course, args.lab, cluster=cluster, out_dir=args.out, say=print,
                                jobs=max(1, args.jobs))
        elif args.step == "grades":
            result = steps.grades(course, args.out)
        else:
            result = report.write_report(course, args.out)
    except steps.GradingError as exc:
        print(f"svclab grade {args.step}: {exc}", file=sys.stderr)
        return 1
    for line in result.lines:
        print(line)
    if result.failed:
        n = len(result.failed)
        print(f"svclab grade {args.step}: {n} submission{'s' if n != 1 else ''} "
              f"failed ({', '.join(result.failed)}), each named above with the cause", file=sys.stderr)
    return 1 if result.failed else 0
