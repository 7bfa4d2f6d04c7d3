"""`kubectl create ingress NAME --rule=...` offline: the Ingress kubectl builds (path types
from the trailing `*`, rules grouped by host, class, default backend, port by name or
number) and that the model then routes with it."""
from __future__ import annotations

import pytest

from grader.cluster.offline import OfflineCluster
from grader.kubectl import run
from grader.kubectl.ingress_rules import build_ingress
from grader.kubectl.resources import NotModelled
from grader.kubectl.result import KubectlError
from grader.labs.workloads import netexec_workload


def test_rules_become_paths_of_their_host_with_the_path_type_kubectl_gives() -> None:
    ing = build_ingress("shop", ["foo.com/=svc:http", "foo.com/admin*=admin:8080", "/any=svc:80"],
                        ingress_class="cloud-provider-kind", default_backend="fallback:80",
                        annotations=["a=b"])
    assert ing["metadata"] == {"name": "shop", "annotations": {"a": "b"}}
    spec = ing["spec"]
    assert spec["ingressClassName"] == "cloud-provider-kind"
    assert spec["defaultBackend"] == {"service": {"name": "fallback", "port": {"number": 80}}}
    assert spec["rules"] == [
        {"host": "foo.com", "http": {"paths": [
            {"path": "/", "pathType": "Exact", "backend": {"service": {"name": "svc", "port": {"name": "http"}}}},
            {"path": "/admin", "pathType": "Prefix",
             "backend": {"service": {"name": "admin", "port": {"number": 8080}}}}]}},
        {"http": {"paths": [{"path": "/any", "pathType": "Exact",
                             "backend": {"service": {"name": "svc", "port": {"number": 80}}}}]}},
    ]


def test_malformed_rules_are_kubectls_errors_and_tls_is_refused_offline() -> None:
    with pytest.raises(KubectlError, match="should be in format host/path=svcname:svcport"):
        build_ingress("x", ["foo.com=svc:80"])
    with pytest.raises(KubectlError, match="either specify a default-backend"):
        build_ingress("x", [])
    with pytest.raises(NotModelled):
        build_ingress("x", ["foo.com/*=svc:80,tls=cert"])


def test_the_created_ingress_routes_in_the_model() -> None:
    ns = OfflineCluster(say=lambda _: None).namespace("ing")
    ns.apply(netexec_workload("api", {"app": "api"}) + "---\n" + netexec_workload("web", {"app": "web"}))
    assert run(ns, "expose deploy api --port=80 --target-port=8080").ok
    assert run(ns, "expose deploy web --port=80 --target-port=8080").ok
    r = run(ns, "create ingress shop --rule=shop.example/api*=api:80 --rule=shop.example/*=web:80")
    assert r.ok and r.stdout == "ingress.networking.k8s.io/shop created\n"
    again = run(ns, "create ingress shop --rule=shop.example/*=web:80")
    assert again.code == 1 and 'ingresses.networking.k8s.io "shop" already exists' in again.stderr
    addr = ns.ingress_address("shop")
    assert ns.http(addr, "/api/items", host="shop.example").pod.split("/")[1].startswith("api-")
    assert ns.http(addr, "/apiary", host="shop.example").pod.split("/")[1].startswith("web-")


def test_expose_refuses_a_statefulset_and_create_service_takes_clusterip_none() -> None:
    """kubectl's canBeExposed lists Pod, Service, ReplicationController, Deployment and
    ReplicaSet only; a headless Service is `create service clusterip NAME --clusterip=None`."""
    ns = OfflineCluster(say=lambda _: None).namespace("sts")
    ns.apply(netexec_workload("kv", {"app": "kv"}, kind="StatefulSet", service_name="kv", replicas=2))
    refused = run(ns, "expose statefulset kv --cluster-ip=None --port=8080")
    assert refused.code == 1 and refused.stderr == "error: cannot expose a StatefulSet.apps\n"
    assert run(ns, "create service clusterip kv --clusterip=None --tcp=8080").ok
    assert ns.service("kv").headless and len(ns.endpoints("kv")) == 2
