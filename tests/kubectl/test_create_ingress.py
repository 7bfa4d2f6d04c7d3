"""`kubectl create ingress` offline builds what kubectl 1.37 builds (its `--rule` grammar,
from kubectl's create_ingress.go: `host/path=service:port[,tls[=secret]]`, a trailing `*`
makes the path a Prefix, one IngressRule per host), and the Ingress then routes."""
from __future__ import annotations

import yaml

from grader.cluster.offline import OfflineCluster
from grader.kubectl.offline import run
from grader.labs.workloads import netexec_workload

APP = netexec_workload("web", {"app": "web"}) + """---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""


def fresh():  # type: ignore[no-untyped-def]
    ns = OfflineCluster(say=lambda _: None).namespace("ing")
    ns.apply(APP)
    return ns


def test_rules_become_one_rule_per_host_with_prefix_and_exact_paths() -> None:
    r = run(fresh(), 'create ingress shop --class=cloud-provider-kind --rule="shop.example/api*=web:80" '
                     '--rule="shop.example/about=web:http,tls=shop-cert" --rule="/*=web:80" '
                     '--default-backend=web:80 --annotation=team=shop --dry-run=client -o yaml')
    assert r.code == 0, r.stderr
    spec = yaml.safe_load(r.stdout)["spec"]
    assert spec["ingressClassName"] == "cloud-provider-kind"
    assert spec["defaultBackend"] == {"service": {"name": "web", "port": {"number": 80}}}
    assert spec["tls"] == [{"hosts": ["shop.example"], "secretName": "shop-cert"}]
    shop, anyhost = spec["rules"]
    assert shop["host"] == "shop.example" and "host" not in anyhost
    assert [(p["path"], p["pathType"], p["backend"]["service"]["port"]) for p in shop["http"]["paths"]] == [
        ("/api", "Prefix", {"number": 80}), ("/about", "Exact", {"name": "http"})]
    assert anyhost["http"]["paths"][0]["path"] == "/" and anyhost["http"]["paths"][0]["pathType"] == "Prefix"


def test_the_created_ingress_routes_prefix_and_exact_as_the_spec_says() -> None:
    ns = fresh()
    r = run(ns, 'create ingress shop --rule="shop.example/api*=web:80" --rule="shop.example/about=web:80"')
    assert r.stdout == "ingress.networking.k8s.io/shop created\n"
    address = ns.ingress_address("shop")
    codes = {path: ns.http(address, path, host="shop.example").code
             for path in ("/api", "/api/items", "/apiary", "/about", "/about/us")}
    assert codes == {"/api": 200, "/api/items": 200, "/apiary": 404, "/about": 200, "/about/us": 404}


def test_refusals_are_kubectls() -> None:
    ns = fresh()
    assert "not enough information provided" in run(ns, "create ingress empty").stderr
    assert "rule web:80 is invalid and should be in format host/path=svcname:svcport" in run(
        ns, "create ingress bad --rule=web:80").stderr
    run(ns, "create ingress shop --rule=/=web:80")
    assert run(ns, "create ingress shop --rule=/=web:80").stderr.startswith(
        'error: failed to create ingress: ingresses.networking.k8s.io "shop" already exists')


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
