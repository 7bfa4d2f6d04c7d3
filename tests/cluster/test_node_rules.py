"""Reading kube-proxy's table from a live node (grader/cluster/node_rules.py) and the live
backend's kube_proxy_rules around it, with the command runner faked: which command runs
where, and what a learner is told when the rules cannot be read."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.cluster import live, node_rules
from grader.cluster.node_rules import NodeRulesUnavailable, kube_proxy_pid, read_table
from grader.kind import CONTEXT_NAME, LOCAL_CONTEXT
from tests.fakes.kube_client import NS, World

RECORDED = (Path(__file__).resolve().parents[1] / "fixtures" / "kube_proxy" / "svclab-worker.nft").read_text()


def test_the_local_cluster_is_read_inside_the_nodes_network_namespace() -> None:
    seen = []

    def run(argv):
        seen.append(argv)
        return 0, RECORDED, ""
    out = read_table(LOCAL_CONTEXT, "svclab-worker", run=run, find_pid=lambda node: 4242)
    assert out == RECORDED
    assert seen == [["nsenter", "--target=4242", "--net", "nft", "list", "table", "ip", "kube-proxy"]]


def test_a_local_cluster_that_is_down_is_named() -> None:
    with pytest.raises(NodeRulesUnavailable, match="is the local cluster up"):
        read_table(LOCAL_CONTEXT, "svclab-worker", run=lambda argv: (0, "", ""), find_pid=lambda node: None)


def test_kind_is_read_with_docker_exec_and_iptables_mode_is_explained(monkeypatch) -> None:
    monkeypatch.setattr(node_rules.shutil, "which", lambda name: "/usr/bin/docker")
    seen = []

    def run(argv):
        seen.append(argv)
        return 1, "", "Error: No such file or directory\nlist table ip kube-proxy\n"
    with pytest.raises(NodeRulesUnavailable, match="iptables-save -t nat"):
        read_table(CONTEXT_NAME, "svclab-control-plane", run=run)
    assert seen == [["docker", "exec", "svclab-control-plane", "nft", "list", "table", "ip", "kube-proxy"]]


def test_any_other_cluster_says_what_an_administrator_runs() -> None:
    with pytest.raises(NodeRulesUnavailable, match="not on context 'prod'.*nft list table ip kube-proxy"):
        read_table("prod", "node-1", run=lambda argv: pytest.fail("nothing may run"))


def test_the_pid_is_the_kube_proxy_of_that_node(tmp_path: Path) -> None:
    for pid, argv in ((10, ["/usr/bin/kubelet", "--hostname-override=svclab-worker"]),
                      (11, ["/bin/kube-proxy", "--proxy-mode=nftables", "--hostname-override=svclab-control-plane"]),
                      (12, ["/bin/kube-proxy", "--proxy-mode=nftables", "--hostname-override=svclab-worker"])):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (tmp_path / "self").mkdir()
    assert kube_proxy_pid("svclab-worker", proc=tmp_path) == 12
    assert kube_proxy_pid("svclab-worker2", proc=tmp_path) is None


def test_the_live_backend_parses_and_cuts_one_services_part(monkeypatch) -> None:
    w = World()
    w.core.nodes = [{"metadata": {"name": "svclab-worker"}}, {"metadata": {"name": "svclab-control-plane"}}]
    w.core.services["web"] = {"metadata": {"name": "web", "namespace": NS}}
    asked = []
    monkeypatch.setattr(live, "read_table", lambda context, node: asked.append(node) or
                        RECORDED.replace("uh20/", f"{NS}/").replace('"uh20/', f'"{NS}/'))
    rules = w.ns().kube_proxy_rules("web")
    assert asked == ["svclab-control-plane"]            # the first node by name, as offline
    assert rules.service == f"{NS}/web" and rules.node == "svclab-control-plane"
    assert rules.chains() == [c for c in rules.table.chains if f"-{NS}/web/" in c] and len(rules.chains()) == 1
    with pytest.raises(LookupError, match="no Service 'nope'"):
        w.ns().kube_proxy_rules("nope")
    with pytest.raises(LookupError, match="nodes: svclab-control-plane, svclab-worker"):
        w.cluster.kube_proxy_rules("node9")


def test_one_services_rules_wait_for_kube_proxy_to_write_its_ready_endpoints(monkeypatch) -> None:
    """Live grading read the rules right after an apply and saw the Service rejected: for
    one Service the backend waits (bounded) until the DNAT lists its ready endpoints."""
    from grader.observations import Endpoint

    w = World()
    w.core.nodes = [{"metadata": {"name": "svclab-worker"}}]
    w.core.services["web"] = {"metadata": {"name": "web", "namespace": NS},
                              "spec": {"clusterIP": "10.96.163.209"}}
    live_text = RECORDED.replace("uh20/", f"{NS}/")
    before = live_text.replace("10.96.163.209 . tcp . 80 : goto service-63H3TDAS",
                               "10.96.163.209 . tcp . 80 : goto service-NOTYET00")   # no such chain yet
    readings = iter([before, before, live_text])
    monkeypatch.setattr(live, "read_table", lambda context, node: next(readings))
    monkeypatch.setattr(live.LiveNamespace, "endpoints", lambda self, name: [
        Endpoint("10.244.0.4", 8080), Endpoint("10.244.1.2", 8080), Endpoint("10.244.1.3", 8080, ready=False)])
    rules = w.cluster.kube_proxy_rules(service=f"{NS}/web")
    assert [p.targets for p in rules.paths()] == [("10.244.0.4:8080", "10.244.1.2:8080")]
    assert w.slept >= 1.0                        # two readings were too early
