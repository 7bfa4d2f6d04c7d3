"""Services: defaulting, allocation (ClusterIP, NodePort, LoadBalancer IP) and port
resolution, as the API server and the cloud provider would do them.

Upstream behaviour modelled (kubernetes.io "Service", "Virtual IPs and Service Proxies"):
- type defaults to ClusterIP; port protocol defaults to TCP; targetPort defaults to port.
- ClusterIPs come from the service CIDR (10.96.0.0/16: kind's default, deliberately not
  kubeadm's /12); a requested IP is honoured if free and inside it, otherwise the API
  server refuses the object with its allocator's message. `clusterIP: None` makes a
  headless Service (no virtual IP: DNS answers pod IPs and kube-proxy ignores it).
- NodePort and LoadBalancer get a nodePort from 30000-32767 (requested or automatic);
  automatic ones prefer the upper band, as the API server does. On create, ports with the
  same number (53/TCP and 53/UDP) share one nodePort, the first one requested among them
  or one allocated for all; the same explicit nodePort on two protocols of one port is
  valid (validation only refuses a duplicate nodePort+protocol). On update, a port that
  omits its nodePort keeps the one the port of the same name had (unless another port
  now uses it), and any other omitted one gets a fresh allocation (storage/alloc.go
  patchAllocatedValues, initNodePorts, updateNodePorts).
- LoadBalancer additionally gets an external IP, unless it names a loadBalancerClass (the
  cloud provider's service controller, and MetalLB, leave those to another controller). In
  kind, cloud-provider-kind starts an Envoy container per Service on the `kind` Docker
  network and reports its address; the
  model hands out LB_POOL addresses lowest-free-first, the way Docker's IPAM does.
- healthCheckNodePort: a LoadBalancer with externalTrafficPolicy Local gets one more port
  from the NodePort pool (the requested one or the next free), after its nodePorts, as
  storage/alloc.go allocHealthCheckNodePort does; an update keeps it (an omitted value is
  patched back, a different one is refused), and it is freed when the Service stops being a
  Local LoadBalancer (updateHealthCheckNodePort).
- ExternalName: no ClusterIP, no ports proxied, no endpoints; DNS answers a CNAME.
- A named targetPort is resolved per pod against its containerPorts (same name AND
  protocol); a pod that lacks it is not an endpoint for that Service port.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from grader.model.ipam import AllocationError, IntPool, IPPool
from grader.model.objects import Pod

SERVICE_CIDR = "10.96.0.0/16"       # kind's default serviceSubnet (not kubeadm's /12)
KUBERNETES_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
NODE_PORT_RANGE = (30000, 32767)
#: The NodePorts the course's kind cluster maps to 127.0.0.1 (extraPortMappings). The live
#: kind config uses exactly these numbers; a NodePort outside them is reachable from the
#: learner's machine only through the node IP.
KIND_HOST_PORTS: tuple[int, ...] = tuple(range(30080, 30090))
#: Where LoadBalancer external IPs come from (cloud-provider-kind's Envoy containers on the
#: kind network 172.18.0.0/16; the model starts at .100 so they never look like node IPs).
LB_POOL = ("172.18.0.100", "172.18.0.199")
#: The ipMode cloud-provider-kind writes into status.loadBalancer.ingress (server.go
#: GetLoadBalancer): its Envoy is a proxy, so kube-proxy must not capture the address.
LB_IP_MODE = "Proxy"


@dataclass(frozen=True)
class ServicePort:
    """One port of a Service after defaulting and allocation."""

    port: int
    protocol: str = "TCP"
    name: str | None = None
    target_port: int | str = 0          # number, or a container port name
    node_port: int | None = None
    app_protocol: str | None = None

    @property
    def label(self) -> str:
        return self.name or str(self.port)


@dataclass(frozen=True)
class Service:
    """A Service after defaulting and allocation."""

    namespace: str
    name: str
    type: str = "ClusterIP"
    cluster_ip: str | None = None        # None for headless and ExternalName
    headless: bool = False
    selector: dict[str, str] | None = None   # None: selectorless (endpoints are manual)
    ports: tuple[ServicePort, ...] = ()
    external_name: str | None = None
    load_balancer_ip: str | None = None
    external_ips: tuple[str, ...] = ()
    session_affinity: str = "None"
    publish_not_ready: bool = False
    external_traffic_policy: str = "Cluster"
    internal_traffic_policy: str = "Cluster"
    labels: dict[str, str] = field(default_factory=dict)
    ip_family_policy: str | None = "SingleStack"
    ip_families: tuple[str, ...] = ("IPv4",)
    allocate_load_balancer_node_ports: bool = True
    session_affinity_timeout: int | None = None   # sessionAffinityConfig.clientIP.timeoutSeconds
    traffic_distribution: str | None = None
    health_check_node_port: int | None = None
    load_balancer_source_ranges: tuple[str, ...] = ()
    load_balancer_class: str | None = None

    @property
    def needs_health_check_node_port(self) -> bool:
        """neededHealthCheckNodePort: only a LoadBalancer with externalTrafficPolicy Local."""
        return self.type == "LoadBalancer" and self.external_traffic_policy == "Local"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def port(self, port: int, protocol: str = "TCP") -> ServicePort | None:
        for p in self.ports:
            if p.port == port and p.protocol == protocol:
                return p
        return None

    def node_port(self, node_port: int, protocol: str = "TCP") -> ServicePort | None:
        for p in self.ports:
            if p.node_port == node_port and p.protocol == protocol:
                return p
        return None

    @property
    def fqdn(self) -> str:
        from grader.k8s.dns_names import CLUSTER_DOMAIN
        return f"{self.name}.{self.namespace}.svc.{CLUSTER_DOMAIN}"


def _target(raw: Any, port: int) -> int | str:
    if raw is None or raw == "" or raw == 0:
        return port
    if isinstance(raw, int):
        return raw
    s = str(raw)
    return int(s) if s.isdigit() else s


def normalize(obj: Mapping[str, Any], namespace: str) -> Service:
    """The user's intent with API-server defaults applied (no allocation yet)."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    ports = []
    for p in spec.get("ports") or []:
        port = int(p["port"])
        ports.append(ServicePort(
            port=port, protocol=str(p.get("protocol") or "TCP"), name=p.get("name") or None,
            target_port=_target(p.get("targetPort"), port),
            node_port=int(p["nodePort"]) if p.get("nodePort") else None,
            app_protocol=p.get("appProtocol")))
    selector = spec.get("selector")
    cluster_ip = None if stype == "ExternalName" else spec.get("clusterIP") or None
    # pkg/apis/core/v1/defaults.go SetDefaults_Service: externalTrafficPolicy only for
    # NodePort/LoadBalancer; internalTrafficPolicy for every type but ExternalName;
    # allocateLoadBalancerNodePorts true for LoadBalancer; ClientIP affinity timeout 10800.
    node_ported = stype in ("NodePort", "LoadBalancer")
    affinity = spec.get("sessionAffinity") or "None"
    timeout = None
    if affinity == "ClientIP":
        cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
        timeout = int(cfg.get("timeoutSeconds") or 10800)
    # pkg/registry/core/service/storage/alloc.go initIPFamilyFields on a single-stack IPv4
    # cluster: ExternalName gets none; headless without selector RequireDualStack (families
    # stay [IPv4]); everything else SingleStack [IPv4].
    headless = cluster_ip == "None"
    if stype == "ExternalName":
        family_policy, families = None, ()
    else:
        default_policy = "RequireDualStack" if headless and not selector else "SingleStack"
        family_policy = spec.get("ipFamilyPolicy") or default_policy
        families = tuple(spec.get("ipFamilies") or ("IPv4",))
    return Service(
        namespace=str(meta.get("namespace") or namespace), name=str(meta["name"]), type=stype,
        cluster_ip=cluster_ip, headless=headless,
        selector={str(k): str(v) for k, v in selector.items()} if selector else None,
        ports=tuple(ports), external_name=spec.get("externalName"),
        external_ips=tuple(spec.get("externalIPs") or ()),
        session_affinity=affinity,
        publish_not_ready=bool(spec.get("publishNotReadyAddresses")),
        external_traffic_policy=(spec.get("externalTrafficPolicy") or "Cluster") if node_ported else "",
        internal_traffic_policy=("" if stype == "ExternalName"
                                 else spec.get("internalTrafficPolicy") or "Cluster"),
        labels=dict(meta.get("labels") or {}),
        ip_family_policy=family_policy, ip_families=families,
        allocate_load_balancer_node_ports=spec.get("allocateLoadBalancerNodePorts") is not False,
        session_affinity_timeout=timeout,
        traffic_distribution=spec.get("trafficDistribution") or None,
        health_check_node_port=int(spec["healthCheckNodePort"]) if spec.get("healthCheckNodePort") else None,
        load_balancer_class=spec.get("loadBalancerClass") or None,
        load_balancer_source_ranges=tuple(str(r).strip() for r in spec.get("loadBalancerSourceRanges") or ()
                                          if stype == "LoadBalancer"),
    )


def _range_offset(size: int, lo: int, hi: int, step: int) -> int:
    """min(max(lo, size/step), hi), and 0 for ranges of at most `lo` values: the
    calculateRangeOffset of the API server's allocators."""
    if size <= lo:
        return 0
    return min(max(lo, size // step), hi)


def cluster_ip_range_offset(cidr_size: int) -> int:
    """KEP-3070 static band size for a service CIDR of `cidr_size` addresses
    (pkg/registry/core/service/ipallocator calculateRangeOffset: min 16, max 256, step 16)."""
    return _range_offset(cidr_size, 16, 256, 16)


def node_port_range_offset(range_size: int) -> int:
    """KEP-3668 static band size for a NodePort range of `range_size` ports
    (pkg/registry/core/service/portallocator calculateRangeOffset: min 16, max 128, step 32)."""
    return _range_offset(range_size, 16, 128, 32)


class ServiceAllocator:
    """The three pools a Service can draw from, with the API server's error wording."""

    def __init__(self) -> None:
        net = ipaddress.ip_network(SERVICE_CIDR)
        # KEP-3070: the lower band is kept for explicit requests. The band counts from the
        # first usable address (network + 1), so the dynamic band starts at
        # network + 1 + offset: 10.96.1.1 for 10.96.0.0/16 (ipallocator.go NewIPAllocator:
        # offsetAddress = addOffsetAddress(ipFirst, rangeOffset)).
        self.cluster_ips = IPPool(SERVICE_CIDR, dynamic_offset=1 + cluster_ip_range_offset(net.num_addresses))
        low, high = NODE_PORT_RANGE
        # KEP-3668: same split for NodePorts, offsets counted from the range base:
        # 30000-32767 -> static 30000-30085, dynamic 30086-32767.
        self.node_ports = IntPool(low, high, dynamic_low=low + node_port_range_offset(high - low + 1))
        self.lb_ips = IPPool("172.18.0.0/16", last=LB_POOL[1], sequential=True,
                             dynamic_offset=(int(ipaddress.ip_address(LB_POOL[0]))
                                             - int(ipaddress.ip_address("172.18.0.0"))))

    def release(self, svc_key: str) -> None:
        self.cluster_ips.release(svc_key)
        self.lb_ips.release(svc_key)
        for key in [k for k in self.node_ports.by_key if k.startswith(svc_key + "#")]:
            self.node_ports.release(key)
        self.node_ports.release(_hc_key(svc_key))

    def allocate(self, svc: Service, previous: Service | None) -> Service:
        """Allocate what `svc` needs, keeping what `previous` (same Service) already holds:
        its ClusterIP, then its NodePorts, then its LoadBalancer IP, in the API server's
        order. Raises AllocationError with the API server's message."""
        invalid = f'Service "{svc.name}" is invalid'
        cluster_ip = self._allocate_cluster_ip(svc, previous, invalid)
        ports = self._allocate_node_ports(svc, previous, invalid)
        health_check = self._allocate_health_check_node_port(svc, previous, invalid)
        lb_ip = None
        if svc.type == "LoadBalancer" and svc.load_balancer_class is None:
            # cloud-provider-kind (the cloud-provider service controller) and MetalLB serve only
            # Services without a loadBalancerClass: any other class stays <pending> here
            lb_ip = self.lb_ips.allocate(svc.key)
        else:
            self.lb_ips.release(svc.key)
        return replace(svc, cluster_ip=cluster_ip, ports=tuple(ports), load_balancer_ip=lb_ip,
                       health_check_node_port=health_check)

    def _allocate_health_check_node_port(self, svc: Service, previous: Service | None,
                                         invalid: str) -> int | None:
        """storage/alloc.go allocHealthCheckNodePort / updateHealthCheckNodePort: one port
        from the NodePort pool for a Local LoadBalancer, kept across updates, freed when no
        longer needed. Raises AllocationError with the API server's message."""
        key = _hc_key(svc.key)
        held = self.node_ports.get(key)
        if not svc.needs_health_check_node_port:
            self.node_ports.release(key)
            return None
        field = f"{invalid}: spec.healthCheckNodePort"
        wanted = svc.health_check_node_port
        if previous is not None and previous.needs_health_check_node_port and held is not None:
            if wanted not in (None, held):
                raise AllocationError(f"{field}: Invalid value: {wanted}: cannot change healthCheckNodePort "
                                      "on loadBalancer service with externalTraffic=Local during update")
            return held
        if wanted is None:
            return self.node_ports.reserve(key, self.node_ports.next_free(key))
        self._check_node_port_free(key, wanted, field)
        return self.node_ports.reserve(key, wanted)

    def _allocate_cluster_ip(self, svc: Service, previous: Service | None, invalid: str) -> str | None:
        """The Service's ClusterIP: kept from `previous` (it may not change once set), the
        requested one reserved, or the next free one; None for headless and ExternalName."""
        key = svc.key
        cluster_ip = svc.cluster_ip
        if previous is not None and previous.type != "ExternalName" and svc.type != "ExternalName":
            before = "None" if previous.headless else previous.cluster_ip
            if cluster_ip is not None and before is not None and cluster_ip != before:
                raise AllocationError(f'{invalid}: spec.clusterIPs[0]: Invalid value: ["{cluster_ip}"]: '
                                      "may not change once set")
            cluster_ip = before
        if svc.type == "ExternalName":
            self.cluster_ips.release(key)
            return None
        if cluster_ip == "None":
            return None
        if cluster_ip is None:
            return self.cluster_ips.allocate(key)
        try:
            self.cluster_ips.reserve(key, cluster_ip)
        except AllocationError as exc:
            if "range" in str(exc) or "valid IP" in str(exc):
                why = (f"the provided IP ({cluster_ip}) is not in the valid range. "
                       f"The range of valid IPs is {SERVICE_CIDR}")
            else:
                why = "provided IP is already allocated"
            raise AllocationError(
                f'{invalid}: spec.clusterIPs: Invalid value: ["{cluster_ip}"]: '
                f"failed to allocate IP {cluster_ip}: {why}") from None
        return cluster_ip

    def _allocate_node_ports(self, svc: Service, previous: Service | None, invalid: str) -> list[ServicePort]:
        """The Service's ports with their nodePorts: an update keeps the values it held (by
        port name), ports with the same number share one, explicit values are checked
        against the range and other Services; the nodePorts it no longer uses are freed."""
        key = svc.key
        wants_node_ports = svc.type == "NodePort" or (
            svc.type == "LoadBalancer" and svc.allocate_load_balancer_node_ports)
        had_node_ports = previous is not None and previous.type in ("NodePort", "LoadBalancer")
        prev_ports = previous.ports if had_node_ports and previous is not None else None
        prev_np = prev_ports is not None
        ports = list(svc.ports)
        if prev_ports is not None and svc.type in ("NodePort", "LoadBalancer"):
            ports = _patch_node_ports(ports, prev_ports)
        _refuse_duplicate_node_ports(ports, invalid)
        old_values = {p.node_port for p in (prev_ports or ()) if p.node_port}
        taken: set[int] = set()
        by_number: dict[int, int] = {}
        out = []
        for i, p in enumerate(ports):
            if not wants_node_ports and not (svc.type == "LoadBalancer" and p.node_port):
                # allocateLoadBalancerNodePorts: false skips automatic NodePorts but still
                # honours explicit ones (KEP-1864)
                out.append(replace(p, node_port=None))
                continue
            value = p.node_port
            if value is None and not prev_np:
                # create: the port number's shared nodePort, else the first requested one
                value = by_number.get(p.port) or next(
                    (q.node_port for q in ports if q.port == p.port and q.node_port), None)
            elif not prev_np and value in taken and by_number.get(p.port) != value:
                # initNodePorts allocates each port number's requested value once: the same
                # explicit nodePort on another port number is already taken (by this Service)
                raise AllocationError(f"{invalid}: spec.ports[{i}].nodePort: Invalid value: {value}: "
                                      "provided port is already allocated")
            if value is None:
                value = self.node_ports.next_free(f"{key}#{p.protocol}/{p.port}#{len(taken)}")
            elif value not in taken and value not in old_values:
                self._check_node_port_free(key, value, f"{invalid}: spec.ports[{i}].nodePort")
            self.node_ports.reserve(f"{key}#{value}", value)
            taken.add(value)
            by_number.setdefault(p.port, value)
            out.append(replace(p, node_port=value))
        for stale in [k for k in self.node_ports.by_key if k.startswith(key + "#")
                      and self.node_ports.by_key[k] not in taken]:
            self.node_ports.release(stale)
        return out

    def _check_node_port_free(self, svc_key: str, value: int, field: str) -> None:
        """AllocationError unless the explicit nodePort `value` is in the range and not held
        by another Service."""
        holder = self.node_ports.by_value.get(value)
        if value not in self.node_ports or (holder is not None and not holder.startswith(svc_key + "#")):
            why = ("provided port is not in the valid range. The range of valid ports "
                   f"is {NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}" if value not in self.node_ports
                   else "provided port is already allocated")
            raise AllocationError(f"{field}: Invalid value: {value}: {why}")


def _hc_key(svc_key: str) -> str:
    """The NodePort pool's key for a Service's healthCheckNodePort (not under `svc_key#`,
    which the nodePort bookkeeping owns)."""
    return f"{svc_key}|healthCheckNodePort"


def _refuse_duplicate_node_ports(ports: list[ServicePort], invalid: str) -> None:
    """The same explicit nodePort twice for one protocol is the API server's Duplicate value."""
    for i, p in enumerate(ports):
        if p.node_port is not None:
            for j in range(i):
                if ports[j].node_port == p.node_port and ports[j].protocol == p.protocol:
                    raise AllocationError(f"{invalid}: spec.ports[{i}].nodePort: Duplicate value: "
                                          f"{p.node_port}")


def _patch_node_ports(ports: list[ServicePort], before: tuple[ServicePort, ...]) -> list[ServicePort]:
    """patchAllocatedValues: an update that omits a nodePort keeps the value the port of
    the same name had, unless another port of the update already uses that value."""
    used = {p.node_port for p in before if p.node_port} & {p.node_port for p in ports if p.node_port}
    by_name = {p.name or "": p.node_port for p in before}
    out = []
    for p in ports:
        old = by_name.get(p.name or "")
        if p.node_port is None and old and old not in used:
            p = replace(p, node_port=old)
        out.append(p)
    return out


def resolve_target_port(sp: ServicePort, pod: Pod) -> int | None:
    """The pod port a Service port sends to on `pod`, or None when a named targetPort is not
    declared by that pod (the EndpointSlice controller then leaves the pod out for that
    port)."""
    if isinstance(sp.target_port, int):
        return sp.target_port
    cp = pod.named_port(sp.target_port, sp.protocol)
    return cp.port if cp else None


def selects(selector: Mapping[str, str] | None, labels: Mapping[str, str]) -> bool:
    """Service selectors are equality-only and ANDed; an empty/missing selector selects
    nothing automatically (the Service is selectorless)."""
    if not selector:
        return False
    return all(labels.get(k) == v for k, v in selector.items())
