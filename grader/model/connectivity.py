"""One connection attempt through the offline cluster, step by step as the packets would go:
DNS -> Service virtual IP (kube-proxy, iptables mode as in kind) -> DNAT to one endpoint ->
NetworkPolicy on the pod port -> is anything listening -> the server's answer.

Outcomes and the live behaviour they stand for (agnhost connect / curl in a pod):
- DNS_ERROR: the name did not resolve (NXDOMAIN, SERVFAIL, no A record), or the DNS query
  itself was dropped (NetworkPolicy egress without UDP 53 to kube-dns).
- NO_ENDPOINTS: the Service port has no ready endpoint (kube-proxy installs a REJECT rule
  for it). Both backends report NO_ENDPOINTS: live maps the refusal to it after reading
  the EndpointSlices; the model also names the cause.
  Traffic policies and topology (grader.model.traffic_policy, kube-proxy's
  CategorizeEndpoints): with internalTrafficPolicy Local (ClusterIP traffic) or
  externalTrafficPolicy Local (NodePort traffic from outside), a node whose endpoints are
  all elsewhere DROPs the traffic: TIMEOUT; a Service with no endpoint at all still rejects.
- TIMEOUT: NetworkPolicy dropped the connection (the reason quotes the policy engine);
  or the address:port has no kube-proxy rule (a ClusterIP on a port the Service does not
  declare: iptables mode has no rule and the packet goes nowhere); or nothing exists at
  that IP; or a ClusterIP/pod IP was dialled from outside the cluster.
- REFUSED: the packet reached the pod (or node) but nothing listens on that port.
- OK: connected; with a path, `body` is what agnhost netexec answers (server.py).

Endpoint choice: random among the ready endpoints, as kube-proxy's iptables rules pick
(`statistic --mode random`, equal odds), from the cluster's seeded generator (ClusterState
`seed`), so a notebook run twice makes the same choices; there is no rotation to rely on.
With sessionAffinity: ClientIP, the first choice sticks for that client IP while the
endpoint stays ready. Headless names resolve to pod IPs: the first address is dialled.

Source address seen by the server (`/clientip`):
- pod to pod or via ClusterIP: the client pod's IP;
- pod to itself via its Service (hairpin): kube-proxy masquerades it, so the pod sees the
  node's bridge address on the pod network (POD_GATEWAY);
- NodePort / LoadBalancer with externalTrafficPolicy: Cluster: SNAT to the IP of the node
  that received it (every node opens every NodePort; 127.0.0.1 is kind's port mapping to
  the control plane);
  with Local: the real client (from the learner's machine through kind's port mapping that
  is the Docker network gateway, EXTERNAL_CLIENT_IP), and a node with no ready endpoint of
  its own drops the traffic (kube-proxy does not forward it to another node); a pod's own
  traffic to a NodePort is not held to Local (and keeps the pod's address).
- LoadBalancer address, from outside or from a pod (cloud-provider-kind reports ipMode
  Proxy, so kube-proxy has no rule for it): Envoy, which owns the address, closes
  connections from outside loadBalancerSourceRanges, picks a node its health checks pass
  (with Local: one holding an endpoint, as the healthCheckNodePort says) and opens its own
  connection to that node's nodePort, so the client is Envoy's address (the LoadBalancer
  IP): with Cluster the pod sees the node (SNAT), with Local it sees Envoy's address, never
  the learner's machine.
- a healthCheckNodePort on a node answers kube-proxy's JSON (200 or 503).
NetworkPolicy judges the ORIGINAL client, not the SNATed source: kindnet's policy engine
(kube-network-policies) filters in the POSTROUTING hook ahead of source NAT. So a deny-all
ingress policy also stops NodePort and LoadBalancer traffic, and an ipBlock allowing the
learner's machine (EXTERNAL_CLIENT_IP) lets it back in, whatever externalTrafficPolicy says.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from grader.k8s.dns_names import candidates
from grader.model import dns, server
from grader.model.ipam import stable_int
from grader.model.objects import NODE_IP, Address, Pod
from grader.model.services import KIND_HOST_PORTS, SERVICE_CIDR, Service, ServicePort
from grader.model.traffic_policy import (
    KUBE_PROXY_HEALTHZ_PORT,
    categorize,
    health_check_answer,
    healthy_nodes,
    local_endpoint_count,
    proxy_endpoints,
    source_allowed,
)
from grader.observations import Outcome, Status, ip_sort_key, is_ip
from grader.observations import parse_target as base_parse_target

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.nodes import Node
    from grader.model.state import ClusterState

#: The learner's machine as the kind node sees it (the `kind` Docker network's gateway).
EXTERNAL_CLIENT_IP = "172.18.0.1"
#: The node's address on the pod network (kindnet's bridge), the source of hairpin traffic.
POD_GATEWAY = "10.244.0.1"
API_SERVER_PORT = 6443
LOCALHOSTS = ("127.0.0.1", "localhost")

Client = Union[Pod, Address]


#: The Cluster API's one target parser ("host:port[/path]"), kept under its old name here.
parse_target = base_parse_target


@dataclass
class _Ctx:
    """One connection attempt being traced: the state, the target, the client, the protocol and
    path."""

    state: "ClusterState"
    target: str
    client: Client
    protocol: str
    path: str | None
    connected_ip: str | None = None

    def out(
        self, status: Status, reason: str = "", pod: Pod | None = None, body: str | None = None
    ) -> Outcome:
        return Outcome(status=status, target=self.target, pod=pod.key if pod else None,
                       ip=self.connected_ip, body=body, reason=reason)

    @property
    def client_ip(self) -> str:
        return self.client.ip

    @property
    def client_name(self) -> str:
        return self.client.key if isinstance(self.client, Pod) else f"the client at {self.client.ip}"


# ---------------------------------------------------------------- public entry points
def probe(state: "ClusterState", frm: Pod, target: str, protocol: str = "TCP") -> Outcome:
    """Connect from pod `frm` to `target` ("host:port[/path]")."""
    protocol = protocol.upper()
    host, port, path = parse_target(target)
    ctx = _Ctx(state, target, frm, protocol, path)
    if is_ip(host):
        ip = host
    else:
        server, why = dns.dns_server_for(state, frm)   # can the query reach CoreDNS at all?
        if server is None:
            if why.startswith("kube-dns has no ready"):
                # kube-proxy rejects traffic to a Service with no endpoints: refused at once
                return ctx.out(Status.DNS_ERROR, f"DNS lookup of {host!r} failed at once: {why}, so "
                               "kube-proxy rejects the query (live: connection refused)")
            return ctx.out(Status.DNS_ERROR, f"DNS lookup of {host!r} timed out: " + why)
        answer = dns.as_applications_see(dns.resolve(state, host, frm.namespace, "A"))
        if not answer.addresses:
            cnames = [r.value for r in answer.records if r.rtype == "CNAME"]
            if cnames:
                return ctx.out(Status.DNS_ERROR, f"{host!r} is a CNAME for {cnames[-1]!r}, which has no "
                               "address the offline model can resolve (it has no internet access)")
            tried = ", ".join(candidates(host, frm.namespace))
            return ctx.out(Status.DNS_ERROR, f"{host!r} does not resolve from namespace {frm.namespace} "
                           f"({answer.rcode}; tried {tried})")
        ip = answer.addresses[0]
    ctx.connected_ip = ip
    return _to_address(ctx, ip, port, external=False)


def probe_external(state: "ClusterState", port: int, host: str = "127.0.0.1", path: str | None = None,
                   protocol: str = "TCP") -> Outcome:
    """Connect from the learner's machine: 127.0.0.1 reaches a NodePort only through kind's
    port mappings (KIND_HOST_PORTS); the node IP reaches any NodePort; a LoadBalancer IP
    serves the Service's own ports."""
    protocol = protocol.upper()
    target = f"{host}:{port}{path or ''}"
    ctx = _Ctx(state, target, Address(EXTERNAL_CLIENT_IP), protocol, path, connected_ip=host)
    if host in LOCALHOSTS:
        if port not in KIND_HOST_PORTS:
            return ctx.out(Status.REFUSED, f"nothing listens on {host}:{port} on your machine: the "
                           f"kind cluster maps only NodePorts {KIND_HOST_PORTS[0]}-{KIND_HOST_PORTS[-1]} "
                           "to 127.0.0.1 (use the node IP for other NodePorts)")
        # kind's extraPortMappings are on the control-plane node
        return _node_port(ctx, port, external=True, node=state.nodes[0])
    return _to_address(ctx, host, port, external=True)


# ---------------------------------------------------------------- routing
def _to_address(ctx: _Ctx, ip: str, port: int, *, external: bool) -> Outcome:
    state = ctx.state
    for svc in state.services:
        if svc.cluster_ip == ip:
            if external:
                return ctx.out(Status.TIMEOUT, f"{ip} is the ClusterIP of Service {svc.key}; ClusterIPs "
                               "are only reachable from inside the cluster")
            sp = svc.port(port, ctx.protocol)
            if sp is None:
                declared = ", ".join(f"{p.port}/{p.protocol}" for p in svc.ports) or "none"
                return ctx.out(Status.TIMEOUT, f"Service {svc.key} has no port {port}/{ctx.protocol} "
                               f"(it declares {declared}); kube-proxy has no rule for it, so the "
                               "packets to the ClusterIP go nowhere")
            itp_local = svc.internal_traffic_policy == "Local"
            return _via_service(ctx, svc, sp, node=_client_node(ctx), snat=False,
                                local="internalTrafficPolicy" if itp_local else "")
        if svc.load_balancer_ip == ip:
            sp = svc.port(port, ctx.protocol)
            if sp is None:
                return ctx.out(Status.TIMEOUT, f"LoadBalancer {svc.key} ({ip}) does not listen on "
                               f"{port}/{ctx.protocol}")
            return _via_envoy(ctx, svc, sp)
    node = next((n for n in state.nodes if n.ip == ip), None)
    if node is not None:
        return _node_port(ctx, port, external=external, node=node)
    pod = state.pod_by_ip(ip)
    if pod is not None:
        if external:
            return ctx.out(Status.TIMEOUT, f"{ip} is pod {pod.key}'s IP; pod IPs are not routable from "
                           "outside the cluster (use a NodePort or LoadBalancer Service)")
        return _to_pod(ctx, pod, port, seen_ip=ctx.client_ip)
    if is_ip(ip) and ipaddress.ip_address(ip) in ipaddress.ip_network(SERVICE_CIDR):
        return ctx.out(Status.TIMEOUT, f"no Service has the ClusterIP {ip}")
    return ctx.out(Status.TIMEOUT, f"nothing in the (offline) cluster has the address {ip}")


def _client_node(ctx: _Ctx) -> "Node | None":
    """The node whose kube-proxy sees a pod's packets first (None for other clients)."""
    return ctx.state.node_of(ctx.client) if isinstance(ctx.client, Pod) else None


def _node_port(ctx: _Ctx, port: int, *, external: bool, node: "Node") -> Outcome:
    """A NodePort (or a healthCheckNodePort) on `node`: every node opens every one. Under
    externalTrafficPolicy Local, traffic from outside goes only to endpoints on `node`;
    a pod's own traffic to a NodePort is sent to any endpoint (kube-proxy's "pod traffic
    for external destinations")."""
    for svc in ctx.state.services:
        if svc.health_check_node_port == port and ctx.protocol == "TCP":
            return _health_check(ctx, svc, node)
    for svc in ctx.state.services:
        sp = svc.node_port(port, ctx.protocol)
        if sp is not None:
            local = svc.external_traffic_policy == "Local" and not isinstance(ctx.client, Pod)
            return _via_service(ctx, svc, sp, node=node, snat=svc.external_traffic_policy != "Local",
                                local="externalTrafficPolicy" if local else "")
    if port == API_SERVER_PORT and ctx.protocol == "TCP":
        return ctx.out(Status.OK, "reached the Kubernetes API server on the node")
    if port == KUBE_PROXY_HEALTHZ_PORT and ctx.protocol == "TCP":
        return ctx.out(Status.OK, f"HTTP 200: kube-proxy's own health endpoint on node {node.name}, "
                       "which a load balancer checks for a Service with externalTrafficPolicy Cluster "
                       "(its JSON body, two timestamps, is not modelled)",
                       body="" if ctx.path is not None else None)
    return ctx.out(Status.REFUSED, f"no Service uses NodePort {port}/{ctx.protocol}, so the node "
                   "refuses the connection")


def _health_check(ctx: _Ctx, svc: Service, node: "Node") -> Outcome:
    """kube-proxy's health-check server for a Local LoadBalancer on `node`: any path answers
    JSON, 200 with local endpoints, 503 without."""
    eps = [e for sp in svc.ports for e in proxy_endpoints(svc, sp, ctx.state.slices(svc))]
    count = local_endpoint_count(eps, node.name)
    code, body = health_check_answer(svc, count)
    why = (f"HTTP {code}: kube-proxy's health check for Service {svc.key} on node {node.name} "
           f"({node.ip}) reports {count} local endpoint{'s' if count != 1 else ''}")
    return ctx.out(Status.OK, why, body=body if ctx.path is not None else None)


def _via_envoy(ctx: _Ctx, svc: Service, sp: ServicePort) -> Outcome:
    """The LoadBalancer address: cloud-provider-kind's Envoy (ipMode Proxy, so pods come
    through it too) checks the source against loadBalancerSourceRanges, picks a healthy node
    and opens its own connection, from its own address, to that node's nodePort."""
    state = ctx.state
    client_node = _client_node(ctx)
    # kindnet masquerades a pod's traffic to the kind network behind its node's address
    source = client_node.ip if client_node is not None else ctx.client_ip
    if not source_allowed(svc, source):
        ranges = ", ".join(svc.load_balancer_source_ranges)
        return ctx.out(Status.REFUSED, f"the load balancer of {svc.key} accepted the connection from "
                       f"{source} and closed it at once: {source} is outside "
                       f"loadBalancerSourceRanges ({ranges})")
    if sp.node_port is None:
        return ctx.out(Status.REFUSED, f"Service {svc.key} has no nodePort (allocateLoadBalancerNodePorts: "
                       "false), and cloud-provider-kind's Envoy sends only to nodePorts: it accepts the "
                       "connection and closes it")
    eps = proxy_endpoints(svc, sp, state.slices(svc))
    healthy = healthy_nodes(svc, eps, [n.name for n in state.nodes])
    ctx.client = Address(svc.load_balancer_ip or "")
    if not healthy:
        # no node has a local endpoint: with no endpoint anywhere that is the usual rejection
        node = state.nodes[0]
        return _via_service(ctx, svc, sp, node=node, snat=False, local="externalTrafficPolicy")
    name = healthy[0] if len(healthy) == 1 else healthy[state.rng.randrange(len(healthy))]
    node = next(n for n in state.nodes if n.name == name)
    local = svc.external_traffic_policy == "Local"
    return _via_service(ctx, svc, sp, node=node, snat=not local,
                        local="externalTrafficPolicy" if local else "")


def _via_service(ctx: _Ctx, svc: Service, sp: ServicePort, *, node: "Node | None", snat: bool,
                 local: str) -> Outcome:
    """kube-proxy on `node` forwards to one endpoint of `sp`: every usable one, or, when
    `local` names the policy that says Local, only those on `node`; SNAT to `node` if asked."""
    state = ctx.state
    if svc.type == "ExternalName" or svc.headless:
        return ctx.out(Status.TIMEOUT, f"Service {svc.key} has no virtual IP to connect to")
    eps = proxy_endpoints(svc, sp, state.slices(svc))
    cat = categorize(eps, node=node.name if node else None, local=bool(local))
    if cat.action == "reject":
        reason = _why_no_endpoints(state, svc, sp, [e.endpoint for e in eps])
        return ctx.out(Status.NO_ENDPOINTS, reason + "; kube-proxy rejects connections to it")
    if cat.action == "drop":
        where = f"node {node.name} ({node.ip})" if node else "this client's node"
        return ctx.out(Status.TIMEOUT, f"Service {svc.key} has no ready endpoint on {where}; with "
                       f"{local}: Local a node forwards only to endpoints on itself, so it drops the traffic")
    ready = sorted((e.endpoint for e in cat.usable), key=lambda e: (e.port, ip_sort_key(e.ip)))
    ep = _choose(ctx, svc, sp, ready)
    pod = state.pod(ep.pod) if ep.pod else state.pod_by_ip(ep.ip)
    if pod is None:
        if ep.ip == NODE_IP and ep.port == API_SERVER_PORT:
            return ctx.out(Status.OK, f"Service {svc.key} forwarded to the API server at {ep.ip}:{ep.port}")
        return ctx.out(Status.TIMEOUT, f"Service {svc.key} forwarded to {ep.ip}:{ep.port}, which is "
                       "not a pod of the (offline) cluster")
    if snat:
        seen = node.ip if node is not None else NODE_IP       # SNAT to the receiving node
    elif isinstance(ctx.client, Pod) and ctx.client.key == pod.key:
        home = state.node_of(pod)                # hairpin: masqueraded to the node's bridge
        seen = home.gateway if home else POD_GATEWAY
    else:
        seen = ctx.client_ip
    via = f"Service {svc.key} port {sp.port} -> "
    if svc.traffic_distribution in ("PreferClose", "PreferSameZone"):
        via = (f"Service {svc.key} port {sp.port} (trafficDistribution {svc.traffic_distribution}: no zone "
               "hints, kind's nodes have no topology.kubernetes.io/zone label, so any endpoint) -> ")
    if cat.narrowed == "PreferSameNode":
        via = (f"Service {svc.key} port {sp.port} (trafficDistribution PreferSameNode: an endpoint on "
               "this node) -> ")
    return _to_pod(ctx, pod, ep.port, seen_ip=seen, via=via)


def _choose(ctx: _Ctx, svc: Service, sp: ServicePort, ready: list):
    state = ctx.state
    slot = f"{svc.key}|{sp.port}/{sp.protocol}"
    if svc.session_affinity == "ClientIP":
        akey = f"{ctx.client_ip}|{slot}"
        held = state.affinity.get(akey)
        for e in ready:
            if f"{e.ip}:{e.port}" == held:
                return e
    chosen = ready[state.rng.randrange(len(ready))]
    if svc.session_affinity == "ClientIP":
        state.affinity[f"{ctx.client_ip}|{slot}"] = f"{chosen.ip}:{chosen.port}"
    return chosen


def _why_no_endpoints(state: "ClusterState", svc: Service, sp: ServicePort, eps: list) -> str:
    head = f"Service {svc.key} has no ready endpoints for port {sp.label}"
    if not svc.selector:
        return head + " (it has no selector and no EndpointSlice lists addresses for it)"
    from grader.model.services import selects
    matching = [p for p in state.pods_in(svc.namespace) if selects(svc.selector, p.labels)]
    sel = ",".join(f"{k}={v}" for k, v in svc.selector.items())
    if not matching:
        return head + f" (no pod in {svc.namespace} carries the labels {sel})"
    if eps:
        names = ", ".join(e.pod.split("/")[1] for e in eps if e.pod)
        return head + f" (the selected pods are not Ready: {names})"
    if all(p.pending for p in matching):
        return head + (f" (the {len(matching)} selected pods are all Pending, with no IP: "
                       f"{matching[0].pending_reason})")
    if isinstance(sp.target_port, str):
        return head + (f" (targetPort {sp.target_port!r} names no {sp.protocol} containerPort of the "
                       "selected pods)")
    return head


def _to_pod(ctx: _Ctx, pod: Pod, port: int, *, seen_ip: str, via: str = "") -> Outcome:
    state = ctx.state
    # Policy sees the pre-SNAT client (see the module docstring); a pod reaching itself
    # through its Service is self traffic, which is never policed.
    verdict = state.policy_engine().check(ctx.client, pod, port, ctx.protocol)
    if not verdict.allowed:
        return ctx.out(Status.TIMEOUT, f"{via}pod {pod.key} port {port}/{ctx.protocol}: dropped by "
                       f"NetworkPolicy: {verdict.explanation}")
    if not pod.listens(port, ctx.protocol):
        listening = ", ".join(f"{p}/{pr}" for p, pr in sorted(pod.listening)) or "nothing"
        return ctx.out(Status.REFUSED, f"{via}pod {pod.key} has nothing listening on {port}/{ctx.protocol} "
                       f"(it listens on {listening})")
    body = None
    if ctx.path is not None and ctx.protocol == "TCP":
        n = state.rr_counters.get("#connections", 0)
        state.rr_counters["#connections"] = n + 1
        client_port = 32768 + stable_int(ctx.client.key, pod.key, str(n)) % 28232
        body = server.http_answer(pod, ctx.path, seen_ip, client_port,
                                  pod.servers.get((port, ctx.protocol)) or "generic")
    return ctx.out(Status.OK, f"{via}pod {pod.key} {pod.ip}:{port}", pod=pod, body=body)
