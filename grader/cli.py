"""`svclab`: one console script; each sub-command lives in grader/commands/<name>.py and
registers itself, so the commands stay independent of one another."""
from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
from typing import Any, Sequence

from grader import __version__

#: Each command name and the module (grader.commands.<module>) that registers it, in the
#: order `svclab --help` lists them.
COMMANDS = {"check": "check", "matrix": "matrix", "explain": "matrix", "cluster": "cluster",
            "grade": "grade"}

#: Libraries that `import jsonschema` loads only to build format checkers, which svclab
#: never uses: Kubernetes schemas are validated without format assertions (as the API
#: server does), so no command's result depends on them. rfc3987_syntax alone compiles
#: about 40 grammars at import (1.5 s); isoduration brings arrow (0.1 s). Hidden only in
#: this process, the console script's: notebooks importing grader keep the full checker.
UNUSED_FORMAT_LIBRARIES = ("rfc3987_syntax", "isoduration")


def skip_unused_format_checkers() -> None:
    """Make `import jsonschema` skip the format checkers above (it treats a library that
    is missing as "format not checked"). A no-op once jsonschema is imported."""
    if "jsonschema" in sys.modules:
        return
    for name in UNUSED_FORMAT_LIBRARIES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: import fails


def help_width() -> int:
    """The width argparse's help is wrapped to, as argparse works it out (the terminal's
    columns, or $COLUMNS, or 80; minus 2), without importing shutil for it: argparse makes
    a formatter for every add_argument, and its default one imports shutil (and with it
    zlib, bz2 and lzma), 8M of the 230M instructions of `svclab check` on one file."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return (columns or 80) - 2


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, its default width from help_width()."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         help_width() if width is None else width)


class Parser(argparse.ArgumentParser):
    """argparse's parser with HelpFormatter as its default; sub-command parsers are of the
    class of the parser they belong to, so they have it too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or, given the command about to run, only that command's
    parser: a run of `svclab check` then neither imports nor builds the others (with
    argparse's message catalogue looked up for every help string, that is measurable in a
    command meant to answer in a few hundredths of a second)."""
    parser = Parser(
        prog="svclab",
        description="Kubernetes Services & Networking course tools: validate manifests, "
        "explain NetworkPolicy, run the kind cluster.",
    )
    parser.add_argument("--version", action="version", version=f"svclab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    modules = [COMMANDS[command]] if command in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(f"grader.commands.{name}").register(sub)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command argv names, when its first word is one (else None: build everything,
    so help and "invalid choice" messages list every command)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    skip_unused_format_checkers()
    from grader.dataclass_cache import enable as cache_dataclass_code
    from grader.lazy_modules import defer_unused_modules
    from grader.lazy_regex import defer_yaml_printable_regex
    defer_unused_modules()
    defer_yaml_printable_regex()
    words = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(words)
    cache_dataclass_code(command=command or "svclab")
    parser = build_parser(command)
    args = parser.parse_args(words)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `svclab matrix ... | head`: the reader left; that is not an error worth a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


#: Commands that only read files and print: after them the interpreter's own teardown
#: (every module's objects freed one by one, about 12 ms after `svclab matrix`, an eighth
#: of its run) does nothing anyone needs.
LEAVE_AT_ONCE = frozenset({"check", "matrix", "explain"})


def run() -> None:
    """The console script: `main()`, then exit. After a command of LEAVE_AT_ONCE, with no
    thread but this one, exit without the interpreter's teardown: the exit functions run
    (the dataclass cache is saved, as on a normal exit), standard output and error are
    flushed, and the process ends with os._exit. Anything else exits as usual."""
    code = main()
    threading = sys.modules.get("threading")
    quiet = threading is None or threading.active_count() == 1
    run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
    if _command_of(sys.argv[1:]) in LEAVE_AT_ONCE and quiet and run_exit_functions is not None:
        run_exit_functions()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):   # a reader that left (`| head`), a closed stream
                pass
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # python -m grader.cli
    run()
