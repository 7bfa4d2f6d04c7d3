"""The offline cluster's nodes, laid out as kind lays them out, and where the scheduler puts
a pod on them.

- Node count: the course's kind cluster (grader.kind.NODE_ROLES, which its kind-config.yaml
  is rendered from) by default, one entry per node (today one); `ClusterState(nodes=N)` /
  `svclab matrix --nodes N` model a bigger cluster of N kind nodes.
- Names and addresses as kind gives them: `svclab-control-plane`, then `svclab-worker`,
  `svclab-worker2`, ...; node i gets 172.18.0.(2+i) on the kind network and the pod CIDR
  10.244.i.0/24 (kube-controller-manager hands each node the next /24 of 10.244.0.0/16;
  .1 is kindnet's bridge, pods get .2 and up).
- With workers, the control plane keeps kubeadm's NoSchedule taint (kind removes it only
  on a single-node cluster), so workload pods run on the workers; kube-system pods
  (CoreDNS) tolerate it and stay on the control plane.
- Each node runs at most `max_pods` pods (kubelet's --max-pods, 110). The scheduler puts a
  new pod on the feasible node with the fewest pods (the least-allocated score, equal
  requests), the first such node in order on a tie; with no room the pod stays Pending
  with the scheduler's FitError message.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from grader.kind import NODE_ROLES
from grader.model.objects import NODE_IP, NODE_NAME

#: kube-controller-manager's --cluster-cidr in kind; one /24 per node.
POD_CIDR = "10.244.0.0/16"
#: kubelet's default --max-pods.
MAX_PODS_PER_NODE = 110
#: kind nodes live in 10.244.0.0/16 /24s: at most 256 nodes can get a pod CIDR.
MAX_NODES = 256
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane"
#: Namespaces whose pods tolerate the control-plane taint (kubeadm's CoreDNS does).
TOLERATING_NAMESPACES = ("kube-system",)


@dataclass(frozen=True)
class Node:
    """A kind node: its index, name, address, pod CIDR, and whether it refuses ordinary pods."""

    index: int
    name: str
    ip: str
    pod_cidr: str
    tainted: bool             # control plane with workers beside it: NoSchedule

    @property
    def gateway(self) -> str:
        """kindnet's bridge address on this node's pod CIDR (the source of hairpin traffic)."""
        return str(ipaddress.ip_network(self.pod_cidr).network_address + 1)


def default_node_count() -> int:
    """How many nodes the course's kind cluster has (grader.kind.NODE_ROLES, from which
    its kind-config.yaml is rendered)."""
    return len(NODE_ROLES)


def check_node_count(nodes: int) -> int:
    """`nodes` if it is a usable node count, else ValueError saying what is."""
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES:
        raise ValueError(f"nodes must be a whole number from 1 to {MAX_NODES} (kind gives each "
                         f"node a /24 of {POD_CIDR}), not {nodes!r}")
    return nodes


def kind_nodes(count: int) -> list[Node]:
    """The nodes of a kind cluster with `count` nodes: one control plane, count-1 workers."""
    check_node_count(count)
    out = []
    for i in range(count):
        name = NODE_NAME if i == 0 else f"svclab-worker{'' if i == 1 else i}"
        ip = NODE_IP if i == 0 else str(ipaddress.ip_address(NODE_IP) + i)
        out.append(Node(i, name, ip, f"10.244.{i}.0/24", tainted=(i == 0 and count > 1)))
    return out


def tolerates(node: Node, namespace: str) -> bool:
    return not node.tainted or namespace in TOLERATING_NAMESPACES


def fit_error(nodes: list[Node], namespace: str) -> str:
    """kube-scheduler's FitError for a pod no node has room for: reasons counted per node,
    sorted as strings, then the preemption verdict (nothing can be preempted: all pods
    have the same priority)."""
    reasons: dict[str, int] = {}
    preemption: dict[str, int] = {}
    for n in nodes:
        if not tolerates(n, namespace):
            reasons[f"node(s) had untolerated taint {{{CONTROL_PLANE_TAINT}: }}"] = \
                reasons.get(f"node(s) had untolerated taint {{{CONTROL_PLANE_TAINT}: }}", 0) + 1
            preemption["Preemption is not helpful for scheduling"] = \
                preemption.get("Preemption is not helpful for scheduling", 0) + 1
        else:
            reasons["Too many pods"] = reasons.get("Too many pods", 0) + 1
            preemption["No preemption victims found for incoming pod"] = \
                preemption.get("No preemption victims found for incoming pod", 0) + 1

    def histogram(counts: dict[str, int]) -> str:
        return ", ".join(sorted(f"{v} {k}" for k, v in counts.items()))

    total = len(nodes)
    return (f"0/{total} nodes are available: {histogram(reasons)}. "
            f"preemption: 0/{total} nodes are available: {histogram(preemption)}.")
