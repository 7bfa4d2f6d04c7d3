"""The learner's-machine side of the cluster: TCP from host loopback into the cluster network.

kind publishes the API server and NodePorts 30080-30089 of the control-plane node on
127.0.0.1, and that traffic reaches the node from the Docker bridge's address 172.18.0.1.
This process does the same: `lifecycle` opens the listening sockets on the host's
loopback and hands them over; the process runs inside the cluster-network namespace
(where 172.18.0.1 is its own address) and connects from there, so each connection arrives
at the node from 172.18.0.1, as from kind's host.

    python -m grader.localcluster.forward FD=HOST:PORT [FD=HOST:PORT ...]
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            writer.close()


def _handler(host: str, port: int):  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        except (OSError, asyncio.TimeoutError):
            # as docker-proxy does for kind: the client sees its accepted connection reset
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        for w in (writer, up_writer):
            w.close()

    return handle


async def serve(mappings: list[tuple[int, str, int]]) -> None:
    servers = []
    for fd, host, port in mappings:
        sock = socket.socket(fileno=fd)
        servers.append(await asyncio.start_server(_handler(host, port), sock=sock))
    await asyncio.gather(*(s.serve_forever() for s in servers))


def parse(args: list[str]) -> list[tuple[int, str, int]]:
    out = []
    for arg in args:
        fd, _, target = arg.partition("=")
        host, _, port = target.rpartition(":")
        out.append((int(fd), host, int(port)))
    return out


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(parse(sys.argv[1:] if argv is None else argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
