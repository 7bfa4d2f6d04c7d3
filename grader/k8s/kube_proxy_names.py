"""The names kube-proxy's nftables mode gives its per-Service chains and sets.

kube-proxy (pkg/proxy/nftables, v1.37) names each chain after what it serves, prefixed
with a hash so that names differing in one digit still look different at a glance and stay
unique when a long name is cut: the first 8 characters of the base32 (RFC 4648, standard
alphabet) encoding of the SHA-256 of the name, then "-", then the name itself
("namespace/service/protocol/portName", and "__endpointIP/endpointPort" for an endpoint).
An unnamed Service port has an empty port name, so its chains end in "/tcp/".

Pure functions: the offline model renders rules with them, and the live comparison and the
display find a Service's chains by them.
"""
from __future__ import annotations

import base64
import hashlib

#: Prefixes of the chains (and the affinity sets) kube-proxy makes per Service port/endpoint.
SERVICE_PREFIX = "service-"      # the Cluster-policy chain: spread over every usable endpoint
LOCAL_PREFIX = "local-"          # the Local-policy chain: this node's endpoints only
EXTERNAL_PREFIX = "external-"    # NodePort / LoadBalancer traffic enters here
FIREWALL_PREFIX = "firewall-"    # loadBalancerSourceRanges
ENDPOINT_PREFIX = "endpoint-"    # one per endpoint: the DNAT
AFFINITY_PREFIX = "affinity-"    # sessionAffinity: ClientIP, a set of recent client addresses

#: nftables' longest name (knftables.NameLengthMax), and the room left after a prefix.
NAME_LENGTH_MAX = 256
PREFIX_LENGTH_MAX = 16
BASE_LENGTH_MAX = NAME_LENGTH_MAX - PREFIX_LENGTH_MAX


def hash_and_truncate(name: str) -> str:
    """`name` prefixed with its 8-character hash, cut to BASE_LENGTH_MAX ("..." marks a cut)."""
    digest = hashlib.sha256(name.encode()).digest()
    named = base64.b32encode(digest).decode()[:8] + "-" + name
    if len(named) > BASE_LENGTH_MAX:
        named = named[:BASE_LENGTH_MAX - 3] + "..."
    return named


def service_port_base(namespace: str, service: str, protocol: str, port_name: str | None) -> str:
    """"HASH-ns/svc/proto/portName": the part after the prefix of a Service port's chains."""
    return hash_and_truncate(f"{namespace}/{service}/{protocol.lower()}/{port_name or ''}")


def endpoint_base(namespace: str, service: str, protocol: str, port_name: str | None,
                  ip: str, port: int) -> str:
    """"HASH-ns/svc/proto/portName__IP/port" (an IPv6 address with its colons as dots)."""
    address = ip.replace(":", ".")
    return hash_and_truncate(f"{namespace}/{service}/{protocol.lower()}/{port_name or ''}__{address}/{port}")


def service_port_label(namespace: str, service: str, port_name: str | None) -> str:
    """How kube-proxy names a Service port in comments: "ns/svc:port", or "ns/svc" unnamed."""
    return f"{namespace}/{service}" + (f":{port_name}" if port_name else "")


def service_of_chain(chain: str) -> tuple[str, str] | None:
    """(namespace, service) of a per-Service chain or affinity set name, else None."""
    if "/" not in chain or "-" not in chain:
        return None
    rest = chain.split("-", 2)
    if len(rest) < 3:
        return None
    parts = rest[2].split("/")
    return (parts[0], parts[1]) if len(parts) >= 2 else None


__all__ = ["AFFINITY_PREFIX", "ENDPOINT_PREFIX", "EXTERNAL_PREFIX", "FIREWALL_PREFIX", "LOCAL_PREFIX",
           "SERVICE_PREFIX", "endpoint_base", "hash_and_truncate", "service_of_chain",
           "service_port_base", "service_port_label"]
