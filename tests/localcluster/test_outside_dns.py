"""The cluster's stand-in for the internet's DNS: every name does not exist."""
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


def test_other_opcodes_are_not_implemented_and_replies_are_ignored() -> None:
    status_query = _query("x", flags=2 << 11)
    assert struct.unpack("!H", answer(status_query)[2:4])[0] & 0x000F == 4
    assert answer(_query("x", flags=0x8000)) is None
    assert answer(b"\x00\x01") is None
