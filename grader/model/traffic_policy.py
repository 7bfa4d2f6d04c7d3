"""Which endpoints kube-proxy on one node may send a Service's traffic to, and what
cloud-provider-kind's Envoy does in front of the nodes: the traffic policies, the topology
hints, the health-check node port and the source ranges.

kube-proxy (pkg/proxy/topology.go CategorizeEndpoints; pkg/proxy/nftables/proxier.go):
- "Usable" means Ready; only when none is Ready anywhere do serving-and-terminating
  endpoints stand in (separately for Cluster and Local).
- Cluster policy: every usable endpoint, narrowed by topology hints when the hints allow
  it (topologyModeFromHints): PreferSameNode when EVERY ready endpoint carries a node hint
  and at least one names this node; PreferSameZone likewise with zone hints and this node's
  zone. kind's nodes carry no topology.kubernetes.io/zone label, so zone hints never apply
  here; a hint that does not fit falls back to every endpoint, never to none.
- Local policy (internalTrafficPolicy for ClusterIP traffic, externalTrafficPolicy for
  NodePort and load-balancer traffic from outside): only this node's usable endpoints.
- Nothing usable: a Service with no usable endpoint anywhere is REJECTed (the client is told
  at once); one whose endpoints are all on other nodes, under Local, is DROPped ("has no
  local endpoints": the client waits for a timeout).
- Traffic a pod sends to a NodePort or an external address of a Local Service is not held to
  Local: kube-proxy sends pod-sourced ("pod traffic for external destinations") and
  node-sourced traffic to the Cluster endpoints.
- The health-check server (pkg/proxy/healthcheck/service_health.go) listens on a Local
  LoadBalancer's healthCheckNodePort on every node and answers any path with JSON naming the
  Service and its localEndpoints count: 200 when there is at least one, 503 when none.

cloud-provider-kind (pkg/loadbalancer/proxy.go, server.go): an Envoy container owns the
load-balancer address; status.loadBalancer.ingress carries ipMode Proxy, so kube-proxy
installs no rule for that address and even pods reach it through Envoy. Envoy's listener
only has a filter chain for the Service's loadBalancerSourceRanges (when set), so a
connection from elsewhere is accepted and closed at once; it health-checks every node's
/healthz on the healthCheckNodePort (Local) or kube-proxy's 10256 (Cluster, always healthy)
and, with a panic threshold of 0, sends only to healthy nodes, picked at random, to the
nodePort, from its own address.

Not modelled (the model's load balancer is cloud-provider-kind's): what kube-proxy does for
a VIP-mode address (MetalLB on the local cluster, most clouds), i.e. capturing the address on
every node so a pod's connection never leaves its node, and dropping sources outside
loadBalancerSourceRanges itself; zone hints, since kind's nodes (and the model's) carry no
zone label, so PreferClose and PreferSameZone write none and change nothing, as on kind;
serving-but-terminating endpoints, coded above but never met, as the model's pods do not
linger in termination.
"""
from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Iterable, Sequence

from grader.model.endpointslices import EndpointSlice, SliceEndpoint
from grader.model.services import Service, ServicePort
from grader.observations import Endpoint

#: Where Envoy sends health checks when the Service is not Local: kube-proxy's healthz port.
KUBE_PROXY_HEALTHZ_PORT = 10256


@dataclass(frozen=True)
class ProxyEndpoint:
    """One endpoint of one Service port as kube-proxy reads it from the EndpointSlices."""

    endpoint: Endpoint
    node: str | None
    for_nodes: tuple[str, ...] = ()

    @property
    def ready(self) -> bool:
        return self.endpoint.ready

    @property
    def serving_terminating(self) -> bool:
        return self.endpoint.serving and self.endpoint.terminating


@dataclass(frozen=True)
class Categorized:
    """What kube-proxy on one node does with one Service port's traffic under one policy."""

    usable: tuple[ProxyEndpoint, ...]
    #: "forward" (usable is not empty), "reject" (no usable endpoint anywhere) or "drop"
    #: (Local policy, endpoints only on other nodes)
    action: str
    #: how the endpoints were narrowed, for explanations ("" when not at all)
    narrowed: str = ""


def proxy_endpoints(svc: Service, sp: ServicePort, slices: Sequence[EndpointSlice]) -> list[ProxyEndpoint]:
    """The endpoints of `sp` as kube-proxy joins slices to Service ports (by port name and
    protocol), with each endpoint's node and node hints."""
    out = []
    for sl in slices:
        for port in sl.ports:
            if (port.name or None) != (sp.name or None) or port.protocol != sp.protocol:
                continue
            for e in sl.endpoints:
                endpoint = _endpoint(e, port.port, port.protocol, sp.name)
                out.append(ProxyEndpoint(endpoint, e.node, e.for_nodes))
    return out


def _endpoint(e: SliceEndpoint, port: int, protocol: str, name: str | None) -> Endpoint:
    return Endpoint(ip=e.address, port=port, protocol=protocol, port_name=name, pod=e.pod,
                    ready=e.ready, serving=e.serving, terminating=e.terminating)


def categorize(endpoints: Sequence[ProxyEndpoint], *, node: str | None, local: bool) -> Categorized:
    """CategorizeEndpoints for one policy on `node` (None: a node that holds no endpoint)."""
    ready = [e for e in endpoints if e.ready]
    fallback = [e for e in endpoints if not e.ready and e.serving_terminating]
    if not ready and not fallback:
        return Categorized((), "reject")
    if local:
        mine = [e for e in ready if node is not None and e.node == node] or \
               [e for e in fallback if node is not None and e.node == node]
        return Categorized(tuple(mine), "forward" if mine else "drop", "local")
    if ready:
        if node is not None and all(e.for_nodes for e in ready) and any(node in e.for_nodes for e in ready):
            return Categorized(tuple(e for e in ready if node in e.for_nodes), "forward", "PreferSameNode")
        return Categorized(tuple(ready), "forward")
    return Categorized(tuple(fallback), "forward")


def local_endpoint_count(endpoints: Sequence[ProxyEndpoint], node: str) -> int:
    """What the health-check server reports as localEndpoints on `node`: the Service's ready
    endpoints on that node, each address:port once over all its ports
    (EndpointsMap.LocalReadyEndpoints)."""
    return len({(e.endpoint.ip, e.endpoint.port) for e in endpoints if e.ready and e.node == node})


def health_check_answer(svc: Service, local_endpoints: int) -> tuple[int, str]:
    """(HTTP status, body) of kube-proxy's health-check server for `svc` on a node with
    `local_endpoints` usable endpoints (kube-proxy itself healthy)."""
    body = {"service": {"namespace": svc.namespace, "name": svc.name},
            "localEndpoints": local_endpoints, "serviceProxyHealthy": True}
    return (200 if local_endpoints else 503), json.dumps(body, indent="\t")


def source_allowed(svc: Service, source: str) -> bool:
    """Envoy's filter chain match: no ranges admit everyone; otherwise `source` must lie in
    one of them."""
    if not svc.load_balancer_source_ranges:
        return True
    ip = ipaddress.ip_address(source)
    return any(ip in ipaddress.ip_network(r, strict=False) for r in svc.load_balancer_source_ranges)


def healthy_nodes(svc: Service, endpoints: Sequence[ProxyEndpoint], nodes: Iterable[str]) -> list[str]:
    """The nodes Envoy's health checks pass: all of them (kube-proxy's healthz) unless the
    Service is Local, then those whose health-check port answers 200."""
    names = list(nodes)
    if svc.external_traffic_policy != "Local":
        return names
    return [n for n in names if local_endpoint_count(endpoints, n)]
