"""Start and stop the upstream control plane (built by controlplane/build.py) on loopback.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and CoreDNS run as
child processes of the test session, each on free 127.0.0.1 ports, configured as kind's
v1.37 cluster is where it matters to the course: service CIDR 10.96.0.0/16, pod CIDR
10.244.0.0/16 (the node gets 10.244.0.0/24 from the node IPAM controller, kwok hands pod IPs
out of it), kind's admission (the API server's defaults, Pod Security included, plus
NodeRestriction), one node named svclab-control-plane, kube-dns at 10.96.0.10, and kind's
Corefile with only the listen addresses (and the upstream resolver) changed.

Certificates and the service-account key are made here with openssl, at test time, in a
temporary folder. Every wait is bounded; a component that exits early fails the start with
the tail of its log. Children get SIGKILL if the test process dies (PR_SET_PDEATHSIG), so
nothing outlives a crashed session.
"""
from __future__ import annotations

import ctypes
import json
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from grader.localcluster import pki

if TYPE_CHECKING:
    from grader.cluster.live import LiveCluster

SERVICE_CIDR = "10.96.0.0/16"       # kind's default service subnet
POD_CIDR = "10.244.0.0/16"          # kind's default pod subnet
NODE_NAME = "svclab-control-plane"  # kind's node name for the cluster "svclab"
NODE_IP = "172.18.0.2"              # the node's address on kind's docker network
KUBE_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
CONTEXT = "svclab-controlplane"
START_TIMEOUT = 180.0               # per component, on two shared cores


class StartError(RuntimeError):
    """A component did not come up; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def namespace_name(prefix: str, request) -> str:  # type: ignore[no-untyped-def]
    """A valid namespace name for this test: prefix + the test's name, DNS-label safe, short
    enough (50) that a test can add a suffix for a second namespace."""
    test = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower().removeprefix("test_"))
    return f"{prefix}-{test}"[:50].strip("-")


def _die_with_parent() -> None:  # pragma: no cover (runs in the child)
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# ----------------------------------------------------------------------------- certificates

def make_pki(folder: Path) -> None:
    """A throwaway CA, the API server's serving certificate, an admin client certificate
    (system:masters, as kind's admin.conf) and the service-account signing key (the local
    cluster's certificate pieces, grader.localcluster.pki)."""
    pki.make_ca(folder, "svclab-test-ca", days="2")
    pki.sign(folder, "apiserver", "/CN=kube-apiserver", "serverAuth",
             pki.apiserver_sans(f"IP:{NODE_IP}"), days="2")
    pki.sign(folder, "admin", "/O=system:masters/CN=kubernetes-admin", "clientAuth", days="2")
    pki.service_account_key(folder)


def write_kubeconfig(path: Path, server: str, pki_folder: Path) -> None:
    pki.write_kubeconfig(path, server, pki_folder, "admin", CONTEXT, user="admin")


# ----------------------------------------------------------------------------- processes

@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])


@dataclass
class ControlPlane:
    """The running processes, their ports, the kubeconfig that reaches them."""

    bins: dict[str, Path]
    workdir: Path
    processes: list[Process] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    kubeconfig: Path | None = None
    context: str = CONTEXT

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def dns(self) -> tuple[str, int]:
        """Where CoreDNS answers (UDP and TCP)."""
        return "127.0.0.1", self.ports["dns"]

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    def live_cluster(self) -> "LiveCluster":
        """The live backend on this control plane, as every differential test builds it
        (no progress bars in the test output). A fresh one per call: a LiveCluster remembers
        the namespaces it made, and tests must not see each other's."""
        from grader.cluster.live import LiveCluster

        assert self.kubeconfig is not None, "start() the control plane first"
        return LiveCluster(context=self.context, kubeconfig=str(self.kubeconfig), progress=False)

    # ---- lifecycle
    def start(self) -> "ControlPlane":
        self.logs.mkdir(parents=True, exist_ok=True)
        pki = self.workdir / "pki"
        make_pki(pki)
        for name in ("etcd", "etcd-peer", "apiserver", "controller-manager", "scheduler",
                     "kwok", "dns", "dns-health", "dns-ready", "dns-metrics", "dns-upstream"):
            self.ports[name] = free_port()
        self.kubeconfig = self.workdir / "kubeconfig"
        write_kubeconfig(self.kubeconfig, self.server, pki)
        try:
            self._start_etcd()
            self._start_apiserver(pki)
            self._start_controllers(pki)
            self._register_node()
            self._start_kwok()
            self._wait_node_ready()
            self._cluster_addons()
            self._start_coredns()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Each component in reverse start order (etcd last, so the others do not log its
        absence): SIGTERM, then SIGKILL after 10 s."""
        for proc in reversed(self.processes):
            if proc.popen.poll() is None:
                proc.popen.terminate()
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=10)
        self.processes.clear()

    def dead(self) -> list[str]:
        """Components that exited while they should be running, with their exit codes."""
        return [f"{p.name} (exit {p.popen.returncode})" for p in self.processes
                if p.popen.poll() is not None]

    # ---- helpers
    def _spawn(self, name: str, args: list[str]) -> Process:
        log = self.logs / f"{name}.log"
        out = open(log, "ab")
        popen = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 cwd=self.workdir, preexec_fn=_die_with_parent)
        out.close()
        proc = Process(name, popen, log)
        self.processes.append(proc)
        return proc

    def _wait(self, proc: Process, what: str, ready: Callable[[], bool],
              timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        last_error = ""
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise StartError(f"{proc.name} exited with {proc.popen.returncode} before {what}:\n{proc.tail()}")
            try:
                if ready():
                    return
            except (OSError, ValueError, urllib.error.URLError) as exc:
                last_error = str(exc)
            time.sleep(0.25)
        raise StartError(f"{proc.name}: no {what} within {timeout:g}s ({last_error}):\n{proc.tail()}")

    def _tls(self, verify: bool = True) -> ssl.SSLContext:
        pki = self.workdir / "pki"
        if verify:
            ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        else:  # a component's self-signed health endpoint on loopback
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def _get(self, url: str, *, verify: bool = True, timeout: float = 5.0) -> tuple[int, bytes]:
        ctx = self._tls(verify) if url.startswith("https") else None
        try:
            with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:  # noqa: S310
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 30.0,
                content_type: str = "application/json") -> tuple[int, dict]:
        """One API request with the admin identity: (HTTP status, decoded JSON body)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": content_type,
                                              "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._tls()) as resp:  # noqa: S310
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, {"message": raw.decode(errors="replace")}

    def _healthy(self, url: str, *, verify: bool = True) -> bool:
        return self._get(url, verify=verify)[0] == 200

    # ---- components
    def _start_etcd(self) -> None:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['etcd-peer']}"
        proc = self._spawn("etcd", [
            str(self.bins["etcd"]), "--name=svclab", f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=svclab={peer}", "--log-level=warn",
            "--unsafe-no-fsync",                 # a throwaway store: no fsync on a shared disk
        ])
        self._wait(proc, "healthy /health", lambda: self._healthy(f"{client}/health"))

    def _start_apiserver(self, pki: Path) -> None:
        proc = self._spawn("kube-apiserver", [
            str(self.bins["kube-apiserver"]),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1", f"--secure-port={self.ports['apiserver']}",
            f"--advertise-address={NODE_IP}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--tls-cert-file={pki / 'apiserver.crt'}", f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
            # kubeadm's (so kind's) flags: the default admission plugins plus NodeRestriction
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true", f"--cert-dir={self.workdir / 'apiserver'}",
            "--profiling=false",
        ])
        self._wait(proc, "ready /readyz", lambda: self._healthy(f"{self.server}/readyz"))

    def _start_controllers(self, pki: Path) -> None:
        kubeconfig = str(self.kubeconfig)
        kcm = self._spawn("kube-controller-manager", [
            str(self.bins["kube-controller-manager"]), f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={self.ports['controller-manager']}",
            "--leader-elect=false", "--use-service-account-credentials=true",
            "--controllers=*,bootstrapsigner,tokencleaner",
            "--allocate-node-cidrs=true", f"--cluster-cidr={POD_CIDR}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--root-ca-file={pki / 'ca.crt'}", f"--service-account-private-key-file={pki / 'sa.key'}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}", f"--cluster-signing-key-file={pki / 'ca.key'}",
        ])
        scheduler = self._spawn("kube-scheduler", [
            str(self.bins["kube-scheduler"]), f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={self.ports['scheduler']}",
            "--leader-elect=false",
        ])
        self._wait(kcm, "healthy /healthz", lambda: self._healthy(
            f"https://127.0.0.1:{self.ports['controller-manager']}/healthz", verify=False))
        self._wait(scheduler, "healthy /healthz", lambda: self._healthy(
            f"https://127.0.0.1:{self.ports['scheduler']}/healthz", verify=False))

    def _register_node(self) -> None:
        """The node kwok plays: kind's single node, schedulable (kind removes the
        control-plane taint when the cluster has one node), room for kubelet's 110 pods."""
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": NODE_NAME,
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {"kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "node-role.kubernetes.io/control-plane": ""}},
            "status": {"capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"},
                       "allocatable": {"cpu": "8", "memory": "16Gi", "pods": "110"},
                       "addresses": [{"type": "InternalIP", "address": NODE_IP},
                                     {"type": "Hostname", "address": NODE_NAME}]}}
        code, body = self.request("POST", "/api/v1/nodes", node)
        if code not in (200, 201):
            raise StartError(f"could not register node {NODE_NAME}: {code} {body.get('message')}")

    def _start_kwok(self) -> None:
        stages = self.workdir / "kwok-stages.yaml"
        parts = [self.bins[name].read_text() for name in (
            "node-initialize.yaml", "node-heartbeat-with-lease.yaml", "pod-ready.yaml",
            "pod-complete.yaml", "pod-delete.yaml")]
        stages.write_text("\n---\n".join(parts))
        proc = self._spawn("kwok", [
            str(self.bins["kwok"]), f"--kubeconfig={self.kubeconfig}", f"--config={stages}",
            "--manage-all-nodes=true", f"--cidr={POD_CIDR}", f"--node-ip={NODE_IP}",
            f"--server-address=127.0.0.1:{self.ports['kwok']}",
        ])
        self._wait(proc, "healthy /healthz", lambda: self._healthy(f"http://127.0.0.1:{self.ports['kwok']}/healthz"))
        self._kwok = proc

    def _wait_node_ready(self) -> None:
        def ready() -> bool:
            code, node = self.request("GET", f"/api/v1/nodes/{NODE_NAME}")
            conditions = {c["type"]: c["status"] for c in (node.get("status") or {}).get("conditions") or []}
            return code == 200 and conditions.get("Ready") == "True" and bool(node["spec"].get("podCIDR"))

        self._wait(self._kwok, "Ready node with a podCIDR", ready)

        def default_sa() -> bool:  # the controllers work: the ServiceAccount controller did this
            return self.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200

        kcm = next(p for p in self.processes if p.name == "kube-controller-manager")
        self._wait(kcm, "default ServiceAccount in namespace default", default_sa)

    def _cluster_addons(self) -> None:
        """kube-dns as kind has it (kubeadm's Service), so DNS names resolve the same."""
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "kube-dns", "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                       "kubernetes.io/name": "CoreDNS"}},
            "spec": {"clusterIP": KUBE_DNS_IP, "selector": {"k8s-app": "kube-dns"}, "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]}}
        code, body = self.request("POST", "/api/v1/namespaces/kube-system/services", svc)
        if code not in (200, 201):
            raise StartError(f"could not create kube-dns: {code} {body.get('message')}")

    def _start_coredns(self) -> None:
        p = self.ports
        corefile = self.workdir / "Corefile"
        # kind's (kubeadm's) Corefile; changed: the ports and bind (loopback only), the
        # kubeconfig (CoreDNS runs outside the cluster), and forward to a loopback port where
        # nothing answers instead of /etc/resolv.conf (tests never leave the machine).
        corefile.write_text(f""".:{p['dns']} {{
    bind 127.0.0.1
    errors
    health 127.0.0.1:{p['dns-health']} {{
       lameduck 5s
    }}
    ready 127.0.0.1:{p['dns-ready']}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
       kubeconfig {self.kubeconfig} {CONTEXT}
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }}
    prometheus 127.0.0.1:{p['dns-metrics']}
    forward . 127.0.0.1:{p['dns-upstream']} {{
       max_concurrent 1000
    }}
    cache 30 {{
       disable success {CLUSTER_DOMAIN}
       disable denial {CLUSTER_DOMAIN}
    }}
    loop
    reload
    loadbalance
}}
""")
        proc = self._spawn("coredns", [str(self.bins["coredns"]), "-conf", str(corefile)])
        self._wait(proc, "ready /ready", lambda: self._healthy(f"http://127.0.0.1:{p['dns-ready']}/ready"))
