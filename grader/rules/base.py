"""Tiny shared vocabulary for the rule modules: an Issue is (field path, message), and
accessors that tolerate wrongly-typed input (defined in grader.k8s.fields, which the schema
and the YAML loader share; the rule modules import them from here, with the helpers only
rules use).
"""
from __future__ import annotations

from typing import Any

from grader.k8s.fields import Issue, dicts, is_int, items, join_index, join_key, mapping, quote, text

__all__ = ["Issue", "dicts", "is_int", "items", "join_index", "join_key", "mapping", "quote", "text",
           "one_of", "enum_issue"]


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
