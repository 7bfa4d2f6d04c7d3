"""Offline port-forward: a real loopback listener answering as the chosen pod's agnhost
netexec would, bounded and stoppable."""
from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

import grader.kubectl as kubectl
from grader.kubectl import portforward
from tests.kubectl.kubectl_fixtures import make_ns


@pytest.fixture
def env():
    ns, clock = make_ns()
    yield ns
    portforward.stop_all()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as r:
        return r.read().decode()


def test_forward_a_service_port_to_its_pod(env):
    port = _free_port()
    r = kubectl.run(env, f"port-forward svc/hello {port}:80")
    assert r.ok
    assert r.stdout.splitlines()[0] == f"Forwarding from 127.0.0.1:{port} -> 8080"    # targetPort http = 8080
    pods = {e.pod.split("/")[1] for e in env.endpoints("hello")}
    first = _get(port, "/hostname")
    assert first in pods
    assert {_get(port, "/hostname") for _ in range(5)} == {first}          # one pod, like kubectl
    assert _get(port, "/echo?msg=hi") == "hi"
    assert _get(port, "/clientip").startswith("127.0.0.1:")


def test_forward_stops_when_its_pod_goes_away_and_on_stop_all(env):
    port = _free_port()
    kubectl.run(env, f"port-forward svc/hello {port}:80")
    pod = _get(port, "/hostname")
    kubectl.run(env, f"delete pod {pod}")
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _get(port, "/hostname")
    assert portforward.stop_all() == 1
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        _get(port, "/hostname")


def test_forward_errors(env):
    r = kubectl.run(env, "port-forward svc/hello 18081:81")
    assert (r.code, r.stderr) == (1, "error: Service hello does not have a service port 81\n")
    r = kubectl.run(env, "port-forward svc/nope 18081:80")
    assert r.stderr == 'Error from server (NotFound): services "nope" not found\n'
    r = kubectl.run(env, "port-forward --address 0.0.0.0 svc/hello 18081:80")
    assert r.code == 1 and "loopback only" in r.stderr
    assert portforward.active() == []


def test_forward_is_bounded_in_time(env, monkeypatch):
    monkeypatch.setenv("SVCLAB_PORT_FORWARD_SECONDS", "0.2")
    port = _free_port()
    kubectl.run(env, f"port-forward pod/client {port}:8080")
    fwd = portforward.active()[0]
    fwd._timer.join(2)
    assert portforward.active() == []
