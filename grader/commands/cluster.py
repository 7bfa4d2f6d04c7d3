"""svclab cluster up | down | status | gc: the course's kind cluster (see grader/kindctl.py)."""
from __future__ import annotations

import argparse

from grader.kind import CLUSTER_NAME


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("cluster", help="create, inspect or delete the kind cluster 'svclab'",
                       description="Manage the local kind cluster the course runs on in live mode.")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    up = actions.add_parser("up", help="create (or reuse) the cluster; needs Docker and kind >= 0.24")
    up.add_argument("--name", default=CLUSTER_NAME, help=argparse.SUPPRESS)
    up.add_argument("--no-images", action="store_true", help="skip preloading the course images")
    up.add_argument("--no-lb", action="store_true", help="skip the LoadBalancer controller")
    up.add_argument("--local", action="store_true", help=LOCAL_HELP)
    up.set_defaults(func=_up)

    down = actions.add_parser("down", help="delete the cluster and its LoadBalancer controller")
    down.add_argument("--name", default=CLUSTER_NAME, help=argparse.SUPPRESS)
    down.add_argument("--local", action="store_true", help="stop the local cluster (Linux, no Docker)")
    down.set_defaults(func=_down)

    status = actions.add_parser("status", help="show what is set up and what is missing")
    status.add_argument("--name", default=CLUSTER_NAME, help=argparse.SUPPRESS)
    status.add_argument("--local", action="store_true", help="the local cluster's state (Linux, no Docker)")
    status.set_defaults(func=_status)

    gc = actions.add_parser("gc", help="delete namespaces left behind by interrupted runs")
    gc.add_argument("--context", default=None, help="kubeconfig context (default: kind-svclab)")
    gc.set_defaults(func=lambda a: _kindctl().gc(a.context))


def _kindctl():  # imported on use, so `svclab check` never pays for it
    from grader import kindctl

    return kindctl


LOCAL_HELP = ("instead of kind: a two-node cluster on this Linux machine without Docker, built "
              "from Go modules (root; see README 'Live mode without Docker')")


def _up(args: argparse.Namespace) -> int:
    if args.local:
        return _local("up")
    return _kindctl().up(args.name, images=not args.no_images, load_balancer=not args.no_lb)


def _down(args: argparse.Namespace) -> int:
    return _local("down") if args.local else _kindctl().down(args.name)


def _status(args: argparse.Namespace) -> int:
    return _local("status") if args.local else _kindctl().status(args.name)


def _local(action: str) -> int:
    """The local cluster's lifecycle; a refusal or failure is one message, exit 1."""
    import sys

    from grader.localcluster import lifecycle

    try:
        if action == "up":
            lifecycle.up()
        elif action == "down":
            lifecycle.down()
        else:
            return lifecycle.status()
    except (RuntimeError, OSError) as exc:
        print(f"svclab cluster {action} --local: {exc}", file=sys.stderr)
        return 1
    return 0
