"""The cluster's stand-in for the internet's DNS: the offline model's rule for names
outside cluster.local (public TLD: SERVFAIL, anything else: NXDOMAIN)."""
from __future__ import annotations

import struct

from grader.localcluster.outside_dns import answer


def _query(name: str, ident: int = 0x1234, flags: int = 0x0100, qtype: int = 1) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p) + b"\0"
    return struct.pack("!HHHHHH", ident, flags, 1, 0, 0, 0) + labels + struct.pack("!HH", qtype, 1)


def test_any_name_is_nxdomain_with_the_question_echoed() -> None:
    query = _query("nope")
    reply = answer(query)
    ident, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", reply[:12])
    assert (ident, qd, an, ns, ar) == (0x1234, 1, 0, 0, 0)
    assert flags & 0x8000 and flags & 0x0100 and flags & 0x000F == 3      # QR, RD kept, NXDOMAIN
    assert reply[12:] == query[12:]


def test_names_under_a_public_tld_cannot_be_answered_as_offline() -> None:
    for name, rcode in (("api.example.com", 2), ("nope", 3), ("x.internal", 3), ("kubernetes.io", 2)):
        assert struct.unpack("!H", answer(_query(name))[2:4])[0] & 0x000F == rcode, name


def test_other_opcodes_are_not_implemented_and_replies_are_ignored() -> None:
    status_query = _query("x", flags=2 << 11)
    assert struct.unpack("!H", answer(status_query)[2:4])[0] & 0x000F == 4
    assert answer(_query("x", flags=0x8000)) is None
    assert answer(b"\x00\x01") is None
