"""What a cluster observation looks like: probe outcomes, endpoints, DNS answers, pods and
reachability matrices, plus the probe-target grammar both backends share.

These types sit below everything that produces them (the offline model, the live backend)
and everything that consumes them (`grader.checks`, `grader.display`), so every import
points down: the model never reaches up into `grader.cluster` for its vocabulary.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping


class Status(str, Enum):
    """How a connection attempt ended, in the words a learner would use."""

    OK = "OK"                      # connected (and, for HTTP, got a response)
    REFUSED = "REFUSED"            # reached a host but nothing listens on that port
    TIMEOUT = "TIMEOUT"            # packets dropped: NetworkPolicy, or no route
    DNS_ERROR = "DNS_ERROR"        # the name did not resolve (NXDOMAIN, or DNS itself blocked)
    NO_ENDPOINTS = "NO_ENDPOINTS"  # a Service with no ready endpoints for that port


@dataclass(frozen=True)
class Outcome:
    """The result of one probe. `reason` says *why*, so feedback can quote it."""

    status: Status
    target: str                    # what was asked for, e.g. "backend:80/hostname"
    pod: str | None = None         # "ns/name" of the pod that answered (OK only)
    ip: str | None = None          # address the client connected to, after DNS
    body: str | None = None        # HTTP response body when a path was requested
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def __str__(self) -> str:
        who = f" from {self.pod}" if self.pod else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.target}: {self.status.value}{who}{why}"


@dataclass(frozen=True)
class Endpoint:
    """One address/port of a Service, as its EndpointSlices list it."""

    ip: str
    port: int
    protocol: str = "TCP"
    port_name: str | None = None
    pod: str | None = None         # "ns/name" of the target pod; None for manual endpoints
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    #: The node the slice says the endpoint runs on (nodeName); not part of equality, so
    #: endpoint lists compare as before. Checks that judge traffic node by node read it.
    node: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ServicePortInfo:
    """One port of a Service as the API server stores it after defaulting and allocation."""

    port: int
    protocol: str = "TCP"
    name: str | None = None
    target_port: int | str | None = None   # a number, a container port name, or None (= port)
    node_port: int | None = None


@dataclass(frozen=True)
class ServiceInfo:
    """A Service as `kubectl get svc` would describe it: what checks and feedback read
    (type, addresses, ports), the same shape from both backends."""

    namespace: str
    name: str
    type: str                              # ClusterIP, NodePort, LoadBalancer, ExternalName
    cluster_ip: str | None                 # "None" for headless, None for ExternalName
    selector: Mapping[str, str] = field(default_factory=dict, hash=False)
    ports: tuple[ServicePortInfo, ...] = ()
    external_address: str | None = None    # a LoadBalancer's status.loadBalancer.ingress[0]
    external_name: str | None = None       # an ExternalName Service's target
    #: the traffic fields as stored after defaulting ("" where the type has none)
    external_traffic_policy: str = ""
    internal_traffic_policy: str = ""
    traffic_distribution: str | None = None
    health_check_node_port: int | None = None
    load_balancer_source_ranges: tuple[str, ...] = ()
    #: status.loadBalancer.ingress[0].ipMode: "Proxy" from cloud-provider-kind, "VIP" (the
    #: API server's default) from MetalLB and most clouds
    ip_mode: str | None = None
    session_affinity: str = "None"         # "ClientIP": kube-proxy keeps each client on one endpoint
    session_affinity_timeout: int | None = None   # how long it keeps it (s); set with ClientIP only

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"

    def port(self, port: int | str) -> ServicePortInfo | None:
        """The port numbered `port` or named `port`, if the Service has one."""
        return next((p for p in self.ports if p.port == port or (p.name and p.name == port)), None)


@dataclass(frozen=True)
class DnsRecord:
    """One resource record in an answer section (`value` is an IP, a CNAME target, or
    "priority weight port target" for SRV)."""

    name: str
    rtype: str
    value: str


@dataclass(frozen=True)
class DnsAnswer:
    """What a resolver inside a pod reports for one question."""

    query: str                     # the name as asked, e.g. "backend"
    rtype: str                     # "A", "AAAA", "SRV", "CNAME", "PTR"
    rcode: str                     # "NOERROR", "NXDOMAIN", "SERVFAIL", "TIMEOUT"
    name: str | None = None        # fully qualified name that answered (after the search list)
    records: tuple[DnsRecord, ...] = ()
    #: the TTL the answer records carry (dig's second column; the smallest if they differ),
    #: None without records. Left out of equality: it counts down in a live cache.
    ttl: int | None = field(default=None, compare=False)

    @property
    def addresses(self) -> list[str]:
        return [r.value for r in self.records if r.rtype in ("A", "AAAA")]

    @property
    def ok(self) -> bool:
        return self.rcode == "NOERROR"


@dataclass(frozen=True)
class PodRef:
    """A pod as matrices and tables name it."""

    namespace: str
    name: str
    ip: str
    #: The pod's labels and readiness, for feedback ("the pods carry app=backend"). Not part
    #: of equality: a matrix compares pods by name and address only.
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    ready: bool = field(default=True, compare=False)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Reachability:
    """The NetworkPolicy verdict for one ordered pod pair on one port/protocol."""

    src: str                       # "ns/name"
    dst: str                       # "ns/name"
    port: int
    protocol: str
    allowed: bool
    reason: str = ""


@dataclass
class Matrix:
    """A reachability truth table between pods. `to_json` is a public, stable format."""

    pods: list[PodRef]
    results: list[Reachability]
    _index: dict[tuple[str, str, int, str], Reachability] | None = field(
        default=None, init=False, repr=False, compare=False)

    def lookup(self, src: str, dst: str, port: int, protocol: str = "TCP") -> Reachability:
        if self._index is None:           # built once: renderers look up every cell
            self._index = {(r.src, r.dst, r.port, r.protocol): r for r in self.results}
        try:
            return self._index[(src, dst, port, protocol)]
        except KeyError:
            raise KeyError(f"no result for {src} -> {dst} {port}/{protocol}") from None

    def allowed(self, src: str, dst: str, port: int, protocol: str = "TCP") -> bool:
        """Just the verdict. Renderers call this rather than reading `results`, so a matrix
        that builds explanations lazily (grader.model.matrix) never has to write them."""
        return self.lookup(src, dst, port, protocol).allowed

    def combos(self) -> list[tuple[int, str]]:
        """The (port, protocol) pairs this matrix covers, in first-seen order."""
        return list(dict.fromkeys((r.port, r.protocol) for r in self.results))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "pods": [{"name": p.key, "ip": p.ip} for p in self.pods],
            "results": [
                {"from": r.src, "to": r.dst, "port": r.port, "protocol": r.protocol,
                 "allowed": r.allowed, "reason": r.reason}
                for r in self.results
            ],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_json_dict(), indent=indent)


@dataclass(frozen=True)
class Condition:
    """One status condition as a controller writes it (metav1.Condition without times)."""

    type: str                      # "Accepted", "ResolvedRefs", "Programmed"
    status: str                    # "True", "False", "Unknown"
    reason: str                    # e.g. "NotAllowedByListeners"
    message: str = ""

    def __str__(self) -> str:
        return f"{self.type}={self.status} ({self.reason}){': ' + self.message if self.message else ''}"


def _condition(conditions: tuple[Condition, ...], ctype: str) -> Condition | None:
    return next((c for c in conditions if c.type == ctype), None)


@dataclass(frozen=True)
class ParentStatus:
    """One entry of an HTTPRoute's status.parents: how one Gateway took the route."""

    gateway: str                   # "ns/name" of the parent Gateway
    section_name: str | None
    conditions: tuple[Condition, ...]
    controller_name: str = ""

    def condition(self, ctype: str) -> Condition | None:
        return _condition(self.conditions, ctype)

    @property
    def accepted(self) -> bool:
        c = self.condition("Accepted")
        return c is not None and c.status == "True"


@dataclass(frozen=True)
class ListenerStatus:
    """One listener's status on a Gateway: its conditions, attached routes and supported kinds."""

    name: str
    attached_routes: int
    conditions: tuple[Condition, ...]
    supported_kinds: tuple[str, ...] = ()

    def condition(self, ctype: str) -> Condition | None:
        return _condition(self.conditions, ctype)


@dataclass(frozen=True)
class GatewayStatus:
    """A Gateway's status: addresses, conditions and one entry per listener."""

    name: str                      # "ns/name"
    addresses: tuple[str, ...]
    conditions: tuple[Condition, ...]
    listeners: tuple[ListenerStatus, ...] = ()

    def condition(self, ctype: str) -> Condition | None:
        return _condition(self.conditions, ctype)

    def listener(self, name: str) -> ListenerStatus:
        for ls in self.listeners:
            if ls.name == name:
                return ls
        raise KeyError(f"Gateway {self.name} has no listener {name!r}")


@dataclass(frozen=True)
class HttpResponse:
    """One HTTP request from the learner's machine through an Ingress or Gateway address.

    `status` is how the connection went (OK once any HTTP answer came back, REFUSED when
    nothing listens on that port, TIMEOUT when the address does not answer); `code` is the
    HTTP status (None without an answer). `headers` are the response headers the proxy set
    (Location of a redirect, ResponseHeaderModifier); `pod` answered (None when the proxy
    answered itself); `reason` says why, e.g. for a 404: no listener, no matching host, no
    matching path. `request_headers` is what the backend received (offline only; live None).
    """

    target: str                    # e.g. "GET http://172.18.0.100/hostname (Host: foo.example)"
    status: Status
    code: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    pod: str | None = None         # "ns/name" of the pod that answered
    body: str | None = None
    backend: str | None = None     # "ns/service:port" the request was sent to
    route: str = ""                # which Ingress rule or HTTPRoute rule decided
    reason: str = ""
    request_headers: tuple[tuple[str, str], ...] | None = None
    #: https only: "ns/secret" whose certificate the server presented in the handshake
    certificate: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    def header(self, name: str) -> str | None:
        """A response header (case-insensitive), or None."""
        low = name.lower()
        return next((v for k, v in self.headers if k.lower() == low), None)

    def __str__(self) -> str:
        code = str(self.code) if self.code is not None else self.status.value
        who = f" from {self.pod}" if self.pod else ""
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.target}: {code}{who}{why}"


def is_ip(text: str) -> bool:
    """True for an IPv4 or IPv6 address literal (without brackets), else False."""
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def ip_sort_key(ip: str) -> tuple[int, int, str]:
    """Sort key for addresses: IPv4 numerically, then IPv6 numerically, then anything that is
    not an address (an empty IP of a Pending pod, a hostname) as text. Both backends order
    endpoints and pods with it, so their listings compare line by line."""
    import ipaddress

    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0, ip)
    return (addr.version, int(addr), ip)


def parse_target(target: str) -> tuple[str, int, str | None]:
    """A probe target, as `Namespace.probe` takes it, -> (host, port, path).

    The contract both backends share: "host:port[/path]".
    - host: a Service name (or any DNS name), a ClusterIP, a pod IP; an IPv6 address is
      written in brackets ("[fd00::1]:80") and comes back bare ("fd00::1").
    - port: 1-65535. It may be left out only when a path is given (HTTP's 80).
    - path: None for a plain connection; "/..." (query string included) for an HTTP GET.
    - An optional "http://" in front is dropped; it implies HTTP, so the path defaults to "/".
    Anything else raises ValueError naming the target.
    """
    text = str(target).strip()
    scheme, sep, rest = text.partition("://")
    http = False
    if sep:
        if scheme.lower() != "http":
            raise ValueError(f"probe target {target!r}: only http:// URLs can be probed; "
                             "write it as host:port[/path]")
        text, http = rest, True
    hostport, slash, tail = text.partition("/")
    path = "/" + tail if slash else ("/" if http else None)
    if hostport.startswith("["):
        host, close, after = hostport[1:].partition("]")
        if not close or (after and not after.startswith(":")) or not is_ip(host):
            raise ValueError(f"probe target {target!r}: brackets must hold an IPv6 address, "
                             'as in "[fd00::1]:80"')
        has_colon, port_text = after.startswith(":"), after[1:]
    elif hostport.count(":") > 1:
        if not is_ip(hostport):
            raise ValueError(f"probe target {target!r}: write an IPv6 address in brackets, "
                             'as in "[fd00::1]:80"')
        host, has_colon, port_text = hostport, False, ""
    else:
        host, colon, port_text = hostport.partition(":")
        has_colon = bool(colon)
    if not host:
        raise ValueError(f"probe target {target!r} has no host; write it as host:port[/path]")
    if not port_text:
        if has_colon or path is None:
            raise ValueError(f'probe target {target!r} needs a port, like "backend:80" or '
                             '"backend:80/hostname"')
        return host, 80, path
    if not (port_text.isascii() and port_text.isdigit()):
        raise ValueError(f"probe target {target!r}: port {port_text!r} is not a port number")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"probe target {target!r}: port {port} is outside 1-65535")
    return host, port, path
