"""The offline kubectl: one command line in, kubectl's output out, answered by the model.

A thin dispatcher: parse (grader.kubectl.argv), then the module of the command family.
Whatever the model cannot answer says so (NOT_MODELLED) rather than inventing output.
"""
from __future__ import annotations

from typing import Any, Callable

from grader.kubectl.argv import parse
from grader.kubectl.resources import NotModelled
from grader.kubectl.result import KubectlError, Result
from grader.kubectl.session import Session


def not_modelled(what: str) -> str:
    return f"kubectl {what} is not modelled offline; in live mode it runs the real kubectl"


def _handlers() -> dict[str, Callable[[Session], None]]:
    from grader.kubectl import cmd_apply, cmd_edit, cmd_exec, cmd_get, describe, explain, portforward
    return {
        "get": cmd_get.run, "describe": describe.run, "apply": cmd_apply.run_apply,
        "delete": cmd_apply.run_delete, "create": cmd_apply.run_create, "expose": cmd_apply.run_expose,
        "patch": cmd_edit.run_patch, "label": cmd_edit.run_label, "scale": cmd_edit.run_scale,
        "rollout": cmd_edit.run_rollout, "exec": cmd_exec.run_exec, "run": cmd_exec.run_run,
        "port-forward": portforward.run, "explain": explain.run,
    }


def run(ns: Any, line: str | list[str], *, stdin: str | None = None, clock: Any = None) -> Result:
    """Answer one kubectl command line against offline namespace `ns`."""
    try:
        inv = parse(line)
    except KubectlError as exc:
        return exc.result()
    if not inv.verb:
        return Result(stderr="error: no command given (try `get pods`)\n", code=1)
    handler = _handlers().get(inv.verb)
    s = Session(ns=ns, inv=inv, stdin=stdin, clock=clock)
    if handler is None:
        return Result(stderr=not_modelled(inv.verb) + "\n", code=1)
    try:
        handler(s)
    except NotModelled as exc:
        what = str(exc) or inv.verb
        return Result(stdout="".join(s.out), stderr="".join(s.err) + not_modelled(f"{inv.verb} {what}" if not what.startswith(inv.verb) else what) + "\n", code=1)
    except KubectlError as exc:
        return Result(stdout="".join(s.out), stderr="".join(s.err) + exc.message.rstrip("\n") + "\n", code=exc.code)
    return Result(stdout="".join(s.out), stderr="".join(s.err), code=0)
