"""The offline kubectl: one command line in, kubectl's output out, answered by the model.

A thin dispatcher: parse (grader.kubectl.argv), then the module of the command family.
Whatever the model cannot answer says so (NOT_MODELLED) rather than inventing output.
"""
from __future__ import annotations

from typing import Any, Callable

from grader.kubectl.ages import observe
from grader.kubectl.argv import parse
from grader.kubectl.resources import NotModelled
from grader.kubectl.result import KubectlError, Result
from grader.kubectl.session import Session
from grader.kubectl.unknown import is_kubectl_command, unknown_command


def not_modelled(what: str, hint: str = "") -> str:
    """The honest answer for what the model cannot do; `hint` says what it can instead."""
    text = f"kubectl {what} is not modelled offline; in live mode it runs the real kubectl"
    return f"{text} ({hint})" if hint else text


def _handlers() -> dict[str, Callable[[Session], None]]:
    from grader.kubectl import (
        cmd_apply,
        cmd_edit,
        cmd_exec,
        cmd_get,
        cmd_wait,
        describe,
        explain,
        portforward,
    )
    return {
        "get": cmd_get.run, "describe": describe.run, "apply": cmd_apply.run_apply,
        "delete": cmd_apply.run_delete, "create": cmd_apply.run_create, "expose": cmd_apply.run_expose,
        "patch": cmd_edit.run_patch, "label": cmd_edit.run_label, "scale": cmd_edit.run_scale,
        "rollout": cmd_edit.run_rollout, "exec": cmd_exec.run_exec, "run": cmd_exec.run_run,
        "port-forward": portforward.run, "explain": explain.run, "wait": cmd_wait.run,
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
    observe(s.state, s.ages)
    if handler is None:
        if not is_kubectl_command(inv.verb):
            return _result(s, unknown_command(inv.verb), 1)
        return _result(s, not_modelled(inv.verb), 1)
    try:
        handler(s)
    except NotModelled as exc:
        what = exc.args[0] if exc.args else ""
        what = what if what.split(" ")[0] == inv.verb else f"{inv.verb} {what}".strip()
        hint = exc.args[1] if len(exc.args) > 1 else ""
        return _result(s, not_modelled(what, hint), 1)
    except KubectlError as exc:
        return _result(s, exc.message, exc.code)
    return _result(s, None, 0)


def _result(s: Session, error: str | None, code: int) -> Result:
    if error is not None:
        s.warn(error.rstrip("\n"))
    return Result(stdout="".join(s.out), stderr="".join(s.err), code=code, combined="".join(s.log))
