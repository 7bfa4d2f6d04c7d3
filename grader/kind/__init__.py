"""The kind cluster the course runs on: its config file and the constants it is built from.

The NodePorts are defined once here, because three places must agree on them: the kind
config (host port mappings are fixed when the cluster is created), the labs (which ask for
`nodePort: 30080`) and `probe_external` (which connects to 127.0.0.1:<nodePort>).
"""
from __future__ import annotations

from pathlib import Path

from grader.kind.images import NODE_IMAGE

#: The cluster `svclab cluster up` creates; kind names its kubeconfig context "kind-<name>".
CLUSTER_NAME = "svclab"
CONTEXT_NAME = f"kind-{CLUSTER_NAME}"

#: The nodes of the course cluster, one kind node per role, in kind's order. The offline
#: model lays out the same nodes (grader.model.nodes), so both modes schedule alike.
NODE_ROLES: tuple[str, ...] = ("control-plane",)

#: The learner's machine as the cluster sees it: the kind network's gateway (kind) and the
#: local cluster's publisher (grader.localcluster.publish) both connect from this address.
LEARNER_ADDRESS = "172.18.0.1"

#: NodePorts that labs may use and that kind maps to 127.0.0.1 on the learner's machine.
COURSE_NODEPORTS: tuple[int, ...] = tuple(range(30080, 30090))

#: The committed kind config (generated from the constants above by `render_kind_config`).
KIND_CONFIG_PATH = Path(__file__).with_name("kind-config.yaml")

#: Every namespace the course creates carries this label, so `svclab cluster gc` can find
#: leftovers without ever touching a namespace it did not create.
MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "svclab")


def render_kind_config() -> str:
    """The kind-config.yaml text for COURSE_NODEPORTS (the test suite checks the committed
    file equals this, so editing the port list and regenerating is the only way to change it)."""
    lines = [
        "# Generated from grader/kind/__init__.py (COURSE_NODEPORTS): edit there, then run",
        "#   python -c 'from grader.kind import render_kind_config as r; print(r(), end=\"\")' "
        "> grader/kind/kind-config.yaml",
        "# Port mappings are fixed when the cluster is created: after a change, run",
        "#   make cluster-down && make cluster",
        "# The node image is grader/kind/images.py NODE_IMAGE (kind only supports images built",
        "# for its release, hence the digest); `svclab cluster up` also passes it with --image.",
        "kind: Cluster",
        "apiVersion: kind.x-k8s.io/v1alpha4",
        "nodes:",
    ]
    for role in NODE_ROLES:
        lines += [f"  - role: {role}", f"    image: {NODE_IMAGE}"]
        if role != "control-plane":
            continue
        # kind maps host ports on the control-plane node, where the NodePorts are served
        lines.append("    extraPortMappings:")
        for port in COURSE_NODEPORTS:
            lines += [
                f"      - containerPort: {port}",
                f"        hostPort: {port}",
                "        listenAddress: \"127.0.0.1\"",
                "        protocol: TCP",
            ]
    return "\n".join(lines) + "\n"


#: The local cluster without Docker (grader.localcluster, `svclab cluster up --local`): its
#: kubeconfig context. Its LoadBalancer, Ingress and Gateway addresses are on the cluster
#: network 172.18.0.0/16 as on kind, but that network lives in a namespace of its own, not on
#: the learner's machine; each such address a.b.c.d is published on the loopback address
#: 127.18.c.d instead (same ports), and the live backend connects there (loopback_alias).
LOCAL_CONTEXT = "svclab-local"
LOCAL_CLUSTER_NETWORK = "172.18.0.0/16"
LOCAL_LOOPBACK_NETWORK = "127.18.0.0/16"


def loopback_alias(address: str) -> str | None:
    """Where the local cluster publishes a cluster-network address on the learner's machine
    (172.18.0.100 -> 127.18.0.100); None for any other address."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    network = ipaddress.ip_network(LOCAL_CLUSTER_NETWORK)
    if ip not in network:
        return None
    offset = int(ip) - int(network.network_address)
    return str(ipaddress.ip_network(LOCAL_LOOPBACK_NETWORK).network_address + offset)
