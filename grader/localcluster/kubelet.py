"""kubelet v1.37 per node, configured for this kind of host (see the local-cluster notes):
cgroup v1 allowed (failCgroupV1: false), the cgroupfs driver under the cluster's own cgroup
/svclab-local/<node>, x509 authentication against the cluster CA, clusterDNS 10.96.0.10,
eviction thresholds that a small disk does not trip."""

from __future__ import annotations

from pathlib import Path

import yaml

from grader.localcluster import cgroups
from grader.localcluster.containerd import SOCKET
from grader.localcluster.layout import CGROUP_NAME, CLUSTER_DOMAIN, KUBE_DNS_IP, Node
from grader.localcluster.processes import Daemon, enter, spawn


def cgroup_root(node: Node) -> str:
    return f"/{CGROUP_NAME}/{node.name}"


def config(node: Node, pki: Path, resolv_conf: Path) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node.ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(pki / "ca.crt")},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root(node),
        "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{SOCKET}",
        "clusterDNS": [KUBE_DNS_IP],
        "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(resolv_conf),
        "failSwapOn": False,
        "protectKernelDefaults": False,
        "maxPods": 110,
        "podCIDR": node.pod_cidr,
        "serializeImagePulls": False,
        "evictionHard": {
            "memory.available": "20Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "localStorageCapacityIsolation": True,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "nodeStatusReportFrequency": "10s",
        "syncFrequency": "10s",
    }


def start(
    node: Node,
    holder: int,
    bins: dict[str, Path],
    node_folder: Path,
    pki: Path,
    kubeconfig: Path,
    resolv_conf: Path,
    logs: Path,
) -> Daemon:
    cgroups.ensure(cgroup_root(node).lstrip("/"))
    cfg = node_folder / "kubelet.yaml"
    cfg.write_text(yaml.safe_dump(config(node, pki, resolv_conf)))
    return spawn(
        f"kubelet-{node.name}",
        enter(
            holder,
            [
                str(bins["kubelet"]),
                f"--config={cfg}",
                f"--kubeconfig={kubeconfig}",
                f"--hostname-override={node.name}",
                f"--node-ip={node.ip}",
                "--v=1",
            ],
        ),
        logs,
    )
