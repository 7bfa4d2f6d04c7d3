"""Manifest builders shared by the offline-model tests (no tests in here).

Every workload runs agnhost netexec, like the course's pods, so what listens is exactly
the --http-port given.
"""
from __future__ import annotations

from typing import Any

from grader.kind.images import AGNHOST_IMAGE

AGNHOST = AGNHOST_IMAGE


def container(http_port: int = 8080, ports: list[dict[str, Any]] | None = None, udp_port: int | None = None) -> dict:
    args = ["netexec", f"--http-port={http_port}"]
    if udp_port is not None:
        args.append(f"--udp-port={udp_port}")
    c: dict[str, Any] = {"name": "app", "image": AGNHOST, "args": args}
    c["ports"] = ports if ports is not None else [{"containerPort": http_port, "name": "http"}]
    return c


def template(labels: dict[str, str], **kw: Any) -> dict:
    return {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container(**kw)]}}


def deployment(name: str, labels: dict[str, str], replicas: int = 1, **kw: Any) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                     "template": template(labels, **kw)}}


def statefulset(name: str, labels: dict[str, str], service_name: str, replicas: int = 2, **kw: Any) -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "serviceName": service_name,
                     "selector": {"matchLabels": dict(labels)}, "template": template(labels, **kw)}}


def pod(name: str, labels: dict[str, str], **kw: Any) -> dict:
    spec_extra = {k: kw.pop(k) for k in ("hostname", "subdomain") if k in kw}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"containers": [container(**kw)], **spec_extra}}


def service(name: str, selector: dict[str, str] | None, ports: list[dict[str, Any]] | None = None,
            **spec: Any) -> dict:
    s: dict[str, Any] = {"ports": ports if ports is not None else [{"name": "http", "port": 80, "targetPort": 8080}]}
    if selector is not None:
        s["selector"] = dict(selector)
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": s}


def netpol(name: str, pod_selector: dict[str, str], **spec: Any) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name},
            "spec": {"podSelector": {"matchLabels": dict(pod_selector)} if pod_selector else {}, **spec}}


def client_and_backend():
    """A namespace 'lab' with a client Deployment and a 3-replica backend behind Service
    'backend': the smallest cluster in which a probe has somewhere to go."""
    from grader.model.state import ClusterState

    s = ClusterState()
    s.create_namespace("lab")
    s.apply([deployment("client", {"app": "client"}),
             deployment("backend", {"app": "backend"}, replicas=3),
             service("backend", {"app": "backend"})], "lab")
    return s
