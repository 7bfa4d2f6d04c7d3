"""compute_matrix: order, format, the listening note, and the grouped evaluation checked
against the per-pair engine (the correctness oracle for grouping)."""
from __future__ import annotations

import json

import pytest

from bench.generate import generate
from grader.cluster.base import Matrix, Reachability
from grader.model.matrix import compute_matrix, listen_note, with_listen_note
from grader.model.netpol import PolicyEngine
from grader.model.objects import ContainerPort, NamespaceInfo, Pod, namespace_labels


def small():
    nss = {n: NamespaceInfo(n, namespace_labels(n)) for n in ("a", "b")}
    http = (ContainerPort(80, "TCP", "http"),)
    pods = [
        Pod("b", "srv-2", "10.244.0.21", {"app": "srv"}, http, frozenset({(80, "TCP")})),
        Pod("a", "cli", "10.244.0.10", {"app": "cli"}),
        Pod("b", "srv-1", "10.244.0.20", {"app": "srv"}, http, frozenset({(80, "TCP")})),
    ]
    pol = {"metadata": {"name": "only-a", "namespace": "b"},
           "spec": {"podSelector": {"matchLabels": {"app": "srv"}},
                    "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {
                        "kubernetes.io/metadata.name": "a"}}}], "ports": [{"port": "http"}]}]}}
    return pods, nss, [pol]


def test_results_cover_every_ordered_pair_in_order():
    pods, nss, pols = small()
    m = compute_matrix(pods, nss, pols, ports=[81, 80], protocols=["tcp", "UDP"])
    assert isinstance(m, Matrix)
    assert [p.key for p in m.pods] == ["a/cli", "b/srv-1", "b/srv-2"]
    keys = [(r.src, r.dst, r.port, r.protocol) for r in m.results]
    assert len(keys) == 3 * 3 * 2 * 2
    assert keys == sorted(keys, key=lambda k: (k[0], k[1], k[2], ["TCP", "UDP"].index(k[3])))
    assert keys[:4] == [("a/cli", "a/cli", 80, "TCP"), ("a/cli", "a/cli", 80, "UDP"),
                        ("a/cli", "a/cli", 81, "TCP"), ("a/cli", "a/cli", 81, "UDP")]
    assert all(isinstance(r, Reachability) for r in m.results)
    assert m.results[-1] == list(m.results)[-1]


def test_verdicts_and_reasons():
    pods, nss, pols = small()
    m = compute_matrix(pods, nss, pols, ports=[80, 81])
    ok = m.lookup("a/cli", "b/srv-1", 80)
    assert ok.allowed and "policy b/only-a, ingress rule 0, peer 0" in ok.reason
    assert ok.reason.endswith(". b/srv-1 listens on 80/TCP.") and ".;" not in ok.reason
    assert not m.lookup("b/srv-2", "b/srv-1", 80).allowed            # same group, different pods
    assert m.lookup("b/srv-1", "b/srv-1", 80).allowed                 # self
    no81 = m.lookup("a/cli", "b/srv-1", 81)
    assert not no81.allowed and no81.reason.endswith(". Nothing listens on 81/TCP in b/srv-1.")
    assert m.lookup("b/srv-1", "a/cli", 80).allowed
    with pytest.raises(KeyError):
        m.lookup("a/cli", "b/srv-1", 443)


def test_json_is_the_public_format():
    pods, nss, pols = small()
    m = compute_matrix(pods, nss, pols)
    data = json.loads(m.to_json())
    assert data["pods"][0] == {"name": "a/cli", "ip": "10.244.0.10"}
    assert set(data["results"][0]) == {"from", "to", "port", "protocol", "allowed", "reason"}
    assert len(data["results"]) == 9


def test_deterministic():
    pods, nss, pols = small()
    a = compute_matrix(pods, nss, pols).to_json_dict()
    b = compute_matrix(list(reversed(pods)), nss, pols).to_json_dict()
    assert a == b


def test_listen_note():
    pod = Pod("x", "p", "10.0.0.1", listening=frozenset({(80, "TCP")}))
    assert listen_note(pod, 80, "TCP") == "x/p listens on 80/TCP."
    assert listen_note(pod, 80, "UDP") == "Nothing listens on 80/UDP in x/p."


def test_ipblock_splits_replicas_into_different_groups():
    nss = {"a": NamespaceInfo("a", namespace_labels("a"))}
    pods = [Pod("a", f"r{i}", f"10.244.0.{i}", {"app": "r"}) for i in range(1, 5)]
    pol = {"metadata": {"name": "p", "namespace": "a"},
           "spec": {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/30",
                                                                          "except": ["10.244.0.1/32"]}}]}]}}
    m = compute_matrix(pods, nss, [pol])
    # only 10.244.0.2 and .3 are inside the block and outside the except
    allowed_sources = {r.src for r in m.results if r.dst == "a/r4" and r.allowed and r.src != r.dst}
    assert allowed_sources == {"a/r2", "a/r3"}


def brute_force(pods, nss, pols, ports, protocols):
    engine = PolicyEngine(nss, pols)
    pods = sorted(pods, key=lambda p: (p.namespace, p.name))
    out = []
    for s in pods:
        for d in pods:
            for port in ports:
                for proto in protocols:
                    v = engine.check(s, d, port, proto)
                    out.append(Reachability(s.key, d.key, port, proto, v.allowed,
                                            with_listen_note(v.explanation, d, port, proto)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grouped_matrix_equals_per_pair_engine(seed):
    pods, nss, pols = generate(pods=60, namespaces=4, policies=36, seed=seed)
    ports, protocols = [53, 80, 81, 8080], ["TCP", "UDP"]
    m = compute_matrix(pods, nss, pols, ports=ports, protocols=protocols)
    expected = brute_force(pods, nss, pols, ports, protocols)
    got = list(m.results)
    assert len(got) == len(expected)
    diffs = [(g, e) for g, e in zip(got, expected, strict=False) if g != e]
    assert not diffs, diffs[:3]
    assert m.count_allowed() == sum(r.allowed for r in expected)
    assert any(r.allowed for r in expected) and not all(r.allowed for r in expected)


def test_generator_is_deterministic_and_covers_peer_kinds():
    a = generate(pods=40, namespaces=4, policies=24, seed=5)
    b = generate(pods=40, namespaces=4, policies=24, seed=5)
    assert a[2] == b[2] and [p.key for p in a[0]] == [p.key for p in b[0]]
    text = json.dumps(a[2])
    for needle in ('"ipBlock"', '"except"', '"endPort"', '"namespaceSelector"', '"matchExpressions"',
                   '"port": "http"', '"Egress"', '"protocol": "UDP"'):
        assert needle in text


# ------------------------------------------------------------------ display
def test_truth_table_text_like_upstream():
    from grader.display import format_matrix, truth_table
    pods, nss, pols = small()
    m = compute_matrix(pods, nss, pols, ports=[80])
    lines = truth_table(m, 80, "TCP").splitlines()
    assert lines[0].split() == ["-", "a/cli", "b/srv-1", "b/srv-2"]
    assert lines[1].split() == ["a/cli", ".", ".", "."]
    assert lines[2].split() == ["b/srv-1", ".", ".", "X"]
    assert lines[3].split() == ["b/srv-2", ".", "X", "."]
    text = format_matrix(m)
    assert text.startswith("80/TCP: 7/9 allowed\n") and "'X' = denied" in text
    numbered = truth_table(m, 80, "TCP", max_width=10).splitlines()
    assert numbered[0].split() == ["-", "0", "1", "2"]
    assert numbered[3].split() == ["2", "b/srv-2", ".", "X", "."]


def test_html_and_mermaid_and_verdict_formatting():
    from grader.display import TruthTable, format_verdict, mermaid_reachability
    pods, nss, pols = small()
    m = compute_matrix(pods, nss, pols, ports=[80])
    page = TruthTable(m)._repr_html_()
    assert page.count("<table") == 1 and "b/srv-1" in page and 'title="Denied: b/srv-2 -&gt; b/srv-1' in page
    chart = mermaid_reachability(m, 80)
    assert chart.startswith("flowchart LR") and 'subgraph ns_b["b"]' in chart
    assert "p_a_cli --> p_b_srv_1" in chart and "p_b_srv_2 --> p_b_srv_1" not in chart
    v = PolicyEngine(nss, pols).check(pods[1], pods[2], 80)
    lines = format_verdict(v, "b/srv-1 listens on 80/TCP").splitlines()
    assert lines[0] == "Allowed: a/cli -> b/srv-1 on 80/TCP."
    assert lines[1].startswith("  - a/cli is not isolated for egress")
    assert lines[2].startswith("  - b/srv-1 is isolated for ingress by b/only-a;")
    assert lines[-1] == "  - b/srv-1 listens on 80/TCP"


def test_text_tables_and_diagrams_never_render_explanations(monkeypatch):
    """A matrix explains lazily so that 1000-pod tables stay fast; text renderers must ask
    only for verdicts (an explanation costs microseconds, times millions of cells)."""
    from grader.display import format_matrix, mermaid_reachability
    from grader.model.matrix import GroupedMatrix
    pods, nss, pols = small()
    m = compute_matrix(pods, nss, pols, ports=[80, 81])
    expected = format_matrix(m)

    def refuse(*args, **kwargs):
        raise AssertionError("a text renderer asked for an explanation")

    monkeypatch.setattr(GroupedMatrix, "reason_at", refuse)
    assert format_matrix(m) == expected
    assert "-->" in mermaid_reachability(m, 80)


def test_plain_matrix_renders_like_a_grouped_one():
    """Live mode builds a plain Matrix from probes; it must draw the same table."""
    from grader.display import format_matrix
    pods, nss, pols = small()
    grouped = compute_matrix(pods, nss, pols, ports=[80])
    plain = Matrix(pods=list(grouped.pods), results=list(grouped.results))
    assert format_matrix(plain) == format_matrix(grouped)


def test_allowed_rows_are_the_per_pair_verdicts():
    """The renderers' bulk read must say exactly what allowed() says, cell by cell."""
    from bench.generate import generate
    pods, nss, pols = generate(60, 4, 30, 3)
    m = compute_matrix(pods, nss, pols, ports=[80, 81])
    keys = [p.key for p in m.pods]
    for port in (80, 81):
        rows = m.allowed_rows(port, "TCP")
        assert rows == [[m.allowed(s, d, port, "TCP") for d in keys] for s in keys]
        assert any(not v for row in rows for v in row) and any(v for row in rows for v in row)


def test_bulk_rendering_is_the_cell_by_cell_rendering():
    """display renders a grouped matrix from its per-group rows; the text must be exactly
    what asking every cell gives (a plain Matrix with the same verdicts)."""
    from bench.generate import generate
    from grader.display import format_matrix
    from grader.observations import Matrix
    pods, nss, pols = generate(40, 3, 25, 5)
    m = compute_matrix(pods, nss, pols, ports=[80, 81])
    plain = Matrix(pods=m.pods, results=[r for r in m.results])
    assert format_matrix(m) == format_matrix(plain)
    assert "X" in format_matrix(m) and "." in format_matrix(m)
