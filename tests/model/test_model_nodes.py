"""Issue 7 §3-§5: nodes laid out as kind does, no pod missing silently, random endpoint
choice, and a Namespace API that agrees with the CLI."""
from __future__ import annotations

import collections
import ipaddress

import pytest
from test_model_kit import client_and_backend, deployment, service

from grader.cluster.offline import OfflineCluster
from grader.model.nodes import default_node_count, kind_nodes
from grader.model.state import ClusterState

TAINTED = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
           "2 Too many pods. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
           "2 No preemption victims found for incoming pod.")


def test_default_node_count_is_the_kind_configs() -> None:
    assert default_node_count() == 1
    assert [n.name for n in ClusterState().nodes] == ["svclab-control-plane"]


def test_default_node_count_matches_the_committed_kind_config() -> None:
    """The model no longer reads kind-config.yaml at run time; the file and the constant it
    is rendered from must still say the same number of nodes."""
    import re

    from grader.kind import KIND_CONFIG_PATH
    roles = re.findall(r"^\s*-\s*role:\s*\S+", KIND_CONFIG_PATH.read_text(encoding="utf-8"), flags=re.M)
    assert default_node_count() == len(roles) >= 1


def test_kind_names_addresses_and_pod_cidrs() -> None:
    nodes = kind_nodes(4)
    assert [n.name for n in nodes] == ["svclab-control-plane", "svclab-worker", "svclab-worker2", "svclab-worker3"]
    assert [n.pod_cidr for n in nodes] == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"]
    assert [n.tainted for n in nodes] == [True, False, False, False]
    assert kind_nodes(1)[0].tainted is False           # kind untaints a lone control plane
    for bad in (0, 257, "3", 2.5, True):
        with pytest.raises(ValueError, match="nodes must be a whole number from 1 to 256"):
            ClusterState(nodes=bad)


def test_pods_spread_over_the_workers_with_ips_from_each_nodes_slash_24() -> None:
    s = ClusterState(nodes=3)
    s.create_namespace("lab")
    s.apply([deployment("web", {"app": "web"}, replicas=300)], "lab")
    where = collections.Counter(p.node for p in s.pods)
    assert where == {"svclab-control-plane": 2, "svclab-worker": 110, "svclab-worker2": 110, "": 80}
    assert {p.node for p in s.pods if p.namespace == "kube-system"} == {"svclab-control-plane"}
    for p in s.pods:
        if p.ip:
            node = next(n for n in s.nodes if n.name == p.node)
            assert ipaddress.ip_address(p.ip) in ipaddress.ip_network(node.pod_cidr)
            assert not p.ip.endswith((".0", ".1"))     # network and kindnet's bridge
    pending = [p for p in s.pods if p.pending]
    assert pending[0].pending_reason == TAINTED
    assert s.pending_summary().startswith("80 pods are Pending, with no IP (3 nodes, at most 110 pods each")
    # few pods: the least-loaded worker gets the next one, alternately
    s2 = ClusterState(nodes=3)
    s2.create_namespace("lab")
    s2.apply([deployment("web", {"app": "web"}, replicas=4)], "lab")
    assert collections.Counter(p.node for p in s2.pods_in("lab")) == {"svclab-worker": 2, "svclab-worker2": 2}


def test_running_pods_keep_node_and_ip_when_more_arrive() -> None:
    s = ClusterState(nodes=2)
    s.create_namespace("lab")
    s.apply([deployment("a", {"app": "a"}, replicas=3)], "lab")
    before = {p.key: (p.node, p.ip) for p in s.pods}
    s.apply([deployment("b", {"app": "b"}, replicas=3)], "lab")
    assert {k: v for k, v in ((p.key, (p.node, p.ip)) for p in s.pods) if k in before} == before


def test_the_cluster_api_takes_a_node_count() -> None:
    import grader
    cluster = grader.connect(mode="offline", nodes=3, quiet=True)
    assert [n.name for n in cluster.state.nodes][-1] == "svclab-worker2"
    assert repr(OfflineCluster(nodes=2)) == "OfflineCluster(nodes=2)"


# ------------------------------------------------------------------ endpoint choice
def _hits(seed: int) -> list[str]:
    s = client_and_backend()
    client = s.find_pods("app=client", "lab")[0]
    s.rng.seed(seed)
    from grader.model import connectivity
    return [connectivity.probe(s, client, "backend:80/hostname").pod for _ in range(60)]


def test_endpoint_choice_is_random_like_kube_proxy_yet_repeatable() -> None:
    hits = _hits(0)
    assert len(set(hits)) == 3                                 # every ready endpoint gets traffic
    # not a rotation: some endpoint is chosen twice in a row somewhere
    assert any(a == b for a, b in zip(hits, hits[1:], strict=False))
    assert hits == _hits(0)                                    # same seed, same choices
    assert hits != _hits(1)


def test_client_ip_affinity_still_sticks() -> None:
    s = client_and_backend()
    client = s.find_pods("app=client", "lab")[0]
    svc = s.get("Service", "backend", "lab")
    svc["spec"]["sessionAffinity"] = "ClientIP"
    s.apply([svc], "lab")
    from grader.model import connectivity
    assert len({connectivity.probe(s, client, "backend:80/hostname").pod for _ in range(30)}) == 1


# ------------------------------------------------------------------ Namespace API = CLI
@pytest.fixture
def lab():
    said: list[str] = []
    cluster = OfflineCluster(say=said.append)
    ns = cluster.namespace("lab")
    ns.apply_objects([deployment("web", {"app": "web"}, replicas=2, http_port=8080),
                      deployment("api", {"app": "api"}, http_port=9000), service("web", {"app": "web"})])
    return ns, said


@pytest.mark.parametrize("bad, message", [
    ("9000", "ports='9000': give an int or a list of ints, e.g. ports=[9000] (a string is not a list of ports)"),
    ([0], "invalid port 0: ports are numbers 1-65535"),
    ([65536], "invalid port 65536: ports are numbers 1-65535"),
    (["80"], "invalid port '80': ports are numbers 1-65535"),
    ([True], "invalid port True"),
    ([], "ports=[]: give at least one port"),
    (80.0, "ports=80.0: give an int or a list of ints"),
])
def test_matrix_ports_are_validated_like_the_cli(lab, bad, message) -> None:
    ns, _ = lab
    with pytest.raises(ValueError) as err:
        ns.matrix(ports=bad)
    assert message in str(err.value)


def test_matrix_defaults_to_the_ports_the_pods_listen_on(lab) -> None:
    ns, said = lab
    assert ns.matrix().combos() == [(8080, "TCP"), (9000, "TCP")]
    assert ns.matrix(ports=9000).combos() == [(9000, "TCP")]
    assert said == []                                          # nothing left out, nothing said


def test_matrix_says_which_pods_it_leaves_out(monkeypatch) -> None:
    said: list[str] = []
    cluster = OfflineCluster(say=said.append)
    cluster.state.create_namespace("big")
    ns = cluster.namespace("big", fresh=False)
    ns.apply_objects([deployment("web", {"app": "web"}, replicas=120)])
    m = ns.matrix(ports=[8080])
    assert len(m.pods) == 108                                  # the node also runs CoreDNS's 2
    assert said == ["svclab: matrix of 108 pods in namespace big; 12 pods are Pending, with no IP (1 node, at "
                    "most 110 pods each, kubelet's maxPods): 0/1 nodes are available: 1 Too many pods. "
                    "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."]


def test_recreating_a_namespace_says_so_on_stdout(capsys) -> None:
    cluster = OfflineCluster()
    ns = cluster.namespace("lab")
    ns.apply_objects([deployment("web", {"app": "web"})])
    assert capsys.readouterr().out == ""
    again = cluster.namespace("lab")
    out, err = capsys.readouterr()
    assert out == "svclab: namespace lab already existed: deleted and recreated empty (pass fresh=False to keep its objects)\n"
    assert err == "" and again.pods() == []
    kept = cluster.namespace("lab", fresh=False)
    assert capsys.readouterr().out == "" and kept.state.get("ResourceQuota", "svclab-quota", "lab")


def test_no_endpoints_reason_does_not_claim_live_differs() -> None:
    s = client_and_backend()
    client = s.find_pods("app=client", "lab")[0]
    s.apply([deployment("backend", {"app": "backend"}, replicas=0)], "lab")
    from grader.model import connectivity
    out = connectivity.probe(s, client, "backend:80")
    assert out.status.name == "NO_ENDPOINTS"
    assert "REFUSED" not in out.reason and out.reason.endswith("; kube-proxy rejects connections to it")


# ------------------------------------------------------------------ NodePorts on every node
def _two_workers_one_backend(policy: str):
    s = ClusterState(nodes=3)
    s.create_namespace("lab")
    s.apply([deployment("web", {"app": "web"}, replicas=1),
             service("web", {"app": "web"}, type="NodePort", externalTrafficPolicy=policy,
                     ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}])], "lab")
    (web,) = s.pods_in("lab")
    host = next(n for n in s.nodes if n.name == web.node)
    other = next(n for n in s.nodes if not n.tainted and n is not host)
    return s, web, host, other


def test_every_node_opens_the_node_port_and_snats_to_itself() -> None:
    from grader.model import connectivity
    s, web, host, other = _two_workers_one_backend("Cluster")
    for node in (host, other):
        out = connectivity.probe_external(s, 30080, node.ip, "/clientip")
        assert out.ok and out.pod == web.key and out.body.startswith(node.ip + ":")
    assert connectivity.probe_external(s, 30080, "127.0.0.1", "/hostname").ok   # via the control plane


def test_local_policy_only_answers_on_the_node_with_an_endpoint() -> None:
    from grader.model import connectivity
    s, web, host, other = _two_workers_one_backend("Local")
    ok = connectivity.probe_external(s, 30080, host.ip, "/clientip")
    assert ok.ok and ok.body.startswith("172.18.0.1:")                 # the real client, no SNAT
    dropped = connectivity.probe_external(s, 30080, other.ip)
    assert dropped.status.name == "TIMEOUT"
    assert dropped.reason == (f"Service lab/web has no ready endpoint on node {other.name} ({other.ip}); with "
                              "externalTrafficPolicy: Local a node forwards only to endpoints on itself, so "
                              "it drops the traffic")
    # 127.0.0.1 is kind's port mapping to the control plane, which runs no workload pods
    assert connectivity.probe_external(s, 30080, "127.0.0.1").status.name == "TIMEOUT"
