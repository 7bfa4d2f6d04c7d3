"""Run a standard-library module's code on first use, not when it is imported.

Why: `dataclasses` imports `inspect` (and with it ast, dis and tokenize) only to write a
docstring for a class that has none, and every dataclass of svclab has one: loading it is
about 6 ms, a twentieth of `svclab matrix` on a hundred pods. PyYAML's constructor and
representer import `base64` (with struct) for !!binary values, which manifests do not hold.
So the console script (grader.cli, and only it: an importer of grader keeps Python's normal
behaviour) puts a stand-in into sys.modules first: `import inspect` returns it at once, and
the first attribute read from it imports the real module, whose names the stand-in then
holds too. Nothing changes but when that code runs; a run that does use the module (a
dataclass without a docstring, a library calling inspect, a !!binary value) loads it then.

(importlib.util.LazyLoader does not fit: on Python 3.11 the `import` statement reads the
module's __spec__, and that first attribute read already runs the module.)
"""
from __future__ import annotations

import importlib
import sys
import types
from typing import Any

#: The modules deferred: imported on the commands' path, used there only in the cases the
#: module docstring names.
DEFERRED = ("inspect", "base64")


class DeferredModule(types.ModuleType):
    """A module's stand-in that imports the module when an attribute is first asked for."""

    def __getattr__(self, attr: str) -> Any:  # called only for names not held yet
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        vars(self).update(vars(real))
        return getattr(real, attr)


def defer_unused_modules(names: tuple[str, ...] = DEFERRED) -> list[str]:
    """Put a stand-in (see the module docstring) into sys.modules for each module of `names`
    not imported yet; returns those deferred."""
    deferred = []
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = DeferredModule(name)
            deferred.append(name)
    return deferred
