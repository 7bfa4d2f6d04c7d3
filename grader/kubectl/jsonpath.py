"""kubectl's JSONPath templates (`-o jsonpath=...`), the subset the course uses.

Supported: literal text; `{.a.b}`, `{.a[0]}`, `{.a[-1]}`, `{.a[*].b}`, `{.a['dotted.key']}`
(and `\\.`-escaped dots), filters `{.a[?(@.name=="http")].b}` (==, !=, and a bare `@.x`
for "has x"), `{range .items[*]}...{end}`, quoted literals `{"\\n"}` / `{'\\t'}`. As
kubectl does with its default --allow-missing-template-keys, a missing field prints nothing;
several results of one expression are joined by a space; maps and lists print as JSON.
"""
from __future__ import annotations

import json
import re
from typing import Any

from grader.kubectl.result import KubectlError

_MISSING = object()


def _error(template: str, why: str) -> KubectlError:
    return KubectlError(f'error: error parsing jsonpath {template}, {why}')


def _segments(template: str) -> list[tuple[str, str]]:
    """[("text", ...), ("expr", ...)] with `{`/`}` matched (quotes respected)."""
    out: list[tuple[str, str]] = []
    i = 0
    buf = ""
    while i < len(template):
        ch = template[i]
        if ch == "{":
            if buf:
                out.append(("text", buf))
                buf = ""
            j = i + 1
            quote = None
            while j < len(template):
                c = template[j]
                if quote:
                    if c == "\\":
                        j += 1
                    elif c == quote:
                        quote = None
                elif c in "\"'":
                    quote = c
                elif c == "}":
                    break
                j += 1
            if j >= len(template):
                raise _error(template, "unclosed action")
            out.append(("expr", template[i + 1:j].strip()))
            i = j + 1
            continue
        buf += ch
        i += 1
    if buf:
        out.append(("text", buf))
    return out


_TOKEN = re.compile(r"""
    \.\.(?P<recurse>[A-Za-z0-9_\-]+) |
    \.(?P<field>(?:\\\.|[A-Za-z0-9_\-/])+) |
    \[\?\((?P<filter>[^\]]*)\)\] |
    \[(?P<quoted>'[^']*'|"[^"]*") \] |
    \[(?P<index>\*|-?\d+(?::-?\d*)?)\]
""", re.X)


def _steps(path: str, template: str) -> list[tuple[str, str]]:
    steps: list[tuple[str, str]] = []
    p = path.strip()
    if p.startswith("$"):
        p = p[1:]
    if p.startswith("@"):
        p = p[1:]
    pos = 0
    while pos < len(p):
        m = _TOKEN.match(p, pos)
        if m is None:
            raise _error(template, f"unrecognized character in action: {p[pos:]!r}")
        for name in ("recurse", "field", "filter", "quoted", "index"):
            if m.group(name) is not None:
                val = m.group(name)
                if name == "field":
                    val = val.replace("\\.", ".")
                if name == "quoted":
                    name, val = "field", val[1:-1]
                steps.append((name, val))
                break
        pos = m.end()
    return steps


def _apply(values: list[Any], step: tuple[str, str], template: str) -> list[Any]:
    kind, val = step
    out: list[Any] = []
    for v in values:
        if kind == "field":
            if isinstance(v, dict) and val in v:
                out.append(v[val])
        elif kind == "recurse":
            out.extend(_recurse(v, val))
        elif kind == "index":
            if not isinstance(v, list):
                continue
            if val == "*":
                out.extend(v)
            elif ":" in val:
                a, _, b = val.partition(":")
                out.extend(v[int(a) if a else None:int(b) if b else None])
            else:
                i = int(val)
                if -len(v) <= i < len(v):
                    out.append(v[i])
        elif kind == "filter":
            items = v if isinstance(v, list) else [v]
            out.extend(x for x in items if _matches(x, val, template))
    return out


def _recurse(v: Any, key: str) -> list[Any]:
    found = []
    if isinstance(v, dict):
        if key in v:
            found.append(v[key])
        for x in v.values():
            found.extend(_recurse(x, key))
    elif isinstance(v, list):
        for x in v:
            found.extend(_recurse(x, key))
    return found


def _literal(text: str) -> Any:
    text = text.strip()
    if text[:1] in "\"'" and text[-1:] == text[:1]:
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        return text


def _matches(item: Any, cond: str, template: str) -> bool:
    m = re.match(r"^\s*(@[^=!<>\s]*)\s*(==|!=)\s*(.+?)\s*$", cond)
    if m is None:
        vals = _eval(cond.strip(), item, template)
        return bool(vals)
    vals = _eval(m.group(1), item, template)
    want = _literal(m.group(3))
    got = vals[0] if vals else _MISSING
    equal = got is not _MISSING and (got == want or str(got) == str(want))
    return equal if m.group(2) == "==" else not equal


def _eval(path: str, data: Any, template: str) -> list[Any]:
    values = [data]
    for step in _steps(path, template):
        values = _apply(values, step, template)
    return values


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"), sort_keys=True)
    return str(v)


def _unescape(s: str) -> str:
    return s.encode("utf-8").decode("unicode_escape") if "\\" in s else s


def render(template: str, data: Any) -> str:
    """Evaluate a kubectl JSONPath template against `data` (an object or a List)."""
    segs = _segments(template)
    out, _ = _run(segs, 0, data, template)
    return out


def _run(
    segs: list[tuple[str, str]], i: int, data: Any, template: str, stop_at_end: bool = False
) -> tuple[str, int]:
    out = ""
    while i < len(segs):
        kind, val = segs[i]
        if kind == "text":
            out += val
            i += 1
            continue
        if val == "end":
            if stop_at_end:
                return out, i + 1
            raise _error(template, "not in range, nothing to end")
        if val.startswith("range "):
            items = _eval(val[6:].strip(), data, template)
            body_start = i + 1
            end = _find_end(segs, body_start, template)
            for item in items:
                part, _ = _run(segs[body_start:end + 1], 0, item, template, stop_at_end=True)
                out += part
            i = end + 1
            continue
        if val[:1] in "\"'":
            out += _unescape(_literal(val))
            i += 1
            continue
        vals = _eval(val, data, template)
        out += " ".join(_text(v) for v in vals)
        i += 1
    if stop_at_end:
        raise _error(template, "unclosed range")
    return out, i


def _find_end(segs: list[tuple[str, str]], start: int, template: str) -> int:
    depth = 0
    for j in range(start, len(segs)):
        kind, val = segs[j]
        if kind != "expr":
            continue
        if val.startswith("range "):
            depth += 1
        elif val == "end":
            if depth == 0:
                return j
            depth -= 1
    raise _error(template, "unclosed range")


def values(path: str, data: Any) -> list[Any]:
    """The results of one JSONPath expression (no braces), for custom-columns."""
    return _eval(path, data, path)


def text(v: Any) -> str:
    return _text(v)
