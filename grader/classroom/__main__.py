"""`python -m grader.classroom up|down|status`: what `make class` and `make class-down` run."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from grader.classroom.layout import ClassLayout, repo_root


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m grader.classroom", description=__doc__)
    p.add_argument("--dir", type=Path, default=None, help="the class's folder (default .class/)")
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="create the class (users, homes, exchange) and run its hub")
    up.add_argument("--learners", type=int, default=2)
    up.add_argument("--port", type=int, default=int(os.environ.get("CLASS_PORT", 8765)))
    up.add_argument("--no-hub", action="store_true", help="create the class, do not start the hub")
    sub.add_parser("serve", help="run the hub of a class created before (with up --no-hub)")
    sub.add_parser("down", help="remove the class's users and its folder")
    args = p.parse_args(argv)
    if args.dir is None:
        args.dir = repo_root() / ".class"

    from grader.classroom import accounts, setup
    if args.cmd == "serve":
        return serve(ClassLayout.load(args.dir.resolve()))
    if args.cmd == "down":
        for line in setup.remove(args.dir) or ["no class to remove"]:
            print(f"class-down: {line}")
        return 0
    if os.geteuid() != 0:
        print("make class: needs root (it creates one system user per class account, "
              "so the hub can run each learner's server as that learner)", file=sys.stderr)
        return 2
    try:
        layout = setup.create(args.dir, learners=args.learners, port=args.port)
    except (accounts.AccountError, ValueError) as exc:
        print(f"make class: {exc}", file=sys.stderr)
        return 2
    print(f"class: {layout.url}  (test authentication: demo accounts only)")
    print(f"  instructor {layout.instructor}, learners {', '.join(layout.learners)}")
    print(f"  password for every account: {layout.user_password}   (also in {layout.state_file})")
    print(f"  exchange {layout.exchange}; make class-down removes the users and {layout.root}")
    if args.no_hub:
        return 0
    return serve(layout)


def serve(layout: ClassLayout) -> int:
    """Replace this process by the class's JupyterHub (so Ctrl-C and signals reach it)."""
    sys.stdout.flush()
    config = layout.repo / "classroom" / "jupyterhub_config.py"
    os.environ["SVCLAB_CLASS_DIR"] = str(layout.root)
    os.execv(sys.executable, [sys.executable, "-m", "jupyterhub", "-f", str(config)])


if __name__ == "__main__":
    sys.exit(main())
