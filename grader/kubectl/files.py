"""Reading `-f FILE|DIR|-` for offline kubectl: the objects a command names by file, and
a ManifestError worded as kubectl words refusals. Shared by `apply`, `delete -f` and
`get -f`, so that no command module imports another.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session


def sources(s: Session) -> list[tuple[Any, str]]:
    """(manifest input for ns.apply, label) per -f value; `-` is stdin."""
    files = s.inv.flag("filename") or []
    out: list[tuple[Any, str]] = []
    for f in files:
        if f == "-":
            if not s.stdin:
                raise KubectlError("error: no objects passed to apply")
            out.append((s.stdin, "STDIN"))
            continue
        if re.match(r"^https?://", f):
            raise KubectlError(f'error: the path "{f}" is a URL: offline kubectl reads local files only')
        p = Path(f)
        if not p.exists():
            raise KubectlError(f'error: the path "{f}" does not exist')
        out.append((p, f))
    return out


def problem_text(exc: Exception) -> str:
    """A grader.manifests.ManifestError worded the way kubectl reports refusals, keeping the
    project's file/document/field locations."""
    problems = getattr(exc, "problems", None)
    if not problems:
        return f"error: {exc}"
    lines = []
    for p in problems:
        if p.kind and p.name and p.path:
            lines.append(f'The {p.kind} "{p.name}" is invalid: {p.path}: {p.message} ({p.where()})')
        elif p.kind and p.name:
            lines.append(f'Error from server: error when applying {p.where()}: {p.message}')
        else:
            lines.append(f"error: error parsing {p.where()}: {p.message}")
    return "\n".join(lines)


def objects_from_files(s: Session) -> list[dict[str, Any]]:
    from grader import manifests as mf
    objs: list[dict[str, Any]] = []
    for src, label in sources(s):
        try:
            loaded = mf.load(src, source=label if isinstance(src, str) else None)
        except mf.ManifestError as exc:
            raise KubectlError(problem_text(exc)) from None
        objs.extend(m.obj for m in loaded)
    return objs
