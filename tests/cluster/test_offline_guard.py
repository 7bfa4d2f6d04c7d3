"""The suite runs with outbound connections refused; prove the guard is really on."""
from __future__ import annotations

import socket

import pytest


def test_connections_off_this_machine_are_refused() -> None:
    with socket.socket() as s, pytest.raises(ConnectionRefusedError, match="may not use the network"):
        s.connect(("192.0.2.1", 80))           # TEST-NET-1: never routed anywhere


def test_loopback_is_still_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())
