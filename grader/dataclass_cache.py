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

One file per command, holding the classes that command's runs define: reading it is part
of every start, so `svclab check` (about ten classes) does not read the code of `matrix`'s
fifty, and a file grown with classes no run defines any more (an older svclab, a test
process that called the console script's `main` and then defined hundreds of its own) is
cut back to what a run used.
"""

from __future__ import annotations

import builtins
import os
import sys
from pathlib import Path
from typing import Any

#: More than svclab defines several times over; a bound on what a run may add to the file.
MAX_ENTRIES = 2000
#: Entries a file may hold beyond twice what a run used before that run cuts it back.
PRUNE_SLACK = 20


def cache_file(command: str = "svclab") -> Path:
    base = os.environ.get("SVCLAB_STARTUP_CACHE")
    root = (
        Path(base)
        if base
        else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "svclab" / "startup"
    )
    return root / f"dataclasses-{command}-{sys.implementation.cache_tag}.marshal"


def enable(path: Path | None = None, command: str = "svclab") -> bool:
    """Install the caching `exec` into `dataclasses` (see the module docstring), keeping the
    code in `path` (default: `command`'s file); False when `dataclasses` already has an
    `exec` of its own."""
    import dataclasses
    import marshal

    if "exec" in vars(dataclasses):
        return False
    path = path or cache_file(command)
    codes: dict[str, Any] = {}
    try:
        loaded = marshal.loads(path.read_bytes())
        if isinstance(loaded, dict):
            codes = loaded
    except (OSError, ValueError, EOFError, TypeError):
        pass
    used: dict[str, Any] = {}  # what this run looked up, found or compiled
    compiled = [0]
    real_exec = builtins.exec

    def exec_cached(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            code = codes.get(source) or used.get(source)
            if code is None:
                code = compile(source, "<string>", "exec")
                compiled[0] += 1
            if len(used) < MAX_ENTRIES:
                used[source] = code
            source = code
        real_exec(source, globals, locals)  # noqa: S102 - dataclasses' own generated source

    dataclasses.exec = exec_cached  # type: ignore[attr-defined]

    def save() -> None:
        keep = to_keep(codes, used, compiled[0])
        if keep is None:
            return
        try:
            import tempfile

            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".dataclasses.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(marshal.dumps(keep))
            os.replace(tmp, path)
        except (OSError, ValueError):
            pass

    import atexit

    atexit.register(save)
    return True


def to_keep(loaded: dict[str, Any], used: dict[str, Any], compiled: int) -> dict[str, Any] | None:
    """What to write back at exit, or None to leave the file as it is. New code is added
    to what the file held (runs of one command differ: `check --namespace` defines more
    classes than `check`), within MAX_ENTRIES; a file holding far more than this run used
    (twice, plus PRUNE_SLACK) is cut back to what it used. A run that defined no class (a
    usage error, --help) says nothing about the file and leaves it alone."""
    if compiled and len(loaded) + compiled <= MAX_ENTRIES:
        return {**loaded, **used}
    if compiled or (used and len(loaded) > 2 * len(used) + PRUNE_SLACK):
        return dict(used)
    return None
