"""`kubectl port-forward svc/NAME LOCAL:REMOTE` offline: a real TCP listener on loopback
that answers HTTP as the Service's pod would (agnhost netexec: /hostname, /clientip,
/echo?msg=, /healthz), so `curl localhost:LOCAL/hostname` works from the learner's machine.

As kubectl does, the forward goes to ONE pod, chosen when it starts (a Service's first
Ready pod), on the container port the Service port's targetPort names; if that pod goes
away, connections fail ("lost connection to pod"). Unlike kubectl, which blocks the
terminal, the command returns at once and the listener keeps running in the background,
bounded: it stops by itself after SVCLAB_PORT_FORWARD_SECONDS (default 600), on
`grader.kubectl.portforward.stop_all()`, or when the same local port is forwarded again.
It listens only on 127.0.0.1 (and ::1 when the machine has it), never elsewhere.

The command line is read by grader.kubectl.forward_args, which lab 6 grades a recorded
`kubectl port-forward` with too: a forward started here is the forward the grader reads.
"""
from __future__ import annotations

import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from grader.kubectl.forward_args import read
from grader.kubectl.resources import NotModelled
from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session
from grader.model.server import http_answer
from grader.model.services import resolve_target_port

LOOPBACK = ("127.0.0.1", "localhost")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _V6Server(_Server):
    address_family = socket.AF_INET6


class Forward:
    """One running forward: local port -> (pod, container port)."""

    def __init__(
        self, state: Any, pod_key: str, pod_ip: str, local: int, remote: int, seconds: float
    ) -> None:
        self.state, self.pod_key, self.pod_ip = state, pod_key, pod_ip
        self.local, self.remote = local, remote
        self.requests = 0
        self.servers: list[ThreadingHTTPServer] = []
        self._timer = threading.Timer(seconds, self.stop)
        self._timer.daemon = True

    def pod(self) -> Any:
        p = self.state.pod(self.pod_key)
        return p if p is not None and p.ip == self.pod_ip else None

    def start(self, v6: bool = True) -> list[str]:
        """Bind and serve; returns the addresses bound ("127.0.0.1", "[::1]")."""
        handler = _handler_for(self)
        bound = []
        server = _Server(("127.0.0.1", self.local), handler)
        self.local = server.server_address[1]
        self.servers.append(server)
        bound.append("127.0.0.1")
        if v6 and socket.has_ipv6:
            try:
                self.servers.append(_V6Server(("::1", self.local), handler))
                bound.append("[::1]")
            except OSError:
                pass
        for s in self.servers:
            threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True,
                             name=f"kubectl-port-forward-{self.local}").start()
        self._timer.start()
        return bound

    def stop(self) -> None:
        self._timer.cancel()
        for s in self.servers:
            s.shutdown()
            s.server_close()
        self.servers = []
        if self in _ACTIVE:
            _ACTIVE.remove(self)


_ACTIVE: list[Forward] = []


def active() -> list[Forward]:
    return list(_ACTIVE)


def stop_all() -> int:
    """Stop every port-forward this kernel started, offline listeners and live kubectl
    processes alike; returns how many were running."""
    from grader.kubectl.live import stop_forwards
    n = len(_ACTIVE)
    for f in list(_ACTIVE):
        f.stop()
    return n + stop_forwards()


def _handler_for(fwd: Forward) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            pod = fwd.pod()
            if pod is None or not pod.listens(fwd.remote, "TCP"):
                # kubectl: "lost connection to pod" / "connection refused" inside the pod:
                # the client sees the connection closed without an answer
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            fwd.requests += 1
            server = pod.servers.get((fwd.remote, "TCP"), "netexec")
            body = http_answer(pod, self.path, "127.0.0.1", self.client_address[1], server).encode()
            self.send_response_only(200)
            self.send_header("Date", self.date_time_string())
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:   # never write to stderr
            return

    return Handler


def run(s: Session) -> None:
    req = read(s.inv)
    if any(a.strip() not in LOOPBACK for a in req.addresses):
        raise NotModelled(f"port-forward --address {','.join(req.addresses)}",
                          "offline forwards listen on loopback only")
    seconds = float(os.environ.get("SVCLAB_PORT_FORWARD_SECONDS", "600"))
    for spec in req.ports:
        pod, remote, container_port = _resolve(s, req.kind.kind, req.name, spec.remote)
        local = remote if spec.local is None else spec.local
        for f in list(_ACTIVE):
            if f.local == local and local:
                f.stop()
        fwd = Forward(s.state, pod.key, pod.ip, local, container_port, seconds)
        try:
            bound = fwd.start()
        except OSError as exc:
            raise KubectlError(
                f"Unable to listen on port {local}: Listeners failed to create with the following "
                f"errors: [unable to create listener: Error listen tcp4 127.0.0.1:{local}: {exc.strerror}]\n"
                f"error: unable to listen on any of the requested ports: [{{{local} {container_port}}}]"
            ) from None
        _ACTIVE.append(fwd)
        for addr in bound:
            s.print(f"Forwarding from {addr}:{fwd.local} -> {container_port}")


def _resolve(s: Session, kind: str, name: str, remote: int | str) -> tuple[Any, int, int]:
    """(pod, the number REMOTE names, container port) as kubectl resolves svc/deploy/pod NAME
    and a remote port (a number or a port's name). The middle one is what kubectl listens on
    when no LOCAL was given: the Service port's number after svc/NAME, the container port's
    after a pod."""
    pods = [p for p in s.state.pods_in(s.namespace) if not p.pending]
    if kind == "Pod":
        pod = next((p for p in s.state.pods_in(s.namespace) if p.name == name), None)
        if pod is None:
            raise KubectlError(f'Error from server (NotFound): pods "{name}" not found')
        if pod.pending:
            raise KubectlError(
                "error: unable to forward port because pod is not running. Current status=Pending"
            )
        port = _container_port(pod, remote)
        return pod, port, port
    if kind == "Service":
        svc = s.state.service(s.namespace, name)
        if svc is None:
            raise KubectlError(f'Error from server (NotFound): services "{name}" not found')
        if isinstance(remote, str):
            named = next((p for p in svc.ports if p.name == remote), None)
            if named is None:
                raise KubectlError(f"error: Service '{name}' does not have a named port '{remote}'")
            remote = named.port
        sp = next((p for p in svc.ports if p.port == remote and p.protocol == "TCP"), None)
        if sp is None:
            raise KubectlError(f"error: Service {name} does not have a service port {remote}")
        chosen = sorted(
            (p for p in pods if svc.selector and all(p.labels.get(k) == v for k, v in svc.selector.items())),
            key=lambda p: (not p.ready, p.name),
        )
        if not chosen:
            raise KubectlError("error: timed out waiting for the condition")
        pod = chosen[0]
        target = resolve_target_port(sp, pod)
        if target is None:
            raise KubectlError(f"error: Pod '{pod.name}' does not have a named port '{sp.target_port}'")
        return pod, sp.port, target
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        if s.state.get(kind, name, s.namespace) is None:
            raise KubectlError(f'Error from server (NotFound): {kind.lower()}s.apps "{name}" not found')
        owned = sorted((p for p in pods if p.owner == f"{kind}/{name}"), key=lambda p: (not p.ready, p.name))
        if not owned:
            raise KubectlError("error: timed out waiting for the condition")
        port = _container_port(owned[0], remote)
        return owned[0], port, port
    raise NotModelled(f"port-forward {kind.lower()}/{name}")


def _container_port(pod: Any, remote: int | str) -> int:
    """A pod's port: the number as written, or the container port of that name."""
    if isinstance(remote, int):
        return remote
    cp = pod.named_port(remote)
    if cp is None:
        raise KubectlError(f"error: Pod '{pod.name}' does not have a named port '{remote}'")
    return int(cp.port)
