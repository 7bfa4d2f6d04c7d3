"""DNS, differential: the model's answers (grader.model.dns) and real CoreDNS's (kind's
Corefile, the kubernetes plugin watching the control plane) for the Services and pods the
course's notebooks create, every fully qualified name form, asked directly with dnspython.

Both sides hold the same objects but not the same pod IPs; answers are compared with every
pod IP (and dashed pod IP in a name) replaced by the pod's name. Names that would go to
CoreDNS's upstream resolver (outside cluster.local, unknown reverse names, an
ExternalName's target) are left out: there is no upstream here, and the model documents
what it assumes for them.
"""
from __future__ import annotations

import re
import time
from typing import Iterator

import pytest

from grader.cluster.live import LiveNamespace
from grader.cluster.offline import OfflineCluster, OfflineNamespace
from grader.kind.images import AGNHOST_IMAGE
from grader.model import dns as model_dns
from tests.controlplane.upstream import ControlPlane

dns_message = pytest.importorskip("dns.message", reason="dnspython is in the test extra (make setup)")
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402

pytestmark = pytest.mark.controlplane

NS = "cp-dns"
BACKEND_IP = "10.96.0.150"

MANIFESTS = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: backend}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: backend}}}}
  template:
    metadata: {{labels: {{app: backend}}}}
    spec:
      containers:
      - name: app
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port=8080, --udp-port=8081]
        ports: [{{containerPort: 8080, name: http}}, {{containerPort: 8081, name: udp, protocol: UDP}}]
---
apiVersion: v1
kind: Service
metadata: {{name: backend}}
spec:
  clusterIP: {BACKEND_IP}
  selector: {{app: backend}}
  ports:
  - {{name: http, port: 80, targetPort: http}}
  - {{name: udp, port: 81, protocol: UDP, targetPort: udp}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  replicas: 2
  serviceName: db
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers:
      - name: db
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port=5432]
        ports: [{{containerPort: 5432, name: pg}}]
---
apiVersion: v1
kind: Service
metadata: {{name: db}}
spec:
  clusterIP: None
  selector: {{app: db}}
  ports: [{{name: pg, port: 5432, targetPort: pg}}]
---
apiVersion: v1
kind: Service
metadata: {{name: nobody}}
spec:
  clusterIP: None
  selector: {{app: nobody}}
  ports: [{{name: http, port: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: external-db}}
spec:
  type: ExternalName
  externalName: db.example.com
---
apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{app: client}}}}
spec:
  hostname: client
  subdomain: db
  containers:
  - name: c
    image: {AGNHOST_IMAGE}
"""

S = f"{NS}.svc.cluster.local"

#: (name, type). "{db0}" is the dashed IP of pod db-0 on each side.
QUESTIONS = [
    (f"backend.{S}", "A"), (f"backend.{S}", "AAAA"), (f"backend.{S}", "SRV"), (f"backend.{S}", "TXT"),
    (f"Backend.{S}", "A"),
    (f"_http._tcp.backend.{S}", "SRV"), (f"_udp._udp.backend.{S}", "SRV"),
    (f"_http._udp.backend.{S}", "SRV"), (f"_nope._tcp.backend.{S}", "SRV"),
    (f"db.{S}", "A"), (f"db.{S}", "SRV"), (f"_pg._tcp.db.{S}", "SRV"),
    (f"db-0.db.{S}", "A"), (f"db-1.db.{S}", "A"), (f"db-7.db.{S}", "A"),
    (f"client.db.{S}", "A"),
    (f"nobody.{S}", "A"), (f"nobody.{S}", "SRV"),
    (f"external-db.{S}", "CNAME"), (f"external-db.{S}", "SRV"), (f"_x._tcp.external-db.{S}", "SRV"),
    (f"missing.{S}", "A"), (S, "A"), ("svc.cluster.local", "A"), ("cluster.local", "A"),
    ("no-such-ns.svc.cluster.local", "A"), (f"backend.{NS}.pod.cluster.local", "A"),
    ("{db0}." + f"{NS}.pod.cluster.local", "A"), ("{db0}.no-such-ns.pod.cluster.local", "A"),
    (f"a.b.backend.{S}", "A"),
    ("dns-version.cluster.local", "TXT"),
    ("kube-dns.kube-system.svc.cluster.local", "A"),
    ("kubernetes.default.svc.cluster.local", "A"),
    ("150.0.96.10.in-addr.arpa", "PTR"),
    ("10.0.96.10.in-addr.arpa", "PTR"),
    ("{db0-ptr}", "PTR"),
]


class Side:
    """One backend's view: its pod IPs by name, to normalize answers."""

    def __init__(self, pods: dict[str, str]) -> None:
        self.by_ip = {ip: name for name, ip in pods.items()}
        self.pods = pods

    def question(self, name: str) -> str:
        db0 = self.pods["db-0"]
        return (name.replace("{db0-ptr}", ".".join(reversed(db0.split("."))) + ".in-addr.arpa")
                .replace("{db0}", db0.replace(".", "-")))

    def normal(self, text: str) -> str:
        for ip, pod in self.by_ip.items():
            text = text.replace(ip.replace(".", "-"), f"<{pod}>")
            text = re.sub(rf"(?<![\d.]){re.escape(ip)}(?![\d.])", f"<{pod}>", text)
            text = text.replace(".".join(reversed(ip.split("."))) + ".in-addr.arpa", f"<ptr {pod}>")
        return text


def coredns_answer(cp: ControlPlane, name: str, rtype: str) -> tuple[str, list[tuple[str, str, str]]]:
    query = dns_message.make_query(name, rtype)
    host, port = cp.dns
    response = dns.query.udp(query, host, port=port, timeout=5)
    records = []
    for rrset in response.answer:
        owner = rrset.name.to_text().rstrip(".")
        kind = dns.rdatatype.to_text(rrset.rdtype)
        for rr in rrset:
            if kind == "SRV":
                value = f"{rr.priority} {rr.weight} {rr.port} {rr.target.to_text().rstrip('.')}"
            elif kind in ("CNAME", "PTR"):
                value = rr.target.to_text().rstrip(".")
            else:
                value = rr.to_text()
            records.append((owner, kind, value))
    return dns.rcode.to_text(response.rcode()), records


def model_answer(state, name: str, rtype: str) -> tuple[str, list[tuple[str, str, str]]]:
    answer = model_dns.resolve(state, name + ".", NS, rtype)
    return answer.rcode, [(r.name.rstrip("."), r.rtype, r.value.rstrip(".")) for r in answer.records]


@pytest.fixture(scope="module")
def sides(control_plane: ControlPlane) -> Iterator[tuple[OfflineNamespace, LiveNamespace]]:
    live = control_plane.live_cluster().namespace(NS)
    offline = OfflineCluster().namespace(NS)
    offline.apply(MANIFESTS)
    live.apply(MANIFESTS)
    live.wait_ready(timeout=90)
    yield offline, live
    live.delete()


@pytest.mark.parametrize("name,rtype", QUESTIONS, ids=[f"{t}:{n}" for n, t in QUESTIONS])
def test_coredns_and_the_model_agree(name: str, rtype: str, sides, control_plane: ControlPlane):
    offline, live = sides
    off = Side({p.name: p.ip for p in offline.pods()})
    real = Side({p.name: p.ip for p in live.pods()})

    def settled() -> tuple:
        rcode, records = coredns_answer(control_plane, real.question(name), rtype)
        return rcode, sorted(tuple(real.normal(f) for f in r) for r in records)

    want_rcode, want_records = model_answer(offline.state, off.question(name), rtype)
    want = (want_rcode, sorted(tuple(off.normal(f) for f in r) for r in want_records))
    got = settled()
    # CoreDNS learns of new endpoints through its watch: give it a moment, bounded
    for _ in range(20):
        if got == want:
            break
        time.sleep(0.25)
        got = settled()
    assert got == want, f"{rtype} {name}\n  CoreDNS: {got}\n  model:   {want}"
