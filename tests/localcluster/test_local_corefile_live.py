"""An edited Corefile, on real CoreDNS (the local cluster) and in the offline model: the same
answers (rcode, records and their owner names, the TTL a fresh answer carries) and the same
probe outcomes. The Corefile is put back at the end.

Run by `make test-live`; skipped unless SVCLAB_CONTEXT is the local cluster's context."""
from __future__ import annotations

import os

import pytest

from grader.cluster.live import LiveCluster
from grader.cluster.offline import OfflineCluster
from grader.kind.images import AGNHOST_IMAGE
from grader.localcluster.layout import CONTEXT
from grader.observations import Status

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]

NS = "svclab-corefile-test"
APP = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: app, image: {AGNHOST_IMAGE}, args: [netexec, --http-port=8080], ports: [{{containerPort: 8080}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{app: client}}}}
spec:
  containers: [{{name: shell, image: {AGNHOST_IMAGE}, args: [pause]}}]
"""


def edited(original: str) -> str:
    rules = (f"    rewrite name exact api.internal web.{NS}.svc.cluster.local\n"
             f"    rewrite name suffix .legacy.internal .{NS}.svc.cluster.local\n")
    text = original.replace("    kubernetes cluster.local", rules + "    kubernetes cluster.local", 1)
    assert rules in text
    return text + "\ncorp.example:53 {\n    errors\n    hosts {\n        10.0.0.53 db.corp.example\n    }\n}\n"


QUESTIONS = ["api.internal", "web.legacy.internal", "db.corp.example", "api.corp.example", "web"]
PROBES = ["api.internal:80/hostname", "web.legacy.internal:80/hostname"]


def observe(cluster, ns) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    def dns(name: str) -> tuple:
        a = ns.lookup(name, frm="app=client")
        return a.rcode, sorted((r.name, r.rtype) for r in a.records), len(a.addresses), a.ttl
    return [dns(q) for q in QUESTIONS], [ns.probe(p, frm="app=client").status for p in PROBES]


def test_an_edited_corefile_answers_live_as_offline() -> None:
    live = LiveCluster(context=CONTEXT, say=lambda line: None)
    ns = live.namespace(NS)
    original = live.corefile()
    try:
        ns.apply(APP)
        ns.wait_ready(timeout=180)
        live.edit_corefile(edited(original))                  # returns once every replica reloaded
        live_dns, live_probes = observe(live, ns)
    finally:
        live.edit_corefile(original)
        ns.delete()
    offline = OfflineCluster(say=lambda line: None)
    off_ns = offline.namespace(NS)
    off_ns.apply(APP)
    offline.edit_corefile(edited(offline.corefile()))
    off_dns, off_probes = observe(offline, off_ns)
    assert live_dns == off_dns
    assert live_probes == off_probes == [Status.OK, Status.DNS_ERROR]
