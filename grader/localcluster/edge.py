"""LoadBalancer, Ingress and Gateway API on the local cluster, where kind runs
cloud-provider-kind (which starts an Envoy container per address, so needs Docker).

- MetalLB's controller (v0.15.2, built from Go modules) hands out LoadBalancer addresses from
  172.18.0.100-172.18.0.199, the range the offline model gives out as cloud-provider-kind
  would (grader.model.services.LB_POOL); it runs on the control-plane node with the admin
  kubeconfig. MetalLB's speaker is not used: grader.localcluster.publish makes the addresses
  answer, as cloud-provider-kind's Envoy does, by forwarding to the Service's nodePort.
- Traefik (v3, built from Go modules) with its kubernetesGateway and kubernetesIngress
  providers serves every Gateway and Ingress, as a process in the cluster network's
  namespace (where cloud-provider-kind's Envoy containers live on kind), on one shared
  address, EDGE_IP. It serves the classes the course uses, named as cloud-provider-kind
  names them: IngressClass `cloud-provider-kind` (the default class) and GatewayClass
  `cloud-provider-kind`, with Traefik's controller names.

README's "Live mode without Docker (Linux)" lists where the answers differ from kind's.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable

import yaml

from grader.localcluster.api import Api
from grader.localcluster.layout import BRIDGE, NETWORK_PREFIX
from grader.localcluster.processes import Daemon, StartError, enter, run, spawn, wait_until

#: Traefik's address on the cluster network: every Ingress and Gateway is served there.
EDGE_IP = "172.18.0.250"
EDGE_PORTS = (80,)
LB_RANGE = ("172.18.0.100", "172.18.0.199")
CLASS = "cloud-provider-kind"
TRAEFIK_GATEWAY_CONTROLLER = "traefik.io/gateway-controller"
TRAEFIK_INGRESS_CONTROLLER = "traefik.io/ingress-controller"
METALLB_NAMESPACE = "metallb-system"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def crds(bins: dict[str, Path]) -> list[dict]:
    """The Gateway API standard-channel CRDs (from the gateway-api module Traefik pins) and
    MetalLB's, as the API server should receive them."""
    out = []
    for folder in (bins["traefik-share"], bins["metallb-share"]):
        for path in sorted(folder.glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    out.append(doc)
    if not out:
        raise StartError(f"no CRDs under {bins['traefik-share']} or {bins['metallb-share']}: rebuild")
    return out


def classes_and_pool() -> list[tuple[str, dict]]:
    """The classes the course's manifests name, and MetalLB's address pool."""
    return [
        ("/apis/networking.k8s.io/v1/ingressclasses", {
            "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": CLASS,
                         "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"controller": TRAEFIK_INGRESS_CONTROLLER}}),
        ("/apis/gateway.networking.k8s.io/v1/gatewayclasses", {
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
            "metadata": {"name": CLASS},
            "spec": {"controllerName": TRAEFIK_GATEWAY_CONTROLLER}}),
        ("/api/v1/namespaces",
         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": METALLB_NAMESPACE}}),
        (f"/apis/metallb.io/v1beta1/namespaces/{METALLB_NAMESPACE}/ipaddresspools", {
            "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
            "metadata": {"name": "kind-network", "namespace": METALLB_NAMESPACE},
            "spec": {"addresses": [f"{LB_RANGE[0]}-{LB_RANGE[1]}"]}}),
    ]


def _established(api: Api, name: str) -> bool:
    crd = api.get(f"{CRD_PATH}/{name}") or {}
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


def install(api: Api, bins: dict[str, Path], waiter: Daemon) -> None:
    """CRDs first (and wait until the API server serves them), then classes and the pool."""
    definitions = crds(bins)
    for crd in definitions:
        api.create(CRD_PATH, crd)
    for crd in definitions:
        name = crd["metadata"]["name"]
        wait_until(waiter, f"CRD {name} established", functools.partial(_established, api, name), 60)
    for path, obj in classes_and_pool():
        api.create(path, obj)


def add_edge_address(net_pid: int) -> None:
    run(enter(net_pid, ["ip", "addr", "add", f"{EDGE_IP}/{NETWORK_PREFIX}", "dev", BRIDGE], mount=False),
        "Traefik's address on the cluster network")


def traefik_argv(binary: Path) -> list[str]:
    return [
        str(binary),
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
        "--log.level=INFO",
        *(f"--entryPoints.web{port}.address={EDGE_IP}:{port}" for port in EDGE_PORTS),
        "--providers.kubernetesGateway=true",
        f"--providers.kubernetesGateway.statusAddress.ip={EDGE_IP}",
        "--providers.kubernetesIngress=true",
        f"--providers.kubernetesIngress.ingressEndpoint.ip={EDGE_IP}",
        # Ingress `Prefix` matches whole path elements (/api is not a prefix of /apis), as the
        # Ingress spec and cloud-provider-kind do; Traefik's default compares characters
        "--providers.kubernetesIngress.strictPrefixMatching=true",
    ]


def start_traefik(bins: dict[str, Path], net_pid: int, kubeconfig: Path, logs: Path) -> Daemon:
    """Traefik in the cluster network's namespace (it reaches pod IPs through the routes
    there), talking to the API server with the admin kubeconfig."""
    return spawn("traefik", enter(net_pid, traefik_argv(bins["traefik"]), mount=False), logs,
                 env={**os.environ, "KUBECONFIG": str(kubeconfig)})


def start_metallb(bins: dict[str, Path], node_pid: int, kubeconfig: Path, logs: Path) -> Daemon:
    argv = [str(bins["metallb-controller"]), f"--namespace={METALLB_NAMESPACE}", "--webhook-mode=disabled",
            "--disable-cert-rotation", "--log-level=warn", "--port=7472"]
    return spawn("metallb-controller", enter(node_pid, argv), logs,
                 env={**os.environ, "KUBECONFIG": str(kubeconfig)})


def gateway_class_accepted(api: Api) -> bool:
    cls = api.get(f"/apis/gateway.networking.k8s.io/v1/gatewayclasses/{CLASS}") or {}
    return any(c.get("type") == "Accepted" and c.get("status") == "True"
               for c in (cls.get("status") or {}).get("conditions") or [])


def publisher_argv(python: str, net_pid: int, api_server: str, pki: Path) -> list[str]:
    return [python, "-m", "grader.localcluster.publish", str(net_pid), api_server, str(pki),
            *(f"{EDGE_IP}:{port}" for port in EDGE_PORTS)]


Starter = Callable[[Daemon], Daemon]


def start(bins: dict[str, Any], api: Api, net: Daemon, control_plane_pid: int, kubeconfig: Path,
          pki: Path, logs: Path, keep: Starter, env: dict[str, str], python: str) -> None:
    """Everything of this module, in order; `keep` records each daemon for teardown."""
    install(api, bins, net)
    add_edge_address(net.pid)
    keep(start_metallb(bins, control_plane_pid, kubeconfig, logs))
    traefik = keep(start_traefik(bins, net.pid, kubeconfig, logs))
    keep(spawn("publisher", publisher_argv(python, net.pid, api.server, pki), logs, env=env))
    wait_until(traefik, "GatewayClass cloud-provider-kind accepted", lambda: gateway_class_accepted(api), 60)
