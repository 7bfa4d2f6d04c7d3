"""`run`: one kubectl command line in a notebook namespace, live or offline.

Its own module so that the magics (grader.kubectl.magic) can call it without importing the
package that registers them.
"""
from __future__ import annotations

from typing import Any

from grader.kubectl.result import Result


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
