"""Start, stop and inspect the local cluster (`svclab cluster up|down|status --local`).

`up` refuses while anything of a cluster runs; `down` works from any state (after a crash,
a half-finished `up`, or nothing at all): it kills every process in the cluster's cgroups,
removes the cgroups and the runtime folder. The namespaces and every mount in them vanish
with their last process; the host's own network, mounts and sysctls were never touched.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import socket
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from grader.kind import COURSE_NODEPORTS
from grader.localcluster import (
    addons,
    binaries,
    cgroups,
    containerd,
    controlplane,
    edge,
    images,
    kubelet,
    kubeproxy,
    namespaces,
    pki,
    policy,
    preflight,
)
from grader.localcluster.api import Api
from grader.localcluster.layout import (
    APISERVER_PORT,
    CGROUP_NAME,
    CONTEXT,
    CONTROL_PLANE,
    GATEWAY_IP,
    NODES,
    Node,
    kubeconfig_path,
    state_dir,
)
from grader.localcluster.processes import Daemon, StartError, enter, spawn, wait_until

Say = Callable[[str], None]


class AlreadyRunning(RuntimeError):
    """`up` while a local cluster (or what is left of one) runs."""


@dataclass
class Paths:
    """Where one local cluster keeps its files, all under `root`."""

    root: Path

    @property
    def run(self) -> Path:  # everything of one cluster's life; removed by down
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.run / "logs"

    @property
    def pki(self) -> Path:
        return self.run / "pki"

    @property
    def images(self) -> Path:  # kept across clusters (written again only when changed)
        return self.root / "images"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    def kubeconfig(self, client: str) -> Path:
        return self.run / "kubeconfigs" / f"{client}.conf"


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(
                f"another `svclab cluster up/down --local` is running (lock {root / '.lock'})"
            ) from None
        yield


def read_state(root: Path | None = None) -> dict:
    try:
        return json.loads(Paths(root or state_dir()).state.read_text())
    except (OSError, ValueError):
        return {}


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise StartError(
            f"127.0.0.1:{port} is taken ({exc.strerror}): the local cluster publishes NodePorts "
            f"{COURSE_NODEPORTS[0]}-{COURSE_NODEPORTS[-1]} there as kind does; stop what holds it "
            f"(a kind cluster 'svclab'?)"
        ) from None
    sock.listen(128)
    return sock


class _Starter:
    def __init__(self, say: Say) -> None:
        self.say = say
        self.t0 = time.monotonic()
        self.paths = Paths(state_dir())
        self.daemons: dict[str, Daemon] = {}
        self.timings: dict[str, float] = {}

    def step(self, text: str) -> None:
        self.say(f"local cluster [{time.monotonic() - self.t0:5.1f}s] {text}")

    def keep(self, daemon: Daemon) -> Daemon:
        self.daemons[daemon.name] = daemon
        return daemon

    def run(self) -> dict:
        """Every start step in order; what started is in self.daemons, for `down`."""
        bins, archives, resolv = self._prepare()
        holders, api_port = self._network(resolv)
        api = Api(f"https://127.0.0.1:{api_port}", self.paths.pki)
        self._control_plane(bins, holders, api)
        self._nodes(bins, holders, archives, resolv, api)
        self._wait_for_addons(api)
        self.step("LoadBalancer, Ingress and Gateway API: MetalLB's controller, Traefik, the publisher")
        edge.start(bins, api, self.daemons["network"], holders[CONTROL_PLANE].pid,
                   self.paths.kubeconfig("admin"), self.paths.pki, self.paths.logs, self.keep,
                   {**os.environ, "PYTHONPATH": str(binaries.import_root())}, sys.executable)
        return {
            "api_port": api_port,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "start_seconds": round(time.monotonic() - self.t0, 1),
            "pids": {name: d.pid for name, d in self.daemons.items()},
        }

    def _prepare(self) -> tuple[Any, Any, Path]:
        """Binaries and images built (cached), certificates, kubeconfigs, the nodes' resolver."""
        p = self.paths
        namespaces.refuse_unsafe_state_dir(p.root)
        self.step("building what is missing (cached after the first time)")
        bins = binaries.ensure(say=lambda line: self.step(line))
        self.step("writing the images (agnhost, pause, CoreDNS)")
        archives = images.write_archives(images.course_images(bins), p.images)
        shutil.rmtree(p.run, ignore_errors=True)
        p.logs.mkdir(parents=True)
        self.step("certificates")
        pki.make_pki(p.pki)
        server = f"https://{CONTROL_PLANE.ip}:{APISERVER_PORT}"
        (p.run / "kubeconfigs").mkdir()
        for client in pki.client_subjects():
            pki.write_kubeconfig(p.kubeconfig(client), server, p.pki, client, CONTEXT)
        resolv = p.run / "resolv.conf"  # the nodes' resolver: outside_dns, every name NXDOMAIN
        resolv.write_text(f"nameserver {GATEWAY_IP}\noptions timeout:1 attempts:1\n")
        return bins, archives, resolv

    def _network(self, resolv: Path) -> tuple[dict[Node, Daemon], int]:
        """The cluster network and the nodes' namespaces, the loopback forwarder (API server
        and NodePorts on 127.0.0.1) and the outside-world DNS; returns the node holders and
        the API server's port on 127.0.0.1."""
        p = self.paths
        self.step("namespaces: the cluster network 172.18.0.0/16 and two nodes")
        cgroups.ensure(f"{CGROUP_NAME}/{cgroups.TRACKING}")
        net = self.keep(namespaces.start_holder("network", p.logs, mount=False))
        holders = {
            node: self.keep(namespaces.start_holder(f"node-{node.name}", p.logs, mount=True))
            for node in NODES
        }
        namespaces.wire_network(net, holders)
        for node, holder in holders.items():
            namespaces.private_mounts(node, holder, p.run, resolv)

        api_sock = _listen(0)
        api_port = api_sock.getsockname()[1]
        socks = [api_sock] + [_listen(port) for port in COURSE_NODEPORTS]
        targets = [
            f"{s.fileno()}={CONTROL_PLANE.ip}:{APISERVER_PORT}"
            if s is api_sock
            else f"{s.fileno()}={CONTROL_PLANE.ip}:{s.getsockname()[1]}"
            for s in socks
        ]
        self.keep(
            spawn(
                "forwarder",
                enter(net.pid, [sys.executable, "-m", "grader.localcluster.forward", *targets], mount=False),
                p.logs,
                pass_fds=[s.fileno() for s in socks],
                env={**os.environ, "PYTHONPATH": str(binaries.import_root())},
            )
        )
        for s in socks:
            s.close()
        self.keep(
            spawn(
                "outside-dns",
                enter(
                    net.pid,
                    [sys.executable, "-m", "grader.localcluster.outside_dns", GATEWAY_IP, "53"],
                    mount=False,
                ),
                p.logs,
                env={**os.environ, "PYTHONPATH": str(binaries.import_root())},
            )
        )
        pki.write_kubeconfig(kubeconfig_path(), f"https://127.0.0.1:{api_port}", p.pki, "admin", CONTEXT)
        return holders, api_port

    def _control_plane(self, bins: Any, holders: dict[Node, Daemon], api: Api) -> None:
        """etcd, the API server, the controllers, and the objects kubeadm would create."""
        p = self.paths
        cp = holders[CONTROL_PLANE].pid
        self.step("control plane: etcd, kube-apiserver, controller-manager, scheduler")
        etcd = self.keep(controlplane.start_etcd(bins, cp, p.run, p.logs))
        apiserver = self.keep(controlplane.start_apiserver(bins, cp, p.run, p.pki, p.logs))
        wait_until(
            apiserver, "ready /readyz", lambda: api.request("GET", "/readyz", timeout=5)[0] == 200, 180
        )
        if not etcd.alive():
            raise StartError("etcd exited")
        for d in controlplane.start_controllers(bins, cp, p.kubeconfig("admin"), p.pki, p.logs):
            self.keep(d)
        for path, obj in addons.nodes() + addons.image_policy() + policy.rbac() + addons.coredns():
            api.create(path, obj)

    def _nodes(self, bins: Any, holders: dict[Node, Daemon], archives: Any, resolv: Path,
               api: Api) -> None:
        """containerd, the images and kubelet on each node; once Ready, kube-proxy and the
        NetworkPolicy agent."""
        p = self.paths
        self.step("nodes: containerd, images, kubelet, kube-proxy, NetworkPolicy agent")
        token = self._policy_token(api)
        for node, holder in holders.items():
            folder = namespaces.node_dir(p.run, node)
            ctrd = self.keep(containerd.start(node, holder.pid, folder, p.logs))
            wait_until(ctrd, "answer on its socket", functools.partial(containerd.ready, holder.pid), 60)
            containerd.import_images(holder.pid, archives, node.name)
            self.keep(
                kubelet.start(
                    node,
                    holder.pid,
                    bins,
                    folder,
                    p.pki,
                    p.kubeconfig(f"kubelet-{node.name}"),
                    resolv,
                    p.logs,
                )
            )
        for node in NODES:
            kl = self.daemons[f"kubelet-{node.name}"]
            wait_until(kl, f"node {node.name} Ready", functools.partial(_node_ready, api, node.name), 120)
        self.step("nodes Ready; kube-proxy and the NetworkPolicy agent on each")
        for node, holder in holders.items():  # after Ready: kube-proxy reads the node's address
            self.keep(kubeproxy.start(node, holder.pid, bins, p.kubeconfig("kube-proxy"), p.logs))
            policy.install_steering(node, holder.pid)
            policy.write_secrets(node, holder.pid, token, p.pki / "ca.crt")
            self.keep(policy.start(node, holder.pid, bins, p.logs))

    def _wait_for_addons(self, api: Api) -> None:
        self.step("waiting for CoreDNS (kube-dns) and the default ServiceAccount")
        kcm = self.daemons["kube-controller-manager"]
        try:
            wait_until(kcm, "CoreDNS ready", lambda: _deployment_ready(api, "kube-system", "coredns"), 180)
        except StartError as exc:
            raise StartError(
                f"CoreDNS did not become ready: {_pod_states(api, 'kube-system', 'k8s-app=kube-dns')}\n"
                f"({exc})"
            ) from None
        wait_until(
            kcm,
            "default ServiceAccount",
            lambda: api.get("/api/v1/namespaces/default/serviceaccounts/default") is not None,
            60,
        )

    def _policy_token(self, api: Api) -> str:
        code, body = api.request(
            "POST",
            f"/api/v1/namespaces/kube-system/serviceaccounts/{policy.SERVICE_ACCOUNT}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": 365 * 24 * 3600},
            },
        )
        if code not in (200, 201):
            raise StartError(f"no token for the policy agent: {code} {body.get('message')}")
        return body["status"]["token"]


def _node_ready(api: Api, name: str) -> bool:
    node = api.get(f"/api/v1/nodes/{name}") or {}
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )


def _deployment_ready(api: Api, namespace: str, name: str) -> bool:
    dep = api.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}") or {}
    want = (dep.get("spec") or {}).get("replicas", 1)
    return (dep.get("status") or {}).get("readyReplicas", 0) >= want


def _pod_states(api: Api, namespace: str, selector: str) -> str:
    """One phrase per pod: its phase and why a container is not running or not ready."""
    pods = (api.get(f"/api/v1/namespaces/{namespace}/pods?labelSelector={selector}") or {}).get("items") or []
    if not pods:
        return "no pods were created"
    out = []
    for pod in pods:
        status = pod.get("status") or {}
        whys = []
        for cs in status.get("containerStatuses") or []:
            for state in (cs.get("state") or {}).values():
                if state.get("reason"):
                    whys.append(f"{state['reason']}: {state.get('message', '')}".strip(": "))
        whys += [
            c.get("message", "")
            for c in status.get("conditions") or []
            if c.get("status") == "False" and c.get("message")
        ]
        out.append(
            f"{pod['metadata']['name']} {status.get('phase')}" + (f" ({'; '.join(whys)})" if whys else "")
        )
    return ", ".join(out)


def running() -> int:
    """How many processes of a local cluster run (0: none)."""
    return len(cgroups.pids())


def up(say: Say = print) -> dict:
    """Start the local cluster; return its state (API port, pids, start seconds). On any
    failure everything started is torn down again and the error names the part."""
    preflight.require(say)
    root = state_dir()
    with _locked(root):
        count = running()
        if count:
            raise AlreadyRunning(
                f"a local cluster is already running ({count} processes in cgroup /{CGROUP_NAME}); "
                f"use it (KUBECONFIG={kubeconfig_path()} SVCLAB_CONTEXT={CONTEXT}) or stop it "
                f"with `svclab cluster down --local`"
            )
        starter = _Starter(say)
        try:
            state = starter.run()
        except BaseException:
            say(
                "local cluster: start failed; tearing down what was started "
                f"(logs kept in {Paths(root).logs})"
            )
            _teardown(Paths(root), say, keep_logs=True)
            raise
        Paths(root).state.write_text(json.dumps(state, indent=1))
        starter.step(
            f"ready: two nodes, kube-dns, NetworkPolicy enforced, LoadBalancer/Ingress/Gateway "
            f"addresses 172.18.x.y published on 127.18.x.y. Use it with\n"
            f"  export KUBECONFIG={kubeconfig_path()} SVCLAB_CONTEXT={CONTEXT}"
        )
        return state


def _teardown(paths: Paths, say: Say, keep_logs: bool = False) -> None:
    killed = cgroups.kill_all()
    left = cgroups.remove_all()
    if paths.run.exists():
        mounted = [
            line.split()[4]
            for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if line.split()[4].startswith(str(paths.run))
        ]
        if mounted:
            left.append(f"still mounted on the host, not removed: {', '.join(mounted)}")
        elif keep_logs:
            for child in paths.run.iterdir():
                if child != paths.logs:
                    shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
        else:
            shutil.rmtree(paths.run, ignore_errors=True)
    paths.state.unlink(missing_ok=True)
    kubeconfig_path().unlink(missing_ok=True)
    say(
        f"local cluster: stopped {killed} processes, removed its cgroups and namespaces"
        + (f"; left: {'; '.join(left)}" if left else "")
    )
    if left:
        raise RuntimeError(f"local cluster teardown left: {'; '.join(left)}")


def down(say: Say = print) -> None:
    """Stop everything of the local cluster and remove what it made; a no-op if none runs."""
    root = state_dir()
    with _locked(root):
        _teardown(Paths(root), say)


def policy_agent(enabled: bool, say: Say = print) -> None:
    """Stop (or start again) the NetworkPolicy agent on every node: with it stopped, packets
    bypass the queue and every policy is ignored (the enforcement canary's negative case)."""
    state = read_state()
    if not state:
        raise RuntimeError("no local cluster is running (svclab cluster up --local)")
    paths = Paths(state_dir())
    pids = state["pids"]
    bins = binaries.installed()
    if isinstance(bins, str):
        raise RuntimeError(bins)
    for node in NODES:
        name = f"kube-network-policies-{node.name}"
        pid = pids.get(name)
        alive = pid is not None and Daemon(name, pid, paths.logs / f"{name}.log").alive()
        if not enabled and alive:
            os.kill(pid, 15)
            for _ in range(100):
                if not Daemon(name, pid, paths.logs).alive():
                    break
                time.sleep(0.1)
        elif enabled and not alive:
            pids[name] = policy.start(node, pids[f"node-{node.name}"], bins, paths.logs).pid
    paths.state.write_text(json.dumps(state, indent=1))
    say(f"local cluster: NetworkPolicy agent {'running' if enabled else 'stopped'} on {len(NODES)} nodes")


def status(say: Say = print) -> int:
    """Print whether a local cluster runs and how to use it; 0 when it runs, 3 when not."""
    count = running()
    state = read_state()
    if not count:
        say("local cluster: not running (svclab cluster up --local)")
        return 3
    dead = [
        name
        for name, pid in (state.get("pids") or {}).items()
        if not Daemon(name, pid, Path("/dev/null")).alive()
    ]
    say(
        f"local cluster: {count} processes, started {state.get('started', '?')} in "
        f"{state.get('start_seconds', '?')}s; API on 127.0.0.1:{state.get('api_port', '?')}"
    )
    say(f"  export KUBECONFIG={kubeconfig_path()} SVCLAB_CONTEXT={CONTEXT}")
    if dead:
        say(f"  not running: {', '.join(sorted(dead))}")
    return 0
