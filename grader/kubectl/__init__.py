"""kubectl for the course's notebooks: `%kubectl` / `%%kubectl`, and the Python API under them.

    import grader.kubectl as kubectl
    kubectl.use(ns)                                  # the namespace %kubectl works in
    r = kubectl.run(ns, "get svc -o wide")           # Result(stdout, stderr, code)

Live namespaces run the real kubectl binary (grader.kubectl.live, the only place that
starts it); offline namespaces are answered by the model (grader.kubectl.offline) in
kubectl 1.37's own words. The magics (grader.kubectl.magic) are a thin shell over `run`.
"""
from __future__ import annotations

from typing import Any

from grader.kubectl.context import current, reset, use
from grader.kubectl.result import KubectlError, Result


def is_live(ns: Any) -> bool:
    return getattr(getattr(ns, "cluster", None), "mode", "offline") == "live"


def run(ns: Any, line: str | list[str], *, stdin: str | None = None, timeout: float = 120.0) -> Result:
    """Run one kubectl command line (without the word `kubectl`) in namespace `ns`.
    `stdin` feeds `apply -f -` / `create -f -`."""
    if is_live(ns):
        from grader.kubectl import live
        return live.run(ns, line, stdin=stdin, timeout=timeout)
    from grader.kubectl import offline
    return offline.run(ns, line, stdin=stdin)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext grader.kubectl` registers `%kubectl` and `%%kubectl`."""
    from grader.kubectl.magic import register
    register(ipython)


__all__ = ["KubectlError", "Result", "current", "is_live", "load_ipython_extension", "reset", "run", "use"]
