"""Traffic policies, topology hints, the health-check node port, source ranges and ipMode,
each against the upstream source it follows (named per test). The cluster: kind's two
nodes (a tainted control plane and a worker), pods pinned with spec.nodeName."""
from __future__ import annotations

import json

import pytest

from grader.cluster.offline import OfflineCluster
from grader.kind.images import AGNHOST_IMAGE
from grader.manifests import ManifestError
from grader.model.connectivity import EXTERNAL_CLIENT_IP
from grader.observations import Status

AGNHOST = AGNHOST_IMAGE
CP, WORKER = "svclab-control-plane", "svclab-worker"


def pod(name: str, node: str, labels: str, serve: bool = True) -> str:
    args = '["netexec", "--http-port=8080"]' if serve else '["pause"]'
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {labels}}}
spec:
  nodeName: {node}
  containers: [{{name: c, image: "{AGNHOST}", args: {args}, ports: [{{containerPort: 8080}}]}}]
"""


def service(name: str, extra: str, stype: str = "ClusterIP") -> str:
    return f"""apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  type: {stype}
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
{extra}"""


@pytest.fixture()
def two_nodes():
    """A web pod on the worker only; one client pod on each node."""
    cluster = OfflineCluster(nodes=2, say=lambda _: None)
    ns = cluster.namespace("traffic")
    ns.apply("---\n".join([pod("web-w", WORKER, "{app: web}"), pod("client-cp", CP, "{app: client-cp}", False),
                           pod("client-w", WORKER, "{app: client-w}", False)]))
    return cluster, ns


def nodes(cluster):
    return {n.name: n for n in cluster.state.nodes}


def test_node_name_binds_past_the_control_plane_taint(two_nodes) -> None:
    """A pod with spec.nodeName skips the scheduler, so NoSchedule does not keep it off."""
    cluster, _ = two_nodes
    placed = {p.name: p.node for p in cluster.state.pods_in("traffic")}
    assert placed == {"web-w": WORKER, "client-cp": CP, "client-w": WORKER}


def test_internal_traffic_policy_local_drops_on_a_node_without_an_endpoint(two_nodes) -> None:
    """pkg/proxy/topology.go CategorizeEndpoints + proxier: Local with endpoints only on other
    nodes is DROP ("has no local endpoints"); from the endpoint's own node it connects."""
    _, ns = two_nodes
    ns.apply(service("web", "  internalTrafficPolicy: Local\n"))
    far = ns.probe("web:80/hostname", frm="app=client-cp")
    assert far.status is Status.TIMEOUT and "internalTrafficPolicy: Local" in far.reason
    assert ns.probe("web:80/hostname", frm="app=client-w").pod == "traffic/web-w"


def test_local_policy_with_no_endpoint_anywhere_rejects(two_nodes) -> None:
    """proxier.go: hasEndpoints false -> REJECT whatever the policy ("has no endpoints");
    DROP is only for endpoints that exist elsewhere."""
    cluster, ns = two_nodes
    ns.apply(service("nobody", "  internalTrafficPolicy: Local\n  externalTrafficPolicy: Local\n", "NodePort")
             .replace("app: web", "app: nobody"))
    svc = ns.service("nobody")
    assert ns.probe("nobody:80", frm="app=client-w").status is Status.NO_ENDPOINTS
    worker = nodes(cluster)[WORKER]
    assert cluster.probe_external(svc.ports[0].node_port, host=worker.ip).status is Status.NO_ENDPOINTS


def test_external_traffic_policy_local_keeps_the_client_and_drops_elsewhere(two_nodes) -> None:
    """Local: no SNAT, only this node's endpoints; Cluster: every node forwards and SNATs to
    itself (the Service docs, "Traffic policies"; proxier.go masquerade for external
    destinations under Cluster)."""
    cluster, ns = two_nodes
    ns.apply(service("web", "  externalTrafficPolicy: Local\n", "NodePort"))
    port = ns.service("web").ports[0].node_port
    cp, worker = nodes(cluster)[CP], nodes(cluster)[WORKER]
    assert cluster.probe_external(port, host=cp.ip, path="/clientip").status is Status.TIMEOUT
    kept = cluster.probe_external(port, host=worker.ip, path="/clientip")
    assert kept.ok and kept.body.split(":")[0] == EXTERNAL_CLIENT_IP
    ns.apply(service("web", "  externalTrafficPolicy: Cluster\n", "NodePort"))
    for node in (cp, worker):
        seen = cluster.probe_external(port, host=node.ip, path="/clientip")
        assert seen.ok and seen.body.split(":")[0] == node.ip


def test_a_pods_own_traffic_to_a_local_node_port_is_not_held_to_local(two_nodes) -> None:
    """proxier.go: "pod traffic for external destinations" jumps to the Cluster endpoints."""
    cluster, ns = two_nodes
    ns.apply(service("web", "  externalTrafficPolicy: Local\n", "NodePort"))
    port = ns.service("web").ports[0].node_port
    out = ns.probe(f"{nodes(cluster)[CP].ip}:{port}/clientip", frm="app=client-cp")
    assert out.ok and out.body.split(":")[0] == cluster.state.pod("traffic/client-cp").ip


def test_health_check_node_port_allocated_kept_freed() -> None:
    """storage/alloc.go allocHealthCheckNodePort / updateHealthCheckNodePort."""
    cluster = OfflineCluster(nodes=2, say=lambda _: None)
    ns = cluster.namespace("hc")
    ns.apply(service("lb", "", "LoadBalancer"))
    assert ns.service("lb").health_check_node_port is None
    ns.apply(service("lb", "  externalTrafficPolicy: Local\n", "LoadBalancer"))
    first = ns.service("lb").health_check_node_port
    assert first is not None and 30000 <= first <= 32767 and first != ns.service("lb").ports[0].node_port
    ns.apply(service("lb", "  externalTrafficPolicy: Local\n", "LoadBalancer"))   # omitted: kept
    assert ns.service("lb").health_check_node_port == first
    with pytest.raises(ManifestError, match="cannot change healthCheckNodePort"):
        ns.apply(service("lb", f"  externalTrafficPolicy: Local\n  healthCheckNodePort: {first + 1}\n",
                         "LoadBalancer"))
    ns.apply(service("lb", "  externalTrafficPolicy: Cluster\n", "LoadBalancer"))
    assert ns.service("lb").health_check_node_port is None
    ns.apply(service("other", f"  externalTrafficPolicy: Local\n  healthCheckNodePort: {first}\n", "LoadBalancer"))
    assert ns.service("other").health_check_node_port == first          # it was freed


def test_health_check_answers_200_or_503_with_the_local_endpoint_count(two_nodes) -> None:
    """pkg/proxy/healthcheck/service_health.go hcHandler: JSON with localEndpoints; 200 when
    non-zero, 503 otherwise."""
    cluster, ns = two_nodes
    ns.apply(service("web", "  externalTrafficPolicy: Local\n", "LoadBalancer"))
    hc = ns.service("web").health_check_node_port
    answers = {}
    for name, node in nodes(cluster).items():
        out = cluster.probe_external(hc, host=node.ip, path="/healthz")
        answers[name] = (out.reason.split(":")[0], json.loads(out.body))
    assert answers[CP][0] == "HTTP 503" and answers[CP][1]["localEndpoints"] == 0
    assert answers[WORKER][0] == "HTTP 200" and answers[WORKER][1]["localEndpoints"] == 1
    assert answers[WORKER][1]["service"] == {"namespace": "traffic", "name": "web"}


def test_load_balancer_sends_only_to_healthy_nodes_and_shows_envoys_address(two_nodes) -> None:
    """cloud-provider-kind proxy.go: health checks on the healthCheckNodePort, panic threshold
    0; Envoy connects from its own address, so under Local the pod sees the LB address and
    under Cluster a node (issue 20, correction 1)."""
    cluster, ns = two_nodes
    ns.apply(service("web", "  externalTrafficPolicy: Local\n", "LoadBalancer"))
    lb = ns.service("web").external_address
    for _ in range(5):
        out = cluster.probe_external(80, host=lb, path="/clientip")
        assert out.ok and out.body.split(":")[0] == lb
    ns.apply(service("web", "  externalTrafficPolicy: Cluster\n", "LoadBalancer"))
    seen = {cluster.probe_external(80, host=lb, path="/clientip").body.split(":")[0] for _ in range(20)}
    assert seen <= {n.ip for n in cluster.state.nodes} and len(seen) == 2


def test_load_balancer_source_ranges_close_other_sources(two_nodes) -> None:
    """cloud-provider-kind: the listener's filter chain matches only loadBalancerSourceRanges;
    a pod's traffic reaches Envoy from its node's address (ipMode Proxy)."""
    cluster, ns = two_nodes
    ns.apply(service("web", "  loadBalancerSourceRanges: [203.0.113.0/24]\n", "LoadBalancer"))
    lb = ns.service("web").external_address
    shut = cluster.probe_external(80, host=lb, path="/hostname")
    assert shut.status is Status.REFUSED and "loadBalancerSourceRanges" in shut.reason
    ns.apply(service("web", f"  loadBalancerSourceRanges: [{EXTERNAL_CLIENT_IP}/32]\n", "LoadBalancer"))
    assert cluster.probe_external(80, host=lb, path="/hostname").ok
    assert ns.probe(f"{lb}:80", frm="app=client-w").status is Status.REFUSED
    ns.apply(service("web", "  loadBalancerSourceRanges: [172.18.0.0/16]\n", "LoadBalancer"))
    assert ns.probe(f"{lb}:80", frm="app=client-w").ok


def test_prefer_same_node_hints_and_fallback() -> None:
    """trafficdist.go writes node hints for PreferSameNode only (zone hints need a zone label,
    which kind's nodes lack); topology.go uses them only when every ready endpoint has one
    and one names this node, else every endpoint."""
    cluster = OfflineCluster(nodes=3, say=lambda _: None)
    ns = cluster.namespace("hints")
    ns.apply("---\n".join([pod("web-1", "svclab-worker", "{app: web}"), pod("web-2", "svclab-worker2", "{app: web}"),
                           pod("client", "svclab-worker", "{app: client}", False),
                           pod("far", CP, "{app: far}", False),
                           service("web", "  trafficDistribution: PreferSameNode\n")]))
    svc = cluster.state.service("hints", "web")
    hints = {e.pod: e.for_nodes for sl in cluster.state.slices(svc) for e in sl.endpoints}
    assert hints == {"hints/web-1": ("svclab-worker",), "hints/web-2": ("svclab-worker2",)}
    assert {ns.probe("web:80/hostname", frm="app=client").pod for _ in range(10)} == {"hints/web-1"}
    assert {ns.probe("web:80/hostname", frm="app=far").pod for _ in range(20)} == {"hints/web-1", "hints/web-2"}
    ns.apply(service("web", "  trafficDistribution: PreferClose\n"))
    assert not any(e.for_nodes for sl in cluster.state.slices(cluster.state.service("hints", "web"))
                   for e in sl.endpoints)
    assert {ns.probe("web:80/hostname", frm="app=client").pod for _ in range(20)} == {"hints/web-1", "hints/web-2"}
    assert "no zone hints" in ns.probe("web:80/hostname", frm="app=client").reason


def test_service_info_and_kubectl_show_the_fields(two_nodes) -> None:
    """cloud-provider-kind server.go reports ipMode Proxy; kubectl describe prints the
    HealthCheck NodePort and LoadBalancer Source Ranges lines."""
    import grader.kubectl as kubectl

    _, ns = two_nodes
    ns.apply(service("web", "  externalTrafficPolicy: Local\n  loadBalancerSourceRanges: [10.0.0.0/8]\n",
                     "LoadBalancer"))
    info = ns.service("web")
    assert (info.external_traffic_policy, info.ip_mode, info.load_balancer_source_ranges) == \
        ("Local", "Proxy", ("10.0.0.0/8",))
    described = kubectl.run(ns, "describe service web").stdout
    assert f"HealthCheck NodePort:        {info.health_check_node_port}\n" in described
    assert "LoadBalancer Source Ranges:  10.0.0.0/8" in described
    assert "(Proxy)" in described


def test_kube_proxy_healthz_answers_on_every_node_and_says_what_is_not_modelled(two_nodes) -> None:
    """pkg/proxy/healthcheck/proxy_health.go: kube-proxy's own /healthz on 10256 (what
    cloud-provider-kind's Envoy checks for a Cluster Service) answers 200 on every node."""
    cluster, _ = two_nodes
    for node in cluster.state.nodes:
        out = cluster.probe_external(10256, host=node.ip, path="/healthz")
        assert out.ok and out.reason.startswith("HTTP 200") and "not modelled" in out.reason


def test_a_load_balancer_class_is_left_pending() -> None:
    """k8s.io/cloud-provider service controller wantsLoadBalancer: only Services without a
    loadBalancerClass; cloud-provider-kind (and MetalLB by default) leave the rest pending."""
    ns = OfflineCluster(say=lambda _: None).namespace("cls")
    ns.apply(service("other", "  loadBalancerClass: example.com/other\n", "LoadBalancer"))
    assert ns.service("other").external_address is None
    ns.apply(service("mine", "", "LoadBalancer"))
    assert ns.service("mine").external_address is not None
