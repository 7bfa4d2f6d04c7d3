"""etcd, kube-apiserver, kube-controller-manager and kube-scheduler as processes in the
control-plane node's namespaces, flagged as kubeadm (so kind) runs them, with the API server
on 172.18.0.2:6443 (reached from the host through the loopback forwarder)."""

from __future__ import annotations

from pathlib import Path

from grader.localcluster.layout import APISERVER_PORT, CLUSTER_DOMAIN, CONTROL_PLANE, POD_CIDR, SERVICE_CIDR
from grader.localcluster.processes import Daemon, enter, spawn

ETCD = "http://127.0.0.1:2379"


def start_etcd(bins: dict[str, Path], holder: int, root: Path, logs: Path) -> Daemon:
    return spawn(
        "etcd",
        enter(
            holder,
            [
                str(bins["etcd"]),
                "--name=svclab",
                f"--data-dir={root / 'etcd'}",
                f"--listen-client-urls={ETCD}",
                f"--advertise-client-urls={ETCD}",
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                "--initial-cluster=svclab=http://127.0.0.1:2380",
                "--log-level=warn",
                "--unsafe-no-fsync",
            ],
        ),
        logs,
    )


def start_apiserver(bins: dict[str, Path], holder: int, root: Path, pki: Path, logs: Path) -> Daemon:
    return spawn(
        "kube-apiserver",
        enter(
            holder,
            [
                str(bins["kube-apiserver"]),
                f"--etcd-servers={ETCD}",
                "--bind-address=0.0.0.0",
                f"--secure-port={APISERVER_PORT}",
                f"--advertise-address={CONTROL_PLANE.ip}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--client-ca-file={pki / 'ca.crt'}",
                f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=true",
                f"--cert-dir={root / 'apiserver'}",
                "--profiling=false",
            ],
        ),
        logs,
    )


def start_controllers(
    bins: dict[str, Path], holder: int, kubeconfig: Path, pki: Path, logs: Path
) -> list[Daemon]:
    kc = str(kubeconfig)
    common = [
        f"--kubeconfig={kc}",
        f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}",
        "--bind-address=127.0.0.1",
        "--leader-elect=false",
    ]
    kcm = spawn(
        "kube-controller-manager",
        enter(
            holder,
            [
                str(bins["kube-controller-manager"]),
                *common,
                "--use-service-account-credentials=true",
                "--controllers=*,bootstrapsigner,tokencleaner",
                "--allocate-node-cidrs=true",
                f"--cluster-cidr={POD_CIDR}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--root-ca-file={pki / 'ca.crt'}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--cluster-signing-cert-file={pki / 'ca.crt'}",
                f"--cluster-signing-key-file={pki / 'ca.key'}",
            ],
        ),
        logs,
    )
    scheduler = spawn("kube-scheduler", enter(holder, [str(bins["kube-scheduler"]), *common]), logs)
    return [kcm, scheduler]
