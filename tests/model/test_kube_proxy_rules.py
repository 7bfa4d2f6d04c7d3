"""kube-proxy's nftables rules rendered from the model (grader/model/kube_proxy.py), checked
against two sources that are not our code:

- upstream's own expectations: the chain names in kubernetes/kubernetes
  pkg/proxy/nftables/proxier_test.go (TestOverallNFTablesRules), whose hashes are
  computed by the algorithm of proxier.go's hashAndTruncate;
- kube-proxy v1.37.0 itself: tests/fixtures/kube_proxy/*.nft, `nft list table ip
  kube-proxy` recorded on the local cluster's two nodes for tests/fixtures/kube_proxy/
  services.yaml (see the README there). Addresses differ between the model and that
  cluster, so both sides are compared with addresses replaced by symbols
  (grader.k8s.nft.symbolic) after the hashes are checked on their own.
"""
from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

import grader
from grader.cluster.offline import OfflineCluster
from grader.k8s import kube_proxy_names as names
from grader.k8s.nft import differences, parse, symbolic, wrong_hashes
from grader.kind.images import AGNHOST_IMAGE

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kube_proxy"
#: What the recorded cluster had (tests/fixtures/kube_proxy/README.md).
LIVE_SYMBOLS = {"10.96.163.209": "CIP_web", "10.96.209.118": "CIP_nothing", "10.96.219.194": "CIP_webnp",
                "10.96.55.250": "CIP_sticky", "10.96.107.128": "CIP_weblocal", "10.96.172.22": "CIP_weblb",
                "172.18.0.100": "LB_weblb", "10.244.0.4": "EP0", "10.244.1.2": "EP1"}
SERVICES = ("web", "nothing", "webnp", "sticky", "weblocal", "weblb")


# ---- names: upstream's proxier_test.go expectations --------------------------------------
@pytest.mark.parametrize("base, expected", [
    (names.service_port_base("ns1", "svc1", "tcp", "p80"), "ULMVA6XW-ns1/svc1/tcp/p80"),
    (names.service_port_base("ns2", "svc2", "TCP", "p80"), "42NFTM6N-ns2/svc2/tcp/p80"),
    (names.service_port_base("ns4", "svc4", "tcp", "p80"), "LAUZTJTB-ns4/svc4/tcp/p80"),
    (names.service_port_base("ns5", "svc5", "tcp", "p80"), "HVFWP5L3-ns5/svc5/tcp/p80"),
    (names.endpoint_base("ns1", "svc1", "tcp", "p80", "10.180.0.1", 80), "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"),
    (names.endpoint_base("ns4", "svc4", "tcp", "p80", "10.180.0.4", 80), "UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80"),
    (names.endpoint_base("ns4", "svc4", "tcp", "p80", "10.180.0.5", 80), "5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80"),
    (names.endpoint_base("ns5", "svc5", "tcp", "p80", "10.180.0.3", 80), "GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"),
])
def test_chain_names_match_upstreams_expectations(base: str, expected: str) -> None:
    assert base == expected


def test_an_unnamed_port_ends_the_name_with_a_slash_and_comments_omit_it() -> None:
    # proxier_test.go comments name ports "ns2/svc2:p80"; an unnamed port has no ":..."
    assert names.service_port_label("ns2", "svc2", "p80") == "ns2/svc2:p80"
    assert names.service_port_label("uh20", "nothing", None) == "uh20/nothing"
    assert names.service_port_base("default", "kubernetes", "tcp", "https").startswith("2QRHZV4L-")
    assert names.service_port_base("uh20", "web", "tcp", None).endswith("/uh20/web/tcp/"[1:])


def test_a_long_name_is_cut_with_an_ellipsis_after_the_hash_of_the_whole() -> None:
    long = "n" * 63
    base = names.endpoint_base(long, long, "tcp", long, "fd00:1234:5678:9abc:def0:1234:5678:9abc", 65535)
    assert len(base) == names.BASE_LENGTH_MAX and base.endswith("...")
    assert base[:8] == names.hash_and_truncate(f"{long}/{long}/tcp/{long}__fd00.1234.5678.9abc.def0.1234.5678.9abc/65535")[:8]


# ---- the recorded cluster ----------------------------------------------------------------
def recorded(node: str):
    return parse((FIXTURES / f"{node}.nft").read_text())


def model_of_the_recording() -> tuple[OfflineCluster, dict[str, str]]:
    """The model holding services.yaml, with its own addresses mapped to the same symbols."""
    cluster = OfflineCluster(nodes=2, say=lambda line: None)
    ns = cluster.namespace("uh20")
    ns.apply((FIXTURES / "services.yaml").read_text())
    symbols = {}
    for svc in ns.services():
        symbols[svc.cluster_ip] = f"CIP_{svc.name}"
        if svc.external_address:
            symbols[svc.external_address] = f"LB_{svc.name}"
    ready = sorted({e.ip for e in ns.endpoints("web") if e.ready}, key=lambda ip: f"{ip}:8080")
    symbols.update({ip: f"EP{i}" for i, ip in enumerate(ready)})
    return cluster, symbols


def test_the_recording_reads_back_and_its_hashes_are_kube_proxys() -> None:
    for node in ("svclab-worker", "svclab-control-plane"):
        table = recorded(node)
        assert parse(table.text()).normalized() == table.normalized()
        assert wrong_hashes(table) == []
        assert len([c for c in table.chains if "-uh20/" in c]) >= 9


def test_every_service_part_matches_kube_proxy_v1_37_on_the_worker() -> None:
    cluster, symbols = model_of_the_recording()
    model = cluster.kube_proxy_rules("svclab-worker").table
    live = recorded("svclab-worker")
    assert wrong_hashes(model) == []
    for svc in SERVICES:
        want = symbolic(live.part_for("uh20", svc), LIVE_SYMBOLS)
        got = symbolic(model.part_for("uh20", svc), symbols)
        if svc == "weblocal":
            # Where the pods run differs: live one web pod ran on each node (the local
            # cluster's control plane takes pods), in the model (kind's taint) both run on
            # the worker. The Local chain must DNAT to exactly this node's endpoints.
            local = next(c for c in got.chains if c.startswith("local-"))
            assert got.chains.pop(local).rules == [
                "meta l4proto tcp dnat ip to numgen random mod 2 map { 0 : EP0 . 8080, 1 : EP1 . 8080 }"]
            assert want.chains.pop(local).rules == ["meta l4proto tcp dnat to EP1:8080"]
        assert differences(want, got) == [], svc


def test_the_fixed_chains_and_maps_match_kube_proxy_v1_37() -> None:
    cluster, _ = model_of_the_recording()
    for node in ("svclab-worker", "svclab-control-plane"):
        model, live = cluster.kube_proxy_rules(node).table.normalized(), recorded(node).normalized()
        fixed = [c for c in live.chains if "/" not in c]
        assert sorted(c for c in model.chains if "/" not in c) == sorted(fixed)
        for chain in fixed:
            assert model.chains[chain] == live.chains[chain], chain
        for name in ("cluster-ips", "nodeport-ips", "service-ips", "no-endpoint-services", "service-nodeports",
                     "firewall-ips", "no-endpoint-nodeports", "hairpin-connections"):
            assert model.sets[name].declaration == live.sets[name].declaration, name
        assert model.sets["nodeport-ips"].elements == live.sets["nodeport-ips"].elements


def test_hairpin_entries_are_this_nodes_ready_endpoints() -> None:
    cluster, _ = model_of_the_recording()
    ns = cluster.namespace("uh20", fresh=False)
    worker = cluster.kube_proxy_rules("svclab-worker")
    ready = sorted(p.ip for p in ns.pods() if p.ready)
    assert worker.elements("hairpin-connections") == [f"{ip} . {ip} . tcp . 8080" for ip in ready]
    live = recorded("svclab-worker")            # 10.244.1.3 is on the worker, but not ready
    assert live.sets["hairpin-connections"].elements == ["10.244.1.2 . 10.244.1.2 . tcp . 8080"]


# ---- what a learner changes, what the rules then say ---------------------------------------
WEB = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: {AGNHOST_IMAGE}, args: [netexec, --http-port=8080],
         ports: [{{containerPort: 8080}}]}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: 8080, nodePort: 30080}}]
"""


@pytest.fixture()
def shop():
    cluster = OfflineCluster(nodes=2, say=lambda line: None)
    ns = cluster.namespace("shop")
    ns.apply(WEB)
    return cluster, ns


def test_a_notready_endpoint_leaves_the_random_pick(shop) -> None:
    cluster, ns = shop
    pods = sorted(p.ip for p in ns.pods())
    rules = ns.kube_proxy_rules("web")
    chain = next(c for c in rules.table.chains.values() if c.name.startswith("service-"))
    assert chain.rules == ["meta l4proto tcp dnat ip to numgen random mod 3 map { "
                           + ", ".join(f"{i} : {ip} . 8080" for i, ip in enumerate(sorted(pods, key=str))) + " }"]
    ns.set_ready(next(p.name for p in ns.pods() if p.ip == pods[0]), False)
    chain = next(c for c in ns.kube_proxy_rules("web").table.chains.values() if c.name.startswith("service-"))
    assert chain.rules[0].startswith("meta l4proto tcp dnat ip to numgen random mod 2 map")
    assert pods[0] not in chain.rules[0]


def test_one_endpoint_is_a_plain_dnat_and_none_is_a_reject(shop) -> None:
    cluster, ns = shop
    names_ = [p.name for p in ns.pods()]
    for name in names_[1:]:
        ns.set_ready(name, False)
    one = ns.kube_proxy_rules("web")
    chain = next(c for c in one.table.chains.values() if c.name.startswith("service-"))
    assert chain.rules == [f"meta l4proto tcp dnat to {ns.pods()[0].ip}:8080"]
    ns.set_ready(names_[0], False)
    none = ns.kube_proxy_rules("web")
    ip = ns.service("web").cluster_ip
    assert none.chains() == []                      # no Service chain: nothing to DNAT to
    assert none.elements("no-endpoint-services") == [f'{ip} . tcp . 80 comment "shop/web:http" : goto reject-chain']
    assert none.elements("no-endpoint-nodeports") == ['tcp . 30080 comment "shop/web:http" : goto reject-chain']
    assert none.elements("service-ips") == [] and none.elements("service-nodeports") == []


def test_a_nodeport_enters_through_the_external_chain_that_masquerades(shop) -> None:
    cluster, ns = shop
    rules = ns.kube_proxy_rules("web", node="svclab-worker")
    ext = next(c for c in rules.table.chains.values() if c.name.startswith("external-"))
    service = ext.name.replace("external-", "service-", 1)
    assert rules.elements("service-nodeports") == [f"tcp . 30080 : goto {ext.name}"]
    assert ext.rules == ['meta mark set meta mark | 0x00004000 comment "masquerade"', f"goto {service}"]


def test_external_traffic_policy_local_drops_on_a_node_without_endpoints(shop) -> None:
    cluster, ns = shop
    ns.apply(WEB.replace("type: NodePort", "type: NodePort\n  externalTrafficPolicy: Local"))
    control_plane = ns.kube_proxy_rules("web", node="svclab-control-plane")   # tainted: no pods there
    assert control_plane.elements("no-endpoint-nodeports") == ['tcp . 30080 comment "shop/web:http" : drop']
    assert not any(c.startswith("local-") for c in control_plane.chains())
    worker = ns.kube_proxy_rules("web", node="svclab-worker")
    assert worker.elements("no-endpoint-nodeports") == []
    assert any(c.startswith("local-") for c in worker.chains())


def test_session_affinity_remembers_clients_per_endpoint(shop) -> None:
    cluster, ns = shop
    ns.apply(WEB.replace("selector: {app: web}\n  ports", "selector: {app: web}\n  sessionAffinity: ClientIP\n  ports"))
    rules = ns.kube_proxy_rules("web")
    affinity = [s for s in rules.table.sets if s.startswith("affinity-")]
    assert len(affinity) == 3
    assert rules.table.sets[affinity[0]].declaration[-1] == "timeout 3h"
    endpoint_chains = [c for c in rules.chains() if c.startswith("endpoint-")]
    assert len(endpoint_chains) == 3


def test_load_balancer_source_ranges_make_a_firewall_chain(shop) -> None:
    cluster, ns = shop
    ns.apply(WEB.replace("type: NodePort", "type: LoadBalancer\n  loadBalancerSourceRanges: [203.0.113.0/25]"))
    rules = ns.kube_proxy_rules("web")
    lb = ns.service("web").external_address
    fw = next(c for c in rules.table.chains.values() if c.name.startswith("firewall-"))
    assert fw.rules == ["ip saddr != { 203.0.113.0/25 } drop"]
    assert rules.elements("firewall-ips") == [f"{lb} . tcp . 80 : goto {fw.name}"]
    assert ipaddress.ip_address(lb)


def test_asking_for_what_does_not_exist_says_so(shop) -> None:
    cluster, ns = shop
    with pytest.raises(LookupError, match="no Service 'nope'"):
        cluster.kube_proxy_rules(service="shop/nope")
    with pytest.raises(ValueError, match="namespace/name"):
        cluster.kube_proxy_rules(service="web")
    with pytest.raises(LookupError, match="svclab-control-plane, svclab-worker"):
        cluster.kube_proxy_rules("node9")


def test_the_default_cluster_answers_through_grader_connect() -> None:
    cluster = grader.connect(mode="offline", quiet=True)
    rules = cluster.kube_proxy_rules(service="default/kubernetes")
    assert rules.node == "svclab-control-plane" and "offline" in rules.origin
    assert rules.chains() == ["service-2QRHZV4L-default/kubernetes/tcp/https"]
    assert "kube-proxy's nftables rules on node svclab-control-plane" in str(rules)


# ---- reading a ruleset as paths (grader.k8s.nft.packet_paths, grader.display) ---------------
def test_the_recorded_rules_read_as_the_paths_packets_take() -> None:
    from grader.k8s.nft import packet_paths

    found = packet_paths(recorded("svclab-worker"))
    paths = {p.entry: p for p in found if p.map != "firewall-ips"}
    assert paths["10.96.55.250 tcp/81"].targets == ("10.244.0.4:8080", "10.244.1.2:8080")   # sticky
    assert "affinity" in paths["10.96.55.250 tcp/81"].steps
    local = paths["node IP tcp/30082"]                      # externalTrafficPolicy: Local
    assert local.targets == ("10.244.1.2:8080",) and "client address kept" in local.steps
    assert "masquerade" in paths["node IP tcp/30081"].steps
    assert paths["10.96.209.118 tcp/80"].verdict == "REJECT"
    assert [(p.entry, p.verdict) for p in found if p.map == "firewall-ips"] == [("172.18.0.100 tcp/83", "FILTER")]
    assert paths["172.18.0.100 tcp/83"].steps[:2] == ("external chain", "masquerade")
    assert "10.244.1.3:8080" not in str(paths)                # the NotReady pod is nowhere


def test_the_table_colours_dnat_green_and_reject_red(shop) -> None:
    from grader.display import BAD, GOOD, kube_proxy_table

    cluster, ns = shop
    for pod in ns.pods():
        ns.set_ready(pod.name, False)
    table = kube_proxy_table(ns.kube_proxy_rules("web"))
    assert [row[3] for row in table.rows] == ["REJECT", "REJECT"] and table.colours == [BAD, BAD]
    ns.set_ready(ns.pods()[0].name, True)
    table = kube_proxy_table(ns.kube_proxy_rules("web"))
    assert [row[3] for row in table.rows] == ["DNAT", "DNAT"] and table.colours == [GOOD, GOOD]
    assert table.rows[0][4] == f"{ns.pods()[0].ip}:8080"
