"""Hand-written EndpointSlices and Endpoints (selectorless Services).

Addresses are checked like the API server does (core/validation ValidateNonSpecialIP),
including its refusal of unspecified, loopback, link-local and link-local multicast
targets: those would point a Service at node-local things.
"""
from __future__ import annotations

from grader.k8s.fields import Issue, dicts, is_int, items, join_index, join_key, quote, text
from grader.rules.base import enum_issue
from grader.rules.names import (
    dns1123_label_problem,
    endpoint_ip_problem,
    fqdn_problem,
    ip_problem,
    labels_issues,
    port_number_problem,
    special_ip_problem,
)
from grader.rules.service import app_protocol_issues, port_name_issues, protocol_issues

ADDRESS_TYPES = ("IPv4", "IPv6", "FQDN")
MAX_ENDPOINTS = 1000
MAX_ADDRESSES = 100
MAX_PORTS = 100


def endpointslice_issues(obj: dict) -> list[Issue]:
    """discovery/validation ValidateEndpointSlice (on create: the deprecated 'IP' address
    type is refused)."""
    out: list[Issue] = []
    address_type = obj.get("addressType")
    if address_type == "":
        out.append(("addressType", "required: 'IPv4', 'IPv6' or 'FQDN'"))
    bad = enum_issue("addressType", address_type, ADDRESS_TYPES, "addressType")
    if bad and address_type != "":
        out.append(bad)
    endpoints = items(obj.get("endpoints"))
    if len(endpoints) > MAX_ENDPOINTS:
        out.append(("endpoints", f"at most {MAX_ENDPOINTS} endpoints per EndpointSlice"))
        endpoints = []
    for epath, ep in dicts(endpoints, "endpoints"):
        addresses = items(ep.get("addresses"))
        apath = join_key(epath, "addresses")
        if not addresses and (ep.get("addresses") is None or isinstance(ep.get("addresses"), list)):
            out.append((apath, "required: list at least one address"))
        elif len(addresses) > MAX_ADDRESSES:
            out.append((apath, f"at most {MAX_ADDRESSES} addresses per endpoint"))
        for i, addr in enumerate(addresses):
            if not isinstance(addr, str):
                continue
            why = None
            if address_type in ("IPv4", "IPv6"):
                version = 4 if address_type == "IPv4" else 6
                wrong_family = ip_problem(addr) is None and ip_problem(addr, version)
                if wrong_family:
                    # discovery/validation: a valid IP of the other family is reported at
                    # the address list itself, not at the item (the special-IP check is not)
                    out.append((apath, wrong_family))
                    why = special_ip_problem(addr)
                else:
                    why = endpoint_ip_problem(addr, version)
            elif address_type == "FQDN":
                why = fqdn_problem(addr)
                why = why and f"{quote(addr)} is not a fully qualified domain name: {why}"
            if why:
                out.append((join_index(apath, i), why))
        hostname = text(ep.get("hostname"))
        if hostname is not None:
            out += _hostname_issues(hostname, join_key(epath, "hostname"))
        topology = ep.get("deprecatedTopology")
        if topology is not None:
            out += labels_issues(topology, join_key(epath, "topology"))
    out += _slice_ports(obj.get("ports"), "ports")
    return out


def _slice_ports(ports: object, path: str) -> list[Issue]:
    """discovery/validation validatePorts: names are DNS labels and unique (an unnamed port
    counts as the name ""); the port number itself is not range-checked."""
    out: list[Issue] = []
    if len(items(ports)) > MAX_PORTS:
        return [(path, f"at most {MAX_PORTS} ports per EndpointSlice")]
    names: dict[str, str] = {}
    for ppath, port in dicts(ports, path):
        name = port.get("name")
        name = name if isinstance(name, str) else ""
        if name:
            out += port_name_issues(name, ppath)
        if name in names:
            if name:
                msg = f"duplicate port name {quote(name)} (also used by {names[name]})"
            else:
                msg = f"only one port may be unnamed, and {names[name]} is unnamed too; give each port a name"
            out.append((join_key(ppath, "name"), msg))
        else:
            names[name] = ppath
        out += protocol_issues(port, ppath)
        out += app_protocol_issues(port, ppath)
    return out


def _hostname_issues(hostname: str, path: str) -> list[Issue]:
    """An endpoint's hostname (EndpointSlice and Endpoints): a DNS-1123 label."""
    why = dns1123_label_problem(hostname)
    return [(path, f"{quote(hostname)} is not a valid hostname: {why}")] if why else []


def endpoints_issues(obj: dict) -> list[Issue]:
    """core/validation validateEndpointSubsets."""
    out: list[Issue] = []
    for spath, subset in dicts(obj.get("subsets"), "subsets"):
        if not items(subset.get("addresses")) and not items(subset.get("notReadyAddresses")):
            out.append((spath, "must specify addresses or notReadyAddresses"))
        for field in ("addresses", "notReadyAddresses"):
            for apath, addr in dicts(subset.get(field), join_key(spath, field)):
                ip = addr.get("ip")
                if isinstance(ip, str):
                    why = endpoint_ip_problem(ip)
                    if why:
                        out.append((join_key(apath, "ip"), why))
                hostname = text(addr.get("hostname"))
                if hostname:
                    out += _hostname_issues(hostname, join_key(apath, "hostname"))
        ports = items(subset.get("ports"))
        need_names = len(ports) > 1
        for ppath, port in dicts(ports, join_key(spath, "ports")):
            name = port.get("name")
            if isinstance(name, str) and name:
                out += port_name_issues(name, ppath)
            elif need_names:
                out.append(
                    (join_key(ppath, "name"), "required: with more than one port, every port needs a name")
                )
            number = port.get("port")
            if is_int(number):
                why = port_number_problem(number)
                if why:
                    out.append((join_key(ppath, "port"), why))
            out += protocol_issues(port, ppath)
            out += app_protocol_issues(port, ppath)
    return out

