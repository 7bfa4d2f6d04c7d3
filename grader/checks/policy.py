"""NetworkPolicy graded by outcome: the learner's reachability matrix against the expected
one, cell by cell. Partial credit is the share of right cells; feedback names the wrong
cells with the engine's own reason, so "why" comes with every mistake.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping, Union

from grader.checks.core import Check, Verdict, partial
from grader.observations import Matrix, PodRef

#: What the matrix should say: a reference Matrix (e.g. from the reference solution applied
#: to the same workloads), or a rule over the two pods and the port.
Expected = Union[Matrix, Callable[[PodRef, PodRef, int, str], bool]]


def _short(key: str, namespace: str) -> str:
    """A pod key without the graded namespace, so a reference computed in another namespace
    compares with the learner's pod by pod."""
    ns, _, name = key.partition("/")
    return name if ns == namespace else key


def compare_matrix(actual: Matrix, expected: Expected, namespace: str,
                   expected_namespace: str | None = None, *, show: int = 6,
                   labels: Mapping[str, Mapping[str, str]] | None = None) -> tuple[int, int, list[str]]:
    """(right cells, all cells, one sentence per wrong cell, at most `show`).

    `labels` ("ns/pod" -> labels) fills in pod labels for a rule-shaped `expected` when the
    matrix's pods do not carry them."""
    right, total, wrong = 0, 0, []
    ref: dict[tuple[str, str, int, str], bool] = {}
    if isinstance(expected, Matrix):
        for r in expected.results:
            ref[
                (
                    _short(r.src, expected_namespace or namespace),
                    _short(r.dst, expected_namespace or namespace),
                    r.port,
                    r.protocol,
                )
            ] = r.allowed
    pods = {p.key: (p if p.labels or not labels or p.key not in labels else
                    PodRef(p.namespace, p.name, p.ip, labels=dict(labels[p.key])))
            for p in actual.pods}
    bad: list[tuple[str, bool]] = []
    for src in actual.pods:
        for dst in actual.pods:
            for port, protocol in actual.combos():
                cell = actual.lookup(src.key, dst.key, port, protocol)
                if isinstance(expected, Matrix):
                    key = (_short(src.key, namespace), _short(dst.key, namespace), port, protocol)
                    if key not in ref:
                        continue
                    want = ref[key]
                else:
                    want = bool(expected(pods[src.key], pods[dst.key], port, protocol))
                total += 1
                if cell.allowed == want:
                    right += 1
                else:
                    bad.append((f"{_short(src.key, namespace)} -> {_short(dst.key, namespace)} on "
                                f"{port}/{protocol}: should be {'allowed' if want else 'denied'}, is "
                                f"{'allowed' if cell.allowed else 'denied'}", cell.allowed))
    for sentence, _allowed in bad[:show]:
        wrong.append(sentence)
    if len(bad) > show:
        wrong.append(f"... and {len(bad) - show} more wrong cells")
    return right, total, wrong


def matrix_matches(expected: Expected, *, ports: Iterable[int] = (80,),
                   protocols: Iterable[str] = ("TCP",), expected_namespace: str | None = None,
                   explain: bool = True, name: str | None = None, points: float = 1.0) -> Check:
    """The namespace's NetworkPolicy truth table equals `expected` cell by cell."""
    ports, protocols = list(ports), list(protocols)

    def fn(ns: Any) -> Verdict:
        actual = ns.matrix(ports=ports, protocols=protocols)
        labels = {p.key: p.labels for p in ns.pods()}
        right, total, wrong = compare_matrix(actual, expected, ns.name, expected_namespace, labels=labels)
        if total == 0:
            return partial(0, "no pods to compare: apply the workloads as well as the policies")
        if not wrong:
            return partial(1, f"all {total} cells of the truth table are right")
        sentences = wrong
        if explain:
            sentences = [_with_reason(actual, s, ns.name) for s in wrong]
        return partial(right / total, f"{right} of {total} cells right; wrong: " + "; ".join(sentences))
    return Check(name or "the NetworkPolicy truth table", fn, points)


def _with_reason(actual: Matrix, sentence: str, namespace: str) -> str:
    """Append the engine's reason for a wrong cell (its first clause), e.g. which policy
    isolates the destination and that no rule allows the source."""
    try:
        pair, _, rest = sentence.partition(" on ")
        src, _, dst = pair.partition(" -> ")
        port_proto = rest.split(":", 1)[0]
        port, _, protocol = port_proto.partition("/")
        full = lambda k: k if "/" in k else f"{namespace}/{k}"  # noqa: E731
        reason = actual.lookup(full(src), full(dst), int(port), protocol).reason
    except (KeyError, ValueError):
        return sentence
    why = reason_body(reason)
    return f"{sentence} ({why})" if why else sentence


def reason_body(reason: str, limit: int = 300) -> str:
    """The engine's reason, cut to what explains the cell: without its headline ("Allowed:
    a -> b on 80/TCP.", which only repeats the cell) and, for a denied cell, without the
    sentences about a side that is not isolated (they explain nothing about the drop)."""
    text = reason.strip()
    head, sep, rest = text.partition(". ")
    denied = head.startswith("Denied")
    if sep and (head.startswith("Allowed") or denied):
        text = rest
    text = text.replace(".;", ";").strip()
    sentences = re.split(r"(?<=\.) (?=\S)", text)
    idle = "is not isolated" if denied else "is not isolated for egress"
    kept = [s for s in sentences if idle not in s]
    text = " ".join(kept) or text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def rule(allow: Mapping[tuple[str, str], Iterable[int]] | None = None, *,
         self_allowed: bool = True) -> Callable[[PodRef, PodRef, int, str], bool]:
    """An expected matrix as a rule: `{("app=frontend", "app=backend"): [8080]}` allows those
    pairs on those ports and denies every other pair (a pod always reaches itself)."""
    from grader.k8s.selectors import matches, parse_selector

    compiled = [(parse_selector(s), parse_selector(d), set(ps)) for (s, d), ps in (allow or {}).items()]

    def expected(src: PodRef, dst: PodRef, port: int, protocol: str) -> bool:
        if self_allowed and src.key == dst.key:
            return True
        return any(matches(s, src.labels) and matches(d, dst.labels) and port in ps for s, d, ps in compiled)
    return expected
