"""keeps_client_address and source_ranges judge what the load balancer does and admits: the
address a pod sees under each externalTrafficPolicy, and allow-lists broader than the task,
missing, or shutting the client out."""
from __future__ import annotations

import pytest

from grader import checks
from grader.cluster.offline import OfflineCluster
from grader.labs.workloads import netexec_workload


def _lb(extra: str = "") -> str:
    return f"""apiVersion: v1
kind: Service
metadata: {{name: front}}
spec:
  type: LoadBalancer
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
{extra}"""


def _verdict(check, extra: str, nodes: int = 1):
    ns = OfflineCluster(nodes=nodes, say=lambda _: None).namespace("t")
    ns.apply(netexec_workload("web", {"app": "web"}, replicas=2) + "---\n" + _lb(extra))
    return check.fn(ns)


@pytest.mark.parametrize("nodes", [1, 2])
def test_keeps_client_address_passes_only_under_local(nodes: int) -> None:
    kept = _verdict(checks.keeps_client_address("front"), "  externalTrafficPolicy: Local\n", nodes)
    assert kept.share == 1, kept.feedback
    lost = _verdict(checks.keeps_client_address("front"), "  externalTrafficPolicy: Cluster\n", nodes)
    assert lost.share == 0 and "a node's address" in lost.feedback


@pytest.mark.parametrize(("ranges", "passes", "says"), [
    ("[172.18.0.0/24]", True, "only 172.18.0.0/24"),
    ("[172.18.0.1/32, 172.18.0.128/25]", True, "172.18.0.1/32"),
    ("[0.0.0.0/0]", False, "reaches beyond 172.18.0.0/24"),
    ("[172.18.0.0/16]", False, "reaches beyond"),
    ("[172.18.0.2/32]", False, "leave out 172.18.0.1"),
    ("", False, "no loadBalancerSourceRanges"),
])
def test_source_ranges_refuses_broad_missing_and_excluding_lists(ranges: str, passes: bool, says: str) -> None:
    extra = f"  loadBalancerSourceRanges: {ranges}\n" if ranges else ""
    verdict = _verdict(checks.source_ranges("front", within="172.18.0.0/24"), extra)
    assert (verdict.share == 1) is passes and says in verdict.feedback


def _node_port(policy: str) -> str:
    return f"""apiVersion: v1
kind: Service
metadata: {{name: front}}
spec:
  type: NodePort
  externalTrafficPolicy: {policy}
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080, nodePort: 30080}}]
"""


def _every_node(policy: str, nodes: int):
    ns = OfflineCluster(nodes=nodes, say=lambda _: None).namespace("t")
    ns.apply(netexec_workload("web", {"app": "web"}, replicas=2) + "---\n" + _node_port(policy))
    check = checks.every_node_answers(30080, service="front", selector="app=web",
                                      shrink=netexec_workload("web", {"app": "web"}, replicas=1))
    return ns, check.fn(ns)


def test_every_node_answers_under_cluster_even_the_node_without_a_pod() -> None:
    ns, verdict = _every_node("Cluster", 2)
    assert verdict.share == 1, verdict.feedback
    # the check shrank web to one pod, so one node answered for a pod elsewhere
    assert len(checks.pods_matching(ns, "app=web")) == 1
    assert "svclab-control-plane" in verdict.feedback and "svclab-worker" in verdict.feedback


def test_every_node_answers_fails_local_naming_the_node_that_drops() -> None:
    """Upstream: under externalTrafficPolicy Local a node with no local ready endpoint
    drops outside traffic to the node port (kube-proxy "has no local endpoints")."""
    ns, verdict = _every_node("Local", 2)
    assert verdict.share == 0
    empty = next(n for n in ns.cluster.node_addresses()
                 if n not in {e.node for e in ns.endpoints("front")})
    assert f"node {empty}" in verdict.feedback and "TIMEOUT" in verdict.feedback
    assert "externalTrafficPolicy: Local" in verdict.feedback


def test_every_node_answers_cannot_tell_local_on_one_node() -> None:
    """With one node, the node always holds the remaining pod: Local answers there too, which
    is why the lab that uses the check asks the offline model for two nodes."""
    _, verdict = _every_node("Local", 1)
    assert verdict.share == 1, verdict.feedback


class _StaleRuleOnce(OfflineCluster):
    """Live-like: the first request to `host` meets a rule kube-proxy has not yet removed
    (the scaled-down pod's), as the local cluster showed right after a scale-down."""

    mode = "live"

    def __init__(self, host_index: int) -> None:
        super().__init__(nodes=2, say=lambda _: None)
        self.stale_host = sorted(self.node_addresses().values())[host_index]
        self.asked: list[str] = []

    def probe_external(self, port, host="127.0.0.1", path=None, timeout=2.0):  # type: ignore[no-untyped-def]
        self.asked.append(host)
        if host == self.stale_host and self.asked.count(host) == 1:
            from grader.observations import Outcome, Status
            return Outcome(Status.TIMEOUT, f"{host}:{port}", reason="a removed pod's rule")
        return super().probe_external(port, host=host, path=path, timeout=timeout)


@pytest.mark.parametrize("host_index", [0, 1])
def test_every_node_answers_asks_again_after_a_stale_rule_under_cluster(monkeypatch, host_index: int) -> None:
    monkeypatch.setattr("grader.checks.traffic.time.sleep", lambda _s: None)
    cluster = _StaleRuleOnce(host_index)
    ns = cluster.namespace("t")
    ns.apply(netexec_workload("web", {"app": "web"}, replicas=2) + "---\n" + _node_port("Cluster"))
    check = checks.every_node_answers(30080, service="front", selector="app=web",
                                      shrink=netexec_workload("web", {"app": "web"}, replicas=1))
    verdict = check.fn(ns)
    assert verdict.share == 1, verdict.feedback
    assert cluster.asked.count(cluster.stale_host) == 2
