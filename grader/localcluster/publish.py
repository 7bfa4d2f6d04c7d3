"""The local cluster's LoadBalancer, Ingress and Gateway addresses, reachable from the
learner's machine without touching its network.

On kind the Docker network 172.18.0.0/16 is on the learner's machine, and
cloud-provider-kind answers each LoadBalancer address with an Envoy container that forwards
to the Service's nodePort on the nodes. Here the cluster network lives in a namespace of its
own, so this process, running in the learner's network namespace, publishes every
cluster-network address a.b.c.d a controller gave out on the loopback alias 127.18.c.d, same
port (grader.kind.loopback_alias; the live backend connects there), and forwards each
connection from inside the cluster network (from 172.18.0.1, as kind's host):

- a LoadBalancer Service's address (written by MetalLB's controller): to the Service's
  nodePort on a node, as cloud-provider-kind's Envoy does; with externalTrafficPolicy Local
  only to nodes that hold a ready endpoint (Envoy learns them from the health-check port);
  with loadBalancerSourceRanges that leave out the learner's machine (172.18.0.1), nowhere:
  the connection is accepted and closed, as Envoy's listener does for a source no filter
  chain matches;
- every node address with each nodePort and healthCheckNodePort of the Services: to the
  same address and port inside, as the learner's machine reaches kind's nodes directly;
- fixed addresses (Traefik's, for every Ingress and Gateway): to the same address inside.

    python -m grader.localcluster.publish NETNS_PID API_URL PKI_DIR [ADDRESS:PORT ...]
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import ipaddress
import itertools
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.kind import LEARNER_ADDRESS, loopback_alias
from grader.localcluster.api import Api
from grader.localcluster.forward import _pipe

CLONE_NEWNET = 0x40000000
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Published:
    """One address:port on the cluster network and where its connections go inside."""

    address: str
    port: int
    targets: tuple[tuple[str, int], ...]


def lb_publications(services: list[dict], slices: list[dict], nodes: list[dict]) -> list[Published]:
    """What every LoadBalancer Service's TCP ports need: (address, port) -> node IP:nodePort.
    Pure, so the choice of nodes is tested without a cluster."""
    node_ips = {
        n["metadata"]["name"]: a["address"]
        for n in nodes
        for a in (n.get("status") or {}).get("addresses") or []
        if a.get("type") == "InternalIP"
    }
    out = []
    for svc in services:
        spec = svc.get("spec") or {}
        if spec.get("type") != "LoadBalancer":
            continue
        meta = svc["metadata"]
        if spec.get("externalTrafficPolicy") == "Local":
            ready_nodes = {
                ep.get("nodeName")
                for s in slices
                if (s["metadata"].get("labels") or {}).get("kubernetes.io/service-name") == meta["name"]
                and s["metadata"].get("namespace") == meta.get("namespace")
                for ep in s.get("endpoints") or []
                if (ep.get("conditions") or {}).get("ready") is not False
            }
            ips = sorted(ip for name, ip in node_ips.items() if name in ready_nodes)
        else:
            ips = sorted(node_ips.values())
        if not _admits(spec.get("loadBalancerSourceRanges") or [], LEARNER_ADDRESS):
            ips = []
        for ingress in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            address = ingress.get("ip")
            if not address or loopback_alias(address) is None:
                continue
            for port in spec.get("ports") or []:
                if port.get("protocol", "TCP") != "TCP" or not port.get("nodePort"):
                    continue
                out.append(Published(address, port["port"], tuple((ip, port["nodePort"]) for ip in ips)))
    return out


def _admits(ranges: list[str], source: str) -> bool:
    """No ranges admit everyone; otherwise `source` must lie in one (unparsable ones admit
    nobody, as the API server refuses them anyway)."""
    if not ranges:
        return True
    ip = ipaddress.ip_address(source)
    for r in ranges:
        try:
            if ip in ipaddress.ip_network(str(r).strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def node_port_publications(services: list[dict], nodes: list[dict]) -> list[Published]:
    """Every node address with every TCP nodePort and healthCheckNodePort in use, each to
    itself: what kind's learner reaches on the Docker network without any mapping."""
    node_ips = sorted({a["address"] for n in nodes for a in (n.get("status") or {}).get("addresses") or []
                       if a.get("type") == "InternalIP" and loopback_alias(a["address"])})
    ports: set[int] = set()
    for svc in services:
        spec = svc.get("spec") or {}
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            continue
        ports.update(p["nodePort"] for p in spec.get("ports") or []
                     if p.get("nodePort") and p.get("protocol", "TCP") == "TCP")
        if spec.get("healthCheckNodePort"):
            ports.add(spec["healthCheckNodePort"])
    return [Published(ip, port, ((ip, port),)) for ip in node_ips for port in sorted(ports)]


class _Netns:
    """Create sockets in the cluster network while this process stays in the learner's."""

    def __init__(self, pid: int) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._inside = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
        self._home = os.open("/proc/self/ns/net", os.O_RDONLY)

    def socket_inside(self) -> socket.socket:
        self._setns(self._inside)
        try:
            return socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        finally:
            self._setns(self._home)

    def _setns(self, fd: int) -> None:
        if self._libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")


class Publisher:
    def __init__(self, netns: _Netns, api: Api | None, fixed: list[Published]) -> None:
        self.netns = netns
        self.api = api
        self.fixed = fixed
        self.current: dict[tuple[str, int], Published] = {}
        self.servers: dict[tuple[str, int], asyncio.AbstractServer] = {}
        self.turn = itertools.count()

    async def _connect_inside(self, target: tuple[str, int]) -> tuple[Any, Any]:
        sock = self.netns.socket_inside()
        sock.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, target), 5)
        except BaseException:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock)

    async def _handle(self, key: tuple[str, int], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        pub = self.current.get(key)
        targets = list(pub.targets) if pub else []
        start = next(self.turn)
        upstream = None
        for i in range(len(targets)):   # round robin; a node that refuses is skipped
            try:
                upstream = await self._connect_inside(targets[(start + i) % len(targets)])
                break
            except (OSError, asyncio.TimeoutError):
                continue
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        for w in (writer, up_writer):
            w.close()

    def _wanted(self) -> dict[tuple[str, int], Published]:
        wanted = {(p.address, p.port): p for p in self.fixed}
        if self.api is not None:
            paths = ("/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/nodes")
            lists = [self.api.get(path) for path in paths]
            if any(x is None for x in lists):
                return dict(self.current)     # the API server did not answer: keep what is open
            services, slices, nodes = ((x or {}).get("items") or [] for x in lists)
            for pub in lb_publications(services, slices, nodes) + node_port_publications(services, nodes):
                wanted.setdefault((pub.address, pub.port), pub)
        return wanted

    async def reconcile(self) -> None:
        wanted = await asyncio.get_running_loop().run_in_executor(None, self._wanted)
        self.current = wanted
        for key in [k for k in self.servers if k not in wanted]:
            self.servers.pop(key).close()
        for key in wanted:
            if key in self.servers:
                continue
            alias = loopback_alias(key[0])
            try:
                self.servers[key] = await asyncio.start_server(
                    functools.partial(self._handle, key), alias, key[1], reuse_address=True)
            except OSError as exc:
                print(f"cannot publish {key[0]}:{key[1]} on {alias}: {exc}", file=sys.stderr, flush=True)

    async def run(self) -> None:
        while True:
            try:
                await self.reconcile()
            except Exception as exc:  # noqa: BLE001 (a bad poll must not end the publisher)
                print(f"poll failed: {exc}", file=sys.stderr, flush=True)
            await asyncio.sleep(POLL_SECONDS)


def parse_fixed(args: list[str]) -> list[Published]:
    out = []
    for arg in args:
        address, _, port = arg.rpartition(":")
        out.append(Published(address, int(port), ((address, int(port)),)))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    pid, server, pki, *fixed = args
    publisher = Publisher(_Netns(int(pid)), Api(server, Path(pki)), parse_fixed(fixed))
    asyncio.run(publisher.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
