"""TLS certificates in the offline model: whether a Secret can serve as a listener's
certificate, which names a certificate covers, and which certificate a TLS handshake
with a given SNI name gets. No handshake is performed: the model decides what the proxy
would present, and the probe reports it as curl would.

Sources:
- Kubernetes "Secrets" (type `kubernetes.io/tls`: keys `tls.crt` and `tls.key`, PEM).
- Gateway API v1.5 `GatewayTLSConfig.certificateRefs` and the listener reasons
  `InvalidCertificateRef` (a ref to a nonexistent or unsupported resource or kind, or to
  malformed data) and `RefNotPermitted` (another namespace without a ReferenceGrant).
- cloud-provider-kind v0.11 (pkg/gateway/listener.go) checks the same things: group and
  kind, the ReferenceGrant, the Secret's existence, then `tls.key` and `tls.crt` each
  holding a PEM block. It does not look at the Secret's `type`; the model follows the
  spec's Core support ("a Kubernetes Secret of type kubernetes.io/tls") and says so.
- Envoy, with several certificates on one filter chain, presents the one whose names
  match the SNI, else the first (its documented certificate selection). A listener with a
  hostname only answers handshakes whose SNI matches it (filter_chain_match.server_names);
  a handshake nothing matches is reset, which curl reports as error 35.
- Certificate names match hosts as RFC 6125 says: a leading `*` covers exactly one label.
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state_view import StateView

TLS_SECRET_TYPE = "kubernetes.io/tls"
_SAN_OID = bytes.fromhex("0603551d11")        # OID 2.5.29.17 subjectAltName, DER-encoded
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\s+([A-Za-z0-9+/=\s]+?)-----END \1-----")


def secret_value(secret: dict[str, Any], key: str) -> str | None:
    """A Secret's value for `key` as text: `stringData` as written, else `data` decoded
    from base64 (None when missing or not valid base64)."""
    string_data = secret.get("stringData") or {}
    if key in string_data:
        return str(string_data[key])
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(str(raw), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


def _has_pem(text: str | None, kinds: tuple[str, ...]) -> bool:
    return text is not None and any(m.group(1) in kinds for m in _PEM_BLOCK.finditer(text))


def certificate_problem(state: "StateView", namespace: str, name: str) -> str | None:
    """Why Secret namespace/name cannot be a listener's certificate, or None when it can.
    The wording names the Secret and the field to fix."""
    secret = state.get("Secret", name, namespace)
    if secret is None:
        return f"Secret {namespace}/{name} not found"
    stype = secret.get("type") or "Opaque"
    if stype != TLS_SECRET_TYPE:
        return (f"Secret {namespace}/{name} is of type {stype}, not {TLS_SECRET_TYPE} (create it with "
                f"kubectl create secret tls {name} --cert=... --key=...)")
    if not _has_pem(secret_value(secret, "tls.key"), ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY")):
        return f"malformed Secret {namespace}/{name}: tls.key does not hold a PEM private key"
    if not _has_pem(secret_value(secret, "tls.crt"), ("CERTIFICATE",)):
        return f"malformed Secret {namespace}/{name}: tls.crt does not hold a PEM certificate"
    return None


# ---------------------------------------------------------------- certificate names
def _tlv(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `at`."""
    tag, length = der[at], der[at + 1]
    start = at + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(der[start:start + count], "big")
        start += count
    return tag, start, start + length


def dns_names(cert_pem: str) -> tuple[str, ...]:
    """The DNS names of a PEM certificate's subjectAltName extension (its first
    certificate, the leaf), lower-case; () when it has none or cannot be read."""
    match = next((m for m in _PEM_BLOCK.finditer(cert_pem) if m.group(1) == "CERTIFICATE"), None)
    if match is None:
        return ()
    try:
        import ssl  # here, not at the top: ssl (with socket) costs every model start-up ~10 ms

        der = ssl.PEM_cert_to_DER_cert(match.group(0))
        at = der.find(_SAN_OID)
        if at < 0:
            return ()
        tag, start, end = _tlv(der, at + len(_SAN_OID))
        if tag == 0x01:                              # critical: BOOLEAN, then the value
            tag, start, end = _tlv(der, end)
        _, seq_start, seq_end = _tlv(der, start)     # OCTET STRING wraps SEQUENCE OF GeneralName
        names, pos = [], seq_start
        while pos < seq_end:
            tag, vstart, vend = _tlv(der, pos)
            if tag == 0x82:                          # [2] dNSName, IA5String
                names.append(der[vstart:vend].decode("ascii", "replace").lower())
            pos = vend
        return tuple(names)
    except (ValueError, IndexError):
        return ()


def certificate_names(state: "StateView", namespace: str, name: str) -> tuple[str, ...]:
    secret = state.get("Secret", name, namespace)
    return dns_names(secret_value(secret, "tls.crt") or "") if secret else ()


def name_covers(cert_name: str, host: str) -> bool:
    """RFC 6125: exact (case-insensitive), or `*.example.com` covering exactly one label."""
    cert_name, host = cert_name.lower(), host.lower()
    if cert_name.startswith("*."):
        first, dot, rest = host.partition(".")
        return bool(first) and bool(dot) and rest == cert_name[2:]
    return cert_name == host


def pick_certificate(state: "StateView", refs: list[tuple[str, str]], sni: str) -> tuple[str, str]:
    """Which of a filter chain's certificates (namespace, name) a handshake with `sni` gets:
    the first whose names cover it, else the first of all (Envoy's selection)."""
    for ns, name in refs:
        if any(name_covers(n, sni) for n in certificate_names(state, ns, name)):
            return ns, name
    return refs[0]


def covers(state: "StateView", ref: tuple[str, str], host: str) -> bool:
    """Would curl (without -k, trusting this certificate) accept it for `host`?"""
    return any(name_covers(n, host) for n in certificate_names(state, *ref))
