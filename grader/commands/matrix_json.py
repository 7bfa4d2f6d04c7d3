"""`svclab matrix --format json`: the truth table written as it is computed, never held whole.

Why two forms. A million-pair matrix with one explanation sentence per cell is hundreds of
megabytes of text nobody reads, and building it as one Python object cost gigabytes. The
engine already knows the answer in a far smaller shape: pods that NetworkPolicy cannot tell
apart form groups (grader.model.matrix), and a verdict is a property of a (source group,
destination group) pair. So:

- the grouped form (the default) writes each pod once with its group, then per
  port/protocol, per source group, the destination groups it may reach. Its size grows with
  the number of groups squared, not pods squared. A pod may always reach itself (the model
  never blocks self traffic); the group lists leave that rule to the reader.
  `--explain-denied` adds, per table, every denied cell with the engine's explanation.
- the cell form (`--explain`) is `Matrix.to_json()`'s format, every
  ordered pair with its verdict and its explanation, byte for byte the same text, streamed.

Both forms are described by matrix-json.schema.json next to this module (README, "svclab
matrix --format json"). Output is written in pieces to a text stream, so memory stays that of
the model and one row, whatever the number of pods.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.matrix import GroupedMatrix

#: The grouped form's "format" value; bumped when a field changes meaning.
GROUPED_FORMAT = "svclab.matrix.grouped/v1"
SCHEMA_FILE = Path(__file__).with_name("matrix-json.schema.json")
EXPLAIN_CHOICES = ("all", "denied")

_dump = json.dumps


def write_matrix_json(m: "GroupedMatrix", out: TextIO, explain: str | None = None) -> None:
    """The matrix as JSON on `out`: the grouped form, with denied cells explained when
    explain == "denied", or the cell form (every cell explained) when explain == "all"."""
    if explain == "all":
        _write_cells(m, out)
    elif explain in (None, "denied"):
        _write_grouped(m, out, explain == "denied")
    else:
        raise ValueError(f"explain={explain!r}: choose from {', '.join(EXPLAIN_CHOICES)}")


# --------------------------------------------------------------------- grouped form
def _group_rows(m: "GroupedMatrix", port: int, protocol: str) -> list[list[int]]:
    """Per source group, the destination groups it may reach (self traffic aside), read
    from the engine's per-pod rows at each group's first member."""
    _, rows = m.verdict_groups(port, protocol)
    firsts = [g.members[0] for g in m.groups]
    return [[gd for gd, member in enumerate(firsts) if row[member]] for row in rows]


def _allowed_cells(m: "GroupedMatrix", allowed: list[list[int]]) -> int:
    """Allowed ordered pod pairs of one table, self pairs included, from group sizes."""
    sizes = [len(g.members) for g in m.groups]
    total = len(m.pod_objs)  # every pod reaches itself
    for gs, dsts in enumerate(allowed):
        n = sizes[gs]
        total += n * sum(sizes[gd] for gd in dsts)
        if gs in dsts:  # a member's own cell was counted twice
            total -= n
    return total


def _write_grouped(m: "GroupedMatrix", out: TextIO, denied: bool) -> None:
    w = out.write
    w('{\n  "format": %s,\n  "pods": [' % _dump(GROUPED_FORMAT))
    sep = "\n"
    for pod, g in zip(m.pod_objs, m.group_of, strict=True):
        w('%s    {"name": %s, "ip": %s, "group": %d}' % (sep, _dump(pod.key), _dump(pod.ip), g))
        sep = ",\n"
    w('\n  ],\n  "groups": %d,\n  "tables": [' % len(m.groups))
    sep = "\n"
    for pi, port in enumerate(m.port_list):
        for q, protocol in enumerate(m.proto_list):
            allowed = _group_rows(m, port, protocol)
            w(
                '%s    {\n      "port": %d,\n      "protocol": %s,\n      "allowed_cells": %d,\n'
                '      "allowed": [' % (sep, port, _dump(protocol), _allowed_cells(m, allowed))
            )
            w(",".join("\n        [%s]" % ",".join(map(str, dsts)) for dsts in allowed))
            w("\n      ]" if allowed else "]")
            if denied:
                w(',\n      "denied": [')
                first = True
                for cell in _denied_cells(m, allowed, pi, q):
                    w(("\n        " if first else ",\n        ") + cell)
                    first = False
                w("]" if first else "\n      ]")
            w("\n    }")
            sep = ",\n"
    w("\n  ]\n}\n")


def _denied_cells(m: "GroupedMatrix", allowed: list[list[int]], pi: int, q: int) -> Iterator[str]:
    """Each denied cell as one JSON object, sources and destinations in pod order."""
    allowed_sets = [set(dsts) for dsts in allowed]
    names = [_dump(p.key) for p in m.pod_objs]
    group_of = m.group_of
    for s, gs in enumerate(group_of):
        ok = allowed_sets[gs]
        for d, gd in enumerate(group_of):
            if s != d and gd not in ok:
                yield '{"from": %s, "to": %s, "reason": %s}' % (
                    names[s],
                    names[d],
                    _dump(m.reason_at(s, d, pi, q)),
                )


# --------------------------------------------------------------------- cell form
def _write_cells(m: "GroupedMatrix", out: TextIO) -> None:
    """Matrix.to_json(indent=2)'s exact text, one cell at a time."""
    w = out.write
    names = [_dump(p.key) for p in m.pod_objs]
    if not m.pod_objs:
        w('{\n  "pods": [],\n  "results": []\n}\n')
        return
    w('{\n  "pods": [')
    w(
        ",".join(
            '\n    {\n      "name": %s,\n      "ip": %s\n    }' % (n, _dump(p.ip))
            for n, p in zip(names, m.pod_objs, strict=True)
        )
    )
    w('\n  ],\n  "results": [')
    protocols = [_dump(p) for p in m.proto_list]
    sep = "\n"
    npods = len(m.pod_objs)
    for s in range(npods):
        for d in range(npods):
            for pi, port in enumerate(m.port_list):
                for q, protocol in enumerate(protocols):
                    w(
                        '%s    {\n      "from": %s,\n      "to": %s,\n'
                        '      "port": %d,\n      "protocol": %s,\n'
                        '      "allowed": %s,\n      "reason": %s\n    }'
                        % (
                            sep,
                            names[s],
                            names[d],
                            port,
                            protocol,
                            "true" if m.allowed_at(s, d, pi, q) else "false",
                            _dump(m.reason_at(s, d, pi, q)),
                        )
                    )
                    sep = ",\n"
    w("\n  ]\n}\n")
