"""Service allocation/defaulting and EndpointSlice controller semantics pinned to upstream.

Sources (quoted per test):
- IPALLOC: kubernetes pkg/registry/core/service/ipallocator/ipallocator.go (KEP-3070):
  first = network+1, last = broadcast-1, offsetAddress = first + calculateRangeOffset,
  calculateRangeOffset = min(max(16, size/16), 256) (0 when size <= 16); dynamic allocation
  tries [offsetAddress, last] first.
- PORTALLOC: pkg/registry/core/service/portallocator (KEP-3668): offset
  min(max(16, size/32), 128) from the range base.
- DEFAULTS: pkg/apis/core/v1/defaults.go SetDefaults_Service; storage/alloc.go
  initIPFamilyFields.
- EPS: staging/src/k8s.io/endpointslice (reconciler.go, utils.go podToEndpoint,
  getEndpointPorts, setEndpointSliceLabels), maxEndpointsPerSlice = 100.
"""
from __future__ import annotations

import ipaddress

import pytest
from test_model_kit import deployment, pod, service

from grader.model.endpointslices import MAX_ENDPOINTS_PER_SLICE
from grader.model.services import (
    ServiceAllocator,
    cluster_ip_range_offset,
    node_port_range_offset,
)
from grader.model.state import ClusterState


@pytest.fixture()
def state() -> ClusterState:
    s = ClusterState()
    s.create_namespace("lab")
    return s


# --- IPALLOC
def test_cluster_ip_range_offset_formula() -> None:
    assert cluster_ip_range_offset(2 ** 20) == 256        # /12: 65536 capped at 256
    assert cluster_ip_range_offset(2 ** 12) == 256        # /20: 4096/16 = 256
    assert cluster_ip_range_offset(2 ** 10) == 64         # /22
    assert cluster_ip_range_offset(2 ** 7) == 16          # /25: 8 -> at least 16
    assert cluster_ip_range_offset(16) == 0               # /28: no split


def test_dynamic_cluster_ips_come_from_the_upper_band(state: ClusterState) -> None:
    # kind's 10.96.0.0/16: first 10.96.0.1, offsetAddress 10.96.0.1 + 256 = 10.96.1.1,
    # last 10.96.0.0 + 2^16 - 2 = 10.96.255.254
    alloc = ServiceAllocator()
    assert str(ipaddress.ip_address(alloc.cluster_ips.ints.dynamic_low)) == "10.96.1.1"
    assert str(ipaddress.ip_address(alloc.cluster_ips.ints.high)) == "10.96.255.254"
    state.apply([service(f"s{i}", {"app": "x"}) for i in range(40)], "lab")
    lo, hi = ipaddress.ip_address("10.96.1.1"), ipaddress.ip_address("10.96.255.254")
    for i in range(40):
        assert lo <= ipaddress.ip_address(state.service("lab", f"s{i}").cluster_ip) <= hi


def test_static_band_addresses_can_be_requested(state: ClusterState) -> None:
    state.apply([service("a", {"app": "x"}, clusterIP="10.96.1.0"),      # last static address
                 service("b", {"app": "x"}, clusterIP="10.96.255.254")], "lab")
    assert state.service("lab", "a").cluster_ip == "10.96.1.0"
    from grader.model.state import ApplyError
    for bad in ("10.96.0.0", "10.96.255.255"):                          # network / broadcast
        with pytest.raises(ApplyError, match="not in the valid range"):
            state.apply([service("c", {"app": "x"}, clusterIP=bad)], "lab")


def test_cluster_ip_outside_kinds_slash_16_is_refused_with_the_allocators_message(state: ClusterState) -> None:
    # 10.100.0.5 is inside kubeadm's 10.96.0.0/12 but outside kind's serviceSubnet
    from grader.model.state import ApplyError
    with pytest.raises(ApplyError) as err:
        state.apply([service("far", {"app": "x"}, clusterIP="10.100.0.5")], "lab")
    assert str(err.value) == (
        # kube-apiserver v1.37 prints the list as JSON (seen on tests/controlplane)
        'Service "far" is invalid: spec.clusterIPs: Invalid value: ["10.100.0.5"]: '
        "failed to allocate IP 10.100.0.5: the provided IP (10.100.0.5) is not in the valid "
        "range. The range of valid IPs is 10.96.0.0/16")
    assert state.service("lab", "far") is None


# --- PORTALLOC
def test_node_port_bands(state: ClusterState) -> None:
    assert node_port_range_offset(32767 - 30000 + 1) == 86              # 2768/32
    assert ServiceAllocator().node_ports.dynamic_low == 30086
    state.apply([service(f"n{i}", {"app": "x"}, type="NodePort") for i in range(20)], "lab")
    for i in range(20):
        assert 30086 <= state.service("lab", f"n{i}").ports[0].node_port <= 32767


# --- DEFAULTS
def test_service_defaults(state: ClusterState) -> None:
    state.apply([service("c", {"app": "x"}, ports=[{"port": 80}]),
                 service("n", {"app": "x"}, type="NodePort"),
                 service("h", None, clusterIP="None"),
                 service("e", None, ports=[], type="ExternalName", externalName="a.example.com"),
                 service("aff", {"app": "x"}, sessionAffinity="ClientIP")], "lab")
    c, n, h, e, aff = (state.service("lab", x) for x in ("c", "n", "h", "e", "aff"))
    assert (c.type, c.ports[0].protocol, c.ports[0].target_port, c.session_affinity) == ("ClusterIP", "TCP", 80, "None")
    assert (c.internal_traffic_policy, c.external_traffic_policy) == ("Cluster", "")
    assert (n.internal_traffic_policy, n.external_traffic_policy) == ("Cluster", "Cluster")
    assert (c.ip_family_policy, c.ip_families) == ("SingleStack", ("IPv4",))
    assert (h.ip_family_policy, h.ip_families) == ("RequireDualStack", ("IPv4",))   # headless, no selector
    assert (e.ip_family_policy, e.ip_families, e.internal_traffic_policy) == (None, (), "")
    assert aff.session_affinity_timeout == 10800


def test_load_balancer_without_node_ports(state: ClusterState) -> None:
    state.apply([service("lb", {"app": "x"}, type="LoadBalancer", allocateLoadBalancerNodePorts=False)], "lab")
    svc = state.service("lab", "lb")
    assert svc.ports[0].node_port is None and svc.load_balancer_ip is not None


# --- EPS
def test_endpoint_conditions_and_publish_not_ready(state: ClusterState) -> None:
    state.apply([deployment("w", {"app": "w"}, replicas=2), service("w", {"app": "w"}),
                 service("w-all", {"app": "w"}, publishNotReadyAddresses=True)], "lab")
    sick = state.pods_in("lab")[0]
    state.set_ready(sick.name, False, namespace="lab")
    # podToEndpoint: serving = pod Ready; ready = publishNotReadyAddresses || (serving && !terminating)
    w = {e.pod: e for e in state.endpoints("lab", "w")}
    assert (w[sick.key].ready, w[sick.key].serving, w[sick.key].terminating) == (False, False, False)
    w_all = {e.pod: e for e in state.endpoints("lab", "w-all")}
    assert (w_all[sick.key].ready, w_all[sick.key].serving) == (True, False)


def test_slice_labels_and_address_type(state: ClusterState) -> None:
    state.apply([deployment("w", {"app": "w"}),
                 {**service("w", {"app": "w"}, clusterIP="None"),
                  "metadata": {"name": "w", "labels": {"team": "a", "kubernetes.io/service-name": "evil"}}}], "lab")
    (sl,) = state.slices(state.service("lab", "w"))
    d = sl.to_dict()
    assert d["addressType"] == "IPv4"
    assert d["metadata"]["labels"] == {
        "team": "a", "service.kubernetes.io/headless": "",
        "kubernetes.io/service-name": "w",
        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}


def test_at_most_100_endpoints_per_slice(state: ClusterState) -> None:
    state.create_namespace("big")
    state.max_pods = 200        # kubelet's default maxPods (110) would leave 40 of them Pending
    state.apply([deployment("w", {"app": "w"}, replicas=150), service("w", {"app": "w"})], "big")
    slices = state.slices(state.service("big", "w"))
    assert MAX_ENDPOINTS_PER_SLICE == 100
    assert sorted(len(sl.endpoints) for sl in slices) == [50, 100]
    assert len({sl.name for sl in slices}) == 2
    assert len(state.endpoints("big", "w")) == 150


def test_pod_lacking_named_port_is_an_endpoint_without_that_port(state: ClusterState) -> None:
    # getEndpointPorts skips the Service ports FindPort cannot resolve; the pod is still an
    # endpoint, in a slice with the remaining (here: no) ports
    state.apply([pod("has", {"app": "m"}, ports=[{"containerPort": 8080, "name": "web"}]),
                 pod("lacks", {"app": "m"}, ports=[{"containerPort": 8080}]),
                 service("m", {"app": "m"}, ports=[{"name": "http", "port": 80, "targetPort": "web"}])], "lab")
    slices = state.slices(state.service("lab", "m"))
    by_pod = {e.pod: sl.ports for sl in slices for e in sl.endpoints}
    assert [p.port for p in by_pod["lab/has"]] == [8080] and by_pod["lab/lacks"] == ()
    assert [e.pod for e in state.endpoints("lab", "m")] == ["lab/has"]


def test_named_port_on_a_sidecar_resolves(state: ClusterState) -> None:
    # podutil.FindPort also searches initContainers with restartPolicy: Always (KEP-753)
    p = pod("sc", {"app": "sc"}, ports=[])
    p["spec"]["initContainers"] = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always",
                                    "ports": [{"containerPort": 15001, "name": "proxy"}]}]
    state.apply([p, service("sc", {"app": "sc"}, ports=[{"name": "p", "port": 80, "targetPort": "proxy"}])], "lab")
    assert [(e.pod, e.port) for e in state.endpoints("lab", "sc")] == [("lab/sc", 15001)]


# --- NodePort sharing and keeping (storage/alloc.go initNodePorts, updateNodePorts, patchAllocatedValues)
def _dns_ports(**np: int) -> list[dict]:
    return [{"name": "dns", "port": 53, "protocol": "UDP", **({"nodePort": np["udp"]} if "udp" in np else {})},
            {"name": "dns-tcp", "port": 53, "protocol": "TCP", **({"nodePort": np["tcp"]} if "tcp" in np else {})}]


def test_same_port_number_on_two_protocols_shares_one_auto_node_port(state: ClusterState) -> None:
    state.apply([service("dns", {"app": "x"}, type="NodePort", ports=_dns_ports())], "lab")
    udp, tcp = (p.node_port for p in state.service("lab", "dns").ports)
    assert udp == tcp and 30086 <= udp <= 32767


def test_one_explicit_node_port_is_shared_by_the_same_number_on_the_other_protocol(state: ClusterState) -> None:
    state.apply([service("dns", {"app": "x"}, type="NodePort", ports=_dns_ports(tcp=30053))], "lab")
    assert [p.node_port for p in state.service("lab", "dns").ports] == [30053, 30053]


def test_the_same_explicit_node_port_on_two_protocols_is_valid(state: ClusterState) -> None:
    state.apply([service("dns", {"app": "x"}, type="NodePort", ports=_dns_ports(udp=30053, tcp=30053))], "lab")
    assert [p.node_port for p in state.service("lab", "dns").ports] == [30053, 30053]
    # ...while the same nodePort on the same protocol twice is a duplicate
    from grader.model.state import ApplyError
    with pytest.raises(ApplyError) as err:
        state.apply([service("dup", {"app": "x"}, type="NodePort", ports=[
            {"name": "a", "port": 80, "nodePort": 30070}, {"name": "b", "port": 81, "nodePort": 30070}])], "lab")
    assert str(err.value) == 'Service "dup" is invalid: spec.ports[1].nodePort: Duplicate value: 30070'


def test_update_that_omits_a_node_port_keeps_the_one_of_the_same_named_port(state: ClusterState) -> None:
    state.apply([service("web", {"app": "x"}, type="NodePort", ports=[
        {"name": "http", "port": 80, "targetPort": 8080}, {"name": "metrics", "port": 9090}])], "lab")
    before = {p.name: p.node_port for p in state.service("lab", "web").ports}
    # the ports are renumbered and reordered, the names stay: each keeps its nodePort
    state.apply([service("web", {"app": "x"}, type="NodePort", ports=[
        {"name": "metrics", "port": 9100}, {"name": "http", "port": 8000, "targetPort": 8080}])], "lab")
    after = {p.name: p.node_port for p in state.service("lab", "web").ports}
    assert after == before
    # a new name gets a fresh nodePort, the dropped one is freed for others
    state.apply([service("web", {"app": "x"}, type="NodePort", ports=[
        {"name": "http", "port": 8000, "targetPort": 8080}, {"name": "admin", "port": 9200}])], "lab")
    now = {p.name: p.node_port for p in state.service("lab", "web").ports}
    assert now["http"] == before["http"] and now["admin"] not in before.values()
    state.apply([service("other", {"app": "x"}, type="NodePort", ports=[
        {"port": 80, "nodePort": before["metrics"]}])], "lab")
