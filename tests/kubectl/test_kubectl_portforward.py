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


def _named_service(env, port: int) -> None:
    env.apply("apiVersion: v1\nkind: Service\nmetadata: {name: named}\nspec:\n  selector: {app: hello}\n"
              f"  ports: [{{name: web, port: {port}, targetPort: http}}]\n")


def test_a_remote_port_may_be_a_ports_name_as_in_kubectl(env):
    service_port = _free_port()
    _named_service(env, service_port)
    # after svc/NAME a name is the Service port's; alone, kubectl listens on that port's number
    r = kubectl.run(env, "port-forward svc/named web")
    assert r.stdout.splitlines()[0] == f"Forwarding from 127.0.0.1:{service_port} -> 8080", r.output
    # after a pod (or what selects one) a name is the container port's
    local = _free_port()
    r = kubectl.run(env, f"port-forward deploy/hello {local}:http")
    assert r.stdout.splitlines()[0] == f"Forwarding from 127.0.0.1:{local} -> 8080", r.output
    assert _get(local, "/hostname").startswith("hello-")


@pytest.mark.parametrize(("line", "stderr"), [
    ("port-forward svc/hello 18081:web", "error: Service 'hello' does not have a named port 'web'\n"),
    ("port-forward pod/client 18081:http", "error: Pod 'client' does not have a named port 'http'\n"),
    ("port-forward svc/hello 18081:70000", "error: error parsing remote port '70000': "
                                           'strconv.ParseUint: parsing "70000": value out of range\n'),
    ("port-forward svc/hello 18081:80 --pod-running-timeout=-1s",
     "error: --pod-running-timeout must be higher than zero\nSee 'kubectl port-forward -h' for help and examples\n"),
    ("port-forward --address 127.0.0.1,my-laptop svc/hello 18081:80", "error: my-laptop is not a valid IP\n"),
])
def test_what_kubectl_refuses_starts_nothing(env, line, stderr):
    r = kubectl.run(env, line)
    assert (r.code, r.stderr) == (1, stderr)
    assert portforward.active() == []


def test_every_flag_spelling_kubectl_port_forward_takes(env):
    local = _free_port()
    r = kubectl.run(env, f"port-forward -ndemo --address localhost --address=127.0.0.1 svc/hello {local}:80 "
                         "--pod-running-timeout=1m --request-timeout 5s")
    assert r.ok, r.output
    assert _get(local, "/hostname").startswith("hello-")
