"""The model against the real cluster, beyond NetworkPolicy: the control-plane tests' DNS
questions asked from a pod through CoreDNS (dig, the pod's resolver), and what Services do
to packets (load spread, session affinity, a NotReady pod leaving the rotation, the source
address a NodePort's pod sees with externalTrafficPolicy Cluster and Local). Each
observation is made through the one Cluster API on both sides (the offline model and the
local cluster, the same manifests) and compared; the figures are printed.

Run by `make test-live`; skipped unless SVCLAB_CONTEXT is the local cluster's context."""
from __future__ import annotations

import os
import time
from typing import Any, Iterator

import pytest

from grader.cluster.offline import OfflineCluster
from grader.kind.images import AGNHOST_IMAGE
from grader.localcluster.layout import CONTEXT, GATEWAY_IP

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]


# ------------------------------------------------------------------------------------- DNS
@pytest.fixture(scope="module")
def dns_sides() -> Iterator[tuple[Any, Any]]:
    from grader.cluster.live import LiveCluster
    from tests.controlplane.test_cp_dns import MANIFESTS, NS

    # the control-plane test's client pod runs no command (kwok runs nothing); here it waits
    assert MANIFESTS.rstrip().endswith(f"name: c\n    image: {AGNHOST_IMAGE}")
    manifests = MANIFESTS.rstrip() + "\n    args: [pause]\n"
    live = LiveCluster(context=CONTEXT).namespace(NS)
    offline = OfflineCluster().namespace(NS)
    offline.apply(manifests)
    try:
        live.apply(manifests)
        live.wait_ready(timeout=180)
        yield offline, live
    finally:
        live.delete()


def test_dns_questions_from_a_pod_through_coredns_agree_with_the_model(dns_sides, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.controlplane.test_cp_dns import QUESTIONS, Side, model_answer

    offline, live = dns_sides
    off = Side({p.name: p.ip for p in offline.pods()})
    real = Side({p.name: p.ip for p in live.pods()})
    differ = []
    for name, rtype in QUESTIONS:
        want_rcode, want_records = model_answer(offline.state, off.question(name), rtype)
        want = (want_rcode, sorted(tuple(off.normal(f) for f in r) for r in want_records))
        got: tuple[str, list[tuple[str, ...]]] = ("", [])
        for _ in range(3):      # CoreDNS learns new endpoints through its watch: bounded retries
            answer = live.lookup(real.question(name) + ".", frm="client", rtype=rtype)
            got = (answer.rcode, sorted(tuple(real.normal(f.rstrip(".")) for f in (r.name, r.rtype, r.value))
                                        for r in answer.records))
            if got == want:
                break
            time.sleep(1.0)
        if got != want:
            differ.append(f"{rtype} {name}: CoreDNS via dig in a pod {got}; model {want}")
    with capsys.disabled():
        print(f"\nDNS through CoreDNS from a pod vs the model: {len(QUESTIONS)} questions, "
              f"{len(differ)} disagreements" + "".join(f"\n  {d}" for d in differ))
    assert not differ


# -------------------------------------------------------------------------------- Services
SERVICES_NS = "svclab-services-diff"
TRIES = 24
SERVICES = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: app
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port=8080]
        ports: [{{containerPort: 8080}}]
        readinessProbe:
          exec: {{command: [sh, -c, "test ! -e /tmp/unready"]}}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: sticky}}
spec:
  selector: {{app: web}}
  sessionAffinity: ClientIP
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: np-cluster}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080, nodePort: 30085}}]
---
apiVersion: v1
kind: Service
metadata: {{name: np-local}}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080, nodePort: 30086}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{app: client}}}}
spec:
  terminationGracePeriodSeconds: 0
  containers: [{{name: app, image: {AGNHOST_IMAGE}, args: [pause]}}]
"""


def _answered(ns: Any, target: str, tries: int = TRIES) -> list[str]:
    return [ns.probe(target, frm="client").pod or "-" for _ in range(tries)]


def _source_kind(ip: str) -> str:
    """What a pod's /clientip says about who connected: the learner's machine (kind's
    gateway address) or a node (its address on kind's network, or its pod-network gateway
    address when kube-proxy masquerades to a local endpoint)."""
    if ip == GATEWAY_IP:
        return "the client's address"
    if ip.startswith("172.18.0.") or (ip.startswith("10.244.") and ip.endswith(".1")):
        return "a node's address"
    return f"other ({ip})"


def _observe(cluster: Any, ns: Any, unready: Any) -> dict[str, Any]:
    web = sorted(p.name for p in ns.pods() if p.name.startswith("web-"))
    seen: dict[str, Any] = {"ready endpoints": len(web)}
    seen["pods answering web (24 tries)"] = len(set(_answered(ns, "web:80/hostname")))
    seen["pods answering sticky, ClientIP affinity (24 tries)"] = len(set(_answered(ns, "sticky:80/hostname")))
    for port, name in ((30085, "NodePort, externalTrafficPolicy Cluster"),
                       (30086, "NodePort, externalTrafficPolicy Local")):
        out = cluster.probe_external(port, path="/clientip")
        seen[f"{name}: the pod sees"] = _source_kind((out.body or "").rsplit(":", 1)[0]) if out.ok else out.status.value
    unready(f"{ns.name}/{web[0]}")
    answered = _answered(ns, "web:80/hostname")
    seen["after one pod turns NotReady: it still answers"] = f"{ns.name}/{web[0]}" in answered
    seen["after one pod turns NotReady: pods answering"] = len(set(answered))
    return seen


@pytest.fixture(scope="module")
def live_services() -> Iterator[tuple[Any, Any]]:
    from grader.cluster.live import LiveCluster

    cluster = LiveCluster(context=CONTEXT)
    ns = cluster.namespace(SERVICES_NS)
    try:
        ns.apply(SERVICES)
        ns.wait_ready(timeout=180)
        yield cluster, ns
    finally:
        ns.delete()


def test_service_spread_affinity_readiness_and_source_addresses_agree_with_the_model(
        live_services, capsys) -> None:  # type: ignore[no-untyped-def]
    cluster, ns = live_services

    kube_proxy_caught_up: list[float] = []

    def live_unready(key: str) -> None:
        started = time.monotonic()
        name = key.split("/")[1]
        ns._api.exec_in_pod(ns.name, name, ["sh", "-c", "touch /tmp/unready"], 10.0)
        deadline = time.monotonic() + 30
        while not any(e.pod == key and not e.ready for e in ns.endpoints("web")):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{key} never turned NotReady in the EndpointSlice")
            ns._api.wait_for_pod_event(ns.name, None, 1.0)
        # kube-proxy programs the change at its next sync (at most a second or so later):
        # the comparison is of the state it settles in, so wait until a round of probes
        # misses the pod, bounded; the 24 tries that follow then say whether it left
        while key in _answered(ns, "web:80/hostname", 6):
            if time.monotonic() > deadline:
                return      # still answering: the comparison below reports it
        kube_proxy_caught_up.append(time.monotonic() - started)

    offline_cluster = OfflineCluster()
    offline = offline_cluster.namespace(SERVICES_NS)
    offline.apply(SERVICES)
    model = _observe(offline_cluster, offline, lambda key: offline.set_ready(key.split("/")[1], False))
    real = _observe(cluster, ns, live_unready)
    differ = [f"{k}: live {real[k]!r}, model {model[k]!r}" for k in model if model[k] != real[k]]
    with capsys.disabled():
        caught_up = (f"; the NotReady pod left kube-proxy's rotation {kube_proxy_caught_up[0]:.1f}s after "
                     "its readiness check began to fail" if kube_proxy_caught_up else "")
        print(f"\nServices on the local cluster vs the model: {len(model)} observations, "
              f"{len(differ)} disagreements{caught_up}")
        for k in model:
            print(f"  {k}: live {real[k]!r}, model {model[k]!r}")
    assert real["pods answering web (24 tries)"] == 3
    assert not differ
