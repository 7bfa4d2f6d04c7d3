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
