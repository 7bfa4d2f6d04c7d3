"""Cluster DNS as a pod sees it: the kubelet-written resolv.conf (search list + ndots:5) in
front of CoreDNS's `kubernetes` plugin, following the Kubernetes DNS-Based Service Discovery
specification (kubernetes/dns docs/specification.md), kubernetes.io "DNS for Services and
Pods", and CoreDNS's plugin/kubernetes source, which decides every case the spec leaves
open. kind's Corefile: `kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure;
fallthrough in-addr.arpa ip6.arpa; ttl 30 }`, then `forward . /etc/resolv.conf`.

Client side (what `dig +search` in a pod does, which is how the live backend asks):
- resolv.conf: `search <ns>.svc.cluster.local svc.cluster.local cluster.local`,
  `options ndots:5`. A name with fewer than 5 dots is tried with each search suffix, then
  as given; 5 or more dots: as given first, then with the suffixes; a trailing dot: only as
  given. dig moves to the next candidate only on NXDOMAIN: the first other answer (records,
  NOERROR without records = NODATA, SERVFAIL) is final; when every candidate is NXDOMAIN the
  answer is NXDOMAIN.
- DNS is case-insensitive: names are matched lower-cased, but answers keep the case of the
  question (CoreDNS writes records for `state.QName()`).

Server side (CoreDNS plugin/kubernetes: parse.go parseRequest, kubernetes.go findServices /
findPods, reverse.go, plugin/backend_lookup.go):
- Names are `[<endpoint>|_<port>._<proto>.]<svc>.<ns>.svc.cluster.local` and
  `<a-b-c-d>.<ns>.pod.cluster.local`. `cluster.local`, `svc.cluster.local`,
  `pod.cluster.local`, `<existing ns>.svc|pod.cluster.local` exist without records (NODATA);
  anything else that does not match (unknown namespace, service, endpoint, port, a label
  other than svc/pod, too many labels) is NXDOMAIN.
- ClusterIP Service: A = the ClusterIP; SRV = one record per Service port matching the
  optional `_<port>._<proto>` (the bare name lists every port, named or not), target the
  Service name. Headless Service: A = the addresses of ready endpoints (the EndpointSlice
  `ready` condition; NXDOMAIN when there are none, as spec 2.4.1 says), SRV per endpoint and
  port with target `<hostname>.<svc>...`, hostname = the endpoint's hostname or its dashed
  IP. `<hostname>.<svc>` answers that endpoint for ClusterIP Services too.
- SRV weight = floor(100 / number of records), at least 1; priority 0.
- ExternalName: CNAME to spec.externalName. An A/AAAA query follows it: inside
  cluster.local the CNAME is returned only with the target's records (NODATA when the target
  has none); outside, CoreDNS asks its upstream, which the model does not have, so the
  answer is the CNAME alone (what CoreDNS returns when the upstream lookup fails). SRV/TXT
  on an ExternalName name are NODATA; `_port._proto` or endpoint names under it NXDOMAIN; an
  externalName that is an IP address gives NXDOMAIN.
- Pods (`pods insecure`): `<a-b-c-d>.<ns>.pod.cluster.local` answers a.b.c.d for any
  existing namespace without checking that such a pod exists.
- PTR `<d>.<c>.<b>.<a>.in-addr.arpa`: a Service whose ClusterIP it is, else
  `<hostname>.<svc>.<ns>.svc.cluster.local` for every Service having it as a ready endpoint
  (headless or not), else NXDOMAIN (CoreDNS falls through to the upstream, which denies
  private reverse names).
- TXT `dns-version.cluster.local` = "1.1.0"; TXT on another name that has records is NODATA,
  otherwise NXDOMAIN. CNAME queries answer only ExternalName names. Other types on existing
  names are NODATA.
- Names outside cluster.local would go to the upstream resolver, which the model does not
  have: names under a public TLD answer SERVFAIL, anything else NXDOMAIN.
- Records and answer names carry no trailing dot.
- DNS is traffic: the query goes from the pod to kube-dns (10.96.0.10) -> a CoreDNS pod on
  53/UDP. If NetworkPolicy drops it (egress of the client or ingress of CoreDNS), or
  kube-dns has no ready endpoint, the answer is rcode TIMEOUT, as dig's "connection timed
  out; no servers could be reached".
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.k8s.dns_names import CLUSTER_DOMAIN, NDOTS, candidates, search_list
from grader.model.endpointslices import SliceEndpoint
from grader.model.objects import Pod
from grader.model.services import DNS_SERVICE_IP, Service
from grader.observations import DnsAnswer, DnsRecord, is_ip

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state import ClusterState

DNS_NAMESPACE, DNS_SERVICE = "kube-system", "kube-dns"
#: CoreDNS plugin/kubernetes DNSSchemaVersion, served as TXT dns-version.<zone>.
DNS_SCHEMA_VERSION = "1.1.0"
#: CoreDNS plugin/backend_lookup.go maxCnameChainLength.
MAX_CNAME_CHAIN = 10
REVERSE_ZONES = ("in-addr.arpa", "ip6.arpa")


def resolv_conf(namespace: str) -> str:
    """/etc/resolv.conf as the kubelet writes it for a ClusterFirst pod in `namespace`."""
    return (f"search {' '.join(search_list(namespace))}\n"
            f"nameserver {DNS_SERVICE_IP}\noptions ndots:{NDOTS}\n")


#: Top-level domains the model treats as real. Offline there is no upstream resolver, so a
#: name under one of them cannot be answered (SERVFAIL, as CoreDNS reports a failed
#: forward); any other name outside cluster.local is one the root would deny (NXDOMAIN).
PUBLIC_TLDS = frozenset("com org net io dev edu gov info app cloud co uk de fr eu ai us".split())


def upstream_rcode(fqdn: str) -> str:
    return "SERVFAIL" if fqdn.lower().rsplit(".", 1)[-1] in PUBLIC_TLDS else "NXDOMAIN"


def dashed(ip: str) -> str:
    """CoreDNS endpointHostname for an endpoint without hostname: the IP with dashes."""
    if ":" in ip:
        out = ip.replace(":", "-")
        return out + "0" if out.endswith("-") else out
    return ip.replace(".", "-")


def _in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


@dataclass
class _Result:
    rcode: str                     # NOERROR (maybe empty), NXDOMAIN, SERVFAIL
    records: tuple[DnsRecord, ...] = ()


@dataclass(frozen=True)
class _Item:
    """One msg.Service as CoreDNS's kubernetes backend returns it: `host` is an IP (A/AAAA)
    or a name (CNAME); `port` feeds SRV (-1: none declared); `target` is the name SRV and
    PTR answers use (msg.Domain of the item's key)."""

    host: str
    port: int
    target: str


class _NameError(Exception):
    """CoreDNS errNoItems / errNsNotExposed / errInvalidRequest: NXDOMAIN."""


class Zone:
    """The authoritative answers CoreDNS's kubernetes plugin gives for cluster.local (and
    in-addr.arpa), from the current state."""

    def __init__(self, state: "ClusterState") -> None:
        self.state = state

    # -- records (CoreDNS Records: parseRequest + findPods / findServices)
    def _ready(self, svc: Service) -> list[tuple[SliceEndpoint, tuple[tuple[int, str, str], ...]]]:
        """(endpoint, ports) for every ready endpoint in the Service's slices. CoreDNS reads
        only the slice's `ready` condition (nil = ready); the EndpointSlice controller has
        already folded publishNotReadyAddresses into it. A slice without ports carries the
        sentinel port -1 (object/endpoint.go)."""
        out = []
        for sl in self.state.slices(svc):
            ports = tuple((p.port, p.name or "", p.protocol) for p in sl.ports) or ((-1, "", ""),)
            for e in sl.endpoints:
                if e.ready:
                    out.append((e, ports))
        return out

    def records(self, name: str) -> list[_Item]:
        """`name` is lower-case and inside cluster.local. Raises _NameError for NXDOMAIN."""
        base = name[: -len(CLUSTER_DOMAIN)].rstrip(".")
        if base in ("", "svc", "pod"):
            return []                                          # apex names: NODATA
        segs = base.split(".")
        kind = segs.pop()
        if kind not in ("svc", "pod"):
            raise _NameError
        namespace = segs.pop() if segs else ""
        service = segs.pop() if segs else ""
        endpoint = port = protocol = ""
        if len(segs) == 1:
            endpoint = segs[0]
        elif len(segs) == 2:
            port, protocol = (s[1:] if s.startswith("_") else s for s in segs)
        elif len(segs) > 2:
            raise _NameError                                   # too long
        if namespace not in self.state.namespaces:
            raise _NameError
        if not service:
            return []                                          # <ns>.svc|pod: NODATA
        if kind == "pod":
            return self._pod(service, namespace)
        return self._service(service, namespace, endpoint, port, protocol)

    @staticmethod
    def _pod(podname: str, namespace: str) -> list[_Item]:
        if podname.count("-") == 3 and "--" not in podname:
            ip = podname.replace("-", ".")
        else:
            ip = podname.replace("-", ":")
        if not is_ip(ip):
            raise _NameError
        return [_Item(str(ipaddress.ip_address(ip)), 0, f"{podname}.{namespace}.pod.{CLUSTER_DOMAIN}")]

    def _service(self, name: str, namespace: str, endpoint: str, port: str, protocol: str) -> list[_Item]:
        svc = self.state.service(namespace, name)
        if svc is None:
            raise _NameError
        fqdn = svc.fqdn

        def matches(p_name: str, p_proto: str) -> bool:
            return (not port or port == p_name.lower()) and (not protocol or protocol == p_proto.lower())

        items: list[_Item] = []
        if svc.type == "ExternalName":
            target = str(svc.external_name or "").rstrip(".").lower()
            if endpoint or port or protocol or not target or is_ip(target):
                raise _NameError
            return [_Item(target, 0, fqdn)]
        if svc.headless or endpoint:
            for e, ports in self._ready(svc):
                label = e.hostname or dashed(e.address)
                if endpoint and endpoint != label.lower():
                    continue
                for p_num, p_name, p_proto in ports:
                    if matches(p_name, p_proto):
                        items.append(_Item(e.address, p_num, f"{label}.{fqdn}"))
        else:
            for sp in svc.ports:
                if matches(sp.name or "", sp.protocol) and svc.cluster_ip:
                    items.append(_Item(str(svc.cluster_ip), sp.port, fqdn))
        if not items:
            raise _NameError
        return items

    # -- answers per query type (plugin/backend_lookup.go)
    def answer(self, qname: str, rtype: str, depth: int = 0) -> _Result:
        """The response to one question. `qname` keeps the asker's case (the answer's owner
        names do too); matching is case-insensitive."""
        name = qname.lower().rstrip(".")
        rtype = rtype.upper()
        if any(_in_zone(name, z) for z in REVERSE_ZONES):
            return self._reverse(qname, name, rtype)
        if not _in_zone(name, CLUSTER_DOMAIN):
            return _Result(upstream_rcode(name))
        if name == f"ns.dns.{CLUSTER_DOMAIN}":                 # CoreDNS isDefaultNS
            ns_ip = self._dns_service_ip()
            if rtype == "A" and ns_ip:
                return _Result("NOERROR", (DnsRecord(qname, "A", ns_ip),))
            return _Result("NOERROR")
        if rtype == "TXT":
            return self._txt(qname, name)
        try:
            items = self.records(name)
        except _NameError:
            return _Result("NXDOMAIN")
        if rtype in ("A", "AAAA"):
            return _Result("NOERROR", self._address(qname, name, rtype, items, depth))
        if rtype == "SRV":
            return _Result("NOERROR", self._srv(qname, [i for i in items if is_ip(i.host)]))
        if rtype == "CNAME":
            if items and not is_ip(items[0].host):
                return _Result("NOERROR", (DnsRecord(qname, "CNAME", items[0].host),))
            return _Result("NOERROR")
        return _Result("NOERROR")                              # PTR on a forward name, MX, ...: NODATA

    def _dns_service_ip(self) -> str | None:
        svc = self.state.service(DNS_NAMESPACE, DNS_SERVICE)
        return svc.cluster_ip if svc else None

    def _address(
        self, qname: str, name: str, rtype: str, items: list[_Item], depth: int
    ) -> tuple[DnsRecord, ...]:
        out: list[DnsRecord] = []
        seen: set[str] = set()
        for it in items:
            if is_ip(it.host):
                version = ipaddress.ip_address(it.host).version
                if (version == 4) == (rtype == "A") and it.host not in seen:
                    seen.add(it.host)
                    out.append(DnsRecord(qname, rtype, it.host))
                continue
            target = it.host
            if target == name or depth >= MAX_CNAME_CHAIN:
                continue                                       # x CNAME x, or a too long chain
            cname = DnsRecord(qname, "CNAME", target)
            if _in_zone(target, CLUSTER_DOMAIN):
                chased = self.answer(target, rtype, depth + 1)
                if chased.rcode == "NOERROR" and chased.records:
                    out.append(cname)
                    out.extend(chased.records)
                continue
            # outside the zone CoreDNS asks its upstream; offline that lookup fails, and
            # CoreDNS still returns the CNAME (with whatever the upstream gave: nothing)
            out.append(cname)
        return tuple(out)

    @staticmethod
    def _srv(qname: str, items: list[_Item]) -> tuple[DnsRecord, ...]:
        total = 100 * len(items)
        out: list[DnsRecord] = []
        seen: set[tuple[str, int]] = set()
        for it in items:
            if it.port == -1:
                continue
            weight = max(1, (100 * 100) // total)
            if (it.target, it.port) in seen:
                continue
            seen.add((it.target, it.port))
            out.append(DnsRecord(qname, "SRV", f"0 {weight} {it.port} {it.target}"))
        return tuple(out)

    def _txt(self, qname: str, name: str) -> _Result:
        if name == f"dns-version.{CLUSTER_DOMAIN}":
            return _Result("NOERROR", (DnsRecord(qname, "TXT", f'"{DNS_SCHEMA_VERSION}"'),))
        try:
            items = self.records(name)
        except _NameError:
            return _Result("NXDOMAIN")
        # CoreDNS: "an existing record of another type" -> NODATA; no items at all -> NXDOMAIN
        return _Result("NOERROR" if items else "NXDOMAIN")

    def _reverse(self, qname: str, name: str, rtype: str) -> _Result:
        ip = self._reverse_ip(name)
        if rtype != "PTR" or ip is None:
            return _Result("NXDOMAIN")
        targets: list[str] = []
        for svc in self.state.services:
            if svc.cluster_ip == ip:
                targets = [svc.fqdn]
                break
        else:
            for svc in self.state.services:
                if svc.type == "ExternalName":
                    continue
                for e, _ in self._ready(svc):
                    if e.address == ip:
                        t = f"{e.hostname or dashed(e.address)}.{svc.fqdn}"
                        if t not in targets:
                            targets.append(t)
        if not targets:
            return _Result("NXDOMAIN")
        return _Result("NOERROR", tuple(DnsRecord(qname, "PTR", t) for t in targets))

    @staticmethod
    def _reverse_ip(name: str) -> str | None:
        if name.endswith(".in-addr.arpa"):
            octets = name[: -len(".in-addr.arpa")].split(".")
            try:
                return str(ipaddress.IPv4Address(".".join(reversed(octets))))
            except ValueError:
                return None
        if name.endswith(".ip6.arpa"):
            nibbles = name[: -len(".ip6.arpa")].split(".")
            if len(nibbles) != 32 or any(len(n) != 1 for n in nibbles):
                return None
            hexa = "".join(reversed(nibbles))
            try:
                return str(ipaddress.IPv6Address(int(hexa, 16)))
            except ValueError:
                return None
        return None


def dns_server_for(state: "ClusterState", pod: Pod | None) -> tuple[Pod | None, str]:
    """The CoreDNS pod a query from `pod` reaches (kube-dns -> first ready endpoint), or
    None with the reason the query would time out."""
    try:
        eps = state.endpoints(DNS_NAMESPACE, DNS_SERVICE)
    except LookupError:
        return None, "Service kube-system/kube-dns does not exist"
    ready = [e for e in eps if e.ready and e.protocol == "UDP" and e.pod]
    if not ready:
        return None, "kube-dns has no ready CoreDNS endpoint"
    server = state.pod(ready[0].pod)  # type: ignore[arg-type]
    if server is None:
        return None, "kube-dns endpoint is not a pod"
    if pod is not None:
        verdict = state.policy_engine().check(pod, server, ready[0].port, "UDP")
        if not verdict.allowed:
            return None, ("the DNS query to kube-dns (UDP 53) was dropped by NetworkPolicy: "
                          + verdict.explanation)
    return server, ""


def lookup(state: "ClusterState", name: str, pod: Pod, rtype: str = "A") -> DnsAnswer:
    """Resolve `name` exactly as `dig +search` inside `pod` would (search list, ndots, DNS
    traffic subject to NetworkPolicy)."""
    rtype = rtype.upper()
    server, why = dns_server_for(state, pod)
    if server is None:
        return DnsAnswer(query=name, rtype=rtype, rcode="TIMEOUT", name=None)
    return resolve(state, name, pod.namespace, rtype)


def resolve(state: "ClusterState", name: str, namespace: str, rtype: str = "A") -> DnsAnswer:
    """The answer for `name` asked from `namespace`, ignoring whether DNS traffic flows.
    Like dig +search: the next candidate is tried only after NXDOMAIN."""
    rtype = rtype.upper()
    zone = Zone(state)
    rcode = "NXDOMAIN"
    for fqdn in candidates(name, namespace):
        res = zone.answer(fqdn, rtype)
        if res.rcode == "NXDOMAIN":
            continue
        if res.rcode == "NOERROR":
            return DnsAnswer(query=name, rtype=rtype, rcode="NOERROR", name=fqdn, records=res.records)
        return DnsAnswer(query=name, rtype=rtype, rcode=res.rcode)
    return DnsAnswer(query=name, rtype=rtype, rcode=rcode)

