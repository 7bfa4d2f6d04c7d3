"""What only the local cluster (svclab cluster up --local) can show: two real nodes,
traffic from the learner's machine arriving from 172.18.0.1, NetworkPolicy enforced by
the agent and not without it, and an image it does not have refused at once.

Run by `make test-live`; skipped unless SVCLAB_CONTEXT is the local cluster's context."""
from __future__ import annotations

import ipaddress
import os
import time
from typing import Iterator

import pytest

from grader.cluster.base import Namespace, Status
from grader.kind.images import AGNHOST_IMAGE
from grader.labs import canary
from grader.localcluster.layout import CONTEXT, GATEWAY_IP
from grader.model.services import LB_POOL

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]

NS = "svclab-local-test"

SPREAD = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 4
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      topologySpreadConstraints:
      - {{maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
          labelSelector: {{matchLabels: {{app: web}}}}}}
      containers:
      - name: app
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port=8080]
        ports: [{{containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /healthz, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080, nodePort: 30081}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web-cluster}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080, nodePort: 30082}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{app: client}}}}
spec:
  containers: [{{name: app, image: {AGNHOST_IMAGE}, args: [pause]}}]
"""


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    from grader.cluster.live import LiveCluster

    return LiveCluster(context=CONTEXT)


@pytest.fixture(scope="module")
def ns(cluster) -> Iterator[Namespace]:  # type: ignore[no-untyped-def]
    namespace = cluster.namespace(NS)
    try:
        namespace.apply(SPREAD)
        namespace.wait_ready(timeout=180)
        yield namespace
    finally:
        namespace.delete()


def _node_of(ip: str) -> int:
    """Node i owns 10.244.i.0/24."""
    return int(ip.split(".")[2])


def test_pods_spread_over_both_nodes_and_reach_each_other(ns: Namespace) -> None:
    web = [p for p in ns.pods() if p.name.startswith("web-")]
    assert {_node_of(p.ip) for p in web} == {0, 1}
    for pod in web:
        out = ns.probe(f"{pod.ip}:8080/hostname", frm="client")
        assert out.ok and out.body == pod.name


def test_nodeport_from_the_host_arrives_from_kinds_gateway_address(cluster, ns: Namespace) -> None:  # type: ignore[no-untyped-def]
    # externalTrafficPolicy Local keeps the client address: the host's traffic comes from 172.18.0.1
    local = cluster.probe_external(30081, path="/clientip")
    assert local.ok and local.body.rsplit(":", 1)[0] == GATEWAY_IP
    # Cluster policy masquerades to the node address
    masq = cluster.probe_external(30082, path="/clientip")
    assert masq.ok and masq.body.rsplit(":", 1)[0].startswith(("172.18.0.2", "10.244."))


LOAD_BALANCERS = """
apiVersion: v1
kind: Service
metadata: {name: web-lb-local}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web-lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 8081, targetPort: 8080}]
"""


def _external_address(ns: Namespace, name: str) -> str:
    deadline = time.monotonic() + 60
    while not ns.service(name).external_address and time.monotonic() < deadline:
        time.sleep(0.5)
    address = ns.service(name).external_address
    assert address, f"MetalLB gave {name} no address in 60 s"
    return address


def test_loadbalancer_addresses_come_from_the_models_pool_and_answer_inside_and_out(cluster, ns: Namespace) -> None:  # type: ignore[no-untyped-def]
    ns.apply(LOAD_BALANCERS)
    local, plain = _external_address(ns, "web-lb-local"), _external_address(ns, "web-lb")
    low, high = (ipaddress.ip_address(a) for a in LB_POOL)
    assert low <= ipaddress.ip_address(local) <= high and low <= ipaddress.ip_address(plain) <= high
    assert local != plain
    web = {p.name for p in ns.pods() if p.name.startswith("web-")}
    # from the learner's machine (through the publisher, to the nodePort, as Envoy does on kind)
    answered = {cluster.probe_external(8081, host=plain, path="/hostname").body for _ in range(12)}
    assert answered <= web and len(answered) >= 2
    seen = cluster.probe_external(80, host=local, path="/clientip")
    assert seen.ok and seen.body.rsplit(":", 1)[0] == GATEWAY_IP         # Local keeps the client address
    masq = cluster.probe_external(8081, host=plain, path="/clientip")
    assert masq.ok and masq.body.rsplit(":", 1)[0].startswith(("172.18.0.", "10.244."))
    assert masq.body.rsplit(":", 1)[0] != GATEWAY_IP                       # Cluster masquerades
    # from a pod: kube-proxy's LoadBalancer rules answer the address on the node itself
    inside = ns.probe(f"{plain}:8081/hostname", frm="client")
    assert inside.ok and inside.body in web


def test_an_image_the_cluster_does_not_have_is_refused_at_apply(ns: Namespace) -> None:
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: nginx}
spec:
  containers: [{name: web, image: "nginx:1.27"}]
"""
    with pytest.raises(Exception, match=r"image nginx:1.27 is not in the local cluster, which has no registry"):
        ns.apply(manifest)
    assert "nginx" not in {p.name for p in ns.pods()}


def test_canary_sees_enforcement_and_its_absence_with_the_agent_stopped(cluster) -> None:  # type: ignore[no-untyped-def]
    from grader.localcluster import lifecycle

    assert canary.enforcement_problem(cluster) is None
    lifecycle.policy_agent(False, say=lambda line: None)
    try:
        assert canary.enforcement_problem(cluster) == canary.NOT_ENFORCED
    finally:
        lifecycle.policy_agent(True, say=lambda line: None)
    assert canary.enforcement_problem(cluster) is None


def test_dns_answers_through_coredns_running_as_a_pod(ns: Namespace) -> None:
    answer = ns.lookup("web", frm="client")
    assert answer.rcode == "NOERROR"
    assert answer.name.rstrip(".") == f"web.{NS}.svc.cluster.local"
    assert ns.lookup("kube-dns.kube-system", frm="client").addresses == ["10.96.0.10"]
    assert ns.probe("web:80", frm="client").status is Status.OK
