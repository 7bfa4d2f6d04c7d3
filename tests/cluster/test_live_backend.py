"""The live backend against a fake of exactly the kubernetes client calls it makes
(tests/fakes/kube_client.py: every fake method bound to the installed client's signature).

Tests assert on the requests (bodies, selectors, field manager, exec command lines) and on
how responses become Outcomes and errors. The tests at the end run the backend through the
real client (models, validation, serialization, DynamicClient discovery, Watch, stream) with
only the HTTP connection pool and the websocket faked."""
from __future__ import annotations

import functools
import inspect
import json
import re
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.stream.ws_client import WSClient
from kubernetes.watch import Watch

from grader.cluster import live, live_api
from grader.cluster.base import Cluster, Namespace, Status
from grader.kind.images import AGNHOST_IMAGE
from tests.fakes.kube_client import DYNAMIC_REQUEST_PARAMS, NS, FakeApiServer, FakeWS, World, pod


@pytest.fixture
def w() -> World:
    return World()


# ------------------------------------------------------------------ namespace guardrails

def test_implements_the_cluster_api(w: World) -> None:
    assert isinstance(w.cluster, Cluster) and w.cluster.mode == "live"
    assert isinstance(w.ns(), Namespace)


def test_namespace_gets_labels_quota_and_limits_by_server_side_apply(w: World) -> None:
    w.cluster.namespace(NS)
    applies = w.rec.named("server_side_apply")
    kinds = [k["body"]["kind"] for _, k in applies]
    assert kinds == ["Namespace", "ResourceQuota", "LimitRange"]
    for _, kw in applies:
        assert kw["field_manager"] == "svclab" and kw["force_conflicts"] is True
    labels = applies[0][1]["body"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "svclab"
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert "pod-security.kubernetes.io/enforce-version" in labels
    hard = applies[1][1]["body"]["spec"]["hard"]
    assert hard["pods"] == "20" and hard["services"] == "10"
    # volumeClaimTemplates cannot claim unbounded storage
    assert hard["persistentvolumeclaims"] == "5" and hard["requests.storage"] == "5Gi"
    assert applies[1][1]["namespace"] == NS
    limit = applies[2][1]["body"]["spec"]["limits"][0]
    assert limit["type"] == "Container" and limit["default"] and limit["defaultRequest"]


def test_fresh_namespace_replaces_a_leftover_and_waits_until_it_is_gone(w: World) -> None:
    w.core.namespaces[NS] = {"metadata": {"name": NS, "labels": {"app.kubernetes.io/managed-by": "svclab"}}}
    reads = iter([True, True, False])
    real_read = w.core.read_namespace

    def read(name: str) -> dict:
        if next(reads, False):
            return {"metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "svclab"}}}
        return real_read(name)
    w.core.read_namespace = read  # type: ignore[method-assign]
    w.cluster.namespace(NS)
    assert w.rec.named("delete_namespace") == [((NS,), {})]
    assert w.slept == 1.0


def test_refuses_to_take_over_a_namespace_svclab_did_not_create(w: World) -> None:
    w.core.namespaces["default"] = {"metadata": {"name": "default", "labels": {}}}
    with pytest.raises(ValueError, match="svclab did not create it"):
        w.cluster.namespace("default")
    assert w.rec.named("delete_namespace") == [] and w.rec.named("server_side_apply") == []


def test_gc_deletes_only_labelled_namespaces(w: World) -> None:
    w.core.namespaces = {"lab1": {"metadata": {"name": "lab1"}}, "lab2": {"metadata": {"name": "lab2"}}}
    assert w.cluster.gc() == ["lab1", "lab2"]
    assert w.rec.named("list_namespace") == [((), {"label_selector": "app.kubernetes.io/managed-by=svclab"})]
    assert [a[0] for a, _ in w.rec.named("delete_namespace")] == ["lab1", "lab2"]


# ------------------------------------------------------------------ apply

DEPLOY_AND_SERVICE = f"""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: deny}}
spec: {{podSelector: {{}}, policyTypes: [Ingress]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: backend}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: backend}}}}
  template:
    metadata: {{labels: {{app: backend}}}}
    spec:
      containers:
      - name: app
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port=8080]
---
apiVersion: v1
kind: Service
metadata: {{name: backend}}
spec:
  selector: {{app: backend}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


def test_apply_dry_runs_everything_then_applies_in_order_into_the_namespace(w: World) -> None:
    lines = w.ns().apply(DEPLOY_AND_SERVICE)
    applies = w.rec.named("server_side_apply")
    dry = [k["body"]["kind"] for _, k in applies if k.get("dry_run") == "All"]
    real = [k["body"]["kind"] for _, k in applies if "dry_run" not in k]
    assert dry == real == ["Service", "Deployment", "NetworkPolicy"]
    assert all(k["namespace"] == NS and k["body"]["metadata"]["namespace"] == NS for _, k in applies)
    assert all(k["field_manager"] == "svclab" and k["force_conflicts"] is True for _, k in applies)
    assert lines == ["service/backend created", "deployment.apps/backend created",
                     "networkpolicy.networking.k8s.io/deny created"]
    # re-applying the same text is "unchanged", although the fake bumps resourceVersion (as a
    # controller's status update between our read and our apply does on a real cluster)
    assert w.ns().apply(DEPLOY_AND_SERVICE)[0] == "service/backend unchanged"
    changed = DEPLOY_AND_SERVICE.replace("targetPort: 8080", "targetPort: 8081")
    assert w.ns().apply(changed)[0] == "service/backend configured"


def test_sandbox_refusal_happens_before_any_request(w: World) -> None:
    from grader.manifests import ManifestError

    host_net = DEPLOY_AND_SERVICE.replace("    spec:\n      containers:", "    spec:\n      hostNetwork: true\n      containers:")
    with pytest.raises(ManifestError):
        w.ns().apply(host_net)
    assert w.rec.calls == []


SELECTORLESS_AND_SLICE = """
apiVersion: v1
kind: Service
metadata: {name: inv}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: inv-1
  labels: {kubernetes.io/service-name: inv}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: ["%s"]}]
"""


def test_a_slice_is_checked_against_the_namespaces_pods_as_listed_before_any_write(w: World) -> None:
    from grader.manifests import ManifestError

    w.core.pods = [pod("inventory-a", "10.244.1.5")]
    ns = w.ns()
    with pytest.raises(ManifestError, match="may not be created in a lab"):
        ns.apply(SELECTORLESS_AND_SLICE % "10.244.1.5")          # this namespace did not opt in
    ns.admits_endpoint_slices = True
    with pytest.raises(ManifestError, match="'10.96.0.1' is not the IP of a pod in namespace"):
        ns.apply(SELECTORLESS_AND_SLICE % "10.96.0.1")
    assert w.rec.named("server_side_apply") == []
    assert w.rec.named("list_namespaced_pod")                    # read from the cluster, at apply time
    ns.apply(SELECTORLESS_AND_SLICE % "10.244.1.5")
    real = [k["body"]["kind"] for _, k in w.rec.named("server_side_apply") if "dry_run" not in k]
    assert real == ["Service", "EndpointSlice"]


def test_api_server_rejection_in_the_dry_run_applies_nothing(w: World) -> None:
    from grader.manifests import ManifestError

    w.dynamic.reject["backend"] = "nope"
    with pytest.raises(ManifestError, match="API server refused"):
        w.ns().apply(DEPLOY_AND_SERVICE)
    assert all(k.get("dry_run") == "All" for _, k in w.rec.named("server_side_apply"))


def test_ssa_content_type_is_set_by_the_dynamic_client() -> None:
    """The real DynamicClient.server_side_apply forces application/apply-patch+yaml."""
    from kubernetes.dynamic import DynamicClient

    sent: dict[str, Any] = {}

    class Client(DynamicClient):
        def __init__(self) -> None:  # no discovery
            pass

        def request(self, method: str, path: str, body: Any = None, **params: Any) -> None:
            sent.update(method=method, path=path, body=body, **params)

    class Res:
        namespaced = True

        def path(self, name: str | None = None, namespace: str | None = None) -> str:
            return f"/api/v1/namespaces/{namespace}/services/{name}"

    class R:
        def get(self, **kw: Any) -> Res:
            return Res()

    dyn = Client()
    api = live_api.LiveApi(ApiClient(), core=object(), apps=object(), discovery=object(), version=object(),
                    dynamic=dyn, stream=lambda *a, **k: None, watch_factory=object)
    type(dyn).resources = property(lambda self: R())  # type: ignore[assignment]
    api.server_side_apply({"apiVersion": "v1", "kind": "Service",
                           "metadata": {"name": "backend", "namespace": NS}})
    assert sent["method"] == "patch" and sent["content_type"] == "application/apply-patch+yaml"
    assert sent["field_manager"] == "svclab" and sent["force_conflicts"] is True


# ------------------------------------------------------------------ wait_ready

def test_wait_ready_returns_when_all_ready(w: World) -> None:
    w.core.pods = [pod("backend-1", "10.244.0.5")]
    w.apps.deployments = [{"metadata": {"name": "backend", "generation": 1}, "spec": {"replicas": 1},
                           "status": {"readyReplicas": 1, "updatedReplicas": 1, "observedGeneration": 1}}]
    w.ns().wait_ready(timeout=30)
    assert w.rec.named("watch") == []


def test_wait_ready_timeout_names_the_image_pull_backoff_pod(w: World) -> None:
    w.core.pods = [pod("backend-1", "10.244.0.5"),
                   pod("backend-2", "", ready=False, waiting="ImagePullBackOff", image="agnhost:lates"),
                   pod("big-0", "", ready=False, scheduled=("Unschedulable", "0/1 nodes are available: 1 Insufficient cpu."))]
    w.apps.deployments = [{"metadata": {"name": "backend", "generation": 1}, "spec": {"replicas": 2},
                           "status": {"readyReplicas": 1, "updatedReplicas": 2, "observedGeneration": 1}}]
    with pytest.raises(TimeoutError) as err:
        w.ns().wait_ready(timeout=10)
    msg = str(err.value)
    assert "pod/backend-2: container app: ImagePullBackOff" in msg and "image name and tag" in msg
    assert "pod/big-0: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu." in msg
    assert "deployment/backend: 1/2 ready" in msg
    assert "backend-1" not in msg.replace("backend-1 ", "")  # the ready pod is not blamed
    watches = w.rec.named("watch")
    assert watches and all(a[:2] == ("list_namespaced_pod", NS) for a, _ in watches)
    assert all(k["resource_version"] == "41" and k["timeout_seconds"] >= 1 for _, k in watches)


def _running_unready(name: str, labels: dict[str, str]) -> dict[str, Any]:
    """A pod kept out of rotation by a failing readiness probe: Running, not Ready."""
    p = pod(name, "10.244.0.9", labels, ready=False)
    p["status"]["phase"] = "Running"
    p["status"]["containerStatuses"] = [{"name": "app", "ready": False,
                                        "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]
    return p


def test_wait_ready_lets_selected_pods_stay_unready_once_they_run(w: World) -> None:
    w.core.pods = [pod("web-1", "10.244.0.5", {"app": "web"}), _running_unready("next-1", {"app": "next"})]
    w.apps.deployments = [{"metadata": {"name": "next", "generation": 1},
                           "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "next"}}}},
                           "status": {"readyReplicas": 0, "updatedReplicas": 1, "observedGeneration": 1}}]
    w.ns().wait_ready(timeout=5, unready="app=next")          # returns: the pod runs
    with pytest.raises(TimeoutError, match="pod/next-1: container app is running but its readiness probe"):
        w.ns().wait_ready(timeout=1)
    with pytest.raises(TimeoutError, match="pod/next-1"):      # another selector excuses nothing here
        w.ns().wait_ready(timeout=1, unready="app=web")


def test_wait_ready_excuses_a_workload_only_with_its_pods_in_view(w: World,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A Deployment created a moment ago: its ReplicaSet creates the pod while wait_ready
    lists, and the Deployment's status counts it. The pod list must be taken after the
    workload list, so the Pending pod is seen and waited for, not skipped."""
    pending = pod("db-broken-1", "", {"app": "db"}, ready=False)
    pending["status"] = {"phase": "Pending", "conditions": []}
    w.apps.deployments = [{"metadata": {"name": "db-broken", "generation": 1},
                           "spec": {"replicas": 1, "template": {"metadata": {"labels": {"app": "db"}}}},
                           "status": {"replicas": 1, "updatedReplicas": 1, "observedGeneration": 1}}]
    listed = w.apps.list_namespaced_deployment

    def list_then_create(namespace: str) -> dict:      # the pod appears as the workloads are listed
        if pending not in w.core.pods:
            w.core.pods.append(pending)
        return listed(namespace)
    monkeypatch.setattr(w.apps, "list_namespaced_deployment", list_then_create)
    with pytest.raises(TimeoutError, match="pod/db-broken-1"):
        w.ns().wait_ready(timeout=1, unready="app=db")


def test_wait_ready_waits_for_old_replicas_of_a_rollout_to_go(w: World) -> None:
    """As `kubectl rollout status`: updated and ready replicas are not enough while old pods
    still run beside them (they answer with the old template's environment)."""
    w.core.pods = [pod("api-new-1", "10.244.0.5"), pod("api-new-2", "10.244.0.6"), pod("api-old-1", "10.244.0.7")]
    w.apps.deployments = [{"metadata": {"name": "api", "generation": 2}, "spec": {"replicas": 2},
                           "status": {"readyReplicas": 3, "updatedReplicas": 2, "replicas": 3,
                                      "observedGeneration": 2}}]
    with pytest.raises(TimeoutError, match="deployment/api: 3/2 ready"):
        w.ns().wait_ready(timeout=1)
    w.apps.deployments[0]["status"]["replicas"] = 2
    w.ns().wait_ready(timeout=1)


def test_env_execs_env_in_the_pod_and_parses_every_variable(w: World) -> None:
    w.core.pods = [pod("api-1", "10.244.0.5", {"app": "api"})]
    w.stream.replies["env"] = FakeWS(0, "PATH=/bin\nDB_HOST=db\nURL=a=b\n", "")
    assert w.ns().env("app=api") == {"PATH": "/bin", "DB_HOST": "db", "URL": "a=b"}
    (args, kw), = w.rec.named("exec")
    assert args == ("connect_get_namespaced_pod_exec", "api-1", NS) and kw["command"] == ["env"]


# ------------------------------------------------------------------ observations

def test_endpoints_from_endpoint_slices(w: World) -> None:
    w.discovery.slices["backend"] = [{
        "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": ["10.244.0.6"], "conditions": {"ready": False, "serving": False, "terminating": True},
             "targetRef": {"kind": "Pod", "name": "backend-2", "namespace": NS}},
            {"addresses": ["10.244.0.5"], "conditions": {"ready": True}, "nodeName": "svclab-worker",
             "targetRef": {"kind": "Pod", "name": "backend-1", "namespace": NS}},
            {"addresses": ["192.0.2.10"], "conditions": {}},
        ]}]
    eps = w.ns().endpoints("backend")
    assert w.rec.named("list_namespaced_endpoint_slice") == [
        ((NS,), {"label_selector": "kubernetes.io/service-name=backend"})]
    assert [(e.ip, e.port, e.port_name, e.pod, e.ready, e.terminating) for e in eps] == [
        ("10.244.0.5", 8080, "http", f"{NS}/backend-1", True, False),
        ("10.244.0.6", 8080, "http", f"{NS}/backend-2", False, True),
        ("192.0.2.10", 8080, "http", None, True, False),
    ]
    # the slice's nodeName, where it has one (checks judge traffic node by node with it)
    assert [e.node for e in eps] == ["svclab-worker", None, None]


DIG_OK = """;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1
;; QUESTION SECTION:
;backend.lab1.svc.cluster.local. IN A

;; ANSWER SECTION:
backend.lab1.svc.cluster.local. 30 IN A 10.96.7.7
"""


def test_lookup_execs_dig_in_the_first_ready_matching_pod(w: World) -> None:
    w.core.pods = [pod("front-b", "10.244.0.8", {"app": "front"}),
                   pod("front-a", "10.244.0.7", {"app": "front"}, ready=False),
                   pod("front-c", "10.244.0.9", {"app": "front"})]
    w.stream.replies["dig"] = FakeWS(0, DIG_OK, "")
    ans = w.ns().lookup("backend", frm="app=front")
    assert ans.addresses == ["10.96.7.7"] and ans.name == "backend.lab1.svc.cluster.local"
    (args, kw), = w.rec.named("exec")
    assert args == ("connect_get_namespaced_pod_exec", "front-b", NS)
    assert kw["command"] == ["dig", "+search", "+time=2", "+tries=2", "-t", "A", "-q", "backend"]
    assert kw["stdin"] is False and kw["tty"] is False and kw["stdout"] is True and kw["stderr"] is True
    assert kw["_preload_content"] is False
    assert ("list_namespaced_pod", (NS,), {"label_selector": "app=front"}) in w.rec.calls


def test_lookup_from_nowhere_says_which_selector_matched_nothing(w: World) -> None:
    with pytest.raises(LookupError, match="app=ghost"):
        w.ns().lookup("backend", frm="app=ghost")


@pytest.mark.parametrize("rc, stderr, status", [
    (0, "", Status.OK), (1, "TIMEOUT\n", Status.TIMEOUT), (1, "REFUSED\n", Status.REFUSED),
    (1, "DNS: lookup nope on 10.96.0.10:53: no such host\n", Status.DNS_ERROR),
])
def test_probe_tcp_runs_agnhost_connect(w: World, rc: int, stderr: str, status: Status) -> None:
    w.core.pods = [pod("client", "10.244.0.3", {"app": "client"})]
    w.core.services["backend"] = {"metadata": {"name": "backend"}, "spec": {
        "clusterIP": "10.96.7.7", "ports": [{"port": 80, "protocol": "TCP"}]}}
    w.discovery.slices["backend"] = [{"addressType": "IPv4", "ports": [{"port": 8080}],
                                      "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}}]}]
    w.stream.replies["/agnhost"] = FakeWS(rc, "", stderr)
    out = w.ns().probe("backend:80", frm="app=client", timeout=1)
    assert out.status is status and out.target == "backend:80"
    assert out.ip == (None if status is Status.DNS_ERROR else "10.96.7.7")
    calls = w.rec.named("exec")
    assert [kw["command"] for _, kw in calls] == \
        [["/agnhost", "connect", "--timeout=1s", "--protocol=tcp", "backend:80"]] * len(calls)
    # only a refusal from a Service with ready endpoints is asked again (kube-proxy may lag)
    assert len(calls) == 1 or status is Status.REFUSED


def _stamp(seconds_ago: float) -> str:
    """An RFC 3339 time as the API server writes it, `seconds_ago` before now."""
    import datetime
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ready_backend(w: World, *, slice_changed_ago: float) -> None:
    """Service backend with one ready endpoint, whose slice the controller last changed
    `slice_changed_ago` seconds ago; the Service itself is an hour old."""
    w.core.pods = [pod("client", "10.244.0.3", {"app": "client"})]
    w.core.services["backend"] = {"metadata": {"name": "backend", "creationTimestamp": _stamp(3600)},
                                  "spec": {"clusterIP": "10.96.7.7", "ports": [{"port": 80, "protocol": "TCP"}]}}
    w.discovery.slices["backend"] = [{
        "metadata": {"annotations": {"endpoints.kubernetes.io/last-change-trigger-time": _stamp(slice_changed_ago)},
                     "creationTimestamp": _stamp(3600)},
        "addressType": "IPv4", "ports": [{"port": 8080}],
        "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}}]}]


def test_a_refusal_while_kube_proxy_catches_up_is_asked_again(w: World) -> None:
    _ready_backend(w, slice_changed_ago=0.5)      # an endpoint just turned ready
    answers = iter([FakeWS(1, "", "REFUSED\n"), FakeWS(1, "", "REFUSED\n"), FakeWS(0, "", "")])
    w.stream.replies["/agnhost"] = lambda command: next(answers)
    assert w.ns().probe("backend:80", frm="app=client").status is Status.OK
    assert len(w.rec.named("exec")) == 3 and w.slept == 1.0


def test_a_refusal_long_after_the_last_change_is_the_answer(w: World) -> None:
    """A Ready pod that does not listen on the targetPort refuses one request in three; once
    kube-proxy has had its moment, asking again until another pod answers would hide it."""
    _ready_backend(w, slice_changed_ago=60)
    answers = iter([FakeWS(1, "", "REFUSED\n"), FakeWS(0, "", "")])
    w.stream.replies["/agnhost"] = lambda command: next(answers)
    assert w.ns().probe("backend:80", frm="app=client").status is Status.REFUSED
    assert len(w.rec.named("exec")) == 1 and w.slept == 0.0
    # a Service someone changed a moment ago (its managedFields) is waited for again
    w.core.services["backend"]["metadata"]["managedFields"] = [{"manager": "kubectl-patch", "time": _stamp(0)}]
    w.rec.calls.clear()
    answers = iter([FakeWS(1, "", "REFUSED\n"), FakeWS(0, "", "")])
    assert w.ns().probe("backend:80", frm="app=client").status is Status.OK


def test_an_answer_from_a_terminating_pod_is_asked_again_while_others_are_ready(w: World) -> None:
    """After a rollout kube-proxy may send a request to an old pod for a moment; offline the
    old pod is gone at once. A terminating pod is asked past only while a ready one exists."""
    _ready_backend(w, slice_changed_ago=60)
    old = pod("backend-old", "10.244.0.9", {"app": "backend"})
    old["metadata"]["deletionTimestamp"] = _stamp(1)
    w.core.pods += [old, pod("backend-new", "10.244.0.5", {"app": "backend"})]
    from grader.cluster.exec_parsing import CURL_MARK
    answers = iter(["backend-old", "backend-old", "backend-new"])
    w.stream.replies["curl"] = lambda command: FakeWS(0, f"{next(answers)}\n{CURL_MARK} 200 10.96.7.7", "")
    out = w.ns().probe("backend:80/hostname", frm="app=client")
    assert out.ok and out.pod == f"{NS}/backend-new"
    assert len(w.rec.named("exec")) == 3
    # with no ready endpoint left, a terminating pod serving is the Service's answer
    w.discovery.slices["backend"][0]["endpoints"][0]["conditions"] = {"ready": False, "serving": True,
                                                                      "terminating": True}
    w.rec.calls.clear()
    w.stream.replies["curl"] = FakeWS(0, f"backend-old\n{CURL_MARK} 200 10.96.7.7", "")
    assert w.ns().probe("backend:80/hostname", frm="app=client").pod == f"{NS}/backend-old"
    assert len(w.rec.named("exec")) == 1


def test_refused_on_a_service_without_ready_endpoints_is_no_endpoints(w: World) -> None:
    w.core.pods = [pod("client", "10.244.0.3", {"app": "client"})]
    w.core.services["backend"] = {"metadata": {"name": "backend"}, "spec": {
        "clusterIP": "10.96.7.7", "ports": [{"port": 80, "protocol": "TCP"}]}}
    w.discovery.slices["backend"] = [{"addressType": "IPv4", "ports": [{"port": 8080}],
                                      "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": False}}]}]
    w.stream.replies["/agnhost"] = FakeWS(1, "", "REFUSED\n")
    out = w.ns().probe("backend:80", frm="app=client")
    assert out.status is Status.NO_ENDPOINTS and "no ready endpoints" in out.reason
    # a refused pod IP stays REFUSED
    assert w.ns().probe("10.244.0.5:81", frm="app=client").status is Status.REFUSED


def test_a_refused_service_probe_reads_the_service_once(w: World) -> None:
    w.core.pods = [pod("client", "10.244.0.3", {"app": "client"})]
    w.core.services["backend"] = {"metadata": {"name": "backend"}, "spec": {
        "clusterIP": "10.96.7.7", "ports": [{"port": 80, "protocol": "TCP"}]}}
    w.discovery.slices["backend"] = [{"addressType": "IPv4", "ports": [{"port": 8080}],
                                      "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}}]}]
    w.stream.replies["/agnhost"] = FakeWS(1, "", "REFUSED\n")
    out = w.ns().probe("backend:80", frm="app=client")
    assert out.status is Status.REFUSED and out.ip == "10.96.7.7"
    assert w.rec.named("read_namespaced_service") == [(("backend", NS), {})]
    # without ready endpoints: still one read, and the ClusterIP still comes back
    w.rec.calls.clear()
    w.discovery.slices["backend"][0]["endpoints"][0]["conditions"]["ready"] = False
    out = w.ns().probe("backend.lab1.svc.cluster.local:80", frm="app=client")
    assert out.status is Status.NO_ENDPOINTS and out.ip == "10.96.7.7"
    assert w.rec.named("read_namespaced_service") == [(("backend", NS), {})]
    # a Service another namespace names: read there, once (the fake ignores namespaces)
    w.rec.calls.clear()
    w.ns().probe("backend.other:80", frm="app=client")
    assert w.rec.named("read_namespaced_service") == [(("backend", "other"), {})]
    assert {a for a, _ in w.rec.named("list_namespaced_endpoint_slice")} == {("other",)}
    # a name that is no Service name, or an IP: no read at all
    w.rec.calls.clear()
    assert w.ns().probe("web.example.com:80", frm="app=client").status is Status.REFUSED
    assert w.ns().probe("10.96.7.7:80", frm="app=client").status is Status.NO_ENDPOINTS
    assert w.rec.named("read_namespaced_service") == []


def test_refused_on_a_dual_stack_service_ip_is_no_endpoints(w: World) -> None:
    """A ClusterIP probe finds its Service through clusterIPs (either family), or clusterIP."""
    w.core.pods = [pod("client", "10.244.0.3", {"app": "client"})]
    w.core.services["backend"] = {"metadata": {"name": "backend"}, "spec": {
        "clusterIP": "10.96.7.7", "clusterIPs": ["10.96.7.7", "fd00:10:96::7"],
        "ports": [{"port": 80, "protocol": "TCP"}]}}
    w.core.services["legacy"] = {"metadata": {"name": "legacy"}, "spec": {
        "clusterIP": "10.96.8.8", "ports": [{"port": 80, "protocol": "TCP"}]}}
    w.stream.replies["/agnhost"] = FakeWS(1, "", "REFUSED\n")
    for target, name in (("[fd00:10:96::7]:80", "backend"), ("10.96.7.7:80", "backend"),
                         ("10.96.8.8:80", "legacy")):
        out = w.ns().probe(target, frm="app=client")
        assert out.status is Status.NO_ENDPOINTS and f"Service {name} " in out.reason
    assert w.ns().probe("10.96.9.9:80", frm="app=client").status is Status.REFUSED
    assert w.rec.named("read_namespaced_service") == []


def test_http_probe_uses_curl_and_reports_the_pod_that_answered(w: World) -> None:
    w.core.pods = [pod("client", "10.244.0.3", {"app": "client"})]
    from grader.cluster.exec_parsing import CURL_MARK
    w.stream.replies["curl"] = FakeWS(0, f"backend-7d9f-x2\n{CURL_MARK} 200 10.96.7.7", "")
    out = w.ns().probe("backend:80/hostname", frm="client")
    assert out.ok and out.pod == f"{NS}/backend-7d9f-x2" and out.ip == "10.96.7.7"
    assert out.body == "backend-7d9f-x2"
    (_, kw), = w.rec.named("exec")
    assert kw["command"][0] == "curl" and kw["command"][-1] == "http://backend:80/hostname"
    other = w.ns().probe("web.shop:80/hostname", frm="client")
    assert other.pod == "shop/backend-7d9f-x2"


def test_exec_failure_of_a_missing_binary_is_reported_with_the_course_image(w: World) -> None:
    from grader.cluster.exec_parsing import ProbeToolMissing

    w.core.pods = [pod("client", "10.244.0.3", {"app": "client"}, image="nginx:1.27")]
    w.stream.replies["/agnhost"] = FakeWS(1, "", "", status=json.dumps({
        "status": "Failure", "reason": "InternalError",
        "message": 'exec: "/agnhost": stat /agnhost: no such file or directory: unknown'}))
    with pytest.raises(ProbeToolMissing, match="agnhost:2"):
        w.ns().probe("backend:80", frm="app=client")


def test_matrix_probes_every_ordered_pair_by_pod_ip(w: World) -> None:
    w.core.pods = [pod("a", "10.244.0.5"), pod("b", "10.244.0.6")]

    def reply(cmd: list[str]) -> FakeWS:
        return FakeWS(1, "", "TIMEOUT\n") if cmd[-1] == "10.244.0.6:80" else FakeWS(0, "", "")
    w.stream.replies["/agnhost"] = reply
    m = w.ns().matrix(ports=[80])
    assert [p.key for p in m.pods] == [f"{NS}/a", f"{NS}/b"]
    assert len(m.results) == 4
    assert m.lookup(f"{NS}/a", f"{NS}/b", 80).allowed is False
    assert m.lookup(f"{NS}/b", f"{NS}/a", 80).allowed is True
    targets = sorted((a[1], k["command"][-1]) for a, k in w.rec.named("exec"))
    assert targets == [("a", "10.244.0.5:80"), ("a", "10.244.0.6:80"),
                       ("b", "10.244.0.5:80"), ("b", "10.244.0.6:80")]


def test_matrix_reuses_the_listed_pods_and_reads_none(w: World) -> None:
    """The probe container comes from the pod list: no read_namespaced_pod per pod."""
    sidecar = pod("b", "10.244.0.6")
    sidecar["spec"]["containers"] = [{"name": "proxy", "image": "envoyproxy/envoy:v1.31"},
                                     {"name": "probe", "image": AGNHOST_IMAGE}]
    w.core.pods = [pod("a", "10.244.0.5"), sidecar, pod("c", "", ready=False)]
    w.stream.replies["/agnhost"] = FakeWS(0, "", "")
    m = w.ns().matrix(ports=[80, 81])
    assert [p.key for p in m.pods] == [f"{NS}/a", f"{NS}/b"] and len(m.results) == 8
    names = [n for n, _, _ in w.rec.calls]
    assert names.count("list_namespaced_pod") == 1 and "read_namespaced_pod" not in names
    containers = {(a[1], k.get("container")) for a, k in w.rec.named("exec")}
    assert containers == {("a", None), ("b", "probe")}


def test_probe_external_refused_needs_no_cluster(w: World) -> None:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    out = w.cluster.probe_external(port, timeout=1)
    assert out.status is Status.REFUSED and out.target == f"127.0.0.1:{port}"
    assert w.rec.calls == []


def test_probe_external_asks_again_while_kube_proxy_opens_the_node_port(w: World) -> None:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    opened = []

    def sleep(seconds: float) -> None:      # the port opens during the first wait
        w.clock.now += seconds
        if not opened:
            s.listen(1)
            opened.append(seconds)

    w.cluster._sleep = sleep
    try:
        assert w.cluster.probe_external(port, timeout=1).status is Status.OK
    finally:
        s.close()
    assert opened == [0.5]


def test_probe_external_http_ok(w: World) -> None:
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"backend-1")

        def log_message(self, *a: Any) -> None:
            pass
    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.handle_request)
    t.start()
    try:
        out = w.cluster.probe_external(srv.server_port, path="/hostname", timeout=2)
    finally:
        t.join(5)
        srv.server_close()
    assert out.ok and out.body == "backend-1" and out.reason == "HTTP 200"


@pytest.mark.parametrize("kind, expected", [
    ("configmap", ("v1", "ConfigMap")), ("Service", ("v1", "Service")), ("POD", ("v1", "Pod")),
    ("deployment", ("apps/v1", "Deployment")), ("StatefulSet", ("apps/v1", "StatefulSet")),
    ("networkpolicy", ("networking.k8s.io/v1", "NetworkPolicy")),
    ("Ingress", ("networking.k8s.io/v1", "Ingress")),
])
def test_delete_names_each_known_kind_as_the_api_spells_it(w: World, kind: str, expected: tuple) -> None:
    w.ns().delete(kind, "x")
    (args, kw), = w.rec.named("delete")
    assert args == (expected,) and kw == {"name": "x", "namespace": NS}


def test_delete_of_an_unknown_kind_lists_the_known_ones(w: World) -> None:
    with pytest.raises(ValueError, match="cannot delete kind 'Secret'; known: configmap, deployment, endpointslice, "
                                         "gateway, httproute, ingress, networkpolicy, pod, referencegrant, "
                                         "service, statefulset"):
        w.ns().delete("Secret", "x")
    assert w.rec.calls == []


def test_not_found_means_absent_and_other_errors_raise(w: World) -> None:
    api = w.cluster._api
    assert api.read_namespace("nope") is None and api.read_pod(NS, "nope") is None
    assert api.read_service(NS, "nope") is None
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nope", "namespace": NS}}
    assert api.get_object(obj) is None
    assert api.delete_object(obj) is True
    calls = {"n": 0}

    def delete(resource: tuple, name: str, namespace: str | None = None) -> None:
        calls["n"] += 1
        raise ApiException(status=404 if calls["n"] == 1 else 403, reason="x")
    w.dynamic.delete = delete  # type: ignore[method-assign]
    assert api.delete_object(obj) is False
    with pytest.raises(ApiException) as err:
        api.delete_object(obj)
    assert err.value.status == 403

    def forbidden(*a: Any, **k: Any) -> None:
        raise ApiException(status=403, reason="Forbidden")
    w.core.read_namespaced_service = forbidden  # type: ignore[method-assign]
    with pytest.raises(ApiException) as err:
        api.read_service(NS, "backend")
    assert err.value.status == 403


def test_delete_one_object_or_the_namespace(w: World) -> None:
    w.ns().delete("Service", "backend")
    (args, kw), = w.rec.named("delete")
    assert args == (("v1", "Service"),) and kw == {"name": "backend", "namespace": NS}
    w.ns().delete()
    assert w.rec.named("delete_namespace") == [((NS,), {})]
    with pytest.raises(ValueError):
        w.ns().delete("Service")


# ------------------------------------------------------------------ against the real client

def test_fakes_refuse_what_the_real_client_refuses(w: World) -> None:
    """The fakes are only worth something if a wrong call fails on them."""
    with pytest.raises(TypeError, match="labelSelector"):
        w.core.list_namespaced_pod(NS, labelSelector="app=x")
    with pytest.raises(TypeError, match="list_node"):
        w.core.list_node("extra-positional")
    with pytest.raises(TypeError, match="fieldManager"):
        w.dynamic.server_side_apply(("v1", "Service"), body={}, name="x", namespace=NS, fieldManager="svclab")
    with pytest.raises(TypeError, match="dryRun"):
        w.dynamic.server_side_apply(("v1", "Service"), body={}, name="x", namespace=NS, dryRun="All")
    with pytest.raises(TypeError):
        FakeWS(0, "", "").read_channel()
    with pytest.raises(TypeError, match="timeoutSeconds"):
        w.watch.stream(w.core.list_namespaced_pod, NS, timeoutSeconds=1)
    with pytest.raises(TypeError, match="cmd"):
        w.stream(w.core.connect_get_namespaced_pod_exec, "p", NS, cmd=["ls"])


#: Every client method the live backend calls, with the keywords it passes (grader/cluster/live_api.py `LiveApi`).
#: A client upgrade that renames or drops one fails here, in CI, not in a classroom.
CLIENT_SURFACE: list[tuple[Any, tuple[str, ...]]] = [
    (k8s.VersionApi.get_code, ("_request_timeout",)),
    (k8s.CoreV1Api.read_namespace, ("name",)),
    (k8s.CoreV1Api.list_namespace, ("label_selector",)),
    (k8s.CoreV1Api.delete_namespace, ("name",)),
    (k8s.CoreV1Api.list_namespaced_pod, ("namespace", "label_selector", "field_selector",
                                         "timeout_seconds", "resource_version", "watch",
                                         "_preload_content", "_request_timeout")),
    (k8s.CoreV1Api.read_namespaced_pod, ("name", "namespace")),
    (k8s.CoreV1Api.read_namespaced_service, ("name", "namespace")),
    (k8s.CoreV1Api.list_namespaced_service, ("namespace",)),
    (k8s.CoreV1Api.list_node, ()),
    (k8s.CoreV1Api.connect_get_namespaced_pod_exec, ("name", "namespace", "command", "container",
                                                     "stderr", "stdin", "stdout", "tty",
                                                     "_preload_content")),
    (k8s.AppsV1Api.list_namespaced_deployment, ("namespace",)),
    (k8s.AppsV1Api.list_namespaced_stateful_set, ("namespace",)),
    (k8s.DiscoveryV1Api.list_namespaced_endpoint_slice, ("namespace", "label_selector")),
    (DynamicClient.get, ("resource", "name", "namespace")),
    (DynamicClient.delete, ("resource", "name", "namespace")),
    (DynamicClient.server_side_apply, ("resource", "body", "name", "namespace", "force_conflicts")),
    (WSClient.run_forever, ("timeout",)),
    (WSClient.read_stdout, ("timeout",)),
    (WSClient.read_stderr, ("timeout",)),
    (WSClient.read_channel, ("channel", "timeout")),
    (WSClient.is_open, ()),
    (WSClient.close, ()),
    (Watch.stream, ("func",)),
    (Watch.stop, ()),
]


@pytest.mark.parametrize("method, keywords", CLIENT_SURFACE, ids=lambda v: getattr(v, "__qualname__", ""))
def test_the_installed_client_has_every_method_and_keyword_the_backend_uses(method: Any, keywords: tuple[str, ...]) -> None:
    params = inspect.signature(method).parameters
    missing = [k for k in keywords if k not in params]
    assert not missing, f"{method.__qualname__} no longer takes {missing}"


def test_dynamic_client_request_still_reads_the_keywords_we_pass() -> None:
    """server_side_apply passes these through **kwargs to request(), which ignores unknown names."""
    assert {"field_manager", "force_conflicts", "dry_run", "content_type"} <= DYNAMIC_REQUEST_PARAMS


def test_config_stream_and_exception_surface() -> None:
    from kubernetes import config as k8s_config
    from kubernetes.stream import stream, ws_client

    assert {"config_file", "context"} <= set(inspect.signature(k8s_config.new_client_from_config).parameters)
    assert callable(stream) and ws_client.ERROR_CHANNEL == live_api.ERROR_CHANNEL == 3
    exc = ApiException(status=404, reason="Not Found")
    assert (exc.status, exc.reason, exc.body) == (404, "Not Found", None)
    from kubernetes.dynamic.exceptions import NotFoundError
    assert issubclass(NotFoundError, ApiException)  # DynamicClient raises these; we catch ApiException


@pytest.mark.parametrize("status, expected", [
    ("", 0),
    (json.dumps({"status": "Success"}), 0),
    (json.dumps({"status": "Failure", "reason": "NonZeroExitCode",
                 "message": "command terminated with non-zero exit code: exit status 9",
                 "details": {"causes": [{"reason": "ExitCode", "message": "9"}]}}), 9),
    (json.dumps({"status": "Failure", "reason": "InternalError", "message":
                 'Internal error occurred: error executing command in container: failed to exec in '
                 'container: failed to start exec "abc": OCI runtime exec failed: exec failed: unable '
                 'to start container process: exec: "dig": executable file not found in $PATH: unknown'}), 127),
])
def test_exec_status_channel(status: str, expected: int) -> None:
    assert live_api._with_status(status, "out", "err").rc == expected


def test_exec_failure_that_is_not_a_missing_tool_raises_with_the_server_message() -> None:
    status = json.dumps({"status": "Failure", "reason": "InternalError",
                         "message": "container not found (\"app\")"})
    with pytest.raises(RuntimeError, match=r"container not found.*"):
        live_api._with_status(status, "", "", "lab1/client", ["dig"])


def test_guardrail_objects_are_valid_api_objects() -> None:
    """The exact dicts namespace() applies, against the Kubernetes JSON schemas (strict: no
    unknown fields) of the version grader.schema pins, plus the API server's own rules."""
    import jsonschema
    from referencing import Registry, Resource

    from grader import schema

    objs = {o["kind"]: o for o in live.guardrail_objects("lab1")}
    assert schema.schema_issues(objs["Namespace"]) == []
    for kind, stem in (("ResourceQuota", "resourcequota-v1"), ("LimitRange", "limitrange-v1")):
        doc = schema._schema_file(stem)
        defs = schema._definitions()
        registry = Registry().with_resources([(doc["$id"], Resource.from_contents(doc)),
                                              (defs.id(), defs)]).crawl()
        errors = list(jsonschema.Draft202012Validator(doc, registry=registry).iter_errors(objs[kind]))
        assert errors == [], f"{kind}: {[e.message for e in errors]}"
    labels = objs["Namespace"]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] in ("privileged", "baseline", "restricted")
    assert re.fullmatch(r"latest|v1\.\d+", labels["pod-security.kubernetes.io/enforce-version"])
    # ResourceQuota: only standard resource names (core/v1 ResourceName + object counts)
    standard = {"pods", "services", "services.nodeports", "services.loadbalancers", "configmaps",
                "secrets", "persistentvolumeclaims", "replicationcontrollers", "resourcequotas",
                "requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "cpu", "memory",
                "requests.storage", "requests.ephemeral-storage", "limits.ephemeral-storage"}
    assert set(objs["ResourceQuota"]["spec"]["hard"]) <= standard
    # PersistentVolumeClaims (a StatefulSet's volumeClaimTemplates) are bounded in count and size
    assert {"persistentvolumeclaims", "requests.storage"} <= set(objs["ResourceQuota"]["spec"]["hard"])
    # LimitRange validation (pkg/apis/core/validation): defaultRequest <= default <= max
    from decimal import Decimal

    def qty(text: str) -> Decimal:
        units = {"m": Decimal("0.001"), "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30}
        for suffix, factor in units.items():
            if text.endswith(suffix):
                return Decimal(text[: -len(suffix)]) * factor
        return Decimal(text)
    hard = objs["ResourceQuota"]["spec"]["hard"]
    assert int(hard["persistentvolumeclaims"]) > 0
    assert 0 < qty(hard["requests.storage"]) <= qty("10Gi")
    (limit,) = objs["LimitRange"]["spec"]["limits"]
    for res in ("cpu", "memory"):
        assert qty(limit["defaultRequest"][res]) <= qty(limit["default"][res]) <= qty(limit["max"][res])
    # each object is namespaced into the sandbox namespace
    assert objs["ResourceQuota"]["metadata"]["namespace"] == objs["LimitRange"]["metadata"]["namespace"] == "lab1"


# The backend through the real client: only urllib3's pool manager and the websocket are fake.

@pytest.fixture
def stack(tmp_path: Any) -> tuple[live.LiveCluster, FakeApiServer, list[dict]]:
    import sys
    import urllib.parse

    import kubernetes.stream  # noqa: F401  (loads the module the partial below reaches into)

    server = FakeApiServer()
    configuration = k8s.Configuration(host="https://svclab.test:6443")
    api_client = ApiClient(configuration=configuration)
    api_client.rest_client.pool_manager = server
    websockets: list[dict] = []

    def websocket_call(cfg: Any, method: str, url: str, **kwargs: Any) -> FakeWS:
        parts = urllib.parse.urlsplit(url)
        websockets.append({"cfg": cfg, "method": method, "path": parts.path,
                           "query": urllib.parse.parse_qs(parts.query), **kwargs})
        return FakeWS(0, DIG_OK, "")

    stream_module = sys.modules["kubernetes.stream.stream"]
    stream = functools.partial(stream_module._websocket_request, websocket_call, None)
    dyn = DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))
    api = live_api.LiveApi(api_client, dynamic=dyn, stream=stream)
    return live.LiveCluster(api=api, progress=False), server, websockets


def test_real_client_namespace_apply_wait_delete(stack: tuple[live.LiveCluster, FakeApiServer, list[dict]]) -> None:
    cluster, server, _ = stack
    assert cluster.ping(2.0) == "v1.37.0"
    ns = cluster.namespace(NS)
    patches = [r for r in server.requests if r["method"] == "PATCH"]
    assert [r["path"] for r in patches] == [f"/api/v1/namespaces/{NS}",
                                            f"/api/v1/namespaces/{NS}/resourcequotas/svclab-quota",
                                            f"/api/v1/namespaces/{NS}/limitranges/svclab-limits"]
    for r in patches:
        assert r["headers"]["Content-Type"] == "application/apply-patch+yaml"
        assert r["query"]["fieldManager"] == ["svclab"] and r["query"]["force"] == ["true"]

    server.requests.clear()
    lines = ns.apply(DEPLOY_AND_SERVICE)
    assert lines == ["service/backend created", "deployment.apps/backend created",
                     "networkpolicy.networking.k8s.io/deny created"]
    dry = [r for r in server.requests if r["method"] == "PATCH" and r["query"].get("dryRun") == ["All"]]
    assert [r["path"] for r in dry] == [f"/api/v1/namespaces/{NS}/services/backend",
                                        f"/apis/apps/v1/namespaces/{NS}/deployments/backend",
                                        f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies/deny"]
    assert ns.apply(DEPLOY_AND_SERVICE)[0] == "service/backend unchanged"

    # wait_ready: typed models come back as camelCase dicts; the watch goes out with our params
    ready_pod = {"metadata": {"name": "backend-1", "namespace": NS,
                              "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                   "name": "rs", "uid": "u1"}]},
                 "spec": {"containers": [{"name": "app", "image": "agnhost"}]},
                 "status": {"phase": "Running", "podIP": "10.244.0.5",
                            "conditions": [{"type": "Ready", "status": "True"}]}}
    pending = json.loads(json.dumps(ready_pod))
    pending["metadata"]["name"] = "backend-2"
    pending["status"] = {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
                         "containerStatuses": [{"name": "app", "ready": False, "restartCount": 0,
                                                "image": "agnhost:lates", "imageID": "",
                                                "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}
    server.lists[f"/api/v1/namespaces/{NS}/pods"] = [ready_pod, pending]
    server.lists[f"/apis/apps/v1/namespaces/{NS}/deployments"] = [
        {"metadata": {"name": "backend", "generation": 1},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "backend"}},
                  "template": {"metadata": {"labels": {"app": "backend"}},
                               "spec": {"containers": [{"name": "app", "image": "agnhost"}]}}},
         "status": {"readyReplicas": 1, "updatedReplicas": 2, "observedGeneration": 1}}]
    server.lists[f"/apis/apps/v1/namespaces/{NS}/statefulsets"] = []
    server.watch_events = [{"type": "MODIFIED", "object": pending}]
    with pytest.raises(TimeoutError, match="pod/backend-2: container app: ImagePullBackOff"):
        ns.wait_ready(timeout=1)
    watches = [r for r in server.requests if r["query"].get("watch") == ["true"]]
    assert watches and watches[0]["path"] == f"/api/v1/namespaces/{NS}/pods"
    assert watches[0]["query"]["resourceVersion"] == ["41"] and watches[0]["query"]["timeoutSeconds"] == ["1"]
    assert watches[0]["timeout"] is not None  # _request_timeout reached urllib3

    # endpoints: EndpointSlice models -> dicts
    server.lists[f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices"] = [
        {"metadata": {"name": "backend-abc"}, "addressType": "IPv4",
         "ports": [{"name": "", "port": 8080, "protocol": "TCP"}],
         "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True},
                        "targetRef": {"kind": "Pod", "name": "backend-1", "namespace": NS}}]}]
    eps = ns.endpoints("backend")
    assert [(e.ip, e.port, e.pod, e.ready) for e in eps] == [("10.244.0.5", 8080, f"{NS}/backend-1", True)]
    last = server.requests[-1]
    assert last["query"]["labelSelector"] == ["kubernetes.io/service-name=backend"]

    # delete: the API server answers with the Namespace itself; the client must not choke on it
    server.objects[f"/api/v1/namespaces/{NS}"]["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "svclab"}
    ns.delete("Service", "backend")
    assert f"/api/v1/namespaces/{NS}/services/backend" not in server.objects
    ns.delete()
    assert server.requests[-1]["method"] == "DELETE" and server.requests[-1]["path"] == f"/api/v1/namespaces/{NS}"

    server.lists["/api/v1/namespaces"] = [{"metadata": {"name": "lab9"}}]
    assert cluster.gc() == ["lab9"]
    assert [r["query"].get("labelSelector") for r in server.requests if r["path"] == "/api/v1/namespaces"][0] == \
        ["app.kubernetes.io/managed-by=svclab"]


def test_real_client_exec_goes_out_as_a_websocket_with_our_command(
        stack: tuple[live.LiveCluster, FakeApiServer, list[dict]]) -> None:
    cluster, server, websockets = stack
    client = {"metadata": {"name": "client", "namespace": NS, "labels": {"app": "client"}},
              "spec": {"containers": [{"name": "app", "image": AGNHOST_IMAGE},
                                      {"name": "side", "image": "busybox:1.36"}]},
              "status": {"phase": "Running", "podIP": "10.244.0.3",
                         "conditions": [{"type": "Ready", "status": "True"}]}}
    server.lists[f"/api/v1/namespaces/{NS}/pods"] = [client]
    ans = live.LiveNamespace(cluster, NS).lookup("backend", frm="app=client")
    assert ans.addresses == ["10.96.7.7"]
    (ws,) = websockets
    assert ws["path"] == f"/api/v1/namespaces/{NS}/pods/client/exec"
    q = ws["query"]
    assert q["command"] == ["dig", "+search", "+time=2", "+tries=2", "-t", "A", "-q", "backend"]
    assert q["container"] == ["app"]
    assert (q["stdout"], q["stderr"], q["stdin"], q["tty"]) == (["true"], ["true"], ["false"], ["false"])
    assert ws["_preload_content"] is False


def test_concurrent_execs_leave_the_shared_api_client_alone(
        stack: tuple[live.LiveCluster, FakeApiServer, list[dict]]) -> None:
    """kubernetes.stream.stream() patches api_client.call_api while it runs; matrix() execs
    eight at a time. Each exec has its own ApiClient, so the shared one keeps its call_api."""
    cluster, server, websockets = stack
    shared = cluster._api.api_client
    pods = [{"metadata": {"name": f"p{i}", "namespace": NS},
             "spec": {"containers": [{"name": "app", "image": "agnhost"}]},
             "status": {"phase": "Running", "podIP": f"10.244.0.{i + 10}",
                        "conditions": [{"type": "Ready", "status": "True"}]}} for i in range(4)]
    server.lists[f"/api/v1/namespaces/{NS}/pods"] = pods
    for p in pods:
        server.objects[f"/api/v1/namespaces/{NS}/pods/{p['metadata']['name']}"] = dict(p, kind="Pod", apiVersion="v1")
    m = live.LiveNamespace(cluster, NS).matrix(ports=[80])
    assert len(m.results) == 16 and len(websockets) == 16
    assert "call_api" not in vars(shared)
    assert all(ws["cfg"] is shared.configuration for ws in websockets)
    assert cluster.ping(1.0) == "v1.37.0"  # ordinary requests still go over HTTP


# ------------------------------------------------------------------ service() and pod labels

def test_service_reads_the_stored_service_with_its_allocations(w: World) -> None:
    w.core.services["web"] = {"metadata": {"name": "web", "namespace": NS}, "spec": {
        "type": "LoadBalancer", "clusterIP": "10.96.3.4", "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http", "nodePort": 30080}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.100"}]}}}
    info = w.ns().service("web")
    assert info is not None and info.type == "LoadBalancer" and info.cluster_ip == "10.96.3.4"
    assert info.external_address == "172.18.0.100" and info.selector == {"app": "web"}
    assert info.port("http") == info.port(80) and info.port(80).node_port == 30080
    assert info.port(80).target_port == "http"
    assert w.rec.named("read_namespaced_service") == [(("web", NS), {})]
    assert w.ns().service("missing") is None


def test_a_pending_load_balancer_has_no_external_address_yet(w: World) -> None:
    w.core.services["web"] = {"metadata": {"name": "web", "namespace": NS}, "spec": {
        "type": "LoadBalancer", "clusterIP": "10.96.3.4", "ports": [{"port": 80}]}, "status": {}}
    info = w.ns().service("web")
    assert info.external_address is None and info.port(80).protocol == "TCP"


def test_a_load_balancer_address_is_waited_for_right_after_a_service_change(w: World) -> None:
    """cloud-provider-kind (or MetalLB) writes the address a moment after the Service is
    created: a check reading it at once would see <pending> and fail a correct answer."""
    w.core.services["web"] = {"metadata": {"name": "web", "namespace": NS}, "spec": {
        "type": "LoadBalancer", "clusterIP": "10.96.3.4", "ports": [{"port": 80}]}, "status": {}}
    reads = 0
    real_read = w.core.read_namespaced_service

    def read(name: str, namespace: str) -> dict:
        nonlocal reads
        reads += 1
        if reads == 3:  # the controller has written it by the third read
            w.core.services["web"]["status"] = {"loadBalancer": {"ingress": [{"ip": "172.18.0.100"}]}}
        return real_read(name, namespace)
    w.core.read_namespaced_service = read  # type: ignore[method-assign]
    w.cluster._object_changed("Service")
    assert w.ns().service("web").external_address == "172.18.0.100"
    assert w.slept == pytest.approx(0.5)


def test_pods_carry_their_labels_and_readiness(w: World) -> None:
    w.core.pods = [pod("a", "10.244.0.3", {"app": "web"}), pod("b", "10.244.0.4", {"app": "db"}, ready=False)]
    refs = {p.name: p for p in w.ns().pods()}
    assert refs["a"].labels == {"app": "web"} and refs["a"].ready
    assert refs["b"].labels == {"app": "db"} and not refs["b"].ready


def test_services_lists_every_service_by_name(w: World) -> None:
    for n in ("web", "api"):
        w.core.services[n] = {"metadata": {"name": n, "namespace": NS},
                              "spec": {"clusterIP": "10.96.0.9", "ports": [{"port": 80}]}}
    assert [s.name for s in w.ns().services()] == ["api", "web"]


# ------------------------------------------------------------------ API shared with offline (issue 7 §5, issue 13)
def test_guardrails_are_the_one_shared_definition() -> None:
    from grader import guardrails
    assert live.guardrail_objects is guardrails.guardrail_objects
    quota = guardrails.guardrail_objects(NS)[1]
    assert quota["metadata"]["name"] == "svclab-quota" and quota["spec"]["hard"]["pods"] == "20"


def test_recreating_an_existing_namespace_is_said_on_stdout(w: World, capsys) -> None:
    w.core.namespaces[NS] = {"metadata": {"name": NS, "labels": {"app.kubernetes.io/managed-by": "svclab"}}}
    reads = iter([True, False])
    real_read = w.core.read_namespace
    w.core.read_namespace = lambda name: (  # type: ignore[method-assign]
        {"metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "svclab"}}}
        if next(reads, False) else real_read(name))
    w.cluster.namespace(NS)
    out, err = capsys.readouterr()
    assert out == (f"svclab: namespace {NS} already existed: deleted and recreated empty "
                   "(pass fresh=False to keep its objects)\n") and err == ""
    # its pods are told to stop within a second: a netexec pod ignores SIGTERM and would
    # hold the namespace (and the grader waiting on it) for the default 30 s
    assert w.rec.named("delete_collection_namespaced_pod") == [((NS,), {"grace_period_seconds": 1})]


def test_a_namespace_that_is_not_recreated_keeps_its_pods_grace(w: World) -> None:
    w.core.namespaces[NS] = {"metadata": {"name": NS, "labels": {"app.kubernetes.io/managed-by": "svclab"}}}
    w.cluster.namespace(NS, fresh=False)
    w.cluster.namespace(NS, fresh=False).delete()
    assert w.rec.named("delete_collection_namespaced_pod") == []


@pytest.mark.parametrize("bad, message", [
    ("9000", "a string is not a list of ports"),
    ([0], "invalid port 0: ports are numbers 1-65535"),
    ([80, 70000], "invalid port 70000"),
    ([80.5], "invalid port 80.5"),
    ([], "at least one port"),
])
def test_matrix_ports_are_validated_before_any_probe(w: World, bad, message) -> None:
    w.core.pods = [pod("a", "10.244.0.5"), pod("b", "10.244.0.6")]
    with pytest.raises(ValueError, match=re.escape(message)):
        w.ns().matrix(ports=bad)
    assert w.rec.named("exec") == []


def test_matrix_defaults_to_the_ports_the_pods_listen_on_and_names_pods_without_ip(w: World, capsys) -> None:
    netexec = pod("a", "10.244.0.5")
    netexec["spec"]["containers"][0]["args"] = ["netexec", "--http-port=8080"]
    w.core.pods = [netexec, pod("b", "10.244.0.6"), pod("c", "", ready=False)]
    w.stream.replies["/agnhost"] = FakeWS(0, "", "")
    m = w.ns().matrix()
    assert m.combos() == [(8080, "TCP")]          # netexec's --http-port, as offline would say
    assert [p.key for p in m.pods] == [f"{NS}/a", f"{NS}/b"]
    out, _ = capsys.readouterr()
    assert out == f"svclab: matrix of 2 pods in namespace {NS}; 1 pod has no IP yet (Pending) and is left out: c\n"


def test_wait_ready_names_pods_the_quota_refused_as_offline_does(w: World) -> None:
    refusal = ('pods "big-7d4b9c6f5d-" is forbidden: exceeded quota: svclab-quota, requested: '
               "limits.cpu=200m,pods=1, used: limits.cpu=4,pods=20, limited: limits.cpu=4,pods=20")
    w.core.pods = [pod(f"big-{i}", f"10.244.0.{10 + i}") for i in range(20)]
    w.apps.deployments = [{"metadata": {"name": "big", "generation": 1}, "spec": {"replicas": 30},
                           "status": {"replicas": 20, "readyReplicas": 20, "updatedReplicas": 20,
                                      "observedGeneration": 1,
                                      "conditions": [{"type": "ReplicaFailure", "status": "True",
                                                      "reason": "FailedCreate", "message": refusal}]}}]
    with pytest.raises(TimeoutError) as err:
        w.ns().wait_ready(timeout=4)
    assert f"  - 10 pods of deployment/big could not be created: {refusal}" in str(err.value).splitlines()


def test_a_quota_refusal_reads_the_same_live_and_offline(w: World) -> None:
    """Live, the API server words the refusal (the quota admission plugin); offline, the
    model does. The learner sees the same line either way."""
    from grader.cluster.offline import OfflineCluster
    from grader.manifests import ManifestError

    message = ('services "s10" is forbidden: exceeded quota: svclab-quota, requested: services=1, '
               "used: services=10, limited: services=10")
    svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s10}\nspec: {selector: {app: x}, ports: [{port: 80}]}\n"
    w.dynamic.reject["s10"] = message
    with pytest.raises(ManifestError) as live_err:
        w.ns().apply(svc, source="svc.yaml")
    offline = OfflineCluster(say=lambda line: None).namespace(NS)
    offline.apply("".join(f"---\n{svc.replace('s10', f's{i}')}" for i in range(10)))
    with pytest.raises(ManifestError) as offline_err:
        offline.apply(svc, source="svc.yaml")
    assert str(live_err.value) == str(offline_err.value)
    assert str(live_err.value).endswith(f"the API server refused it: {message}")


def test_wait_ready_names_statefulset_pods_the_quota_refused_from_its_events(w: World) -> None:
    refusal = ('pods "db-20" is forbidden: exceeded quota: svclab-quota, requested: pods=1, '
               "used: pods=20, limited: pods=20")
    w.core.pods = [pod(f"db-{i}", f"10.244.0.{10 + i}") for i in range(20)]
    w.apps.statefulsets = [{"metadata": {"name": "db", "generation": 1}, "spec": {"replicas": 25},
                            "status": {"replicas": 20, "readyReplicas": 20, "updatedReplicas": 20,
                                       "observedGeneration": 1}}]
    w.core.events = [
        {"reason": "FailedCreate", "lastTimestamp": "2026-12-01T08:00:00Z",
         "message": "create Pod db-19 in StatefulSet db failed error: an older refusal"},
        {"reason": "FailedCreate", "lastTimestamp": "2026-12-01T08:00:05Z",
         "message": f"create Pod db-20 in StatefulSet db failed error: {refusal}"}]
    with pytest.raises(TimeoutError) as err:
        w.ns().wait_ready(timeout=4)
    assert f"  - 5 pods of statefulset/db could not be created: {refusal}" in str(err.value).splitlines()
    (call,) = {(a, tuple(sorted(k.items()))) for a, k in w.rec.named("list_namespaced_event")}
    assert call == ((NS,), (("field_selector", "involvedObject.kind=StatefulSet,involvedObject.name=db,"
                                                "reason=FailedCreate"),))


def test_a_statefulset_still_rolling_out_is_not_read_as_refused(w: World) -> None:
    w.core.pods = [pod("db-0", "10.244.0.10")]
    w.apps.statefulsets = [{"metadata": {"name": "db", "generation": 1}, "spec": {"replicas": 3},
                            "status": {"replicas": 1, "readyReplicas": 1, "observedGeneration": 1}}]
    with pytest.raises(TimeoutError) as err:
        w.ns().wait_ready(timeout=2)
    assert "  - statefulset/db: 1/3 ready" in str(err.value).splitlines()


DENY_INGRESS_TO_B = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": "deny-b", "namespace": NS},
                     "spec": {"podSelector": {"matchLabels": {"app": "b"}}, "policyTypes": ["Ingress"]}}


def test_matrix_cells_carry_the_engines_reason_when_packets_agree(w: World) -> None:
    """A probe sees only a verdict; the engine, fed the namespace's pods and policies as the
    API server holds them, says why: the same words as offline (notebook 09 pins them)."""
    w.core.pods = [pod("a", "10.244.0.5", {"app": "a"}), pod("b", "10.244.0.6", {"app": "b"})]
    w.networking.policies = [DENY_INGRESS_TO_B]
    w.stream.replies["/agnhost"] = lambda cmd: (FakeWS(1, "", "TIMEOUT\n") if cmd[-1] == "10.244.0.6:80"
                                                else FakeWS(0, "", ""))
    m = w.ns().matrix(ports=[80])
    denied = m.lookup(f"{NS}/a", f"{NS}/b", 80)
    assert denied.allowed is False
    assert denied.reason.startswith(f"Denied: {NS}/a -> {NS}/b on 80/TCP.")
    assert f"isolated for ingress by {NS}/deny-b" in denied.reason
    assert m.lookup(f"{NS}/b", f"{NS}/a", 80).reason.startswith(f"Allowed: {NS}/b -> {NS}/a on 80/TCP.")


def test_matrix_cell_says_so_when_packets_and_engine_disagree(w: World) -> None:
    w.core.pods = [pod("a", "10.244.0.5", {"app": "a"}), pod("b", "10.244.0.6", {"app": "b"})]
    w.networking.policies = [DENY_INGRESS_TO_B]
    w.stream.replies["/agnhost"] = FakeWS(0, "", "")        # the cluster let everything through
    cell = w.ns().matrix(ports=[80]).lookup(f"{NS}/a", f"{NS}/b", 80)
    assert cell.allowed is True
    assert cell.reason.startswith("Observed allowed on the cluster (connected), but the offline model "
                                  f"expects denied: Denied: {NS}/a -> {NS}/b on 80/TCP.")


def test_a_probe_after_a_policy_change_waits_for_the_policy_agent(w: World) -> None:
    """The agent reads policies from its own watch: a probe right after `apply` (even from
    another namespace object) must not answer for the old state. Unchanged policies and
    other objects cost nothing."""
    from grader.cluster.live_catch_up import POLICY_CATCH_UP

    w.core.pods = [pod("client", "10.244.0.5", {"app": "client"})]
    w.stream.replies["/agnhost"] = FakeWS(0, "", "")
    w.ns().apply(DEPLOY_AND_SERVICE)
    w.clock.now += 0.5                                       # the learner's next cell, half a second on
    other = live.LiveNamespace(w.cluster, "other-ns")
    w.core.pods.append(dict(pod("c2", "10.244.0.7", {"app": "c2"}), metadata={"name": "c2", "namespace": "other-ns",
                                                                          "labels": {"app": "c2"}}))
    before = w.slept
    other.probe("10.244.0.5:8080", frm="c2")
    assert w.slept - before == pytest.approx(POLICY_CATCH_UP - 0.5)
    before = w.slept
    w.ns().probe("10.244.0.5:8080", frm="client")             # settled: no second wait
    w.ns().apply(DEPLOY_AND_SERVICE)                          # all unchanged: nothing to wait for
    w.ns().probe("10.244.0.5:8080", frm="client")
    assert w.slept == before
    w.ns().delete("networkpolicy", "deny")
    w.ns().probe("10.244.0.5:8080", frm="client")
    assert w.slept - before == pytest.approx(POLICY_CATCH_UP)


def test_an_http_request_after_a_routing_change_waits_for_the_controller(w: World) -> None:
    """Traefik applies provider changes at most every 2 s, Envoy also lags: a request right
    after an Ingress/Gateway/Route/Service change must not read the old routes (notebook 11
    got 404s live). Other kinds cost nothing."""
    from grader.cluster.live import ROUTES_CATCH_UP

    w.cluster._object_changed("HTTPRoute")
    w.clock.now += 1.0
    before = w.slept
    w.cluster._routes_settle()
    assert w.slept - before == pytest.approx(ROUTES_CATCH_UP - 1.0)
    before = w.slept
    w.cluster._routes_settle()                                # settled: no second wait
    w.cluster._object_changed("ConfigMap")
    w.cluster._routes_settle()
    assert w.slept == before


def test_changes_the_real_kubectl_reports_are_waited_for_as_the_clusters_own(w: World) -> None:
    """An exam answer's `kubectl create ingress` runs outside this object: told of it, the
    next request waits for the controller (live, q11's Ingress was asked before Traefik
    served it); a change of unknown kinds waits for both the agent and the controllers."""
    from grader.cluster.live import ROUTES_CATCH_UP
    from grader.cluster.live_catch_up import POLICY_CATCH_UP

    w.cluster.objects_changed({"Ingress"})
    before = w.slept
    w.cluster._policy_settle()
    assert w.slept == before                                  # an Ingress is no policy
    w.cluster._routes_settle()
    assert w.slept - before == pytest.approx(ROUTES_CATCH_UP)
    w.cluster.objects_changed(None)
    before = w.slept
    w.cluster._policy_settle()
    assert w.slept - before == pytest.approx(POLICY_CATCH_UP)
    w.cluster._routes_settle()
    assert w.slept - before == pytest.approx(ROUTES_CATCH_UP)


def test_an_address_is_waited_for_right_after_a_routing_change_only(w: World) -> None:
    from grader.cluster.live import ADDRESS_WAIT

    w.cluster._object_changed("Gateway")
    reads = iter([None, None, "172.18.0.250"])
    assert w.cluster._await_address(lambda: next(reads)) == "172.18.0.250"
    assert w.slept == pytest.approx(1.0)                      # two polls
    w.clock.now += ADDRESS_WAIT                               # long after the change: none is coming
    before = w.slept
    assert w.cluster._await_address(lambda: None) is None
    assert w.slept == before


def test_a_new_service_that_drops_is_asked_again_while_kube_proxy_catches_up(w: World) -> None:
    """A Service just created has no kube-proxy rule for a moment: the packet is dropped
    (TIMEOUT) although its endpoints are ready; the probe asks again within the catch-up.
    A timeout long after the last Service change is believed at once."""
    w.core.pods = [pod("client", "10.244.0.3", {"app": "client"})]
    w.core.services["backend"] = {"metadata": {"name": "backend"}, "spec": {
        "clusterIP": "10.96.7.7", "ports": [{"port": 80, "protocol": "TCP"}]}}
    w.discovery.slices["backend"] = [{"addressType": "IPv4", "ports": [{"port": 8080}],
                                      "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}}]}]
    w.cluster._object_changed("Service")
    answers = iter([FakeWS(1, "", "TIMEOUT\n"), FakeWS(0, "", "")])
    w.stream.replies["/agnhost"] = lambda command: next(answers)
    assert w.ns().probe("backend:80", frm="app=client").status is Status.OK
    assert len(w.rec.named("exec")) == 2
    w.clock.now += 60
    w.stream.replies["/agnhost"] = FakeWS(1, "", "TIMEOUT\n")
    assert w.ns().probe("backend:80", frm="app=client").status is Status.TIMEOUT
    assert len(w.rec.named("exec")) == 3


def test_a_drop_soon_after_a_policy_change_or_from_a_new_pod_is_asked_again(w: World) -> None:
    """Under load the policy agent took longer than POLICY_CATCH_UP to apply a change (lab 5's
    fix timed out live, six labs graded side by side), and a client pod created moments ago
    had its first request to a Service dropped: within POLICY_RETRY of the change, or
    NEW_POD_RETRY of the pod's creation, a drop is asked again. Long after both, believed."""
    import datetime

    from grader.cluster.live_catch_up import NEW_POD_RETRY, POLICY_RETRY

    w.core.pods = [pod("client", "10.244.0.3", {"app": "client"})]
    w.core.services["backend"] = {"metadata": {"name": "backend"}, "spec": {
        "clusterIP": "10.96.7.7", "ports": [{"port": 80, "protocol": "TCP"}]}}
    w.discovery.slices["backend"] = [{"addressType": "IPv4", "ports": [{"port": 8080}],
                                      "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": True}}]}]
    w.cluster._object_changed("NetworkPolicy")
    w.clock.now += 2.5                                       # past POLICY_CATCH_UP: the agent is late
    answers = iter([FakeWS(1, "", "TIMEOUT\n"), FakeWS(0, "", "")])
    w.stream.replies["/agnhost"] = lambda command: next(answers)
    assert w.ns().probe("backend:80", frm="app=client").status is Status.OK
    assert len(w.rec.named("exec")) == 2
    w.clock.now += POLICY_RETRY
    w.stream.replies["/agnhost"] = FakeWS(1, "", "TIMEOUT\n")
    assert w.ns().probe("backend:80", frm="app=client").status is Status.TIMEOUT
    assert len(w.rec.named("exec")) == 3                     # believed at once
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    newcomer = pod("caller-1", "10.244.0.9", {"app": "caller"})
    newcomer["metadata"]["creationTimestamp"] = now           # made by a check, just now
    w.core.pods.append(newcomer)
    answers = iter([FakeWS(1, "", "TIMEOUT\n"), FakeWS(0, "", "")])
    w.stream.replies["/agnhost"] = lambda command: next(answers)
    assert w.ns().probe("backend:80", frm="caller-1").status is Status.OK
    assert len(w.rec.named("exec")) == 5
    assert NEW_POD_RETRY >= 5, "a pod is Ready a few seconds after it is created"


def test_a_service_created_moments_ago_counts_as_new_to_kube_proxy() -> None:
    """The mock exam's replay creates Services with kubectl, not through this process: their
    age is read from creationTimestamp (whole seconds, so one more second is allowed)."""
    import datetime

    from grader.cluster.live_catch_up import created_within

    svc = {"metadata": {"creationTimestamp": "2026-12-06T09:00:00Z"}}
    t0 = datetime.datetime(2026, 12, 6, 9, 0, 0, tzinfo=datetime.timezone.utc).timestamp()
    assert created_within(svc, 3.0, now=t0 + 2.5)
    assert not created_within(svc, 3.0, now=t0 + 10)
    assert not created_within({"metadata": {}}, 3.0) and not created_within(None, 3.0)
