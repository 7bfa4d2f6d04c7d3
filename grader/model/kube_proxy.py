"""kube-proxy's nftables rules for one node, rendered from the model.

What kube-proxy v1.37 in nftables mode would write on that node for the model's Services
and EndpointSlices, in the text `nft list table ip kube-proxy` prints there, so that a
learner reads offline what they read live (checked against the local cluster's kube-proxy
v1.37.0: tests/model/test_kube_proxy_rules.py and tests/localcluster/):

- the fixed skeleton: base chains on the netfilter hooks; `services`, which marks for
  masquerade what reaches a ClusterIP from outside the pod network, then dispatches on the
  verdict maps `service-ips` (ClusterIP / LoadBalancer IP . protocol . port) and
  `service-nodeports` (protocol . nodePort, for the node's primary address);
  `masquerading` (SNAT of marked and hairpin connections); `cluster-ips-check` (a wrong
  port of a ClusterIP is rejected, an unallocated ClusterIP dropped); the maps
  `no-endpoint-services` / `no-endpoint-nodeports` (reject when a Service has no usable
  endpoint, drop when only a Local traffic policy leaves none on this node);
- per Service port: `service-HASH-ns/svc/proto/port` (Cluster policy: the DNAT itself,
  `numgen random mod N` over the endpoints), `local-...` (Local policy: this node's
  endpoints), `external-...` (NodePort / LoadBalancer entry: masquerade, or the Local
  policy's short-cuts), `firewall-...` (loadBalancerSourceRanges); with sessionAffinity:
  ClientIP, `endpoint-HASH-...` chains and `affinity-...` sets that remember clients.

Endpoints are used as kube-proxy's CategorizeEndpoints uses them: the ready ones, else (when
none is ready) the serving-and-terminating ones. Not modelled: topology hints and
trafficDistribution (every endpoint is used), dual stack (the `ip6` table).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from grader.k8s import kube_proxy_names as names
from grader.k8s.nft import NftChain, NftSet, NftTable
from grader.model.nodes import POD_CIDR, Node
from grader.model.services import SERVICE_CIDR, Service, ServicePort
from grader.model.state import ClusterState
from grader.observations import Endpoint

#: kube-proxy's default --masquerade-bit 14, as nft prints the mark.
MASQ_MARK = "0x00004000"
#: sessionAffinityConfig.clientIP.timeoutSeconds default (3 hours).
AFFINITY_TIMEOUT = 10800
#: How kube-proxy marks a connection for masquerading (the `masquerading` chain SNATs it).
SET_MARK = f"meta mark set meta mark | {MASQ_MARK}"
#: (endpoint, endpoint, protocol, port) of this node's endpoints: a pod reaching itself
#: through its Service is masqueraded, or its own reply would bypass the DNAT.
HAIRPIN = "hairpin-connections"
REJECT_CHAIN = "reject-chain"
_VMAP = "type ipv4_addr . inet_proto . inet_service : verdict"
_NODEPORT_VMAP = "type inet_proto . inet_service : verdict"


@dataclass(frozen=True)
class _PortPlan:
    """What kube-proxy decides for one Service port on one node."""

    svc: Service
    port: ServicePort
    cluster: tuple[Endpoint, ...]        # usable endpoints cluster-wide
    local: tuple[Endpoint, ...]          # usable endpoints on this node

    @property
    def proto(self) -> str:
        return self.port.protocol.lower()

    def chain(self, prefix: str) -> str:
        return prefix + names.service_port_base(self.svc.namespace, self.svc.name, self.proto, self.port.name)

    def endpoint_chain(self, e: Endpoint, prefix: str = names.ENDPOINT_PREFIX) -> str:
        return prefix + names.endpoint_base(self.svc.namespace, self.svc.name, self.proto, self.port.name,
                                            e.ip, e.port)

    @property
    def label(self) -> str:
        return '"' + names.service_port_label(self.svc.namespace, self.svc.name, self.port.name) + '"'

    @property
    def external(self) -> bool:
        """NodePort, LoadBalancer IPs or externalIPs reach this port from outside."""
        return bool(self.port.node_port or self.lb_ips or self.svc.external_ips)

    @property
    def lb_ips(self) -> tuple[str, ...]:
        ip = self.svc.load_balancer_ip if self.svc.type == "LoadBalancer" else None
        return (ip,) if ip else ()

    @property
    def external_local(self) -> bool:
        return self.external and self.svc.external_traffic_policy == "Local"

    @property
    def internal_local(self) -> bool:
        return self.svc.internal_traffic_policy == "Local"

    @property
    def uses_cluster(self) -> bool:
        return bool(self.cluster) and (not self.internal_local or (self.external and not self.external_local))

    @property
    def uses_local(self) -> bool:
        return bool(self.local) and (self.internal_local or self.external_local)


def usable(endpoints: list[Endpoint]) -> tuple[Endpoint, ...]:
    """kube-proxy's choice: ready endpoints; with none, the serving terminating ones. In
    the order kube-proxy keeps them (by "ip:port" as text)."""
    ready = [e for e in endpoints if e.ready]
    chosen = ready or [e for e in endpoints if e.serving and e.terminating]
    return tuple(sorted(chosen, key=lambda e: f"{e.ip}:{e.port}"))


def render(state: ClusterState, node: Node, *, source_ranges: dict[str, list[str]] | None = None) -> NftTable:
    """The `ip kube-proxy` table kube-proxy would hold on `node`. `source_ranges`: the
    loadBalancerSourceRanges per "ns/name" (read from the stored Services by the caller
    when the model's Service does not carry them)."""
    table = _skeleton(node)
    ranges = source_ranges or {}
    for plan in _plans(state, node):
        _add_port(table, plan, node, ranges.get(f"{plan.svc.namespace}/{plan.svc.name}", []))
    for s in table.sets.values():
        s.elements = sorted(dict.fromkeys(s.elements), key=_element_order)
    return table


def _element_order(element: str) -> tuple:
    head = element.split(" ", 1)[0]
    try:
        return (0, int(ipaddress.ip_address(head)), element)
    except ValueError:
        return (1, 0, element)


def _plans(state: ClusterState, node: Node) -> list[_PortPlan]:
    out = []
    for svc in state.services:
        if svc.type == "ExternalName" or svc.headless or not svc.cluster_ip:
            continue                     # kube-proxy ignores headless and ExternalName Services
        endpoints = state.endpoints(svc.namespace, svc.name)
        for port in svc.ports:
            mine = [e for e in endpoints if (e.port_name or None) == (port.name or None)
                    and e.protocol == port.protocol]
            cluster = usable(mine)
            local = usable([e for e in mine if _node_of(state, e) == node.name])
            out.append(_PortPlan(svc, port, cluster, local))
    return out


def _node_of(state: ClusterState, e: Endpoint) -> str | None:
    pod = state.pod(e.pod) if e.pod else None
    return pod.node if pod else None


def _skeleton(node: Node) -> NftTable:
    t = NftTable("ip", "kube-proxy", comment='"rules for kube-proxy"')
    for name, decl in (
        (HAIRPIN, ["type ipv4_addr . ipv4_addr . inet_proto . inet_service",
                   'comment "service hairpin connections"']),
        ("cluster-ips", ["type ipv4_addr", 'comment "Active ClusterIPs"']),
        ("nodeport-ips", ["type ipv4_addr", 'comment "IPs that accept NodePort traffic"']),
    ):
        t.sets[name] = NftSet(name, False, decl)
    t.sets["nodeport-ips"].elements = [node.ip]
    for name, decl in (
        ("no-endpoint-services",
         [_VMAP, 'comment "vmap to drop or reject packets to services with no endpoints"']),
        ("no-endpoint-nodeports",
         [_NODEPORT_VMAP, 'comment "vmap to drop or reject packets to service nodeports with no endpoints"']),
        ("firewall-ips", [_VMAP, 'comment "destinations that are subject to LoadBalancerSourceRanges"']),
        ("service-ips", [_VMAP, 'comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"']),
        ("service-nodeports", [_NODEPORT_VMAP, 'comment "NodePort traffic"']),
    ):
        t.sets[name] = NftSet(name, True, decl)
    for chain in _base_chains():
        t.chains[chain.name] = chain
    return t


def _base_chains() -> list[NftChain]:
    """The chains every node has, as nft prints them (it names some priorities: dstnat is
    -100, filter 0, srcnat 100, and prints others as numbers)."""
    new = "ct state new"
    return [
        NftChain("filter-prerouting-pre-dnat",
                 "type filter hook prerouting priority dstnat - 10; policy accept;",
                 rules=[f"{new} jump firewall-check"]),
        NftChain("filter-output-pre-dnat", "type filter hook output priority -110; policy accept;",
                 rules=[f"{new} jump firewall-check"]),
        NftChain("filter-input", "type filter hook input priority filter; policy accept;",
                 rules=[f"{new} jump nodeport-endpoints-check", f"{new} jump service-endpoints-check"]),
        NftChain("filter-forward", "type filter hook forward priority filter; policy accept;",
                 rules=[f"{new} jump service-endpoints-check", f"{new} jump cluster-ips-check"]),
        NftChain("filter-output", "type filter hook output priority filter; policy accept;",
                 rules=[f"{new} jump service-endpoints-check", f"{new} jump cluster-ips-check"]),
        NftChain("nat-prerouting", "type nat hook prerouting priority dstnat; policy accept;",
                 rules=["jump services"]),
        NftChain("nat-output", "type nat hook output priority -100; policy accept;", rules=["jump services"]),
        NftChain("nat-postrouting", "type nat hook postrouting priority srcnat; policy accept;",
                 rules=["jump masquerading"]),
        NftChain("nodeport-endpoints-check",
                 rules=["ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports"]),
        NftChain("service-endpoints-check",
                 rules=["ip daddr . meta l4proto . th dport vmap @no-endpoint-services"]),
        NftChain("firewall-check", rules=["ip daddr . meta l4proto . th dport vmap @firewall-ips"]),
        NftChain("services", rules=[
            f"ip daddr @cluster-ips ip saddr != {POD_CIDR} {SET_MARK} "
            'comment "masquerade clusterIP traffic from outside cluster"',
            "ip daddr . meta l4proto . th dport vmap @service-ips",
            "ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports"]),
        NftChain("masquerading", rules=[
            f"meta mark & {MASQ_MARK} != 0x00000000 meta mark set meta mark ^ {MASQ_MARK} "
            "masquerade fully-random",
            f"ct status dnat ip saddr . ip daddr . meta l4proto . th dport @{HAIRPIN} "
            "masquerade fully-random"]),
        NftChain("cluster-ips-check", rules=[
            'ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"',
            f'ip daddr {SERVICE_CIDR} drop comment "Drop traffic to unallocated ClusterIPs"']),
        NftChain(REJECT_CHAIN, comment='"helper for @no-endpoint-services / @no-endpoint-nodeports"',
                 rules=["reject"]),
    ]


def _add_port(t: NftTable, p: _PortPlan, node: Node, source_ranges: list[str]) -> None:
    """The map elements of one Service port (proxier.go's syncProxyRules loop), then its chains."""
    has = bool(p.cluster)
    has_internal = has and (not p.internal_local or bool(p.local))
    has_external = has and (not p.external_local or bool(p.local))
    verdict = f"goto {REJECT_CHAIN}" if not has else "drop"
    key = f"{p.svc.cluster_ip} . {p.proto} . {p.port.port}"
    t.sets["cluster-ips"].elements.append(str(p.svc.cluster_ip))
    internal_chain = p.chain(names.LOCAL_PREFIX if p.internal_local else names.SERVICE_PREFIX)
    if has_internal:
        t.sets["service-ips"].elements.append(f"{key} : goto {internal_chain}")
    else:
        t.sets["no-endpoint-services"].elements.append(f"{key} comment {p.label} : {verdict}")
    external = p.chain(names.EXTERNAL_PREFIX)
    for ip in (*p.svc.external_ips, *p.lb_ips):
        vip = f"{ip} . {p.proto} . {p.port.port}"
        if has:
            t.sets["service-ips"].elements.append(f"{vip} : goto {external}")
        if not has_external:
            t.sets["no-endpoint-services"].elements.append(f"{vip} comment {p.label} : {verdict}")
        if ip in p.lb_ips and source_ranges:
            t.sets["firewall-ips"].elements.append(f"{vip} : goto {p.chain(names.FIREWALL_PREFIX)}")
    if p.port.node_port:
        np = f"{p.proto} . {p.port.node_port}"
        if has:
            t.sets["service-nodeports"].elements.append(f"{np} : goto {external}")
        if not has_external:
            t.sets["no-endpoint-nodeports"].elements.append(f"{np} comment {p.label} : {verdict}")
    for chain in _chains(t, p, node, has, source_ranges):
        t.chains[chain.name] = chain


def _chains(t: NftTable, p: _PortPlan, node: Node, has: bool, source_ranges: list[str]) -> list[NftChain]:
    """The Service port's chains; hairpin and affinity sets filled on the way."""
    cluster_chain, local_chain = p.chain(names.SERVICE_PREFIX), p.chain(names.LOCAL_PREFIX)
    chains: list[NftChain] = []
    if p.uses_cluster:
        chains.append(NftChain(cluster_chain, rules=_spread(p, p.cluster)))
    if p.uses_local:
        chains.append(NftChain(local_chain, rules=_spread(p, p.local)))
    if has and p.external:
        chains.append(NftChain(p.chain(names.EXTERNAL_PREFIX),
                               rules=_external_rules(p, cluster_chain, local_chain)))
    if p.lb_ips and source_ranges:
        nets = [ipaddress.ip_network(c, strict=False) for c in source_ranges]
        allowed = list(source_ranges)
        if any(ipaddress.ip_address(node.ip) in n for n in nets):   # the node may reach its own LB IP
            allowed += [ip for ip in p.lb_ips if not any(ipaddress.ip_address(ip) in n for n in nets)]
        chains.append(NftChain(p.chain(names.FIREWALL_PREFIX),
                               rules=[f"ip saddr != {{ {', '.join(allowed)} }} drop"]))
    used = (*(p.cluster if p.uses_cluster else ()), *(p.local if p.uses_local else ()))
    reachable = dict.fromkeys(used)
    for e in reachable:
        if e in p.local:
            t.sets[HAIRPIN].elements.append(f"{e.ip} . {e.ip} . {p.proto} . {e.port}")
        if p.svc.session_affinity == "ClientIP":
            affinity = p.endpoint_chain(e, names.AFFINITY_PREFIX)
            timeout = p.svc.session_affinity_timeout or AFFINITY_TIMEOUT
            t.sets[affinity] = NftSet(affinity, False, [
                "type ipv4_addr", "size 65535", "flags dynamic,timeout", f"timeout {_duration(timeout)}"])
            chains.append(NftChain(p.endpoint_chain(e), rules=[
                f"update @{affinity} {{ ip saddr }}", f"meta l4proto {p.proto} dnat to {e.ip}:{e.port}"]))
    return chains


def _external_rules(p: _PortPlan, cluster_chain: str, local_chain: str) -> list[str]:
    if not p.external_local:
        return [f'{SET_MARK} comment "masquerade"', f"goto {cluster_chain}"]
    rules = [f'ip saddr {POD_CIDR} goto {cluster_chain} comment "short-circuit pod traffic"',
             f'fib saddr type local {SET_MARK} comment "masquerade local traffic"',
             f'fib saddr type local goto {cluster_chain} comment "short-circuit local traffic"']
    if p.local:
        rules.append(f"goto {local_chain}")
    return rules


def _spread(p: _PortPlan, endpoints: tuple[Endpoint, ...]) -> list[str]:
    """How a connection picks its endpoint. Without affinity the DNAT is in the Service's
    chain itself: one endpoint, a plain `dnat to`; more, `numgen random mod N` indexes a map
    of addresses. With sessionAffinity: ClientIP, a client remembered in an endpoint's
    affinity set goes back to it, others are spread over per-endpoint chains that remember."""
    proto = p.proto
    if p.svc.session_affinity == "ClientIP":
        rules = [f"ip saddr @{p.endpoint_chain(e, names.AFFINITY_PREFIX)} goto {p.endpoint_chain(e)}"
                 for e in endpoints]
        choices = ", ".join(f"{i} : goto {p.endpoint_chain(e)}" for i, e in enumerate(endpoints))
        return rules + [f"numgen random mod {len(endpoints)} vmap {{ {choices} }}"]
    if len(endpoints) == 1:
        return [f"meta l4proto {proto} dnat to {endpoints[0].ip}:{endpoints[0].port}"]
    choices = ", ".join(f"{i} : {e.ip} . {e.port}" for i, e in enumerate(endpoints))
    return [f"meta l4proto {proto} dnat ip to numgen random mod {len(endpoints)} map {{ {choices} }}"]


def _duration(seconds: int) -> str:
    """nft's way of printing a timeout: 10800 -> "3h", 90 -> "1m30s"."""
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"


__all__ = ["render", "usable"]
