"""The query sequence a pod's resolver sends (search list + ndots:5), as notebook 08 shows it:
each candidate asked as an absolute name, stopping where `dig +search` stops."""
from __future__ import annotations

from grader import checks, display
from grader.cluster.offline import OfflineCluster
from grader.kind.images import AGNHOST_IMAGE

APP = f"""
apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{app: client}}}}
spec:
  containers: [{{name: c, image: {AGNHOST_IMAGE}, args: [pause]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80}}]
"""


def _cluster():
    cluster = OfflineCluster()
    cluster.namespace("other").apply(APP)
    ns = cluster.namespace("dns")
    ns.apply(APP)
    return ns


def _sent(queries):
    return [(q.query, q.rcode) for q in queries]


def test_an_external_name_costs_three_nxdomains_before_the_real_question() -> None:
    queries = checks.resolver_queries(_cluster(), "api.example.com", frm="app=client")
    assert [q.query for q in queries] == [
        "api.example.com.dns.svc.cluster.local.", "api.example.com.svc.cluster.local.",
        "api.example.com.cluster.local.", "api.example.com."]
    assert [q.rcode for q in queries[:3]] == ["NXDOMAIN"] * 3
    assert queries[3].rcode != "NXDOMAIN"   # offline: SERVFAIL, no upstream; live: the internet's answer


def test_a_trailing_dot_sends_exactly_one_query() -> None:
    queries = checks.resolver_queries(_cluster(), "api.example.com.", frm="app=client")
    assert [q.query for q in queries] == ["api.example.com."]


def test_a_short_name_is_answered_by_the_first_suffix() -> None:
    ns = _cluster()
    queries = checks.resolver_queries(ns, "web", frm="app=client")
    assert _sent(queries) == [("web.dns.svc.cluster.local.", "NOERROR")]
    assert queries[0].addresses == [ns.service("web").cluster_ip]


def test_another_namespace_costs_one_nxdomain() -> None:
    queries = checks.resolver_queries(_cluster(), "web.other", frm="app=client")
    assert _sent(queries) == [("web.other.dns.svc.cluster.local.", "NXDOMAIN"),
                              ("web.other.svc.cluster.local.", "NOERROR")]


def test_four_dots_are_below_ndots_so_even_the_full_name_walks_the_list_first() -> None:
    queries = checks.resolver_queries(_cluster(), "web.other.svc.cluster.local", frm="app=client")
    assert [q.rcode for q in queries] == ["NXDOMAIN"] * 3 + ["NOERROR"]
    assert queries[-1].query == "web.other.svc.cluster.local."


def test_five_dots_ask_the_name_as_given_first() -> None:
    queries = checks.resolver_queries(_cluster(), "a.b.c.d.example.com", frm="app=client")
    assert queries[0].query == "a.b.c.d.example.com."
    assert len(queries) == 1   # not NXDOMAIN offline (a public TLD: SERVFAIL), so it stops


def test_nodata_stops_the_walk() -> None:
    queries = checks.resolver_queries(_cluster(), "web", frm="app=client", rtype="AAAA")
    assert _sent(queries) == [("web.dns.svc.cluster.local.", "NOERROR")]
    assert queries[0].records == ()


def test_a_name_nobody_has_is_nxdomain_for_every_candidate() -> None:
    queries = checks.resolver_queries(_cluster(), "nope", frm="app=client")
    assert len(queries) == 4 and all(q.rcode == "NXDOMAIN" for q in queries)


def test_queries_table_says_what_the_resolver_does_next() -> None:
    ns = _cluster()
    text = str(display.queries_table(checks.resolver_queries(ns, "web.other", frm="app=client")))
    assert text.splitlines()[0] == "2 queries, 1 NXDOMAIN"
    assert "tries the next name" in text.splitlines()[2]
    assert f"stops: {ns.cluster.namespace('other', fresh=False).service('web').cluster_ip}" in text
    nodata = str(display.queries_table(checks.resolver_queries(ns, "web", frm="app=client", rtype="AAAA")))
    assert "NODATA" in nodata and nodata.startswith("1 query, 0 NXDOMAIN")
    gone = display.queries_table(checks.resolver_queries(ns, "nope", frm="app=client"))
    assert "gives up" in str(gone).splitlines()[-1] and "<table" in gone._repr_html_()
