"""ConfigMap keys become file names in volumes, hence the restricted syntax."""
from __future__ import annotations

from grader.k8s.fields import Issue, join_key, mapping, quote
from grader.rules.names import configmap_key_problem


def configmap_issues(obj: dict) -> list[Issue]:
    out: list[Issue] = []
    data = mapping(obj.get("data"))
    binary = mapping(obj.get("binaryData"))
    for field, values in (("data", data), ("binaryData", binary)):
        for key in values:
            why = configmap_key_problem(key)
            if why:
                out.append((join_key(field, key), f"key {quote(key)} is invalid: {why}"))
    for key in data.keys() & binary.keys():
        out.append(
            (
                join_key("binaryData", key),
                f"key {quote(key)} is also in data; a key may appear in only one of them",
            )
        )
    return out
