"""The world outside the cluster as DNS sees it, the way the offline model sees it.

CoreDNS forwards names outside cluster.local to the node's resolver (kind's Corefile:
`forward . /etc/resolv.conf`). The local cluster has no route out, so a real forwarder
would time out for every name. This tiny server, at 172.18.0.1:53 in the cluster network
(where the nodes' resolv.conf points), answers at once with the model's rule
(grader.model.dns.upstream_rcode): a name under a public TLD cannot be answered without
the internet (SERVFAIL), any other name is one the root would deny (NXDOMAIN). Nothing
leaves the machine.

    python -m grader.localcluster.outside_dns ADDRESS PORT
"""

from __future__ import annotations

import asyncio
import struct
import sys

from grader.model.dns import upstream_rcode

NXDOMAIN = 3
SERVFAIL = 2
NOTIMP = 4


def answer(query: bytes) -> bytes | None:
    """The reply to one DNS message: its header and question, no records, SERVFAIL or
    NXDOMAIN by the model's rule (NOTIMP for anything but a standard query). None for what
    is not a DNS query."""
    if len(query) < 12:
        return None
    ident, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000:  # a response, not a query
        return None
    opcode = (flags >> 11) & 0xF
    end = 12
    if qdcount == 1:
        while end < len(query) and query[end] != 0:
            end += 1 + query[end]
        end += 5  # the root label, QTYPE, QCLASS
    question = query[12:end] if qdcount == 1 and end <= len(query) else b""
    rcode = NOTIMP
    if opcode == 0 and question:
        rcode = SERVFAIL if upstream_rcode(_name(question)) == "SERVFAIL" else NXDOMAIN
    reply_flags = 0x8000 | (opcode << 11) | (flags & 0x0100) | 0x0080 | rcode  # QR, RD copied, RA
    return struct.pack("!HHHHHH", ident, reply_flags, 1 if question else 0, 0, 0, 0) + question


def _name(question: bytes) -> str:
    labels, i = [], 0
    while i < len(question) and question[i]:
        labels.append(question[i + 1 : i + 1 + question[i]].decode("ascii", "replace"))
        i += 1 + question[i]
    return ".".join(labels)


class _Udp(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:  # type: ignore[type-arg]
        reply = answer(data)
        if reply is not None:
            self.transport.sendto(reply, addr)  # type: ignore[attr-defined]


async def _tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            reply = answer(await reader.readexactly(size))
            if reply is None:
                break
            writer.write(struct.pack("!H", len(reply)) + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(address: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(_Udp, local_addr=(address, port))
    server = await asyncio.start_server(_tcp, address, port)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], int(sys.argv[2])))
