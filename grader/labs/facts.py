"""Answers that are facts, not manifests: a small YAML mapping such as

    distinct_hostnames: 3
    each_answer_is: pod name

Parsed with the same hard limits as manifests (grader.safe_yaml), never executed."""
from __future__ import annotations

from typing import Any

from grader.checks.core import empty_answer, is_blank
from grader.safe_yaml import parse_documents


def parse_facts(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the mapping, None) or (None, why it is not one)."""
    if is_blank(text):
        return None, empty_answer("your answer")
    docs, issues = parse_documents(text)
    if issues:
        issue = issues[0]
        where = (
            f"document {issue.doc}" + (f", {issue.path}" if issue.path else "")
            if issue.doc
            else "your answer"
        )
        return None, f"{where}: {issue.message}"
    if len(docs) != 1 or not isinstance(docs[0][1], dict):
        return None, "expected one YAML mapping of `key: value` lines, as the task shows"
    return {str(k): v for k, v in docs[0][1].items()}, None


def facts_problem(text: str) -> str | None:
    return parse_facts(text)[1]


def fact(text: str, key: str) -> Any:
    """The value of `key` in the answer, or None (missing keys fail their own check)."""
    facts, _ = parse_facts(text)
    return None if facts is None else facts.get(key)
