"""The NetworkPolicy data-plane differential's machinery: upstream's e2e cases (the replay in
tests/model/test_netpol_upstream.py) applied to a real cluster and probed pod to pod.

One namespace set serves every case: x, y, z (the names the cases select by) with pods a, b,
c labelled pod=<name>, each serving 80 and 81 on TCP and UDP (agnhost netexec, ports named
serve-<port>-<protocol> as upstream). A step of a case applies its policies and labels, then
every cell is probed: each source pod x each target pod (loopback included) x each
port/protocol the step probes, all cells of one source in one exec, all sources at once.

Knowing when the agent has seen a change: kube-network-policies decides each new flow from
its informers' caches, so a probe right after an apply may meet the previous state. A gate
namespace holds one pod per node and policies whose answer flips with a parity bit carried
by the three things a step changes (a policy, pod labels, namespace labels). Each informer
delivers its events in order, so once the gate on a node answers with the new parity on all
three ports, that node's agent has seen everything the step applied before it. No sleeps.

Labels are owned by a field manager of their own (LABELS_MANAGER), so a step re-applies the
full label set it wants and the API server removes the ones it no longer names.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterable

from grader.cluster import exec_parsing as xp
from grader.cluster.live_api import LiveApi
from grader.kind.images import AGNHOST_IMAGE
from grader.model.objects import ContainerPort, NamespaceInfo, Pod
from grader.observations import Status

NSS = ("x", "y", "z")
NAMES = ("a", "b", "c")
KEYS = tuple(f"{n}/{p}" for n in NSS for p in NAMES)
PORTS = (80, 81)
PROTOCOLS = ("TCP", "UDP")
GATE_NS = "svclab-netpol-gate"
LABELS_MANAGER = "svclab-netpol-labels"
MANAGED = {"app.kubernetes.io/managed-by": "svclab"}
#: Gate ports: (policy, pod label, namespace label) open at parity 0, and at parity 1.
GATE_PORTS = {0: (80, 81, 82), 1: (83, 84, 85)}
CONNECT_TIMEOUT = 1.0
#: Source pods probing at once (each runs its targets' connects at once): every pod at once (busybox nc is cheap).
PROBE_WORKERS = 9


def _case_pod(ns: str, name: str) -> dict[str, Any]:
    containers = []
    for port in PORTS:
        containers.append({
            "name": f"serve-{port}", "image": AGNHOST_IMAGE,
            "args": ["netexec", f"--http-port={port}", f"--udp-port={port}"],
            "ports": [{"containerPort": port, "protocol": proto, "name": f"serve-{port}-{proto.lower()}"}
                      for proto in PROTOCOLS],
            "readinessProbe": {"tcpSocket": {"port": port}, "periodSeconds": 1},
        })
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": containers, "terminationGracePeriodSeconds": 0}}


def _gate_pod(name: str, node: str) -> dict[str, Any]:
    env = [{"name": f"SERVE_PORT_{p}", "value": "gate"} for ports in GATE_PORTS.values() for p in ports]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": GATE_NS},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "gate", "image": AGNHOST_IMAGE, "args": ["porter"], "env": env,
                                     "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 1}}]}}


def _gate_policies(parity: int) -> list[dict[str, Any]]:
    def sel(k: str, par: int) -> dict[str, Any]:
        return {k: {"matchLabels": {"gate": str(par)}}}

    labels_rule = [{"ports": [{"port": GATE_PORTS[par][1]}], "from": [sel("podSelector", par)]} for par in (0, 1)]
    labels_rule += [{"ports": [{"port": GATE_PORTS[par][2]}], "from": [sel("namespaceSelector", par)]}
                    for par in (0, 1)]
    spec = {"podSelector": {}, "policyTypes": ["Ingress"]}
    return [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "gate-labels", "namespace": GATE_NS}, "spec": dict(spec, ingress=labels_rule)},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "gate-policy", "namespace": GATE_NS},
             "spec": dict(spec, ingress=[{"ports": [{"port": GATE_PORTS[parity][0]}]}])}]


def connect_script(jobs: Iterable[tuple[str, int, str]], timeout: float) -> str:
    """One shell script that makes every connection at once and prints, per job,
    "<ip>:<port>/<proto> <exit code> <what the tool printed>" as a single write. TCP uses
    busybox nc (a connect, then close: four times cheaper to start than agnhost, which
    counts with 18 connects per pod per step); UDP needs an answer, so agnhost connect
    (netexec answers on its UDP port)."""
    secs = max(1, round(timeout))
    parts = ['t(){ o=$(nc -w %d $1 $2 </dev/null 2>&1); echo "$1:$2/tcp $? $o"; }' % secs,
             'u(){ o=$(/agnhost connect --timeout=%ds --protocol=udp $1:$2 2>&1); echo "$1:$2/udp $? $o"; }'
             % secs]
    parts += [f"{'t' if proto == 'TCP' else 'u'} {ip} {port} &" for ip, port, proto in jobs]
    return "\n".join(parts + ["wait"])


def _nc_status(rc: int, text: str) -> tuple[Status, str]:
    if rc == 0:
        return Status.OK, "connected"
    if "refused" in text.lower():
        return Status.REFUSED, text
    if "timed out" in text.lower():
        return Status.TIMEOUT, text
    raise RuntimeError(f"nc failed unexpectedly (exit {rc}): {text or 'no output'}")


def parse_script_output(stdout: str) -> dict[tuple[str, int, str], tuple[Status, str]]:
    out = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        where, rc, *msg = line.split(" ", 2)
        hostport, proto = where.split("/")
        ip, port = hostport.rsplit(":", 1)
        text = msg[0] if msg else ""
        out[(ip, int(port), proto.upper())] = (_nc_status(int(rc), text) if proto == "tcp"
                                               else xp.parse_connect(int(rc), text))
    return out


@dataclass
class Cell:
    src: str
    dst: str
    port: int
    protocol: str
    live: bool
    live_status: Status
    model: bool
    model_reason: str
    same_node: bool


@dataclass
class Bed:
    """The namespaces and pods on the cluster, and what the differential has applied."""

    api: LiveApi
    ips: dict[str, str] = field(default_factory=dict)       # "x/a" -> pod IP
    nodes: dict[str, str] = field(default_factory=dict)     # "x/a" -> node name
    gate_pods: dict[str, str] = field(default_factory=dict)  # gate pod -> IP
    parity: int = 0
    policies: set[tuple[str, str]] = field(default_factory=set)
    pod_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    ns_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    gate_waits: list[float] = field(default_factory=list)

    # ---- set up / tear down
    def create(self, timeout: float = 180) -> None:
        nodes = sorted(n["metadata"]["name"] for n in self.api.list_nodes())
        for ns in (*NSS, GATE_NS):
            self.api.server_side_apply({"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": ns, "labels": dict(MANAGED)}})
        for key in KEYS:
            ns, name = key.split("/")
            self.api.server_side_apply(_case_pod(ns, name))
            self.set_labels(key, {})
        for n in NSS:
            self.set_ns_labels(n, {})
        for i, node in enumerate(nodes):
            self.api.server_side_apply(_gate_pod(f"gate-{i}", node))
        self._wait_running(timeout, len(nodes))
        self._flip_gate(0)

    def delete(self) -> None:
        for ns in (*NSS, GATE_NS):
            self.api.delete_namespace(ns)

    def _wait_running(self, timeout: float, gates: int) -> None:
        deadline = time.monotonic() + timeout
        while True:
            ready = {}
            for ns in (*NSS, GATE_NS):
                pods, _ = self.api.list_pods(ns)
                for p in pods:
                    st = p.get("status") or {}
                    conds = {c["type"]: c["status"] for c in st.get("conditions") or []}
                    if st.get("podIP") and conds.get("Ready") == "True":
                        ready[f"{ns}/{p['metadata']['name']}"] = (st["podIP"], p["spec"].get("nodeName", ""))
            if len(ready) == len(KEYS) + gates:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"netpol differential: pods not Ready after {timeout:g}s; Ready: {sorted(ready)}")
            self.api.wait_for_pod_event(NSS[0], None, 1.0)
        self.ips = {k: ready[k][0] for k in KEYS}
        self.nodes = {k: ready[k][1] for k in KEYS}
        self.gate_pods = {k.split("/")[1]: v[0] for k, v in ready.items() if k.startswith(GATE_NS + "/")}

    # ---- applying a step
    def set_labels(self, key: str, extra: dict[str, str]) -> None:
        ns, name = key.split("/")
        self.api.server_side_apply({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": name, "namespace": ns, "labels": {"pod": name, **extra}}}, field_manager=LABELS_MANAGER)
        self.pod_labels[key] = {"pod": name, **extra}

    def set_ns_labels(self, ns: str, extra: dict[str, str]) -> None:
        self.api.server_side_apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": ns, "labels": {"ns": ns, **extra}}}, field_manager=LABELS_MANAGER)
        self.ns_labels[ns] = {"ns": ns, **extra}

    def apply_step(self, policies: list[dict[str, Any]], pod_labels: dict[str, dict[str, str]],
                   ns_labels: dict[str, dict[str, str]]) -> None:
        """Make the cluster hold exactly this step's policies and labels, then wait (gate)
        until every node's agent has seen it."""
        wanted = {(p["metadata"]["namespace"], p["metadata"]["name"]) for p in policies}
        for ns, name in sorted(self.policies - wanted):
            self.api.delete_object({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                    "metadata": {"name": name, "namespace": ns}})
        for p in policies:
            self.api.server_side_apply(p)
        self.policies = wanted
        for key in KEYS:
            want = {"pod": key.split("/")[1], **pod_labels.get(key, {})}
            if self.pod_labels.get(key) != want:
                self.set_labels(key, pod_labels.get(key, {}))
        for ns in NSS:
            if self.ns_labels.get(ns) != {"ns": ns, **ns_labels.get(ns, {})}:
                self.set_ns_labels(ns, ns_labels.get(ns, {}))
        self._flip_gate(1 - self.parity)

    def _flip_gate(self, parity: int, timeout: float = 30) -> None:
        started = time.monotonic()
        for p in _gate_policies(parity):
            self.api.server_side_apply(p)
        for pod in self.gate_pods:
            self.api.server_side_apply({"apiVersion": "v1", "kind": "Pod", "metadata": {
                "name": pod, "namespace": GATE_NS, "labels": {"gate": str(parity)}}}, field_manager=LABELS_MANAGER)
        self.api.server_side_apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": GATE_NS, "labels": {"gate": str(parity)}}}, field_manager=LABELS_MANAGER)
        self.parity = parity
        pods = sorted(self.gate_pods)
        while True:
            # each gate pod asks the next one: that checks the receiving node's agent
            pairs = [(pods[i], self.gate_pods[pods[(i + 1) % len(pods)]]) for i in range(len(pods))]
            with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
                results = list(pool.map(lambda pair: self._run(GATE_NS, pair[0], "gate", [
                    (pair[1], port, "TCP") for port in GATE_PORTS[parity]], CONNECT_TIMEOUT), pairs))
            if all(st is Status.OK for res in results for st, _ in res.values()):
                self.gate_waits.append(time.monotonic() - started)
                return
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"the policy agents did not show gate parity {parity} after {timeout:g}s: "
                                   f"{results}")

    # ---- probing
    def _run(self, ns: str, pod: str, container: str, jobs: list[tuple[str, int, str]],
             timeout: float) -> dict[tuple[str, int, str], tuple[Status, str]]:
        cmd = ["sh", "-c", connect_script(jobs, timeout)]
        res = self.api.exec_in_pod(ns, pod, cmd, timeout + 20.0, container=container)
        if res.rc == 124:  # the exec stream stalled (a loaded machine): once more, not a verdict
            res = self.api.exec_in_pod(ns, pod, cmd, timeout + 40.0, container=container)
        found = parse_script_output(res.stdout)
        missing = [j for j in jobs if j not in found]
        if missing:
            raise RuntimeError(f"probes from {ns}/{pod} printed nothing for {missing[:3]}: "
                               f"rc {res.rc} {res.stderr[-300:]!r}")
        return found

    def probe(self, probes: list[tuple[int, str]],
              cells: Iterable[tuple[str, str, int, str]] | None = None,
              timeout: float = CONNECT_TIMEOUT) -> dict[tuple[str, str, int, str], Status]:
        """Probe every cell (src, dst, port, protocol); by default every pair x `probes`."""
        if cells is None:
            cells = [(s, d, port, proto) for s in KEYS for d in KEYS for port, proto in probes]
        by_src: dict[str, list[tuple[str, str, int, str]]] = {}
        for cell in cells:
            by_src.setdefault(cell[0], []).append(cell)

        def run(src: str) -> dict[tuple[str, str, int, str], Status]:
            ns, name = src.split("/")
            jobs = [(self.ips[d], port, proto) for _, d, port, proto in by_src[src]]
            found = self._run(ns, name, "serve-80", jobs, timeout)
            return {c: found[(self.ips[c[1]], c[2], c[3])][0] for c in by_src[src]}

        out: dict[tuple[str, str, int, str], Status] = {}
        with ThreadPoolExecutor(max_workers=PROBE_WORKERS) as pool:
            for part in pool.map(run, list(by_src)):
                out.update(part)
        return out

    # ---- the model, fed the same objects as the cluster holds them
    def model_inputs(self) -> tuple[list[Pod], dict[str, NamespaceInfo]]:
        decl = tuple(ContainerPort(port, proto, f"serve-{port}-{proto.lower()}")
                     for port in PORTS for proto in PROTOCOLS)
        listening = frozenset((c.port, c.protocol) for c in decl)
        pods = [Pod(k.split("/")[0], k.split("/")[1], self.ips[k], dict(self.pod_labels[k]), decl, listening)
                for k in KEYS]
        nss = {}
        for n in NSS:
            live = (self.api.read_namespace(n) or {}).get("metadata", {}).get("labels") or {}
            nss[n] = NamespaceInfo(n, dict(live))
        return pods, nss
