"""Certificates for the local cluster, made with openssl: one CA, the API server's serving
certificate, and a client certificate per identity (the admin, each kubelet as
system:node:<name>, kube-proxy, the API server towards kubelets). The pieces (make_ca,
sign, service_account_key, write_kubeconfig) also serve tests/controlplane's loopback
control plane."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import yaml

from grader.localcluster.layout import CLUSTER_DOMAIN, CONTROL_PLANE, KUBERNETES_SERVICE_IP, NODES

DAYS = "365"
_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def client_subjects() -> dict[str, str]:
    """Client certificate name -> subject (O = groups, CN = user)."""
    subjects = {
        "admin": "/O=system:masters/CN=kubernetes-admin",
        "kube-proxy": "/CN=system:kube-proxy",
        "apiserver-kubelet-client": "/O=system:masters/CN=kube-apiserver-kubelet-client",
    }
    for node in NODES:
        subjects[f"kubelet-{node.name}"] = f"/O=system:nodes/CN=system:node:{node.name}"
    return subjects


def make_ca(folder: Path, common_name: str, days: str = DAYS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        *_EC,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        days,
        "-subj",
        f"/CN={common_name}",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        cwd=folder,
    )


def service_account_key(folder: Path) -> None:
    """sa.key / sa.pub: the key pair that signs and checks service-account tokens."""
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key", cwd=folder)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=folder)


def apiserver_sans(*extra: str) -> str:
    """The names and addresses clients use for the API server (kubeadm's list)."""
    return ",".join(
        [
            "IP:127.0.0.1",
            "DNS:localhost",
            f"IP:{KUBERNETES_SERVICE_IP}",
            *extra,
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            f"DNS:kubernetes.default.svc.{CLUSTER_DOMAIN}",
        ]
    )


def sign(folder: Path, name: str, subject: str, usage: str, sans: str = "", days: str = DAYS) -> None:
    """<name>.key and <name>.crt signed by the CA in `folder` (usage: serverAuth/clientAuth)."""
    _openssl("req", *_EC, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=folder)
    extra = f"subjectAltName={sans}\n" if sans else ""
    (folder / f"{name}.ext").write_text(
        f"{extra}extendedKeyUsage={usage}\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        days,
        "-extfile",
        f"{name}.ext",
        "-out",
        f"{name}.crt",
        cwd=folder,
    )


def make_pki(folder: Path) -> None:
    """Everything under `folder` (ca.crt, apiserver.crt, <client>.crt/.key, sa.key/sa.pub)."""
    make_ca(folder, "svclab-local-ca")
    sign(
        folder,
        "apiserver",
        "/CN=kube-apiserver",
        "serverAuth",
        apiserver_sans(f"IP:{CONTROL_PLANE.ip}", f"DNS:{CONTROL_PLANE.name}"),
    )
    for name, subject in client_subjects().items():
        sign(folder, name, subject, "clientAuth")
    service_account_key(folder)
    for csr in folder.glob("*.csr"):
        csr.unlink()


def write_kubeconfig(
    path: Path, server: str, pki: Path, client: str, context: str, user: str | None = None
) -> None:
    """A kubeconfig with one context, the client's certificate embedded."""
    user = user or f"{context}-{client}"

    def b64(name: str) -> str:
        return base64.b64encode((pki / name).read_bytes()).decode()

    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": context,
                "clusters": [
                    {
                        "name": context,
                        "cluster": {"server": server, "certificate-authority-data": b64("ca.crt")},
                    }
                ],
                "users": [
                    {
                        "name": user,
                        "user": {
                            "client-certificate-data": b64(f"{client}.crt"),
                            "client-key-data": b64(f"{client}.key"),
                        },
                    }
                ],
                "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
            }
        )
    )
    path.chmod(0o600)
