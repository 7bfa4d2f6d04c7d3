"""The loopback forwarder (kind's port mappings): bytes pass both ways, and a port that
nothing answers behind is seen as refused by the live backend's connect-only probe."""
from __future__ import annotations

import asyncio
import socket
import threading
from typing import Iterator

import pytest

from grader.cluster.live import _refused_behind_port_mapping
from grader.localcluster import forward


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = _listening()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(100)        # waits for the client first, as HTTP servers do
                conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def _forwarding(target_port: int) -> int:
    """Start the forwarder in a thread for one mapping; return the port it listens on."""
    sock = _listening()
    mapping = [(sock.detach(), "127.0.0.1", target_port)]
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_until_complete, args=(forward.serve(mapping),), daemon=True).start()
    return _port_of(mapping[0][0])


def _port_of(fd: int) -> int:
    probe = socket.socket(fileno=socket.dup(fd))
    try:
        return probe.getsockname()[1]
    finally:
        probe.close()


def test_bytes_pass_both_ways(echo_port: int) -> None:
    port = _forwarding(echo_port)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        _refused_behind_port_mapping(sock, 0.2)      # the server waits: not refused
        sock.settimeout(5)
        sock.sendall(b"ping")
        assert sock.recv(100) == b"PING"


def test_nothing_behind_the_mapping_is_a_reset_connection() -> None:
    closed = _listening()
    closed_port = closed.getsockname()[1]
    closed.close()                                   # nothing listens there any more
    port = _forwarding(closed_port)
    # the reset may even beat connect() back (live.probe_external treats both alike)
    with pytest.raises(ConnectionResetError):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            _refused_behind_port_mapping(sock, 5)
