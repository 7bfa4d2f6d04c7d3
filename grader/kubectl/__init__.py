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
from grader.kubectl.runner import is_live, run


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext grader.kubectl` registers `%kubectl` and `%%kubectl`."""
    from grader.kubectl.magic import register
    register(ipython)


__all__ = ["KubectlError", "Result", "current", "is_live", "load_ipython_extension", "reset", "run", "use"]
