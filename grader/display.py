"""Rendering for people: reachability truth tables (text for terminals, HTML for
notebooks), NetworkPolicy explanations, and a mermaid diagram of who can reach whom.

The text truth table follows the upstream e2e suite's format (test/e2e/network/netpol
truthtable.go): a header row of destination pods, one row per source pod, "." for allowed
and "X" for denied, one table per port/protocol. Nothing here computes verdicts; it only
reads a `Matrix` (grader.cluster.base) or a `Verdict` (grader.model.netpol), so the same
rendering serves the offline model and a live cluster.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, Sequence

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
    bulk = getattr(matrix, "verdict_groups", None)   # grader.model.matrix: rows per pod group
    groups = bulk(port, protocol) if bulk is not None else None
    cells = _verdicts(matrix, port, protocol) if groups is None else {}
    width = max([len(k) for k in keys] + [1])
    numbered = width + 1 + sum(len(k) + 1 for k in keys) > max_width
    if numbered:
        labels = [str(i) for i in range(len(keys))]
        rows = [f"{i:>{len(str(len(keys)))}} {k}" for i, k in enumerate(keys)]
        width = max([len(r) for r in rows] + [1])
    else:
        labels, rows = keys, keys
    col = [max(len(k), 1) for k in labels]
    lines = [
        indent
        + " ".join(["-".ljust(width)] + [k.ljust(c) for k, c in zip(labels, col, strict=True)]).rstrip()
    ]
    if groups is not None:
        # a group's members share one row of marks; only their own (always allowed) cell differs
        group_of, by_group = groups
        yes = [ALLOWED_MARK.ljust(c) for c in col]
        no = [DENIED_MARK.ljust(c) for c in col]
        offsets, at = [], 0
        for c in col:
            offsets.append(at)
            at += c + 1
        bodies: dict[int, str] = {}
        for s, (row, g) in enumerate(zip(rows, group_of, strict=False)):
            body = bodies.get(g)
            if body is None:
                body = bodies[g] = " ".join(
                    [y if v else n for v, y, n in zip(by_group[g], yes, no, strict=False)]
                )
            if not by_group[g][s]:
                body = body[:offsets[s]] + ALLOWED_MARK + body[offsets[s] + 1:]
            lines.append((indent + row.ljust(width) + " " + body).rstrip())
        return "\n".join(lines)
    for src, row in zip(keys, rows, strict=False):
        marks = []
        for dst, c in zip(keys, col, strict=False):
            v = cells.get((src, dst))
            marks.append(("?" if v is None else ALLOWED_MARK if v else DENIED_MARK).ljust(c))
        lines.append(indent + " ".join([row.ljust(width)] + marks).rstrip())
    return "\n".join(lines)


def format_matrix(matrix: Matrix, *, legend: bool = True) -> str:
    """Every port/protocol of `matrix` as text truth tables, with a legend."""
    parts = []
    bulk = getattr(matrix, "verdict_groups", None)
    for port, protocol in sorted(matrix.combos()):
        if bulk is not None:
            group_of, by_group = bulk(port, protocol)
            sums = [sum(r) for r in by_group]
            allowed = sum(sums[g] + (not by_group[g][s]) for s, g in enumerate(group_of))
        else:
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
    import html  # here: html.entities is a large table the text output never needs

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
    fmt = lambda cells: "   ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip()  # noqa: E731
    return "\n".join([fmt(hdr)] + [fmt(r) for r in data])


# =========================================================================== tables for notebooks

class Table:
    """Rows for people: an aligned text table in a terminal (kubectl's style), an HTML table
    in JupyterLab. Every notebook table goes through this, so both renderings agree."""

    def __init__(self, rows: Sequence[Sequence[object]], headers: Sequence[str], *,
                 title: str | None = None, colours: Sequence[str | None] | None = None) -> None:
        self.rows = [list(r) for r in rows]
        self.headers = list(headers)
        self.title = title
        self.colours = list(colours) if colours is not None else [None] * len(self.rows)

    def __str__(self) -> str:
        body = table(self.rows, self.headers) if self.rows else table([], self.headers) + "\n(none)"
        return f"{self.title}\n{body}" if self.title else body

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        """The table for JupyterLab. Cells may break anywhere: a long target or a WHY naming
        pods has no space to wrap at, and such a table grew wider than the output area, its
        last column cut off behind a scrollbar (notebook 12)."""
        import html

        out = ["<div class='svclab-table'>"]
        if self.title:
            out.append(f"<p><b>{html.escape(self.title)}</b></p>")
        out.append(
            "<table style='border-collapse:collapse;font-family:monospace'><tr>"
            + "".join(f"<th style='text-align:left'>{html.escape(h.upper())}</th>" for h in self.headers)
            + "</tr>"
        )
        for row, colour in zip(self.rows, self.colours, strict=False):
            style = f" style='background:{colour}'" if colour else ""
            td = "<td style='text-align:left;overflow-wrap:anywhere'>"
            out.append(f"<tr{style}>" + "".join(f"{td}{html.escape(str(c))}</td>" for c in row) + "</tr>")
        if not self.rows:
            out.append(f"<tr><td colspan='{len(self.headers)}'><i>(none)</i></td></tr>")
        out.append("</table></div>")
        return "".join(out)


GOOD, BAD, WARN = "#c8f7c5", "#f7c5c5", "#f7ecc5"


def endpoints_table(ns: "Any", service: str) -> Table:
    """A Service's endpoints as its EndpointSlices list them: pod, address, port, conditions."""
    eps = ns.endpoints(service)
    rows = [((e.pod or "-").split("/", 1)[-1], e.ip, f"{e.port}/{e.protocol}", e.port_name or "-",
             _yes(e.ready), _yes(e.serving), _yes(e.terminating)) for e in eps]
    return Table(rows, ["pod", "address", "port", "port name", "ready", "serving", "terminating"],
                 title=f"Endpoints of Service {service}: {sum(e.ready for e in eps)} ready of {len(eps)}",
                 colours=[GOOD if e.ready else BAD for e in eps])


def pods_table(ns: "Any") -> Table:
    """The namespace's pods with their addresses, readiness and labels (like -o wide --show-labels)."""
    pods = ns.pods()
    rows = [(p.name, p.ip or "<none>", _yes(p.ready), _labels(p.labels)) for p in pods]
    return Table(rows, ["name", "ip", "ready", "labels"], title=f"Pods in {ns.name}",
                 colours=[GOOD if p.ready else (WARN if p.ip else BAD) for p in pods])


def services_table(ns: "Any") -> Table:
    """The namespace's Services as `kubectl get svc` shows them."""
    svcs = ns.services()
    rows = []
    for s in svcs:
        ports = ",".join(
            f"{p.port}{':' + str(p.node_port) if p.node_port else ''}/{p.protocol}" for p in s.ports
        )
        external = (
            s.external_name or s.external_address or ("<pending>" if s.type == "LoadBalancer" else "<none>")
        )
        rows.append((s.name, s.type, s.cluster_ip or "<none>", external, ports or "<none>",
                     _labels(dict(s.selector)) if s.selector else "<none>"))
    return Table(rows, ["name", "type", "cluster-ip", "external-ip", "port(s)", "selector"],
                 title=f"Services in {ns.name}")


def dns_table(*answers: "Any") -> Table:
    """DNS answers (grader.observations.DnsAnswer), one row per record (or per empty answer)."""
    rows, colours = [], []
    for a in answers:
        if not a.records:
            rows.append((a.query, a.rtype, a.rcode, a.name or "-", "-", "-"))
            colours.append(BAD if a.rcode != "NOERROR" else WARN)
        for r in a.records:
            rows.append((a.query, a.rtype, a.rcode, r.name, r.rtype, r.value))
            colours.append(GOOD)
    return Table(rows, ["asked", "type", "rcode", "answer name", "record", "value"], colours=colours)


def outcomes_table(outcomes: "Iterable[Any]") -> Table:
    """Probe outcomes (grader.observations.Outcome): target, status, who answered, why."""
    outs = list(outcomes)
    rows = [(o.target, o.status.value, (o.pod or "-").split("/", 1)[-1], o.body or "-", o.reason or "-")
            for o in outs]
    return Table(rows, ["target", "status", "answered by", "body", "why"],
                 colours=[GOOD if o.ok else BAD for o in outs])


def answer_counts(outcomes: "Iterable[Any]") -> Table:
    """How many requests each pod answered (load balancing, seen through /hostname)."""
    counts: dict[str, int] = {}
    for o in outcomes:
        who = (o.pod or o.status.value).split("/", 1)[-1]
        counts[who] = counts.get(who, 0) + 1
    total = sum(counts.values()) or 1
    rows = [(who, n, "#" * round(20 * n / total)) for who, n in sorted(counts.items())]
    return Table(rows, ["answered by", "requests", "share"])


#: What each step of a packet's path means, for the table's last column.
_STEP_WORDS = {"masquerade": "SNAT to the node (masquerade)",
               "affinity": "a remembered client keeps its endpoint",
               "client address kept": "client address kept (Local)"}


def kube_proxy_table(rules: "Any") -> Table:
    """kube-proxy's rules (grader.k8s.nft.KubeProxyRules, from `cluster.kube_proxy_rules()`)
    as the paths new connections take: what they are addressed to, the map that matched,
    the chains on the way, and where they end (the endpoints a DNAT picks from, a reject,
    a drop). The rules themselves: `print(rules)`."""
    from grader.k8s.nft import packet_paths

    paths = packet_paths(rules.table)
    rows = [(p.entry, p.map, " -> ".join(_STEP_WORDS.get(s, s) for s in p.steps),
             p.verdict, ", ".join(p.targets) or "-") for p in paths]
    colours = [GOOD if p.verdict == "DNAT" else WARN if p.verdict == "FILTER" else BAD for p in paths]
    what = f"Service {rules.service}" if rules.service else "every Service"
    return Table(rows, ["addressed to", "map", "path", "then", "endpoints"], colours=colours,
                 title=f"kube-proxy on {rules.node}, {what} ({rules.origin})")


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _labels(labels: "Any") -> str:
    """--show-labels' form, without the hash a controller adds to every pod."""
    from grader.k8s.selectors import labels_text

    return labels_text({k: v for k, v in dict(labels).items() if k != "pod-template-hash"})


class Mermaid:
    """A mermaid diagram as a notebook output: rendered by JupyterLab (>= 4.1) from a
    ```mermaid Markdown block, shown as its source in a terminal."""

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return self.source

    def _repr_markdown_(self) -> str:
        return "```mermaid\n" + self.source + "\n```"


def topology(ns: "Any") -> Mermaid:
    """Services -> their endpoint pods -> the rest of the namespace's pods, from the
    namespace's current state: what a Service actually selects, not what its YAML meant."""
    lines = ["flowchart LR"]
    pods = ns.pods()
    ids = {p.name: _mermaid_id(f"{ns.name}/{p.name}") for p in pods}
    lines.append(f"  subgraph ns_{re.sub(r'[^A-Za-z0-9_]', '_', ns.name)}[\"namespace {ns.name}\"]")
    for s in ns.services():
        sid = "svc_" + re.sub(r"[^A-Za-z0-9_]", "_", s.name)
        ports = ",".join(str(p.port) for p in s.ports)
        addr = s.external_name or ("headless" if s.headless else s.cluster_ip)
        lines.append(f"    {sid}([\"svc/{s.name}<br/>{s.type} {addr}<br/>:{ports}\"])")
    for p in pods:
        state = "" if p.ready else "<br/>(not ready)"
        lines.append(f"    {ids[p.name]}[\"{p.name}<br/>{p.ip or 'Pending'}{state}\"]")
    lines.append("  end")
    for s in ns.services():
        sid = "svc_" + re.sub(r"[^A-Za-z0-9_]", "_", s.name)
        if s.type == "ExternalName":
            lines.append(f"  {sid} -. CNAME .-> ext_{sid}[\"{s.external_name}\"]")
            continue
        seen: set[tuple[str, bool]] = set()
        for e in ns.endpoints(s.name):
            name = (e.pod or "").split("/", 1)[-1]
            if name in ids and (name, e.ready) not in seen:
                seen.add((name, e.ready))
                arrow = "-->" if e.ready else "-.->"
                lines.append(f"  {sid} {arrow}|{e.port}| {ids[name]}")
    return Mermaid("\n".join(lines))


def queries_table(queries: "Sequence[Any]") -> Table:
    """The questions a resolver sent for one lookup (grader.checks.resolver_queries), one row
    each, with the answer's rcode and what the resolver did next: the cost of a search list
    made visible."""
    rows, colours = [], []
    for i, q in enumerate(queries, 1):
        last = i == len(queries)
        if q.rcode == "NXDOMAIN":
            then = "gives up: the name does not exist" if last else "tries the next name"
            colours.append(BAD)
        elif q.rcode == "NOERROR":
            then = "stops: " + (", ".join(r.value for r in q.records) if q.records
                                else "the name exists but has no such record (NODATA)")
            colours.append(GOOD if q.records else WARN)
        else:
            then = f"stops: {q.rcode}"
            colours.append(WARN)
        rows.append((i, q.query, q.rtype, q.rcode, then))
    return Table(rows, ["#", "query sent", "type", "rcode", "then the resolver"], colours=colours,
                 title=f"{len(queries)} {'query' if len(queries) == 1 else 'queries'}, "
                       f"{sum(q.rcode == 'NXDOMAIN' for q in queries)} NXDOMAIN")
