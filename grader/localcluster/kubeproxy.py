"""kube-proxy v1.37 per node in nftables mode. In a node's network namespace it must not
set nf_conntrack_max (a global setting: --conntrack-max-per-core=0), and the node address
must exist before it starts (namespaces.wire_network), or its NodePort address set is empty."""

from __future__ import annotations

from pathlib import Path

from grader.localcluster.layout import POD_CIDR, Node
from grader.localcluster.processes import Daemon, enter, spawn


def start(node: Node, holder: int, bins: dict[str, Path], kubeconfig: Path, logs: Path) -> Daemon:
    return spawn(
        f"kube-proxy-{node.name}",
        enter(
            holder,
            [
                str(bins["kube-proxy"]),
                f"--kubeconfig={kubeconfig}",
                "--proxy-mode=nftables",
                f"--hostname-override={node.name}",
                f"--bind-address={node.ip}",
                f"--cluster-cidr={POD_CIDR}",
                "--conntrack-max-per-core=0",
                "--nodeport-addresses=primary",
                "--metrics-bind-address=127.0.0.1:10249",
                "--healthz-bind-address=0.0.0.0:10256",
                "--v=1",
            ],
        ),
        logs,
    )
