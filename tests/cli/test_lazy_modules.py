"""grader.lazy_modules: `inspect` and `base64` loaded on first use in the console script, with
the same modules behind them; and every dataclass of grader has the docstring that keeps
inspect unused."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from grader.lazy_modules import defer_unused_modules

GRADER = Path(__file__).resolve().parents[2] / "grader"


def _run(code: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60).stdout.split()


def test_inspect_and_base64_are_loaded_when_first_used() -> None:
    out = _run(
        "import sys\n"
        "from grader.lazy_modules import defer_unused_modules\n"
        "print(defer_unused_modules())\n"
        "import dataclasses\n"
        "@dataclasses.dataclass\n"
        "class Documented:\n"
        "    '''Has a docstring, so dataclasses needs no signature.'''\n"
        "    x: int\n"
        "print('ast' in sys.modules)\n"
        "@dataclasses.dataclass\n"
        "class Bare:\n"
        "    x: int\n"
        "print(Bare.__doc__ == 'Bare(x: int)', 'ast' in sys.modules)\n"
        "from inspect import signature\n"
        "import inspect\n"
        "print(signature is inspect.signature, str(inspect.signature(Bare)) == '(x: int) -> None')\n"
        "import yaml\n"
        "print('struct' in sys.modules, yaml.safe_load('x: !!binary aGVsbG8=') == {'x': b'hello'})\n"
    )
    assert out == ["['inspect',", "'base64']", "False", "True", "True", "True", "True",
                   "False", "True"]


def test_nothing_is_deferred_once_imported() -> None:
    import inspect  # noqa: F401 - the point: it is imported already

    assert defer_unused_modules() == []
    assert type(sys.modules["inspect"]).__name__ == "module"


def _dataclasses_without_docstring() -> list[str]:
    found = []
    for path in sorted(GRADER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and ast.get_docstring(node) is None and any(
                "dataclass" in ast.unparse(d) for d in node.decorator_list
            ):
                found.append(f"{path.relative_to(GRADER.parent)}:{node.lineno} {node.name}")
    return found


def test_every_dataclass_has_a_docstring() -> None:
    """Without one, `@dataclass` writes one from inspect.signature: the console script then
    loads inspect (and ast, dis, tokenize) after all, 6 ms of every command."""
    assert _dataclasses_without_docstring() == []


@pytest.mark.parametrize("argv", [["--help"], ["matrix", "--help"], ["explain", "--help"]])
def test_the_console_script_still_answers(argv: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "grader.cli", *argv], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: ")
