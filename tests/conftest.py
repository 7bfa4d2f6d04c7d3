"""Shared pytest hooks. `live` tests run only when a cluster answers (kind-svclab, or the
context named by SVCLAB_CONTEXT); otherwise they are skipped with what to do."""
from __future__ import annotations

import os
from typing import Iterator

import pytest

LIVE_SKIP_REASON = "no cluster answers: run `make cluster` or set SVCLAB_CONTEXT"


def _live_cluster_answers() -> bool:
    from grader.cluster.connect import _try_live
    from grader.kind import CONTEXT_NAME

    cluster, _ = _try_live(os.environ.get("SVCLAB_CONTEXT") or CONTEXT_NAME, 3.0, None)
    return cluster is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live = [item for item in items if item.get_closest_marker("live")]
    if live and not _live_cluster_answers():
        skip = pytest.mark.skip(reason=LIVE_SKIP_REASON)
        for item in live:
            item.add_marker(skip)


_real_connect = __import__("socket").socket.connect


def _loopback_only_connect(sock, address):  # type: ignore[no-untyped-def]
    """Refuse any connection that leaves this machine: the suite must pass offline, and a
    test that quietly reached the internet would break on the first classroom machine."""
    import ipaddress

    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            remote = not ipaddress.ip_address(host).is_loopback
        except ValueError:
            remote = host not in ("localhost",)
        if remote:
            raise ConnectionRefusedError(f"tests may not use the network (tried {address!r})")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True)
def _no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("live"):
        return                      # a real cluster may live anywhere the kubeconfig says
    import socket

    monkeypatch.setattr(socket.socket, "connect", _loopback_only_connect)


@pytest.fixture(autouse=True)
def _schema_validators_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every object any test validates is checked by both schema validators, so the fast
    one (compiled, or jsonschema-rs) can never accept what the detailed one would refuse."""
    from grader import schema

    monkeypatch.setattr(schema, "CROSS_CHECK", True)


@pytest.fixture(autouse=True, scope="session")
def _startup_caches_of_their_own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests that call the console script's main() in this process install its start-up
    cache (grader.dataclass_cache) here, where every class the suite creates
    afterwards would be written to the user's files at exit: a session
    directory instead (subprocesses inherit it)."""
    old = os.environ.get("SVCLAB_STARTUP_CACHE")
    os.environ["SVCLAB_STARTUP_CACHE"] = str(tmp_path_factory.mktemp("startup-caches"))
    yield
    if old is None:
        os.environ.pop("SVCLAB_STARTUP_CACHE", None)
    else:
        os.environ["SVCLAB_STARTUP_CACHE"] = old
