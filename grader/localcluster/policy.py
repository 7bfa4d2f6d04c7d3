"""NetworkPolicy enforcement: sigs.k8s.io/kube-network-policies (the agent kind's kindnet
runs) per node, with this kernel's fallback for its packet steering.

The agent decides on packets it reads from NFQUEUE 100; its own nftables rules need the
nftables `queue` expression, which a kernel without CONFIG_NFT_QUEUE lacks (it then logs
"netlink receive: no such file or directory" each sync and keeps serving the queue). So
the node also gets a mangle chain, jumped to from POSTROUTING, that queues the first
packet of each pod connection (new flows from or to the pod CIDR; the node's own root
traffic and established flows return early; --queue-bypass lets packets pass while no agent
reads, which is how "enforcement off" looks). The agent reads in-cluster configuration only,
so its service-account token and CA go to the node's private /run/secrets."""

from __future__ import annotations

from pathlib import Path

from grader.localcluster.layout import APISERVER_PORT, CONTROL_PLANE, NFQUEUE_ID, POD_CIDR, Node
from grader.localcluster.processes import Daemon, enter, run, spawn

CHAIN = "SVCLAB-NETPOL"
SERVICE_ACCOUNT = "kube-network-policies"
SECRETS = "/run/secrets/kubernetes.io/serviceaccount"


def steering_rules() -> list[list[str]]:
    q = ["-j", "NFQUEUE", "--queue-num", str(NFQUEUE_ID), "--queue-bypass"]
    return [
        ["-t", "mangle", "-N", CHAIN],
        ["-t", "mangle", "-A", CHAIN, "-m", "owner", "--uid-owner", "0", "-j", "RETURN"],
        ["-t", "mangle", "-A", CHAIN, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
        ["-t", "mangle", "-A", CHAIN, "-s", POD_CIDR, *q],
        ["-t", "mangle", "-A", CHAIN, "-d", POD_CIDR, *q],
        ["-t", "mangle", "-A", "POSTROUTING", "-j", CHAIN],
    ]


def install_steering(node: Node, holder: int) -> None:
    for rule in steering_rules():
        run(enter(holder, ["iptables", "-w", *rule]), f"{node.name}: NetworkPolicy packet steering")


def rbac() -> list[tuple[str, dict]]:
    """(API path, object) for the agent's identity: its install.yaml's ClusterRole."""
    return [
        (
            "/api/v1/namespaces/kube-system/serviceaccounts",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": SERVICE_ACCOUNT, "namespace": "kube-system"},
            },
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterroles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": SERVICE_ACCOUNT},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["pods", "namespaces", "nodes"],
                        "verbs": ["get", "list", "watch"],
                    },
                    {
                        "apiGroups": ["networking.k8s.io"],
                        "resources": ["networkpolicies"],
                        "verbs": ["list", "watch"],
                    },
                ],
            },
        ),
        (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": SERVICE_ACCOUNT},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": SERVICE_ACCOUNT,
                },
                "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": "kube-system"}],
            },
        ),
    ]


def write_secrets(node: Node, holder: int, token: str, ca: Path) -> None:
    script = (
        f"mkdir -p {SECRETS} && cat > {SECRETS}/token && cp {ca} {SECRETS}/ca.crt && "
        f"printf kube-system > {SECRETS}/namespace"
    )
    run(enter(holder, ["sh", "-ec", script]), f"{node.name}: the policy agent's credentials", input=token)


def start(node: Node, holder: int, bins: dict[str, Path], logs: Path) -> Daemon:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "KUBERNETES_SERVICE_HOST": CONTROL_PLANE.ip,
        "KUBERNETES_SERVICE_PORT": str(APISERVER_PORT),
    }
    return spawn(
        f"kube-network-policies-{node.name}",
        enter(
            holder,
            [
                str(bins["kube-network-policies"]),
                f"--hostname-override={node.name}",
                f"--nfqueue-id={NFQUEUE_ID}",
                "--disable-nri",
                "--metrics-bind-address=127.0.0.1:9080",
                "--v=1",
            ],
        ),
        logs,
        env=env,
    )
