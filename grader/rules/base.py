"""Wording helpers only the rule modules use. The field paths and tolerant accessors they
all share (Issue, join_key, dicts, ...) are in grader.k8s.fields, with the schema and the
YAML loader."""
from __future__ import annotations

from typing import Any

from grader.k8s.fields import Issue, quote


def one_of(values: list[str] | tuple[str, ...]) -> str:
    """'A', 'B' or 'C'."""
    q = [f"'{v}'" for v in values]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " or " + q[-1]


def enum_issue(path: str, value: Any, allowed: tuple[str, ...], what: str = "value") -> Issue | None:
    """None when `value` is allowed (or not a string: the schema reports that)."""
    if not isinstance(value, str) or value in allowed:
        return None
    hint = ""
    for a in allowed:
        if a.lower() == value.lower():
            hint = f" (did you mean '{a}'? values are case-sensitive)"
            break
    return path, f"unsupported {what} {quote(value)}; use {one_of(allowed)}{hint}"
