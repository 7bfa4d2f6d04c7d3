"""Where the local cluster lives and how it is shaped: kind's cluster "svclab", two nodes.

Addresses follow kind: node addresses on the Docker network 172.18.0.0/16 whose gateway
(172.18.0.1) is where traffic from the learner's machine comes from; pod CIDR 10.244.0.0/16
with node i owning 10.244.i.0/24; Services in 10.96.0.0/16; kube-dns at 10.96.0.10.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from grader.kind import LOCAL_CONTEXT

CONTEXT = LOCAL_CONTEXT
POD_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
KUBE_DNS_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
NETWORK_PREFIX = 16
GATEWAY_IP = "172.18.0.1"  # the Docker bridge's address in kind: the host side
APISERVER_PORT = 6443
NFQUEUE_ID = 100
#: The cgroup (in every v1 hierarchy) that holds every process the cluster starts.
CGROUP_NAME = "svclab-local"
BRIDGE = "svclab0"


@dataclass(frozen=True)
class Node:
    """One node: a network and mount namespace holding containerd, kubelet, kube-proxy and
    the NetworkPolicy agent (the control plane's node also runs etcd and the API server)."""

    name: str
    index: int
    control_plane: bool

    @property
    def ip(self) -> str:
        return f"172.18.0.{2 + self.index}"

    @property
    def pod_cidr(self) -> str:
        return f"10.244.{self.index}.0/24"

    @property
    def pod_gateway(self) -> str:
        return f"10.244.{self.index}.1"


NODES = (Node("svclab-control-plane", 0, True), Node("svclab-worker", 1, False))
CONTROL_PLANE = NODES[0]


def state_dir() -> Path:
    """Everything the cluster writes: $SVCLAB_LOCAL_CLUSTER_DIR, else ~/.local/state/svclab/local-cluster."""
    explicit = os.environ.get("SVCLAB_LOCAL_CLUSTER_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or "~/.local/state"
    return Path(base).expanduser() / "svclab" / "local-cluster"


def kubeconfig_path() -> Path:
    """The kubeconfig with context svclab-local (the API server through 127.0.0.1)."""
    return state_dir() / "kubeconfig"
