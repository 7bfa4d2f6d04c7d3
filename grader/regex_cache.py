"""Keep the programs `re` builds for regular expressions from one run of svclab to the next.

Why: the modules `svclab check` imports (yaml's resolver and constructor, gettext for
argparse, svclab's own name and selector rules) compile about forty regular expressions
as they load. Parsing a pattern and generating its program is most of what compiling
costs, about 15 million instructions in all, 6% of a check of one Service, and it gives
the same program on every run. So the console script (grader.cli, and only it) has `re`
build each pattern from a program read at start and saved at exit, and parses only what
is new; the pattern objects are built by `re`'s own engine from that program, as usual.

The program is private to `re` and may change in any release, so a file is used only by
the exact Python build that wrote it (its version string and the engine's magic number);
the engine validates a program before running it. Anything unexpected (a damaged file,
another Python, an `re` without the function this hooks) just compiles as usual. One file
per command, cut back as grader.dataclass_cache's are.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from grader.dataclass_cache import MAX_ENTRIES, to_keep


def cache_file(command: str = "svclab") -> Path:
    base = os.environ.get("SVCLAB_STARTUP_CACHE")
    root = (
        Path(base)
        if base
        else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "svclab" / "startup"
    )
    return root / f"regex-{command}-{sys.implementation.cache_tag}.marshal"


def _build() -> str:
    import _sre

    return f"{sys.version} sre {_sre.MAGIC}"


def enable(path: Path | None = None, command: str = "svclab") -> bool:
    """Install the caching compile into `re` (see the module docstring); False, doing
    nothing, when `re` does not look as this expects or a compile is already installed."""
    import marshal
    import re

    compiler = getattr(re, "_compiler", None)
    real = getattr(compiler, "compile", None)
    if real is None or getattr(real, "svclab_cached", False) or not hasattr(compiler, "_code"):
        return False
    import _sre

    path = path or cache_file(command)
    build = _build()
    programs: dict[Any, Any] = {}
    try:
        data = marshal.loads(path.read_bytes())
        if isinstance(data, dict) and data.get("build") == build and isinstance(data.get("programs"), dict):
            programs = data["programs"]
    except (OSError, ValueError, EOFError, TypeError):
        pass
    used: dict[Any, Any] = {}
    built = [0]

    def compile_cached(p: Any, flags: int = 0) -> Any:
        if not isinstance(p, (str, bytes)) or not isinstance(flags, int) or flags & re.DEBUG:
            return real(p, flags)
        flags = int(flags)  # a RegexFlag is an int that marshal cannot write
        key = (p, flags)
        program = programs.get(key) or used.get(key)
        if program is not None:
            try:
                pattern = _sre.compile(p, *program)
            except Exception:  # noqa: BLE001 - a program this engine refuses: parse instead
                program = None
        if program is None:
            program = _program(compiler, p, flags)
            pattern = _sre.compile(p, *program)
            built[0] += 1
        if len(used) < MAX_ENTRIES:
            used[key] = program
        return pattern

    compile_cached.svclab_cached = True  # type: ignore[attr-defined]
    compiler.compile = compile_cached  # type: ignore[union-attr]

    def save() -> None:
        keep = to_keep(programs, used, built[0])
        if keep is None:
            return
        try:
            data = marshal.dumps({"build": build, "programs": keep})
            import tempfile

            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".regex.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except (OSError, ValueError):
            pass

    import atexit

    atexit.register(save)
    return True


def _program(compiler: Any, pattern: str | bytes, flags: int) -> tuple[Any, ...]:
    """The arguments after the pattern that `re` passes its engine for `pattern`: the same
    steps as re._compiler.compile (parse, generate the program, name the groups)."""
    parsed = compiler._parser.parse(pattern, flags)
    code = [int(op) for op in compiler._code(parsed, flags)]  # opcodes are int subclasses
    groupindex = dict(parsed.state.groupdict)
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, index in groupindex.items():
        indexgroup[index] = name
    return flags | parsed.state.flags, code, parsed.state.groups - 1, groupindex, tuple(indexgroup)
