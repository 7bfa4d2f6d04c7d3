"""Column layout exactly as kubectl's table printer does it.

kubectl writes each row as tab-separated cells through Go's text/tabwriter with minwidth 6,
padding 3 and spaces (k8s.io/cli-runtime/pkg/printers/tabwriter.go). Every column but the
last is padded to the widest cell in it plus 3, and to at least 6; the last column is not
padded. `describe` uses another writer (minwidth 0, padding 2) on `label:\\tvalue` lines.
"""
from __future__ import annotations

from typing import Sequence


def tabulate(rows: Sequence[Sequence[str]], *, minwidth: int = 6, padding: int = 3) -> str:
    """Rows of cells (the first row is usually the header) -> aligned text, one line per row.
    Rows may have different lengths; widths are computed per column over the rows that
    have a cell there (and a further cell after it), as tabwriter does for uniform tables."""
    if not rows:
        return ""
    ncols = max(len(r) for r in rows)
    widths = [0] * ncols
    for r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell) + padding, minwidth)
    lines = []
    for r in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])]
        lines.append("".join(cells) + (r[-1] if r else ""))
    return "\n".join(lines) + "\n"


def aligned_block(lines: Sequence[tuple[str, str]], *, padding: int = 2) -> str:
    """`describe`'s `Label:\\tvalue` lines: the value column starts 2 after the longest label
    of the consecutive block. Like tabwriter, an empty value leaves the padding in place
    (`Endpoints:` with no ready endpoint ends in spaces, as kubectl prints it)."""
    width = max((len(k) for k, _ in lines), default=0) + padding
    return "".join(f"{k.ljust(width)}{v}\n" for k, v in lines)
