"""Keep the code `dataclasses` compiles for each class from one run of svclab to the next.

Why: `@dataclass` writes Python source for each class's __init__, __repr__, __eq__,
__hash__ and (frozen) __setattr__/__delattr__, and compiles it while the module is
imported. `svclab matrix` imports about fifty dataclasses: compiling their methods is
about three quarters of their cost, and a sixth of the whole start-up of a command that
answers in a tenth of a second. The source is the same on every run, so its compiled code
can be too: the console script (grader.cli, and only it) gives `dataclasses` an `exec`
that looks the source up in a table read at start and saved at exit, and compiles only
what is new. A code object does not depend on the globals it runs in, so the classes are
the same classes; only `compile` is skipped. Anything unexpected (no cache, a damaged
file, another Python) just compiles as usual.
"""

from __future__ import annotations

import builtins
import os
import sys
from pathlib import Path
from typing import Any

#: More than svclab defines several times over; a bound on what a run may add to the file.
MAX_ENTRIES = 2000


def cache_file() -> Path:
    base = os.environ.get("SVCLAB_STARTUP_CACHE")
    root = (
        Path(base)
        if base
        else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "svclab" / "startup"
    )
    return root / f"dataclasses-{sys.implementation.cache_tag}.marshal"


def enable(path: Path | None = None) -> bool:
    """Install the caching `exec` into `dataclasses` (see the module docstring); False when
    `dataclasses` already has one of its own."""
    import dataclasses
    import marshal

    if "exec" in vars(dataclasses):
        return False
    path = path or cache_file()
    codes: dict[str, Any] = {}
    try:
        loaded = marshal.loads(path.read_bytes())
        if isinstance(loaded, dict):
            codes = loaded
    except (OSError, ValueError, EOFError, TypeError):
        pass
    known = len(codes)
    real_exec = builtins.exec

    def exec_cached(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            code = codes.get(source)
            if code is None:
                code = compile(source, "<string>", "exec")
                if len(codes) < MAX_ENTRIES:
                    codes[source] = code
            source = code
        real_exec(source, globals, locals)  # noqa: S102 - dataclasses' own generated source

    dataclasses.exec = exec_cached  # type: ignore[attr-defined]

    def save() -> None:
        if len(codes) == known:
            return
        try:
            import tempfile

            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dataclasses.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps(codes))
            os.replace(tmp, path)
        except (OSError, ValueError):
            pass

    import atexit

    atexit.register(save)
    return True
