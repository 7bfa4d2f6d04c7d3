"""EndpointSlices, computed the way the EndpointSlice controller does (kubernetes.io
"EndpointSlices"), plus the manual slices/Endpoints of selectorless Services.

- Only pods matching the Service's selector are listed; a Service without a selector (or
  with `selector: {}`) gets no automatic slices: its endpoints come from EndpointSlices
  labelled `kubernetes.io/service-name: <svc>` (or a legacy Endpoints object of the same
  name, which the EndpointSliceMirroring controller copies into a slice).
- Not-ready pods ARE listed, with conditions ready=false/serving=false; proxies and DNS only
  use ready endpoints. publishNotReadyAddresses=true reports every endpoint as ready.
- Ports are resolved per pod; pods resolving to different port numbers (a named targetPort)
  land in different slices, and a pod lacking a named port is no endpoint for that port.
- A selector Service that selects no pod still has one slice, a placeholder with no ports and
  no endpoints, as the controller writes it.
- Hints (staging/src/k8s.io/endpointslice/trafficdist): with trafficDistribution
  PreferClose, PreferSameZone or PreferSameNode the controller gives each ready endpoint a
  zone hint (its node's topology.kubernetes.io/zone) and, for PreferSameNode only, a node
  hint (its nodeName). kind's nodes carry no zone label, so only node hints are ever written.
- An endpoint's hostname is set only when the pod has spec.hostname and its spec.subdomain
  equals the Service name (what lets `<host>.<svc>.<ns>.svc` resolve).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

from grader.model.ipam import safe_encode
from grader.model.objects import Pod
from grader.model.services import Service, resolve_target_port, selects
from grader.observations import Endpoint

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
#: kube-controller-manager --max-endpoints-per-slice default (pkg/controller/endpointslice).
MAX_ENDPOINTS_PER_SLICE = 100


@dataclass(frozen=True)
class SlicePort:
    """One port of an EndpointSlice."""

    name: str | None
    port: int
    protocol: str = "TCP"
    app_protocol: str | None = None


@dataclass(frozen=True)
class SliceEndpoint:
    """One endpoint of an EndpointSlice: its address, conditions and the pod and node behind it."""

    address: str
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    hostname: str | None = None
    pod: str | None = None          # "ns/name" from targetRef
    node: str | None = None
    for_nodes: tuple[str, ...] = ()  # hints.forNodes (trafficDistribution: PreferSameNode)
    #: a hand-written endpoint's addresses after the first. The API calls them fungible and lets
    #: clients use only the first (issue 106267): kube-proxy does (its endpointslice cache reads
    #: addresses[0]), CoreDNS answers every one (`every_address`).
    more_addresses: tuple[str, ...] = ()

    def every_address(self) -> tuple["SliceEndpoint", ...]:
        """This endpoint once per address, as CoreDNS's records list them."""
        return (self, *(replace(self, address=a, more_addresses=()) for a in self.more_addresses))


@dataclass(frozen=True)
class EndpointSlice:
    """An EndpointSlice of a Service, as its controller writes it (or as a user did: `managed`
    False)."""

    namespace: str
    name: str
    service: str
    ports: tuple[SlicePort, ...]
    endpoints: tuple[SliceEndpoint, ...]
    managed: bool = True            # False for slices a user wrote
    labels: tuple[tuple[str, str], ...] | None = None   # None: just the service-name label

    def to_dict(self) -> dict[str, Any]:
        """The object as `kubectl get endpointslice -o yaml` would show its main fields."""
        labels = dict(self.labels) if self.labels is not None else {SERVICE_NAME_LABEL: self.service}
        return {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": labels},
            "addressType": "IPv4",
            "ports": [{"name": p.name or "", "port": p.port, "protocol": p.protocol,
                       **({"appProtocol": p.app_protocol} if p.app_protocol else {})}
                      for p in self.ports],
            "endpoints": [
                {"addresses": [e.address, *e.more_addresses],
                 "conditions": {"ready": e.ready, "serving": e.serving, "terminating": e.terminating},
                 **({"hostname": e.hostname} if e.hostname else {}),
                 **({"targetRef": {"kind": "Pod", "namespace": e.pod.split("/")[0],
                                   "name": e.pod.split("/")[1]}} if e.pod else {}),
                 **({"nodeName": e.node} if e.node else {}),
                 **({"hints": {"forNodes": [{"name": n} for n in e.for_nodes]}} if e.for_nodes else {})}
                for e in self.endpoints],
        }


def managed_labels(svc: Service) -> tuple[tuple[str, str], ...]:
    """setEndpointSliceLabels (staging/src/k8s.io/endpointslice/utils.go): the Service's
    labels minus the reserved ones, the headless marker for a Service without ClusterIP,
    then kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by."""
    reserved = {SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL}
    out = {k: v for k, v in svc.labels.items() if k not in reserved}
    if svc.headless:
        out[HEADLESS_LABEL] = ""
    out[SERVICE_NAME_LABEL] = svc.name
    out[MANAGED_BY_LABEL] = CONTROLLER_NAME
    return tuple(sorted(out.items()))


def _managed_slices(svc: Service, pods: Sequence[Pod]) -> list[EndpointSlice]:
    """The EndpointSlice controller's reconciler: every selected pod with an IP becomes an
    endpoint (getEndpointPorts resolves each Service port per pod, dropping the ports a pod
    cannot serve); endpoints are grouped by identical port sets, at most
    MAX_ENDPOINTS_PER_SLICE per slice."""
    groups: dict[tuple[SlicePort, ...], list[SliceEndpoint]] = {}
    for pod in pods:
        if pod.namespace != svc.namespace or not selects(svc.selector, pod.labels):
            continue
        if not pod.ip:
            continue                          # ShouldPodBeInEndpoints: no IP, no endpoint
        ports: list[SlicePort] = []
        for sp in svc.ports:
            n = resolve_target_port(sp, pod)
            if n is not None:
                ports.append(SlicePort(sp.name or "", n, sp.protocol, sp.app_protocol))
        ready = pod.ready or svc.publish_not_ready
        hostname = pod.hostname if (pod.hostname and pod.subdomain == svc.name) else None
        node_hint = svc.traffic_distribution == "PreferSameNode" and ready and pod.node
        ep = SliceEndpoint(pod.ip, ready=ready, serving=pod.ready, terminating=False,
                           hostname=hostname, pod=pod.key, node=pod.node,
                           for_nodes=(pod.node,) if node_hint else ())
        groups.setdefault(tuple(ports), []).append(ep)
    out = []
    labels = managed_labels(svc)
    if not groups:
        # reconciler.go: "When no endpoint slices would usually exist, we need to add a
        # placeholder": one slice with no ports and no endpoints, so `kubectl get
        # endpointslices` shows the Service's slice with <unset> rather than nothing.
        return [EndpointSlice(svc.namespace, f"{svc.name}-{safe_encode(svc.key, 'placeholder', length=5)}",
                              svc.name, (), (), labels=labels)]
    for port_set, eps in groups.items():
        sig = ",".join(f"{p.name}:{p.port}/{p.protocol}" for p in port_set)
        for chunk in range(0, len(eps), MAX_ENDPOINTS_PER_SLICE):
            salt = sig if chunk == 0 else f"{sig}#{chunk}"
            out.append(EndpointSlice(svc.namespace, f"{svc.name}-{safe_encode(svc.key, salt, length=5)}",
                                     svc.name, port_set, tuple(eps[chunk:chunk + MAX_ENDPOINTS_PER_SLICE]),
                                     labels=labels))
    return out


def _manual_slice(obj: Mapping[str, Any], namespace: str) -> EndpointSlice:
    meta = obj.get("metadata") or {}
    ports = tuple(SlicePort(p.get("name") or None, int(p["port"]), p.get("protocol") or "TCP")
                  for p in obj.get("ports") or [] if p.get("port") is not None)
    eps = []
    for e in obj.get("endpoints") or []:
        cond = e.get("conditions") or {}
        # API docs (EndpointConditions): a nil `ready` and a nil `serving` are both to be read
        # as true, each on its own (kube-proxy's endpointslice cache does so): `ready: false`
        # alone leaves serving true, and only `terminating: true` makes a serving endpoint a
        # fallback.
        ready = cond.get("ready") is not False
        serving = cond.get("serving") is not False
        ref = e.get("targetRef") or {}
        pod = (
            f"{ref.get('namespace') or namespace}/{ref['name']}"
            if ref.get("kind", "Pod") == "Pod" and ref.get("name")
            else None
        )
        for_nodes = tuple(str(n.get("name")) for n in (e.get("hints") or {}).get("forNodes") or []
                          if isinstance(n, dict) and n.get("name"))
        addresses = [str(a) for a in e.get("addresses") or []]
        if addresses:
            eps.append(SliceEndpoint(addresses[0], ready=ready, serving=serving,
                                     terminating=bool(cond.get("terminating", False)),
                                     hostname=e.get("hostname"), pod=pod, node=e.get("nodeName"),
                                     for_nodes=for_nodes, more_addresses=tuple(addresses[1:])))
    return EndpointSlice(namespace, str(meta.get("name")),
                         str((meta.get("labels") or {}).get(SERVICE_NAME_LABEL, "")), ports, tuple(eps),
                         managed=False)


def _mirrored_endpoints(obj: Mapping[str, Any], namespace: str) -> list[EndpointSlice]:
    """A legacy Endpoints object as the mirroring controller would copy it."""
    name = str((obj.get("metadata") or {}).get("name"))
    out = []
    for i, subset in enumerate(obj.get("subsets") or []):
        ports = tuple(SlicePort(p.get("name") or None, int(p["port"]), p.get("protocol") or "TCP")
                      for p in subset.get("ports") or [])
        eps = []
        for addrs, ready in (
            (subset.get("addresses") or [], True),
            (subset.get("notReadyAddresses") or [], False),
        ):
            for a in addrs:
                ref = a.get("targetRef") or {}
                pod = f"{ref.get('namespace') or namespace}/{ref['name']}" if ref.get("name") else None
                eps.append(SliceEndpoint(str(a["ip"]), ready=ready, serving=ready, hostname=a.get("hostname"),
                                         pod=pod, node=a.get("nodeName")))
        out.append(EndpointSlice(namespace, f"{name}-mirror-{i}", name, ports, tuple(eps), managed=False))
    return out


def slices_for(
    svc: Service, pods: Sequence[Pod], objects: Iterable[Mapping[str, Any]] = ()
) -> list[EndpointSlice]:
    """Every EndpointSlice of `svc`: the controller's (selector Services) plus any user slices
    labelled with its name, plus a mirror of an Endpoints object for selectorless Services.

    `objects` are the namespace's stored EndpointSlice / Endpoints objects.
    """
    if svc.type == "ExternalName":
        return []
    out = _managed_slices(svc, pods) if svc.selector else []
    for obj in objects:
        meta = obj.get("metadata") or {}
        if (meta.get("namespace") or svc.namespace) != svc.namespace:
            continue
        if (
            obj.get("kind") == "EndpointSlice"
            and (meta.get("labels") or {}).get(SERVICE_NAME_LABEL) == svc.name
        ):
            out.append(_manual_slice(obj, svc.namespace))
        elif obj.get("kind") == "Endpoints" and meta.get("name") == svc.name and not svc.selector:
            out.extend(_mirrored_endpoints(obj, svc.namespace))
    return out


def endpoints_of(svc: Service, slices: Sequence[EndpointSlice]) -> list[Endpoint]:
    """One base.Endpoint per (address, Service port), in slice order. A slice port is matched
    to a Service port by name (how kube-proxy joins them); endpoints of slices that do not
    carry a Service port are not endpoints of that port. A Service without ports (headless,
    only for DNS) has port-less slices: each of their addresses is one Endpoint with port 0
    (kubectl prints those as bare IPs)."""
    out: list[Endpoint] = []
    if not svc.ports:
        for sl in slices:
            if not sl.ports:
                out.extend(Endpoint(ip=e.address, port=0, pod=e.pod, ready=e.ready, serving=e.serving,
                                    terminating=e.terminating, node=e.node) for e in sl.endpoints)
        return out
    for sp in svc.ports:
        for sl in slices:
            for port in sl.ports:
                if (port.name or None) != (sp.name or None) or port.protocol != sp.protocol:
                    continue
                for e in sl.endpoints:
                    out.append(Endpoint(ip=e.address, port=port.port, protocol=port.protocol,
                                        port_name=sp.name, pod=e.pod, ready=e.ready,
                                        serving=e.serving, terminating=e.terminating, node=e.node))
    return out


def endpoints_column(endpoints: Sequence[Endpoint]) -> str:
    """The ENDPOINTS column of `kubectl get endpoints <svc>`, as kubectl's formatEndpoints
    prints the legacy Endpoints object:

    - no addresses at all: "<none>";
    - addresses, but none ready: an empty cell (not-ready ones sit in notReadyAddresses,
      which kubectl does not print) -- a hint worth teaching, so keep it faithful;
    - otherwise "ip:port" per port and ready address, addresses in the controller's order
      (sorted as text: 10.244.0.12 before 10.244.0.3), at most 3 then " + N more...";
      a headless Service without ports lists bare IPs.
    """
    if not endpoints:
        return "<none>"
    items: list[str] = []
    by_port: dict[tuple[int, str], list[str]] = {}
    for e in endpoints:
        if e.ready:
            by_port.setdefault((e.port, e.protocol), []).append(e.ip)
    for (port, _proto), ips in by_port.items():
        for ip in sorted(set(ips)):
            item = f"{ip}:{port}" if port else ip
            if item not in items:
                items.append(item)
    shown = ",".join(items[:3])
    return shown + (f" + {len(items) - 3} more..." if len(items) > 3 else "")


def render_get_endpoints(name: str, endpoints: Sequence[Endpoint]) -> str:
    """`kubectl get endpoints <name>` without the AGE column (the model has no clock)."""
    col = endpoints_column(endpoints)
    width = max(len(name), 4) + 3
    return f"{'NAME'.ljust(width)}ENDPOINTS\n{name.ljust(width)}{col}"
