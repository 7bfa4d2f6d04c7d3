"""The offline backend through the Cluster API that notebooks and labs use."""
from __future__ import annotations

import importlib.util

import pytest
from test_model_kit import deployment, service, statefulset

from grader.cluster.base import Cluster, Namespace, Status
from grader.cluster.offline import OfflineCluster, OfflineNamespace
from grader.kind.images import AGNHOST_IMAGE

HAS_MANIFESTS = importlib.util.find_spec("grader.manifests") is not None and \
    importlib.util.find_spec("grader.sandbox") is not None
needs_manifests = pytest.mark.skipif(not HAS_MANIFESTS, reason="grader.manifests / grader.sandbox not written yet")
needs_matrix = pytest.mark.skipif(importlib.util.find_spec("grader.model.matrix") is None,
                                  reason="grader.model.matrix not written yet")

YAML = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
spec:
  replicas: 2
  selector:
    matchLabels: {{app: backend}}
  template:
    metadata:
      labels: {{app: backend}}
    spec:
      containers:
      - name: app
        image: {AGNHOST_IMAGE}
        args: ["netexec", "--http-port=8080"]
        ports:
        - {{containerPort: 8080, name: http}}
---
apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  selector: {{app: backend}}
  ports:
  - {{name: http, port: 80, targetPort: http}}
"""


@pytest.fixture()
def ns() -> OfflineNamespace:
    n = OfflineCluster().namespace("lab")
    n.apply_objects([deployment("frontend", {"app": "frontend"}),
                     deployment("backend", {"app": "backend"}, replicas=2),
                     service("backend", {"app": "backend"})])
    return n


def test_implements_the_protocols() -> None:
    cluster = OfflineCluster()
    assert isinstance(cluster, Cluster) and cluster.mode == "offline"
    assert isinstance(cluster.namespace("x"), Namespace)


def test_fresh_namespace_starts_empty(ns: OfflineNamespace) -> None:
    again = ns.cluster.namespace("lab")
    assert again.pods() == []
    kept = ns.cluster.namespace("keep")
    kept.apply_objects([deployment("a", {"app": "a"})])
    assert len(ns.cluster.namespace("keep", fresh=False).pods()) == 1


def test_pods_endpoints_and_kubectl_view(ns: OfflineNamespace) -> None:
    backend_ips = sorted(p.ip for p in ns.pods() if p.name.startswith("backend-"))  # as text, like kubectl
    assert sorted(e.ip for e in ns.endpoints("backend")) == backend_ips
    assert ns.get_endpoints("backend").splitlines()[1].split()[1] == ",".join(f"{ip}:8080" for ip in backend_ips)


def test_lookup_and_probe_from_a_selector_or_a_pod_name(ns: OfflineNamespace) -> None:
    ans = ns.lookup("backend", frm="app=frontend")
    assert ans.ok and ans.name == "backend.lab.svc.cluster.local"
    front = next(p.name for p in ns.pods() if p.name.startswith("frontend-"))
    out = ns.probe("backend:80/hostname", frm=front)
    assert out.status is Status.OK and out.body in {p.name for p in ns.pods()}


def test_unknown_frm_names_the_available_pods(ns: OfflineNamespace) -> None:
    with pytest.raises(LookupError, match="app=frontend"):
        ns.probe("backend:80", frm="app=nothing")


def test_set_ready_teaches_endpoint_gating(ns: OfflineNamespace) -> None:
    ns.set_ready("app=backend", False)
    assert ns.probe("backend:80", frm="app=frontend").status is Status.NO_ENDPOINTS
    assert ns.get_endpoints("backend").splitlines()[1].split() == ["backend"]   # empty cell: none ready
    ns.wait_ready()                            # not-ready pods are legitimate: returns at once
    ns.set_ready("app=backend", True)
    assert ns.probe("backend:80", frm="app=frontend").ok


def test_delete_one_object_and_the_namespace(ns: OfflineNamespace) -> None:
    ns.delete("service", "backend")
    assert ns.probe("backend:80", frm="app=frontend").status is Status.DNS_ERROR
    ns.delete()
    assert "lab" not in ns.state.namespaces


def test_probe_external_through_kind_port_mapping() -> None:
    cluster = OfflineCluster()
    n = cluster.namespace("lab")
    n.apply_objects([deployment("web", {"app": "web"}),
                     service("web", {"app": "web"}, type="NodePort",
                             ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}])])
    out = cluster.probe_external(30080, path="/hostname")
    assert out.ok and out.body == n.pods()[0].name


def test_statefulset_pod_dns(ns: OfflineNamespace) -> None:
    ns.apply_objects([statefulset("db", {"app": "db"}, "db"),
                      service("db", {"app": "db"}, clusterIP="None")])
    db1 = next(p for p in ns.pods() if p.name == "db-1")
    assert ns.lookup("db-1.db", frm="app=frontend").addresses == [db1.ip]


@needs_manifests
def test_apply_yaml_text_is_validated_and_applied() -> None:
    n = OfflineCluster().namespace("lab")
    lines = n.apply(YAML)
    assert lines == ["service/backend created", "deployment.apps/backend created"]
    assert n.apply(YAML) == ["service/backend unchanged", "deployment.apps/backend unchanged"]
    assert len(n.endpoints("backend")) == 2


@needs_manifests
def test_apply_refuses_objects_for_another_namespace_and_applies_nothing() -> None:
    from grader.manifests import ManifestError
    n = OfflineCluster().namespace("lab")
    bad = YAML.replace("  name: backend\nspec:\n  selector", "  name: backend\n  namespace: kube-system\nspec:\n  selector")
    with pytest.raises(ManifestError):
        n.apply(bad)
    assert n.pods() == []


@needs_manifests
def test_duplicate_node_port_is_refused_before_anything_is_applied() -> None:
    n = OfflineCluster().namespace("lab")
    svc = ("apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  type: NodePort\n"
           "  selector: {{app: backend}}\n  ports:\n  - {{port: 80, targetPort: 8080, nodePort: 30080}}\n")
    n.apply(svc.format(name="first"))
    from grader.manifests import ManifestError
    with pytest.raises(ManifestError) as err:
        n.apply(YAML + "---\n" + svc.format(name="x"))
    (problem,) = err.value.problems
    assert (problem.kind, problem.name) == ("Service", "x")
    assert problem.message.endswith('Service "x" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                                    "provided port is already allocated")
    assert n.pods() == [] and n.state.service("lab", "x") is None


@needs_matrix
def test_matrix_covers_this_namespaces_pods(ns: OfflineNamespace) -> None:
    m = ns.matrix(ports=[8080])
    assert {p.key for p in m.pods} == {f"lab/{p.name}" for p in ns.pods()}
    assert all(r.allowed for r in m.results)


def test_service_shows_allocations_and_external_address() -> None:
    from grader.cluster.offline import OfflineCluster

    ns = OfflineCluster().namespace("svcinfo")
    ns.apply("""
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: db.example.com
""")
    web, db, ext = ns.service("web"), ns.service("db"), ns.service("ext")
    import ipaddress

    assert web.type == "LoadBalancer" and web.external_address
    assert ipaddress.ip_address(web.cluster_ip) in ipaddress.ip_network("10.96.0.0/16")
    assert 30000 <= web.port("http").node_port <= 32767 and web.port(80).target_port == 8080
    assert db.headless and db.port(5432).node_port is None
    assert ext.cluster_ip is None and ext.external_name == "db.example.com"
    assert ns.service("nope") is None


def test_pods_carry_labels_and_readiness_offline() -> None:
    from grader.cluster.offline import OfflineCluster

    ns = OfflineCluster().namespace("podlabels")
    ns.apply(f"""
apiVersion: v1
kind: Pod
metadata: {{name: one, labels: {{app: one}}}}
spec:
  containers: [{{name: c, image: {AGNHOST_IMAGE}, args: [pause]}}]
""")
    ns.set_ready("one", False)
    (ref,) = ns.pods()
    assert ref.labels == {"app": "one"} and ref.ready is False


def test_use_nodes_rebuilds_an_empty_model_and_refuses_once_it_holds_a_namespace() -> None:
    """A lab that grades node by node (lab 2) asks the model for two nodes before anything
    is applied; changing the count under objects already placed would be a different cluster."""
    import pytest

    from grader.cluster.offline import OfflineCluster

    cluster = OfflineCluster(say=lambda _: None)
    cluster.use_nodes(2)
    assert list(cluster.node_addresses()) == ["svclab-control-plane", "svclab-worker"]
    cluster.namespace("placed")
    with pytest.raises(RuntimeError, match="placed"):
        cluster.use_nodes(3)
