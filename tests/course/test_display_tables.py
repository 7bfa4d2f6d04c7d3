"""Notebook tables and the topology diagram render what the namespace really holds."""
from __future__ import annotations

from grader import display
from grader.cluster.offline import OfflineCluster
from grader.kind.images import AGNHOST_IMAGE

APP = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: c, image: {AGNHOST_IMAGE}, args: [netexec, --http-port=8080],
         ports: [{{containerPort: 8080}}]}}
---
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
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080, nodePort: 30080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: db}}
spec:
  type: ExternalName
  externalName: db.example.com
"""


def _ns():
    ns = OfflineCluster().namespace("show")
    ns.apply(APP)
    return ns


def test_endpoints_table_marks_not_ready_pods() -> None:
    ns = _ns()
    web = sorted(p.name for p in ns.pods() if p.name.startswith("web-"))
    ns.set_ready(web[0], False)
    t = display.endpoints_table(ns, "web")
    assert t.title == "Endpoints of Service web: 1 ready of 2"
    rows = {r[0]: r for r in t.rows}
    assert rows[web[0]][4] == "no" and rows[web[1]][4] == "yes"
    assert all(r[2] == "8080/TCP" for r in t.rows)
    assert display.BAD in t._repr_html_()


def test_services_table_reads_like_kubectl_get_svc() -> None:
    t = display.services_table(_ns())
    rows = {r[0]: r for r in t.rows}
    assert rows["web"][1] == "NodePort" and rows["web"][4] == "80:30080/TCP"
    assert rows["db"][2] == "<none>" and rows["db"][3] == "db.example.com"
    assert str(t).splitlines()[1].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "SELECTOR"]


def test_dns_table_shows_nxdomain_rows() -> None:
    ns = _ns()
    t = display.dns_table(ns.lookup("web", frm="app=client"), ns.lookup("nope", frm="app=client"))
    assert [r[2] for r in t.rows] == ["NOERROR", "NXDOMAIN"]
    assert t.rows[0][5] == ns.service("web").cluster_ip


def test_answer_counts_add_up_to_the_requests() -> None:
    ns = _ns()
    outs = [ns.probe("web:80/hostname", frm="app=client") for _ in range(10)]
    t = display.answer_counts(outs)
    assert sum(r[1] for r in t.rows) == 10
    assert {r[0] for r in t.rows} <= {p.name for p in ns.pods()}


def test_topology_draws_only_what_the_service_selects() -> None:
    ns = _ns()
    src = display.topology(ns).source
    web = [p for p in ns.pods() if p.name.startswith("web-")]
    for p in web:
        assert f"-->|8080| {display._mermaid_id('show/' + p.name)}" in src
    assert f"|8080| {display._mermaid_id('show/client')}" not in src
    assert "-. CNAME .->" in src
    assert display.topology(ns)._repr_markdown_().startswith("```mermaid\nflowchart LR")


def test_empty_table_says_none() -> None:
    t = display.Table([], ["a"])
    assert str(t).endswith("(none)") and "(none)" in t._repr_html_()
