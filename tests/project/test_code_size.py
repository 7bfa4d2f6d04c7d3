"""The size rule for grader/: no module over MAX_MODULE_LINES lines, no function or method
over MAX_FUNCTION_LINES lines, unless its docstring says why.

The justification is the marker phrase JUSTIFIED ("Long on purpose:") followed by the
reason, in the module's docstring for a long module, in the function's for a long function:

    def build(...):
        \"\"\"...
        Long on purpose: <why splitting it would make it harder to read or review>.\"\"\"

A marker on something within the limits is reported too, so justifications cannot outlive
the length they excuse. Sizes are read from the AST (a function's lines run from `def` to
its last statement; a module's are its physical lines).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "grader"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
JUSTIFIED = "Long on purpose:"
#: A reason is a sentence, not a word: "Long on purpose: yes" does not count.
MIN_REASON_WORDS = 4


def _justification(docstring: str | None) -> str | None:
    """The reason after the marker phrase (up to the end of its paragraph), or None."""
    if not docstring or JUSTIFIED not in docstring:
        return None
    reason = docstring.split(JUSTIFIED, 1)[1].split("\n\n", 1)[0]
    return " ".join(reason.split())


def _judge(what: str, lines: int, limit: int, docstring: str | None) -> str | None:
    """The problem with one module or function, or None."""
    reason = _justification(docstring)
    if lines > limit:
        if reason is None:
            return (f"{what} is {lines} lines (limit {limit}): split it, or say why in its docstring "
                    f"with '{JUSTIFIED} <reason>'")
        if len(reason.split()) < MIN_REASON_WORDS:
            return f"{what} is {lines} lines and its '{JUSTIFIED}' gives no reason: {reason!r}"
        return None
    if reason is not None:
        return f"{what} is {lines} lines, within the limit of {limit}: remove its '{JUSTIFIED}'"
    return None


def size_problems(source: str, where: str) -> list[str]:
    """Every breach of the size rule in one module's source; `where` names the file."""
    tree = ast.parse(source)
    problems = [_judge(f"{where}", len(source.splitlines()), MAX_MODULE_LINES, ast.get_docstring(tree))]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            problems.append(_judge(f"{where}:{node.lineno} {node.name}()", lines, MAX_FUNCTION_LINES,
                                   ast.get_docstring(node)))
    return [p for p in problems if p is not None]


def test_every_module_and_function_of_the_package_is_small_or_says_why() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 100                      # the whole package, not an empty glob
    problems = [p for path in modules
                for p in size_problems(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())]
    assert problems == []


def _function(name: str, body_lines: int, docstring: str = "One line.") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(body_lines))
    return f'def {name}() -> None:\n    """{docstring}"""\n{body}'


def test_a_long_function_is_named_with_its_file_line_and_size() -> None:
    source = "x = 1\n\n" + _function("grows", 85)
    assert size_problems(source, "grader/planted.py") == [
        "grader/planted.py:3 grows() is 87 lines (limit 80): split it, or say why in its docstring "
        "with 'Long on purpose: <reason>'"]


def test_a_function_at_the_limit_passes() -> None:
    assert size_problems(_function("fits", 78), "grader/planted.py") == []     # 80 lines with def + docstring


def test_a_long_method_counts_like_a_function() -> None:
    method = "\n".join("    " + line for line in _function("grows", 85).splitlines())
    problems = size_problems("class C:\n" + method + "\n", "grader/planted.py")
    assert [p.split(" is ")[0] for p in problems] == ["grader/planted.py:2 grows()"]


def test_a_long_function_whose_docstring_says_why_passes() -> None:
    doc = "Builds it.\n\n    Long on purpose: one state machine, read top to bottom against the spec.\n    "
    assert size_problems(_function("grows", 85, doc), "grader/planted.py") == []


@pytest.mark.parametrize("reason", ["", "yes", "it is long"])
def test_the_marker_without_a_reason_is_not_a_justification(reason: str) -> None:
    problems = size_problems(_function("grows", 85, f"Long on purpose: {reason}"), "grader/planted.py")
    assert problems == [f"grader/planted.py:1 grows() is 87 lines and its 'Long on purpose:' gives no "
                        f"reason: {reason!r}"]


def test_a_long_module_needs_the_reason_in_its_own_docstring() -> None:
    body = "".join(f"x{i} = {i}\n" for i in range(505))
    assert size_problems('"""A module."""\n' + body, "grader/big.py") == [
        "grader/big.py is 506 lines (limit 500): split it, or say why in its docstring with "
        "'Long on purpose: <reason>'"]
    justified = '"""A module.\n\nLong on purpose: every defence in one file a reviewer reads.\n"""\n'
    assert size_problems(justified + body, "grader/big.py") == []


def test_a_justification_on_something_short_is_reported_so_it_cannot_go_stale() -> None:
    problems = size_problems(_function("short", 3, "Long on purpose: it used to be long before."),
                             "grader/planted.py")
    assert problems == ["grader/planted.py:1 short() is 5 lines, within the limit of 80: "
                        "remove its 'Long on purpose:'"]
