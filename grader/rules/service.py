"""Service rules the OpenAPI schema cannot express (after core/validation ValidateService).

The schema says `nodePort` is an integer; only these rules know it must be in the NodePort
range and only on NodePort/LoadBalancer Services, or that two ports need names.

Where the API server defaults a field before validating it (v1 SetDefaults_Service and the
registry strategy), the rules here validate the defaulted value, so a manifest that omits a
field is judged the way the cluster would judge it:

- `type` defaults to ClusterIP, `protocol` to TCP, `sessionAffinity` to None;
- `targetPort` 0 or "" defaults to `port`;
- `clusterIPs` is filled from `clusterIP` (so a bad `clusterIP` is reported at
  `spec.clusterIPs[0]`, as the API server does);
- ClientIP affinity without a timeout gets the default 10800 s.
"""
from __future__ import annotations

from typing import Any

from grader.k8s.fields import Issue, dicts, is_int, items, join_index, join_key, mapping, quote, text
from grader.rules.base import enum_issue
from grader.rules.names import (
    cidr_problem,
    dns1123_label_problem,
    dns1123_subdomain_problem,
    endpoint_ip_problem,
    ip_problem,
    labels_issues,
    parse_ip_sloppy,
    port_name_or_number_problem,
    port_number_problem,
    qualified_name_problem,
)

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
PROTOCOLS = ("TCP", "UDP", "SCTP")


def protocol_issues(port: dict, path: str) -> list[Issue]:
    """A port's `protocol`: unset or empty means TCP (the API server defaults it before
    validating), anything else must be TCP, UDP or SCTP."""
    bad = enum_issue(join_key(path, "protocol"), port.get("protocol") or "TCP", PROTOCOLS, "protocol")
    return [bad] if bad else []


def app_protocol_issues(port: dict, path: str) -> list[Issue]:
    """A port's optional `appProtocol` (Services, EndpointSlices, Endpoints): a qualified
    name such as 'http' or 'kubernetes.io/h2c'."""
    app = text(port.get("appProtocol"))
    if app is None:
        return []
    why = qualified_name_problem(app)
    return [(join_key(path, "appProtocol"), f"{quote(app)} is invalid: {why}")] if why else []


def port_name_issues(name: str, path: str) -> list[Issue]:
    """A Service/EndpointSlice/Endpoints port name (`path` is the port's): a DNS-1123 label."""
    why = dns1123_label_problem(name)
    return [(join_key(path, "name"), f"{quote(name)} is not a valid port name: {why}")] if why else []


NODE_PORT_RANGE = (30000, 32767)
TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")
_NEEDS_NODE_PORT = ("NodePort", "LoadBalancer")
MAX_AFFINITY_SECONDS = 86400


def int_or_name_issue(value: Any, path: str) -> Issue | None:
    """A port given by number (1-65535) or by IANA service name (targetPort, probe ports,
    NetworkPolicy ports): core/validation ValidatePortNumOrName."""
    why = port_name_or_number_problem(value)
    return (path, why) if why else None


def effective_cluster_ips(spec: dict) -> list:
    """`clusterIPs` as the registry strategy (NormalizeClusterIPs) leaves it on create: the
    singular field fills the plural one when only the singular is given."""
    ips = spec.get("clusterIPs")
    if isinstance(ips, list) and ips:
        return ips
    ip = spec.get("clusterIP")
    return [ip] if isinstance(ip, str) and ip else []


def is_headless(spec: dict) -> bool:
    """core/validation isHeadlessService: clusterIPs is exactly ["None"]."""
    return effective_cluster_ips(spec) == ["None"]


def service_issues(obj: dict) -> list[Issue]:
    spec = mapping(obj.get("spec"))
    out: list[Issue] = []
    raw_type = spec.get("type")
    stype = raw_type if isinstance(raw_type, str) and raw_type else "ClusterIP"
    bad_type = enum_issue("spec.type", stype, SERVICE_TYPES, "Service type")
    if bad_type:
        out.append(bad_type)
    headless = is_headless(spec)
    ports = items(spec.get("ports"))

    raw_ports = spec.get("ports")
    if (
        not ports
        and stype != "ExternalName"
        and not headless
        and (raw_ports is None or isinstance(raw_ports, list))
    ):
        out.append(("spec.ports", "required: list at least one port (only ExternalName and "
                    "headless Services may have none)"))

    if stype in _NEEDS_NODE_PORT and headless:
        out.append(("spec.clusterIPs[0]", f"may not be 'None' for a {stype} Service: a headless "
                    "Service has no virtual IP, so it cannot be exposed on node ports (set by "
                    "clusterIP: None)"))
    if stype == "ExternalName":
        out += _external_name_issues(spec)
    else:
        out += _cluster_ips_issues(spec)

    out += _ports_issues(ports, stype)
    if spec.get("selector") is not None:
        out += labels_issues(spec.get("selector"), "spec.selector")

    out += _affinity_issues(spec)

    for i, ip in enumerate(items(spec.get("externalIPs"))):
        if isinstance(ip, str):
            why = endpoint_ip_problem(ip)
            if why:
                out.append((join_index("spec.externalIPs", i), why))

    out += _load_balancer_issues(spec, stype)
    out += _traffic_policy_issues(spec, stype)
    return out


def _external_name_issues(spec: dict) -> list[Issue]:
    """The ExternalName case of ValidateService: a DNS name (trailing dot allowed), and no
    cluster IPs or IP families."""
    out: list[Issue] = []
    if effective_cluster_ips(spec):
        out.append(("spec.clusterIPs", "may not be set for an ExternalName Service (it gets a DNS "
                    "CNAME, not an IP); remove clusterIP/clusterIPs"))
    if items(spec.get("ipFamilies")):
        out.append(("spec.ipFamilies", "may not be set for an ExternalName Service"))
    if spec.get("ipFamilyPolicy") is not None:
        out.append(("spec.ipFamilyPolicy", "may not be set for an ExternalName Service"))
    name = spec.get("externalName")
    cname = name[:-1] if isinstance(name, str) and name.endswith(".") else name
    if not cname:
        out.append(("spec.externalName", "required for an ExternalName Service: the DNS name "
                    "it should alias, e.g. 'api.example.com'"))
    elif isinstance(cname, str):
        why = dns1123_subdomain_problem(cname)
        if why:
            out.append(("spec.externalName", f"{quote(name)} is not a valid DNS name: {why}"))
    return out


def _cluster_ips_issues(spec: dict) -> list[Issue]:
    """core/validation ValidateServiceClusterIPsRelatedFields."""
    out: list[Issue] = []
    single = spec.get("clusterIP")
    plural = spec.get("clusterIPs")
    ips = effective_cluster_ips(spec)
    if isinstance(plural, list) and plural:
        if isinstance(single, str) and single:
            if plural[0] != single:
                out.append(("spec.clusterIPs", f"the first value must match clusterIP {quote(single)}"))
        else:
            out.append(("spec.clusterIPs", "must be empty when clusterIP is not specified (set both, "
                        "with clusterIP equal to clusterIPs[0])"))
    families = items(spec.get("ipFamilies"))
    seen: set[str] = set()
    for i, fam in enumerate(families):
        path = join_index("spec.ipFamilies", i)
        bad = enum_issue(path, fam, ("IPv4", "IPv6"), "IP family")
        if bad:
            out.append(bad)
        if isinstance(fam, str):
            if fam in seen:
                out.append((path, f"duplicate IP family {quote(fam)}"))
            seen.add(fam)
    bad = enum_issue("spec.ipFamilyPolicy", spec.get("ipFamilyPolicy"),
                     ("SingleStack", "PreferDualStack", "RequireDualStack"), "ipFamilyPolicy")
    if bad:
        out.append(bad)
    invalid = False
    parsed = []
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                invalid = True
                out.append(("spec.clusterIPs", "'None' must be the first and only value"))
            continue
        why = ip_problem(ip) if isinstance(ip, str) else None
        if why:
            invalid = True
            out.append((join_index("spec.clusterIPs", i), f"{why}; use an IP address from the "
                        "Service CIDR, 'None' for a headless Service, or leave clusterIP out"))
        else:
            parsed.append(parse_ip_sloppy(ip) if isinstance(ip, str) else None)
    if len(ips) > 2:
        out.append(("spec.clusterIPs", "may hold at most 2 values (one per IP family)"))
    if invalid:
        return out
    if len(ips) > 1 and len({p.version for p in parsed if p is not None}) != len(ips):
        out.append(("spec.clusterIPs", "may specify no more than one IP for each IP family"))
    if ips != ["None"] and families:
        for i, ip in enumerate(ips):
            if i >= len(families):
                break
            addr = parse_ip_sloppy(ip) if isinstance(ip, str) else None
            if addr is None:
                continue
            if families[i] == "IPv4" and addr.version == 6:
                out.append(
                    (
                        join_index("spec.clusterIPs", i),
                        f"expected an IPv4 value as indicated by ipFamilies[{i}]",
                    )
                )
            if families[i] == "IPv6" and addr.version != 6:
                out.append(
                    (
                        join_index("spec.clusterIPs", i),
                        f"expected an IPv6 value as indicated by ipFamilies[{i}]",
                    )
                )
    return out


def _affinity_issues(spec: dict) -> list[Issue]:
    out: list[Issue] = []
    affinity = spec.get("sessionAffinity")
    affinity = affinity if isinstance(affinity, str) and affinity else "None"
    bad = enum_issue("spec.sessionAffinity", affinity, ("ClientIP", "None"), "sessionAffinity")
    if bad:
        out.append(bad)
    # With sessionAffinity None (or unset) v1 defaulting (SetDefaults_Service) drops any
    # sessionAffinityConfig before validation, so the API server accepts it and ignores it.
    if affinity == "ClientIP":
        timeout = mapping(mapping(spec.get("sessionAffinityConfig")).get("clientIP")).get("timeoutSeconds")
        if is_int(timeout) and not 1 <= timeout <= MAX_AFFINITY_SECONDS:
            out.append(("spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                        f"must be between 1 and {MAX_AFFINITY_SECONDS} seconds, got {timeout}"))
    return out


def _load_balancer_issues(spec: dict, stype: str) -> list[Issue]:
    out: list[Issue] = []
    ranges = items(spec.get("loadBalancerSourceRanges"))
    # The API server names this field with a capital L in its errors (a historical quirk
    # of ValidateService); we keep its path so both report the same place.
    lbsr = "spec.LoadBalancerSourceRanges"
    if ranges and stype != "LoadBalancer":
        out.append((lbsr, "may only be used when type is 'LoadBalancer' (loadBalancerSourceRanges)"))
    for i, cidr in enumerate(ranges):
        if isinstance(cidr, str):
            _, why = cidr_problem(cidr.strip())
            if why:
                out.append((join_index(lbsr, i), why))
    if spec.get("allocateLoadBalancerNodePorts") is not None and stype != "LoadBalancer":
        out.append(("spec.allocateLoadBalancerNodePorts", "may only be used when type is 'LoadBalancer'"))
    cls = spec.get("loadBalancerClass")
    if cls is not None:
        if stype != "LoadBalancer":
            out.append(("spec.loadBalancerClass", "may only be used when type is 'LoadBalancer'"))
        elif isinstance(cls, str):
            why = qualified_name_problem(cls)
            if why:
                out.append(("spec.loadBalancerClass", f"{quote(cls)} is invalid: {why}"))
    return out


def _traffic_policy_issues(spec: dict, stype: str) -> list[Issue]:
    """validateServiceExternalTrafficPolicy, validateServiceInternalTrafficFieldsValue and
    validateServiceTrafficDistribution."""
    out: list[Issue] = []
    externally_accessible = stype in _NEEDS_NODE_PORT or (
        stype == "ClusterIP" and bool(items(spec.get("externalIPs")))
    )
    etp = spec.get("externalTrafficPolicy")
    if etp not in (None, ""):
        if not externally_accessible:
            out.append(("spec.externalTrafficPolicy", "may only be set for externally-accessible "
                        "Services: type 'NodePort' or 'LoadBalancer' (or a ClusterIP with externalIPs)"))
        else:
            bad = enum_issue("spec.externalTrafficPolicy", etp, ("Cluster", "Local"), "externalTrafficPolicy")
            if bad:
                out.append(bad)
    hc = spec.get("healthCheckNodePort")
    if is_int(hc) and hc != 0:
        if not (stype == "LoadBalancer" and etp == "Local"):
            out.append(("spec.healthCheckNodePort", "may only be set when type is 'LoadBalancer' and "
                        "externalTrafficPolicy is 'Local'"))
        else:
            why = port_number_problem(hc)
            if why:
                out.append(("spec.healthCheckNodePort", why))
    bad = enum_issue("spec.internalTrafficPolicy", spec.get("internalTrafficPolicy"), ("Cluster", "Local"),
                     "internalTrafficPolicy")
    if bad:
        out.append(bad)
    bad = enum_issue("spec.trafficDistribution", spec.get("trafficDistribution"), TRAFFIC_DISTRIBUTIONS,
                     "trafficDistribution")
    if bad:
        out.append(bad)
    return out


def _ports_issues(ports: list, stype: str) -> list[Issue]:
    """validateServicePort for each port, then the per-Service checks on them."""
    out: list[Issue] = []
    need_names = len(ports) > 1
    names: dict[str, str] = {}
    seen: dict[tuple[Any, str], str] = {}
    node_ports: dict[tuple[int, str], str] = {}
    for path, port in dicts(ports, "spec.ports"):
        name = port.get("name")
        if not name:
            if need_names:
                out.append((join_key(path, "name"), "required: when a Service has more than one "
                            "port, every port needs a name (e.g. 'http')"))
        elif isinstance(name, str):
            out += port_name_issues(name, path)
            if name in names:
                out.append(
                    (
                        join_key(path, "name"),
                        f"duplicate port name {quote(name)} (also used by {names[name]})",
                    )
                )
            else:
                names[name] = path
        out += protocol_issues(port, path)
        protocol = port.get("protocol")
        protocol = protocol if isinstance(protocol, str) and protocol else "TCP"  # for the keys below
        number = port.get("port")
        if is_int(number):
            why = port_number_problem(number)
            if why:
                out.append((join_key(path, "port"), why))
            key = (number, protocol)
            if key in seen:
                out.append((path, f"duplicate port {number}/{protocol} (already defined by {seen[key]})"))
            else:
                seen[key] = path
        target = port.get("targetPort")
        if target not in (None, 0, ""):  # 0 and "" default to `port`
            bad = int_or_name_issue(target, join_key(path, "targetPort"))
            if bad:
                out.append(bad)
        out += app_protocol_issues(port, path)
        node_port = port.get("nodePort")
        if is_int(node_port) and node_port != 0:
            npath = join_key(path, "nodePort")
            if stype == "ClusterIP":
                out.append((npath, f"may only be set when type is 'NodePort' or 'LoadBalancer' "
                            f"(this Service's type is '{stype}')"))
            elif stype in _NEEDS_NODE_PORT and not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
                out.append((npath, f"provided port {node_port} is not in the valid range; "
                            f"a nodePort must be between {NODE_PORT_RANGE[0]} and {NODE_PORT_RANGE[1]}"))
            key = (node_port, protocol)
            if key in node_ports:
                out.append(
                    (npath, f"duplicate nodePort {node_port}/{protocol} (already used by {node_ports[key]})")
                )
            else:
                node_ports[key] = path
    return out
