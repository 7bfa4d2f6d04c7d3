"""Which cluster and namespace `%kubectl` talks to.

The rule (documented in the README, "kubectl in the notebooks"):
1. `grader.kubectl.use(ns)` names it explicitly; it returns `ns`, so a notebook can write
   `ns = kubectl.use(cluster.namespace("start-here"))`.
2. Otherwise, if the notebook's variables hold exactly one Namespace object (what
   `cluster.namespace(...)` returned), that one. The magic looks only at the notebook's own
   variables, never at other notebooks or modules.
3. Otherwise the magic says which of the two to do, instead of guessing.

`-n NAME` / `-A` on a command line then work within that namespace's cluster, as with kubectl.
"""
from __future__ import annotations

from typing import Any, Mapping

from grader.cluster.base import Namespace

_current: Any = None


def use(ns: Any) -> Any:
    """Make `ns` (a Namespace from `cluster.namespace(...)`) the one `%kubectl` uses."""
    global _current
    if not isinstance(ns, Namespace):
        raise TypeError(
            f"kubectl.use() needs a Namespace from cluster.namespace(...), not {type(ns).__name__}"
        )
    _current = ns
    return ns


def reset() -> None:
    """Forget the namespace set by use() (tests, and a notebook that starts over)."""
    global _current
    _current = None


NO_NAMESPACE = ("%kubectl does not know which namespace to use: call "
                "`grader.kubectl.use(ns)` with the namespace from `cluster.namespace(...)`")


def current(user_ns: Mapping[str, Any] | None = None) -> Any:
    """The namespace `%kubectl` uses now (see the module docstring); LookupError if none."""
    if _current is not None:
        return _current
    if user_ns is not None:
        found: list[Any] = []
        for name, value in user_ns.items():
            if not name.startswith("_") and isinstance(value, Namespace) and not isinstance(value, type):
                if all(value is not f for f in found):
                    found.append(value)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(sorted(repr(f) for f in found))
            raise LookupError(f"%kubectl found several namespaces ({names}): call "
                              "`grader.kubectl.use(ns)` to say which one")
    raise LookupError(NO_NAMESPACE)
