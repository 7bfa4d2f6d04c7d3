"""Rendering for people: reachability truth tables (text for terminals, HTML for
notebooks), NetworkPolicy explanations, and a mermaid diagram of who can reach whom.

The text truth table follows the upstream e2e suite's format (test/e2e/network/netpol
truthtable.go): a header row of destination pods, one row per source pod, "." for allowed
and "X" for denied, one table per port/protocol. Nothing here computes verdicts; it only
reads a `Matrix` (grader.cluster.base) or a `Verdict` (grader.model.netpol), so the same
rendering serves the offline model and a live cluster.
"""
from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Iterable, Sequence

from grader.observations import Matrix

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.netpol import Verdict

ALLOWED_MARK, DENIED_MARK = ".", "X"
LEGEND = ("rows: from (source pod), columns: to (destination pod); "
          f"'{ALLOWED_MARK}' = allowed, '{DENIED_MARK}' = denied by NetworkPolicy")


def _verdicts(matrix: Matrix, port: int, protocol: str) -> dict[tuple[str, str], bool]:
    """(from, to) -> allowed for one port/protocol. Asks only for verdicts, so a lazily
    explained matrix (grader.model.matrix) never renders a reason it will not show."""
    keys = [p.key for p in matrix.pods]
    out: dict[tuple[str, str], bool] = {}
    for src in keys:
        for dst in keys:
            try:
                out[(src, dst)] = matrix.allowed(src, dst, port, protocol)
            except KeyError:
                pass
    return out


#: Wider tables than this label their columns by number (with a key) instead of by name.
MAX_WIDTH = 160


def truth_table(matrix: Matrix, port: int, protocol: str = "TCP", *, indent: str = "",
                max_width: int = MAX_WIDTH) -> str:
    """One text truth table for `port`/`protocol`: a header of destination pods, a row
    per source pod. When full names would make it wider than `max_width`, columns are
    numbered and each row starts with its number (column i = row i)."""
    keys = [p.key for p in matrix.pods]
    cells = _verdicts(matrix, port, protocol)
    width = max([len(k) for k in keys] + [1])
    numbered = width + 1 + sum(len(k) + 1 for k in keys) > max_width
    if numbered:
        labels = [str(i) for i in range(len(keys))]
        rows = [f"{i:>{len(str(len(keys)))}} {k}" for i, k in enumerate(keys)]
        width = max([len(r) for r in rows] + [1])
    else:
        labels, rows = keys, keys
    col = [max(len(k), 1) for k in labels]
    lines = [indent + " ".join(["-".ljust(width)] + [k.ljust(c) for k, c in zip(labels, col)]).rstrip()]
    for src, row in zip(keys, rows):
        marks = []
        for dst, c in zip(keys, col):
            v = cells.get((src, dst))
            marks.append(("?" if v is None else ALLOWED_MARK if v else DENIED_MARK).ljust(c))
        lines.append(indent + " ".join([row.ljust(width)] + marks).rstrip())
    return "\n".join(lines)


def format_matrix(matrix: Matrix, *, legend: bool = True) -> str:
    """Every port/protocol of `matrix` as text truth tables, with a legend."""
    parts = []
    for port, protocol in sorted(matrix.combos()):
        allowed = sum(_verdicts(matrix, port, protocol).values())
        total = len(matrix.pods) ** 2
        parts.append(f"{port}/{protocol}: {allowed}/{total} allowed\n" + truth_table(matrix, port, protocol))
    if not parts:
        parts.append("(no pods)")
    if legend:
        parts.append(LEGEND)
    return "\n\n".join(parts)


class TruthTable:
    """A matrix for a notebook: text in a terminal, a coloured table in Jupyter, with each
    cell's reason as a tooltip."""

    def __init__(self, matrix: Matrix) -> None:
        self.matrix = matrix

    def __str__(self) -> str:
        return format_matrix(self.matrix)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return matrix_html(self.matrix)


def matrix_html(matrix: Matrix) -> str:
    """HTML truth tables (one per port/protocol); hover a cell to read its reason."""
    keys = [p.key for p in matrix.pods]
    out = ['<div class="svclab-matrix">']
    for (port, protocol) in sorted(matrix.combos()):
        out.append(f"<p><b>{port}/{html.escape(protocol)}</b></p>")
        out.append('<table style="border-collapse:collapse;font-family:monospace">')
        out.append("<tr><th>from \\ to</th>" + "".join(f"<th>{html.escape(k)}</th>" for k in keys) + "</tr>")
        for src in keys:
            row = [f"<th style='text-align:left'>{html.escape(src)}</th>"]
            for dst in keys:
                try:
                    r = matrix.lookup(src, dst, port, protocol)   # with its reason, for the tooltip
                except KeyError:
                    row.append("<td>?</td>")
                    continue
                colour = "#c8f7c5" if r.allowed else "#f7c5c5"
                mark = ALLOWED_MARK if r.allowed else DENIED_MARK
                row.append(f"<td title=\"{html.escape(r.reason, quote=True)}\" "
                           f"style='background:{colour};text-align:center;padding:2px 6px'>{mark}</td>")
            out.append("<tr>" + "".join(row) + "</tr>")
        out.append("</table>")
    out.append(f"<p><small>{html.escape(LEGEND)}</small></p></div>")
    return "\n".join(out)


def format_verdict(verdict: "Verdict", listening: str | None = None) -> str:
    """An explanation for `svclab explain` and notebooks: the verdict, then one line per
    direction."""
    head, _, rest = verdict.explanation.partition(". ")
    lines = [head + "."]
    for sentence in re.split(r"(?<=\.) (?=\S)", rest):
        if sentence:
            lines.append("  - " + sentence)
    if listening:
        lines.append("  - " + listening)
    return "\n".join(lines)


def _mermaid_id(key: str) -> str:
    return "p_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def mermaid_reachability(matrix: Matrix, port: int, protocol: str = "TCP") -> str:
    """A mermaid flowchart: one subgraph per namespace, an arrow for every allowed
    connection between two different pods on `port`/`protocol`. Put it in a ```mermaid
    Markdown block (JupyterLab >= 4.1 renders it)."""
    lines = ["flowchart LR"]
    namespaces: dict[str, list[str]] = {}
    for p in matrix.pods:
        namespaces.setdefault(p.namespace, []).append(p.key)
    for ns, keys in namespaces.items():
        lines.append(f"  subgraph ns_{re.sub(r'[^A-Za-z0-9_]', '_', ns)}[\"{ns}\"]")
        for k in keys:
            lines.append(f"    {_mermaid_id(k)}[\"{k.split('/', 1)[1]}\"]")
        lines.append("  end")
    for (src, dst), allowed in _verdicts(matrix, port, protocol).items():
        if allowed and src != dst:
            lines.append(f"  {_mermaid_id(src)} --> {_mermaid_id(dst)}")
    return "\n".join(lines)


def table(rows: Sequence[Sequence[object]], headers: Iterable[str]) -> str:
    """A plain aligned text table (kubectl-style: upper-case headers, two-space gaps)."""
    hdr = [h.upper() for h in headers]
    data = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in data]) for i, h in enumerate(hdr)]
    fmt = lambda cells: "   ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(hdr)] + [fmt(r) for r in data])
