"""`%kubectl` and `%%kubectl`: a thin shell over grader.kubectl.run.

    %load_ext grader.kubectl
    %kubectl get svc -o wide
    %%kubectl apply -f -
    <YAML: the cell body is kubectl's stdin>

Where the text goes: nbgrader scores a cell 0 when it writes to stderr, so by default the
magic prints kubectl's stderr (errors, warnings, "No resources found") to the cell's
*stdout*, in the order kubectl wrote them, exactly as a terminal shows them. Set
SVCLAB_KUBECTL_STDERR=stderr to send them to stderr instead. A failed command never raises:
the cell shows kubectl's error and the notebook goes on. Code that needs the exit status
calls `grader.kubectl.run(ns, "...")`, which returns a Result with `.code`.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable

from grader.kubectl.result import Result
from grader.kubectl.runner import is_live, run

#: Each returns one line to print after every `%kubectl` run ("" for none): the mock exam's
#: clock registers here, so the remaining time shows on every command, as a terminal's
#: prompt might show it.
AFTER_RUN: list[Callable[[], str]] = []


def _namespace(shell: Any) -> Any:
    from grader.kubectl.context import current
    return current(getattr(shell, "user_ns", None))


def run_magic(line: str, cell: str | None, shell: Any = None) -> Result:
    """Run one magic invocation and print its output; returns the Result."""
    try:
        ns = _namespace(shell)
    except LookupError as exc:
        print(f"error: {exc}")
        return Result(stderr=f"error: {exc}\n", code=1)
    if is_live(ns):
        from grader.kubectl import live
        warning = live.check_version(ns)
        if warning:
            print(warning)
    result = run(ns, line, stdin=cell)
    if os.environ.get("SVCLAB_KUBECTL_STDERR", "stdout") == "stderr":
        sys.stdout.write(_line_ended(result.stdout))
        sys.stderr.write(_line_ended(result.stderr))
    elif _too_wide(result.output):
        _show_unwrapped(_line_ended(result.output))
    else:
        sys.stdout.write(_line_ended(result.output))
    for hook in AFTER_RUN:
        line = hook()
        if line:
            print(line)
    return result


#: Wider than this, JupyterLab wraps a plain-text output line (its output area is about 120
#: characters in a laptop window), which breaks `-o wide` and `--show-labels` tables apart.
WRAP_WIDTH = 100


def _too_wide(text: str) -> bool:
    return any(len(line) > WRAP_WIDTH for line in text.splitlines())


def _show_unwrapped(text: str) -> None:
    """A wide table as one output that scrolls sideways instead of wrapping each row; the
    same text for anything that shows plain text (a terminal IPython, nbconvert to text)."""
    import html

    from IPython.display import display

    style = ("white-space:pre;overflow-x:auto;word-break:normal;overflow-wrap:normal;margin:0;"
             "font-family:var(--jp-code-font-family,monospace);font-size:var(--jp-code-font-size,13px)")
    display({"text/plain": text, "text/html": f"<pre style='{style}'>{html.escape(text)}</pre>"}, raw=True)


def _line_ended(text: str) -> str:
    """`wget -qO-` and `cat` print a body without a final newline: in a terminal the next
    prompt starts on that line; in a cell the next `%kubectl`'s output would run into it
    ("backend-6f7b-x2kqbbackend-6f7b-9zt4m"). Each command's output ends its line."""
    return text if not text or text.endswith("\n") else text + "\n"


def register(ipython: Any) -> None:
    from IPython.core.magic import no_var_expand

    # No {var} expansion: kubectl's own JSONPath templates use braces
    # (`-o jsonpath={.spec.clusterIP}`); Python values go through grader.kubectl.run.
    @no_var_expand
    def kubectl(line: str, cell: str | None = None) -> None:
        run_magic(line, cell, ipython)

    ipython.register_magic_function(kubectl, magic_kind="line_cell", magic_name="kubectl")
