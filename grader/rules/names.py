"""Name and label syntax, as the API server defines it (apimachinery validation).

Each `*_problem` function returns None for a good value or the *reason* it is bad, so
callers can say which field and which object it is about.
"""
from __future__ import annotations

import ipaddress
import math
import re
from typing import TYPE_CHECKING, Any

from grader.k8s.fields import Issue, mapping, quote

if TYPE_CHECKING:  # pragma: no cover
    from decimal import Decimal

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(rf"^{_LABEL}\Z")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*\Z")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?\Z")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z")
_IANA_CHARS = re.compile(r"^[-a-z0-9]+\Z")
_CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+\Z")

LABEL_RULE = ("at most 63 characters: lowercase letters, digits and '-', "
              "starting and ending with a letter or digit")
SUBDOMAIN_RULE = ("at most 253 characters: lowercase letters, digits, '-' and '.', "
                  "starting and ending with a letter or digit")
DNS1035_RULE = ("at most 63 characters: lowercase letters, digits and '-', "
                "starting with a letter and ending with a letter or digit")


def dns1123_label_problem(value: str) -> str | None:
    if len(value) > 63:
        return f"is {len(value)} characters long; use {LABEL_RULE}"
    if not _DNS1123_LABEL.match(value):
        return f"use {LABEL_RULE}" + _case_hint(value)
    return None


def dns1123_subdomain_problem(value: str) -> str | None:
    if len(value) > 253:
        return f"is {len(value)} characters long; use {SUBDOMAIN_RULE}"
    if not _DNS1123_SUBDOMAIN.match(value):
        return f"use {SUBDOMAIN_RULE}" + _case_hint(value)
    return None


def dns1035_label_problem(value: str) -> str | None:
    if len(value) > 63:
        return f"is {len(value)} characters long; use {DNS1035_RULE}"
    if not _DNS1035_LABEL.match(value):
        hint = _case_hint(value)
        if not hint and value[:1].isdigit():
            hint = " (it must not start with a digit)"
        return f"use {DNS1035_RULE}" + hint
    return None


def _case_hint(value: str) -> str:
    """Suggest the nearest valid spelling for the two commonest slips, and only a
    suggestion that is itself valid (Bad_Name -> bad-name, not Bad-Name)."""
    fixed = value.lower().replace("_", "-")
    if fixed == value or not _DNS1123_SUBDOMAIN.match(fixed):
        return ""
    slips = [what for what, present in (("uppercase", value != value.lower()), ("'_'", "_" in value))
             if present]
    verb = "are" if len(slips) > 1 else "is"
    return f" ({' and '.join(slips)} {verb} not allowed: try '{fixed}')"


def iana_svc_name_problem(value: str) -> str | None:
    """Port names (container ports, targetPort by name, NetworkPolicy ports)."""
    if len(value) > 15:
        return f"a port name is at most 15 characters ({quote(value)} has {len(value)})"
    if not _IANA_CHARS.match(value):
        return "a port name may contain only lowercase letters, digits and '-'"
    if value.startswith("-") or value.endswith("-"):
        return "a port name must not start or end with '-'"
    if "--" in value:
        return "a port name must not contain '--'"
    if not re.search(r"[a-z]", value):
        if value.isdigit():
            return (f"a port name needs at least one letter; {quote(value)} is a quoted number: "
                    "write the number without quotes")
        return "a port name needs at least one letter"
    return None


def port_number_problem(value: int) -> str | None:
    if not 1 <= value <= 65535:
        return f"must be between 1 and 65535, got {value}"
    return None


def qualified_name_problem(value: str) -> str | None:
    """Label and annotation keys: optional `prefix/` (a DNS subdomain) plus a name."""
    prefix, slash, name = value.rpartition("/")
    if slash:
        if not prefix:
            return "the prefix before '/' must not be empty"
        why = dns1123_subdomain_problem(prefix)
        if why:
            return f"the prefix {quote(prefix)} is not a DNS subdomain: {why}"
    else:
        name = value
    if not name:
        return "the name part must not be empty"
    if len(name) > 63:
        return f"the name part is {len(name)} characters; at most 63 are allowed"
    if not _QUALIFIED_NAME.match(name):
        return ("use letters, digits, '-', '_' and '.', starting and ending with a letter or "
                "digit (an optional 'prefix/' may come first)")
    return None


def label_value_problem(value: str) -> str | None:
    if value == "":
        return None
    if len(value) > 63:
        return f"is {len(value)} characters long; a label value is at most 63"
    if not _QUALIFIED_NAME.match(value):
        return ("a label value may contain letters, digits, '-', '_' and '.', and must start "
                "and end with a letter or digit")
    return None


def labels_issues(labels: Any, path: str) -> list[Issue]:
    """Label maps (metadata.labels, Service selectors, matchLabels, nodeSelector).

    The API server (apimachinery ValidateLabels) reports every bad key or value at the
    path of the *map* itself (`metadata.labels`), so we do too and name the key in the
    sentence instead."""
    out: list[Issue] = []
    for key, value in mapping(labels).items():
        why = qualified_name_problem(key)
        if why:
            out.append((path, f"label key {quote(key)} is invalid: {why}"))
        if isinstance(value, str):
            why = label_value_problem(value)
            if why:
                out.append((path, f"label value {quote(value)} (key {quote(key)}) is invalid: {why}"))
    return out


def configmap_key_problem(value: str) -> str | None:
    if len(value) > 253:
        return "a key is at most 253 characters"
    if not _CONFIGMAP_KEY.match(value):
        return "a key may contain only letters, digits, '-', '_' and '.'"
    if value in (".", "..") or value.startswith(".."):
        return "a key must not be '.' or start with '..'"
    return None


def parse_ip_sloppy(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An IP address as Go's netutils.ParseIPSloppy reads it: IPv4 octets may carry leading
    zeros ("010.0.0.1" is 10.0.0.1); no IPv6 zone ("%eth0"). None if it is not an IP."""
    if not isinstance(value, str) or not value or "%" in value or value.strip() != value:
        return None
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", value):
        octets = [int(o) for o in value.split(".")]
        if any(o > 255 for o in octets):
            return None
        return ipaddress.IPv4Address(".".join(str(o) for o in octets))
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def parse_cidr_sloppy(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR as Go's netutils.ParseCIDRSloppy reads it: host bits may be set (the network is
    masked), leading zeros allowed. `cidr_problem` then applies the strict checks that
    the API server adds on top (StrictIPCIDRValidation)."""
    if not isinstance(value, str) or value.count("/") != 1:
        return None
    addr, _, bits = value.partition("/")
    ip = parse_ip_sloppy(addr)
    if ip is None or not re.fullmatch(r"[0-9]{1,3}", bits):
        return None
    if int(bits) > ip.max_prefixlen:
        return None
    return ipaddress.ip_network(f"{ip}/{int(bits)}", strict=False)


def _strict_ip_problem(value: str) -> str | None:
    """apimachinery parseIP with strictValidation (StrictIPCIDRValidation, on by default since
    Kubernetes v1.36): no leading zeros in IPv4 octets, no IPv4-mapped IPv6 address."""
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", value) and any(
            len(o) > 1 and o.startswith("0") for o in value.split(".")):
        return f"{quote(value)} must not have leading 0s (write {parse_ip_sloppy(value)})"
    ip = parse_ip_sloppy(value)
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return f"{quote(value)} must not be an IPv4-mapped IPv6 address (write {mapped})"
    return None


def cidr_problem(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network | None, str | None]:
    """(network, None) or (None, reason), with the API server's strict checks (parseCIDR
    with strictValidation, on by default since Kubernetes v1.36): no leading zeros, no
    IPv4-mapped address, no bits set beyond the prefix length ("10.0.0.1/8")."""
    network = parse_cidr_sloppy(value)
    if network is not None:
        addr, _, bits = value.partition("/")
        if _strict_ip_problem(addr) or (len(bits) > 1 and bits.startswith("0")):
            return None, f"{quote(value)} must not have leading 0s in IP or prefix length"
        if getattr(network.network_address, "ipv4_mapped", None) is not None:
            return None, f"{quote(value)} must not have an IPv4-mapped IPv6 address"
        if parse_ip_sloppy(addr) != network.network_address:
            return None, (f"{quote(value)} must not have bits set beyond the prefix length: "
                          f"write {network} for the whole block, or {addr}/{network.max_prefixlen} "
                          "for that one address")
        return network, None
    if "/" not in value:
        return None, f"{quote(value)} is not a CIDR; write an address and a prefix length, e.g. '10.0.0.0/24'"
    return None, f"{quote(value)} is not a valid CIDR such as '10.0.0.0/24' or 'fd00::/64'"


def ip_problem(value: str, version: int | None = None) -> str | None:
    ip = parse_ip_sloppy(value)
    if ip is None:
        want = {4: "an IPv4 address", 6: "an IPv6 address"}.get(version or 0, "an IP address")
        return f"{quote(value)} is not {want} (e.g. 10.9.8.7 or 2001:db8::ffff)"
    if version is not None and ip.version != version:
        return f"{quote(value)} is an IPv{ip.version} address, but IPv{version} is required here"
    return _strict_ip_problem(value)


def _link_local_multicast(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Go's net.IP.IsLinkLocalMulticast: 224.0.0.0/24, or ffX2::/16 for IPv6."""
    if ip.version == 4:
        return ip in ipaddress.IPv4Network("224.0.0.0/24")
    packed = ip.packed
    return packed[0] == 0xFF and packed[1] & 0x0F == 0x02


def special_ip_problem(value: str) -> str | None:
    """core/validation ValidateNonSpecialIP (Endpoints, EndpointSlices, externalIPs): no
    unspecified, loopback, link-local unicast or link-local multicast addresses. Other
    multicast addresses are accepted."""
    ip = parse_ip_sloppy(value)
    if ip is None:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip.is_unspecified:
        return f"{quote(value)} may not be unspecified"
    if ip.is_loopback:
        return f"{quote(value)} may not be in the loopback range (127.0.0.0/8, ::1/128)"
    if ip.is_link_local and (ip.version == 4 or ip in ipaddress.IPv6Network("fe80::/10")):
        return f"{quote(value)} may not be in the link-local range (169.254.0.0/16, fe80::/10)"
    if _link_local_multicast(ip):
        return f"{quote(value)} may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"
    return None


def endpoint_ip_problem(value: str, version: int | None = None) -> str | None:
    """Endpoint addresses: a valid IP (of the given family) that is not special."""
    return ip_problem(value, version) or special_ip_problem(value)


def fqdn_problem(value: str) -> str | None:
    """apimachinery IsFullyQualifiedDomainName: a trailing dot is allowed, at least two
    labels, each a DNS-1123 label."""
    if not value:
        return "required"
    name = value[:-1] if value.endswith(".") else value
    why = dns1123_subdomain_problem(name)
    if why:
        return why
    if len(name.split(".")) < 2:
        return "must be a domain with at least two segments separated by dots (e.g. 'db.example.com')"
    return None


def wildcard_subdomain_problem(value: str) -> str | None:
    """apimachinery IsWildcardDNS1123Subdomain: '*.' then a DNS subdomain."""
    if len(value) > 253:
        return f"is {len(value)} characters long; at most 253 are allowed"
    if not value.startswith("*.") or _DNS1123_SUBDOMAIN.match(value[2:]) is None:
        return "a wildcard host must be '*.' followed by a DNS subdomain, e.g. '*.example.com'"
    return None


def port_name_or_number_problem(value: Any) -> str | None:
    """core/validation ValidatePortNumOrName."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return port_number_problem(value)
    if isinstance(value, str):
        return iana_svc_name_problem(value)
    return None


_QUANTITY = re.compile(
    r"([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?\Z"
)
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}


def parse_quantity(value: Any) -> Decimal | None:
    """A resource.Quantity (`100m`, `64Mi`, `1.5`, `1e3`, or a YAML number) as a Decimal;
    None if the API server could not decode it -- including NaN, infinity and exponents
    too large for any number (`1e999999999999`), which Decimal refuses with
    InvalidOperation. (decimal is imported here: most manifests have no quantity, and
    importing it is about 3% of the instructions of `svclab check` on one Service.)"""
    from decimal import Decimal, InvalidOperation

    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str):
        return None
    m = _QUANTITY.match(value)
    if not m:
        return None
    sign, number, suffix = m.groups()
    try:
        amount = Decimal(number)
        if suffix in _BINARY:
            amount *= _BINARY[suffix]
        elif suffix in _DECIMAL:
            amount = amount.scaleb(_DECIMAL[suffix])
        elif suffix:
            amount = amount.scaleb(int(suffix[1:]))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return -amount if sign == "-" else amount


STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def container_resource_name_problem(name: str) -> str | None:
    """core/validation ValidateContainerResourceName."""
    why = qualified_name_problem(name)
    if why:
        return why
    if "/" not in name and name not in STANDARD_CONTAINER_RESOURCES and not name.startswith("hugepages-"):
        return ("must be a standard resource type ('cpu', 'memory', 'ephemeral-storage') or fully "
                "qualified (e.g. 'example.com/gpu')")
    return None
