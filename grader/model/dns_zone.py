"""CoreDNS's `kubernetes` plugin over the model's state: the records it serves for
cluster.local and the reverse zones (CoreDNS plugin/kubernetes: parse.go parseRequest,
kubernetes.go findServices / findPods, reverse.go, plugin/backend_lookup.go). grader.model.dns
describes the answers case by case; grader.model.coredns puts this plugin in the Corefile's
chain, which decides what happens to names it does not serve (`fallthrough`) and to the
outside names an ExternalName points at (CoreDNS asks itself, through the whole server).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from grader.k8s.dns_names import CLUSTER_DOMAIN
from grader.model.corefile import DEFAULT_COREFILE, Kubernetes, falls_through, matching_zone, parsed
from grader.model.endpointslices import SliceEndpoint
from grader.model.services import Service
from grader.observations import DnsRecord, is_ip

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state import ClusterState

DNS_NAMESPACE, DNS_SERVICE = "kube-system", "kube-dns"
#: CoreDNS plugin/kubernetes DNSSchemaVersion, served as TXT dns-version.<zone>.
DNS_SCHEMA_VERSION = "1.1.0"
#: CoreDNS plugin/backend_lookup.go maxCnameChainLength.
MAX_CNAME_CHAIN = 10
REVERSE_ZONES = ("in-addr.arpa", "ip6.arpa")


def dashed(ip: str) -> str:
    """CoreDNS endpointHostname for an endpoint without hostname: the IP with dashes."""
    if ":" in ip:
        out = ip.replace(":", "-")
        return out + "0" if out.endswith("-") else out
    return ip.replace(".", "-")


def _in_zone(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


@dataclass
class Result:
    """One plugin's reply: rcode (NOERROR, maybe empty; NXDOMAIN; SERVFAIL; REFUSED), the
    answer records, and the smallest TTL among them (None without records)."""

    rcode: str
    records: tuple[DnsRecord, ...] = ()
    ttl: int | None = None


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

    def __init__(self, state: "ClusterState", config: Kubernetes | None = None,
                 upstream: Callable[[str, str, int], Result] | None = None) -> None:
        """`config`: the plugin's settings (default: kind's Corefile); `upstream(name, rtype,
        depth)`: how the plugin asks about an ExternalName target outside its zones (CoreDNS
        plugin/pkg/upstream asks the server itself), None: nobody answers."""
        self.state = state
        self.k = config or _default_config()
        self.upstream = upstream

    def serve(self, qname: str, rtype: str, depth: int = 0) -> Result | None:
        """The plugin's reply, or None when it passes the query on: a name outside its zones,
        or NXDOMAIN in a zone its `fallthrough` covers (plugin/kubernetes ServeDNS)."""
        name = qname.lower().rstrip(".")
        if matching_zone(name, self.k.zones) is None:
            return None
        res = self.answer(qname, rtype, depth)
        fall = self.k.fallthrough
        if res.rcode == "NXDOMAIN" and falls_through(fall, name):
            return None
        if res.records:
            res.ttl = self.k.ttl
        return res

    # -- records (CoreDNS Records: parseRequest + findPods / findServices)
    def _ready(self, svc: Service) -> list[tuple[SliceEndpoint, tuple[tuple[int, str, str], ...]]]:
        """(endpoint, ports) for every ready endpoint in the Service's slices. CoreDNS reads
        only the slice's `ready` condition (nil = ready); the EndpointSlice controller has
        already folded publishNotReadyAddresses into it. A slice without ports carries the
        sentinel port -1 (object/endpoint.go)."""
        out: list[tuple[SliceEndpoint, tuple[tuple[int, str, str], ...]]] = []
        for sl in self.state.slices(svc):
            ports = tuple((p.port, p.name or "", p.protocol) for p in sl.ports) or ((-1, "", ""),)
            for e in sl.endpoints:
                if e.ready:
                    out.extend((each, ports) for each in e.every_address())
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

    def _pod(self, podname: str, namespace: str) -> list[_Item]:
        """`pods disabled` (the plugin's default): NXDOMAIN; `insecure`: the IP the name
        spells; `verified`: only if a pod in that namespace has that IP."""
        if self.k.pods == "disabled":
            raise _NameError
        if podname.count("-") == 3 and "--" not in podname:
            ip = podname.replace("-", ".")
        else:
            ip = podname.replace("-", ":")
        if not is_ip(ip):
            raise _NameError
        ip = str(ipaddress.ip_address(ip))
        if self.k.pods == "verified" and not any(p.ip == ip and p.namespace == namespace
                                                 for p in self.state.pods):
            raise _NameError
        return [_Item(ip, 0, f"{podname}.{namespace}.pod.{CLUSTER_DOMAIN}")]

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
    def answer(self, qname: str, rtype: str, depth: int = 0) -> Result:
        """The response to one question. `qname` keeps the asker's case (the answer's owner
        names do too); matching is case-insensitive."""
        name = qname.lower().rstrip(".")
        rtype = rtype.upper()
        if any(_in_zone(name, z) for z in REVERSE_ZONES):
            return self._reverse(qname, name, rtype)
        if name == f"ns.dns.{CLUSTER_DOMAIN}":                 # CoreDNS isDefaultNS
            ns_ip = self._dns_service_ip()
            if rtype == "A" and ns_ip:
                return Result("NOERROR", (DnsRecord(qname, "A", ns_ip),))
            return Result("NOERROR")
        if rtype == "TXT":
            return self._txt(qname, name)
        try:
            items = self.records(name)
        except _NameError:
            return Result("NXDOMAIN")
        if rtype in ("A", "AAAA"):
            return Result("NOERROR", self._address(qname, name, rtype, items, depth))
        if rtype == "SRV":
            return Result("NOERROR", self._srv(qname, [i for i in items if is_ip(i.host)]))
        if rtype == "CNAME":
            if items and not is_ip(items[0].host):
                return Result("NOERROR", (DnsRecord(qname, "CNAME", items[0].host),))
            return Result("NOERROR")
        return Result("NOERROR")                              # PTR on a forward name, MX, ...: NODATA

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
            # outside the zone CoreDNS asks itself (plugin/pkg/upstream) and returns the
            # CNAME with whatever that gave: with kind's Corefile the node's resolver, which
            # offline answers no record (grader.model.coredns)
            out.append(cname)
            if self.upstream is not None:
                out.extend(self.upstream(target, rtype, depth + 1).records)
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

    def _txt(self, qname: str, name: str) -> Result:
        if name == f"dns-version.{CLUSTER_DOMAIN}":
            return Result("NOERROR", (DnsRecord(qname, "TXT", f'"{DNS_SCHEMA_VERSION}"'),))
        try:
            items = self.records(name)
        except _NameError:
            return Result("NXDOMAIN")
        # CoreDNS: "an existing record of another type" -> NODATA; no items at all -> NXDOMAIN
        return Result("NOERROR" if items else "NXDOMAIN")

    def _reverse(self, qname: str, name: str, rtype: str) -> Result:
        ip = self._reverse_ip(name)
        if rtype != "PTR" or ip is None:
            return Result("NXDOMAIN")
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
            return Result("NXDOMAIN")
        return Result("NOERROR", tuple(DnsRecord(qname, "PTR", t) for t in targets))

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




def _default_config() -> Kubernetes:
    k = parsed(DEFAULT_COREFILE).blocks[0].kubernetes
    assert k is not None
    return k
