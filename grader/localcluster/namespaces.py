"""The cluster's network: a "Docker network" namespace holding the bridge 172.18.0.1/16
(kind's host side), and per node a network + mount namespace with eth0 on that bridge.

Each namespace is held open by a `sleep infinity` started with `unshare`; everything of a
node is started inside its holder's namespaces with nsenter. Nothing is created in the
host's network namespace (veth pairs are made inside the network namespace with the peer
moved straight into the node's), and the network namespace has no link to the host, so no
packet from the cluster can leave for a real network. Mounts are made in the node's
private mount namespace only:
- a tmpfs on /run (containerd's state, pod network namespaces, the policy agent's
  service-account files), and per-node folders bound over /var/lib and /var/log (kubelet
  and CNI write fixed paths there);
- /etc/resolv.conf, for the node's own lookups (registry names fail fast, inside);
- files bound over the /proc/sys entries kubelet sets (kernel.panic ...), holding the values
  it wants, so the host's kernel settings are never written.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

from grader.localcluster import processes
from grader.localcluster.layout import BRIDGE, GATEWAY_IP, NETWORK_PREFIX, NODES, Node
from grader.localcluster.processes import Daemon, StartError, enter, run, spawn

#: What kubelet's setupKernelTunables wants (pkg/kubelet/cm); bound over /proc/sys per node.
KUBELET_SYSCTLS = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}
#: Settable per network namespace: routing pods, and bridged pod traffic seen by nftables.
NODE_SYSCTLS = {
    "net/ipv4/ip_forward": "1",
    "net/bridge/bridge-nf-call-iptables": "1",
    "net/bridge/bridge-nf-call-ip6tables": "1",
}
#: Host paths a node must not share with the host (or with the other node).
PRIVATE_DIRS = ("/var/lib", "/var/log")


def _netns(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def start_holder(name: str, logs: Path, *, mount: bool) -> Daemon:
    """A `sleep infinity` in a new network (and, for a node, private mount) namespace."""
    argv = (
        ["unshare", "--net"]
        + (["--mount", "--propagation", "private"] if mount else [])
        + ["sleep", "infinity"]
    )
    holder = spawn(name, argv, logs)
    own = _netns(os.getpid())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if _netns(holder.pid) != own and Path(f"/proc/{holder.pid}/comm").read_text().strip() == "sleep":
                return holder
        except OSError:
            pass
        if not holder.alive():
            break
        time.sleep(0.02)
    raise StartError(f"{name}: `unshare` did not make its namespaces: {processes.tail(holder.log)}")


def _sh(holder: int, script: str, what: str, *, mount: bool = False) -> None:
    run(enter(holder, ["sh", "-ec", script], mount=mount), what)


def wire_network(net: Daemon, nodes: dict[Node, Daemon]) -> None:
    """The bridge with the gateway address, one veth per node, node addresses and routes:
    each node routes the other nodes' pod CIDRs to them (kind's kindnet does the same), and
    the network routes each pod CIDR to its node, so pods reach the outside-world DNS at
    172.18.0.1 and its answers come back (kindnet masquerades instead; the pod's address is
    the more useful one to see)."""
    _sh(
        net.pid,
        f"""
ip link set lo up
ip link add {BRIDGE} type bridge
ip addr add {GATEWAY_IP}/{NETWORK_PREFIX} dev {BRIDGE}
ip link set {BRIDGE} up
""",
        "the cluster network",
    )
    for node, holder in nodes.items():
        veth = f"veth{node.index}"
        _sh(
            net.pid,
            f"""
ip link add {veth} type veth peer name eth0 netns {holder.pid}
ip link set {veth} master {BRIDGE}
ip link set {veth} up
ip route add {node.pod_cidr} via {node.ip}
""",
            f"{node.name}: its link to the cluster network",
        )
        routes = "\n".join(
            f"ip route add {other.pod_cidr} via {other.ip}" for other in nodes if other != node
        )
        sysctls = "\n".join(f"echo {value} > /proc/sys/{key}" for key, value in NODE_SYSCTLS.items())
        _sh(
            holder.pid,
            f"""
ip link set lo up
ip addr add {node.ip}/{NETWORK_PREFIX} dev eth0
ip link set eth0 up
ip route add default via {GATEWAY_IP}
{routes}
{sysctls}
""",
            f"{node.name}: its network",
        )


def node_dir(root: Path, node: Node) -> Path:
    return root / "nodes" / node.name


def private_mounts(node: Node, holder: Daemon, root: Path, resolv_conf: Path) -> None:
    """Give the node its own /run, /var/lib, /var/log and kubelet's sysctls (see module doc)."""
    folder = node_dir(root, node)
    lines = ["mount -t tmpfs -o mode=0755 svclab-run /run", "mkdir -p /run/netns"]
    for path in PRIVATE_DIRS:
        own = folder / path.strip("/").replace("/", "-")
        own.mkdir(parents=True, exist_ok=True)
        lines.append(f"mount --bind {shlex.quote(str(own))} {path}")
    lines.append(f"mount --bind {shlex.quote(str(resolv_conf))} /etc/resolv.conf")
    sysctl_dir = folder / "sysctl"
    sysctl_dir.mkdir(parents=True, exist_ok=True)
    for key, value in KUBELET_SYSCTLS.items():
        if not Path("/proc/sys", key).exists():
            continue
        own = sysctl_dir / key.replace("/", ".")
        own.write_text(value + "\n")
        lines.append(f"mount --bind {shlex.quote(str(own))} /proc/sys/{key}")
    _sh(holder.pid, "\n".join(lines), f"{node.name}: its private mounts", mount=True)


def refuse_unsafe_state_dir(root: Path) -> None:
    """The state folder must stay visible inside the nodes (not under what they hide)."""
    resolved = root.resolve()
    for hidden in ("/run", "/var/run", *PRIVATE_DIRS):
        if resolved == Path(hidden) or Path(hidden) in resolved.parents:
            raise StartError(
                f"the local cluster's folder {root} is under {hidden}, which each node replaces "
                f"with its own: set SVCLAB_LOCAL_CLUSTER_DIR to a folder elsewhere"
            )


__all__ = ["start_holder", "wire_network", "private_mounts", "node_dir", "refuse_unsafe_state_dir", "NODES"]
