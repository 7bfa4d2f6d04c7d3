"""kube-proxy's rules on the local cluster's nodes against the model's rendering.

The same manifests (tests/fixtures/kube_proxy/services.yaml: a ClusterIP, one without
endpoints, a NodePort, session affinity, externalTrafficPolicy Local, a LoadBalancer with
source ranges, and a pod that never gets Ready) applied live and to the model; every node's
`nft list table ip kube-proxy`, read through the Cluster API (grader.cluster.node_rules),
compared part by part with `cluster.kube_proxy_rules()` offline after the addresses are
replaced by symbols and every live name's hash is checked on its own. Known and expected
differences, printed and asserted on their own: which pods are on which node (the model
keeps kind's control-plane taint, the local cluster schedules pods on both nodes), so each
node's `local-` chain and its no-endpoint-nodeports entries are checked against the live
placement instead (a node's pods are those in its pod CIDR).

Run by `make test-live`; skipped unless SVCLAB_CONTEXT is the local cluster's context."""
from __future__ import annotations

import ipaddress
import os
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from grader.cluster.offline import OfflineCluster
from grader.k8s.nft import NftTable, differences, symbolic, wrong_hashes
from grader.localcluster.layout import CONTEXT, NODES

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]

MANIFESTS = (Path(__file__).resolve().parents[1] / "fixtures" / "kube_proxy" / "services.yaml").read_text()
NS = "kproxy-live"
SERVICES = ("web", "nothing", "webnp", "sticky", "weblocal", "weblb")


def symbols(ns: Any) -> dict[str, str]:
    out = {}
    for svc in ns.services():
        out[svc.cluster_ip] = f"CIP_{svc.name}"
        if svc.external_address:
            out[svc.external_address] = f"LB_{svc.name}"
    ready = sorted({e.ip for e in ns.endpoints("web") if e.ready}, key=lambda ip: f"{ip}:8080")
    out.update({ip: f"EP{i}" for i, ip in enumerate(ready)})
    return out


@pytest.fixture(scope="module")
def sides() -> Iterator[tuple[Any, Any, Any]]:
    from grader.cluster.live import LiveCluster

    cluster = LiveCluster(context=CONTEXT, progress=False, say=lambda line: None)
    live = cluster.namespace(NS)
    offline_cluster = OfflineCluster(nodes=2, say=lambda line: None)
    offline = offline_cluster.namespace(NS)
    offline.apply(MANIFESTS)
    try:
        live.apply(MANIFESTS)
        live.wait_ready(timeout=180, unready="which=webbad")
        _until(lambda: bool(live.service("weblb").external_address), "weblb's LoadBalancer address")
        _until(lambda: all(_programmed(cluster, live, node.name) for node in NODES), "kube-proxy's sync")
        yield cluster, live, offline_cluster
    finally:
        _release_node_ports(live)
        live.delete()


def _release_node_ports(live: Any) -> None:
    """Delete the Services before the namespace, and wait until they are gone: their fixed
    node ports (30081-30083) are the ones later live tests ask for, and a namespace is
    deleted in the background, too late for them."""
    names = [doc["metadata"]["name"] for doc in yaml.safe_load_all(MANIFESTS)
             if doc and doc.get("kind") == "Service"]
    for name in names:
        if live.service(name) is not None:
            live.delete("Service", name)
    _until(lambda: all(live.service(name) is None for name in names), "the Services' deletion")


def _until(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not after {timeout:g}s"
        time.sleep(0.5)


def _programmed(cluster: Any, live: Any, node: str) -> bool:
    """kube-proxy on `node` has every Service's address and the LoadBalancer's, and sends
    each ClusterIP to exactly that Service's ready endpoints. (Addresses alone were not
    enough: in CI one node's `web` chain still held one of its two pods when compared.)"""
    rules = cluster.kube_proxy_rules(node)
    table = rules.text()
    services = live.services()
    addresses = [s.cluster_ip for s in services] + [live.service("weblb").external_address]
    if not all(f"{a} . tcp" in table for a in addresses):
        return False
    paths = rules.paths()
    for svc in services:
        ready = {f"{e.ip}:{e.port}" for e in live.endpoints(svc.name) if e.ready}
        sent = {t for p in paths if p.entry.startswith(f"{svc.cluster_ip} ") for t in p.targets}
        if sent != ready:
            return False
    return True


def _without_placement(table: NftTable) -> NftTable:
    """`table` without what depends on which node a pod runs on: the Local policy's chain
    and the external chain's last step into it."""
    table.chains = {k: v for k, v in table.chains.items() if not k.startswith("local-")}
    for chain in table.chains.values():
        chain.rules = [r for r in chain.rules if not r.startswith("goto local-")]
    if "no-endpoint-nodeports" in table.sets:
        del table.sets["no-endpoint-nodeports"]
    return table


def _node_of(ip: str) -> str:
    return next(n.name for n in NODES if ipaddress.ip_address(ip) in ipaddress.ip_network(n.pod_cidr))


def test_every_nodes_rules_match_the_models_rendering(sides, capsys) -> None:  # type: ignore[no-untyped-def]
    cluster, live, offline_cluster = sides
    offline = offline_cluster.namespace(NS, fresh=False)
    live_symbols, model_symbols = symbols(live), symbols(offline)
    assert len([v for v in live_symbols.values() if v.startswith("EP")]) == 2
    for node in NODES:
        real = cluster.kube_proxy_rules(node.name).table
        model = offline_cluster.kube_proxy_rules(node.name).table
        assert wrong_hashes(real) == [], node.name
        fixed = sorted(c for c in real.chains if "/" not in c)
        assert sorted(c for c in model.chains if "/" not in c) == fixed
        for chain in fixed:
            assert model.normalized().chains[chain] == real.normalized().chains[chain], (node.name, chain)
        for svc in SERVICES:
            want = _without_placement(symbolic(real.part_for(NS, svc), live_symbols))
            got = _without_placement(symbolic(model.part_for(NS, svc), model_symbols))
            diff = differences(want, got)
            with capsys.disabled():
                print(f"\n{node.name} {svc}: {'same as the model' if not diff else chr(10).join(diff)}")
            assert diff == [], (node.name, svc)


def test_each_nodes_local_chain_holds_that_nodes_ready_endpoints(sides) -> None:  # type: ignore[no-untyped-def]
    cluster, live, _ = sides
    ready = sorted((e.ip for e in live.endpoints("weblocal") if e.ready), key=lambda ip: f"{ip}:8080")
    for node in NODES:
        rules = cluster.kube_proxy_rules(node.name, service=f"{NS}/weblocal")
        mine = [ip for ip in ready if _node_of(ip) == node.name]
        local = [c for c in rules.table.chains.values() if c.name.startswith("local-")]
        external = next(c for c in rules.table.chains.values() if c.name.startswith("external-"))
        assert external.rules[-1].startswith("goto local-") == bool(mine), node.name
        if not mine:
            assert local == [] and rules.elements("no-endpoint-nodeports") == [
                f'tcp . 30082 comment "{NS}/weblocal" : drop']
            continue
        want = (f"meta l4proto tcp dnat to {mine[0]}:8080" if len(mine) == 1 else
                "meta l4proto tcp dnat ip to numgen random mod %d map { %s }"
                % (len(mine), ", ".join(f"{i} : {ip} . 8080" for i, ip in enumerate(mine))))
        assert [c.rules for c in local] == [[want]], node.name
        hairpin = cluster.kube_proxy_rules(node.name).elements("hairpin-connections")
        assert {f"{ip} . {ip} . tcp . 8080" for ip in mine} <= set(hairpin)


def test_the_pod_that_is_never_ready_is_in_no_rule(sides) -> None:  # type: ignore[no-untyped-def]
    cluster, live, _ = sides
    unready = [e.ip for e in live.endpoints("web") if not e.ready]
    assert len(unready) == 1
    for node in NODES:
        assert unready[0] not in cluster.kube_proxy_rules(node.name).text()
