"""Field paths and tolerant accessors over manifest dicts: the vocabulary every validator
(schema, rules, the YAML loader's duplicate keys) uses to name where a problem is.

An Issue is (field path, message). Why tolerant accessors: semantic rules run even when the
schema check already found type errors (so a learner sees every problem at once). A rule
must then skip, not crash on, a `ports` that is a string or a `port` that is "80a" -- the
schema reports those.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, TypeGuard

Issue = tuple[str, str]  # (field path like "spec.ports[0].port", learner-facing sentence)

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def join_key(path: str, key: str) -> str:
    """`spec` + `ports` -> `spec.ports`; keys with dots or slashes (label keys) are quoted:
    `metadata.labels["app.kubernetes.io/name"]`."""
    if not _PLAIN_KEY.match(key):
        return f'{path}["{key}"]'
    return f"{path}.{key}" if path else key


def join_index(path: str, index: int) -> str:
    return f"{path}[{index}]"


def mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list:
    return value if isinstance(value, list) else []


def dicts(value: Any, path: str) -> Iterator[tuple[str, dict]]:
    """(path, item) for each mapping item of a list, skipping anything else."""
    for i, item in enumerate(items(value)):
        if isinstance(item, dict):
            yield join_index(path, i), item


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def quote(value: Any) -> str:
    """A value as a learner wrote it: strings in quotes, everything else YAML-ish."""
    if isinstance(value, str):
        return repr(value) if "'" not in value else f'"{value}"'
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
