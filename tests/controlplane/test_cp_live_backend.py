"""The live backend against a real API server, real controllers and kwok's pods.

tests/cluster/test_live_backend.py checks every kubernetes client call against fakes; here the same
backend talks to upstream's kube-apiserver v1.37, so what the fakes assume (status codes,
dry run, server-side apply, admission, quota, the controllers' objects) is checked too.
"""
from __future__ import annotations

import copy
import ipaddress
import os
import re
import subprocess
import sys
import time
from typing import Any, Callable, Iterator

import pytest

import grader
from grader.cluster.live import LiveCluster, LiveNamespace
from grader.kind.images import AGNHOST_IMAGE
from grader.manifests import ManifestError, load
from grader.sandbox import sandbox_problems
from tests.controlplane.upstream import ControlPlane, namespace_name

pytestmark = pytest.mark.controlplane

APP = f"""
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
        ports: [{{containerPort: 8080, name: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: backend}}
spec:
  selector: {{app: backend}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def eventually(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout`
    (controllers work asynchronously: this waits for them, it does not sleep to pass)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g}s (last: {value!r})")
        time.sleep(0.2)


@pytest.fixture
def cluster(live_env: ControlPlane) -> LiveCluster:
    found = grader.connect(context=live_env.context, kubeconfig=str(live_env.kubeconfig), quiet=True)
    assert isinstance(found, LiveCluster), "connect() did not pick the live backend"
    found._progress = False
    return found


@pytest.fixture
def ns(cluster: LiveCluster, request: pytest.FixtureRequest) -> Iterator[LiveNamespace]:
    name = namespace_name("cp", request)
    namespace = cluster.namespace(name)
    yield namespace
    namespace.delete()


def test_connect_reports_the_server_version(live_env: ControlPlane, capsys):
    cluster = grader.connect(context=live_env.context, kubeconfig=str(live_env.kubeconfig))
    assert cluster.mode == "live"
    assert capsys.readouterr().out.strip() == (
        f"svclab: live mode (context '{live_env.context}', Kubernetes v1.37.0)")


def test_namespace_gets_labels_quota_and_limits(ns: LiveNamespace, live_env: ControlPlane):
    code, body = live_env.request("GET", f"/api/v1/namespaces/{ns.name}")
    assert code == 200
    labels = body["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "svclab"
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"
    assert labels["kubernetes.io/metadata.name"] == ns.name      # set by the API server
    code, quota = live_env.request("GET", f"/api/v1/namespaces/{ns.name}/resourcequotas/svclab-quota")
    assert code == 200 and quota["spec"]["hard"]["pods"] == "20"
    # the quota controller computes usage: the real thing, not our object echoed back
    used = eventually("quota usage computed",
                      lambda: live_env.request("GET", f"/api/v1/namespaces/{ns.name}/resourcequotas/"
                                                       "svclab-quota")[1].get("status", {}).get("used"))
    assert used["pods"] == "0"


def test_apply_wait_ready_endpoints_against_kwok_pods(ns: LiveNamespace, live_env: ControlPlane):
    lines = ns.apply(APP)
    assert lines == ["service/backend created", "deployment.apps/backend created"]   # apply_order
    assert ns.apply(APP) == ["service/backend unchanged", "deployment.apps/backend unchanged"]
    ns.wait_ready(timeout=90)
    pods = ns.pods()
    assert len(pods) == 2 and all(p.name.startswith("backend-") for p in pods)
    node_cidr = ipaddress.ip_network(live_env.request("GET", "/api/v1/nodes/svclab-control-plane")[1]
                                     ["spec"]["podCIDR"])
    assert node_cidr.subnet_of(ipaddress.ip_network("10.244.0.0/16"))
    assert all(ipaddress.ip_address(p.ip) in node_cidr for p in pods)
    # the LimitRange gave the containers requests and limits (the quota needs them)
    code, listed = live_env.request("GET", f"/api/v1/namespaces/{ns.name}/pods")
    resources = listed["items"][0]["spec"]["containers"][0]["resources"]
    assert resources == {"limits": {"cpu": "200m", "memory": "128Mi"},
                         "requests": {"cpu": "20m", "memory": "32Mi"}}
    # the EndpointSlice controller's slices, as endpoints() reads them
    endpoints = eventually("2 endpoints", lambda: len(ns.endpoints("backend")) == 2 and ns.endpoints("backend"))
    assert sorted(e.ip for e in endpoints) == sorted(p.ip for p in pods)
    assert {(e.port, e.port_name, e.protocol, e.ready, e.serving, e.terminating) for e in endpoints} == {
        (8080, "http", "TCP", True, True, False)}
    assert {e.pod for e in endpoints} == {f"{ns.name}/{p.name}" for p in pods}
    # with the controllers busy on it (status, pods), a re-apply is still "unchanged"; a
    # changed spec is "configured"
    assert ns.apply(APP) == ["service/backend unchanged", "deployment.apps/backend unchanged"]
    assert ns.apply(APP.replace("replicas: 2", "replicas: 3")) == [
        "service/backend unchanged", "deployment.apps/backend configured"]


def test_wait_ready_names_pods_the_quota_keeps_out(ns: LiveNamespace):
    ns.apply(APP.replace("replicas: 2", "replicas: 25"))
    with pytest.raises(TimeoutError) as err:
        ns.wait_ready(timeout=15)
    message = str(err.value)
    ready = re.search(r"\((\d+)/25 pods Ready\)", message)
    assert ready and int(ready.group(1)) <= 20, message   # the quota admits 20 pods, never 25
    assert "exceeded quota: svclab-quota" in message


def test_apply_is_all_or_nothing_when_the_api_server_refuses_one_object(cluster: LiveCluster,
                                                                       ns: LiveNamespace):
    first = cluster.namespace(ns.name + "-a")
    try:
        first.apply("apiVersion: v1\nkind: Service\nmetadata: {name: taken}\nspec:\n"
                    "  type: NodePort\n  selector: {app: x}\n  ports: [{port: 80, nodePort: 32100}]\n")
        clash = APP + ("---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n"
                       "  type: NodePort\n  selector: {app: backend}\n  ports: [{port: 80, nodePort: 32100}]\n")
        with pytest.raises(ManifestError) as err:
            ns.apply(clash)
        assert "Service/web" in str(err.value) and "32100" in str(err.value)
        assert "already allocated" in str(err.value)
        assert ns.pods() == []
        assert cluster._api.get_object({"apiVersion": "apps/v1", "kind": "Deployment",
                                        "metadata": {"name": "backend", "namespace": ns.name}}) is None
        assert cluster._api.read_service(ns.name, "backend") is None
    finally:
        first.delete()


def test_delete_one_object_and_the_namespace(cluster: LiveCluster, ns: LiveNamespace, live_env: ControlPlane):
    ns.apply(APP)
    ns.delete("service", "backend")
    assert cluster._api.read_service(ns.name, "backend") is None
    # the EndpointSlice controller cleans up the Service's slices (owner references + GC)
    eventually("slices gone", lambda: not cluster._api.list_endpoint_slices(ns.name, "backend"))
    ns.delete()
    eventually("namespace gone (namespace controller finalizes it)",
               lambda: live_env.request("GET", f"/api/v1/namespaces/{ns.name}")[0] == 404, timeout=90)


def test_svclab_cluster_gc_deletes_only_managed_namespaces(cluster: LiveCluster, live_env: ControlPlane):
    managed = [cluster.namespace(f"cp-gc-{i}") for i in (1, 2)]
    code, _ = live_env.request("POST", "/api/v1/namespaces",
                               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "cp-gc-mine"}})
    assert code == 201
    try:
        env = dict(os.environ)
        out = subprocess.run([sys.executable, "-m", "grader.cli", "cluster", "gc", "--context", live_env.context],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "cp-gc-1" in out.stdout and "cp-gc-2" in out.stdout and "cp-gc-mine" not in out.stdout

        def gone_or_terminating(name: str) -> bool:
            code, body = live_env.request("GET", f"/api/v1/namespaces/{name}")
            return code == 404 or body.get("status", {}).get("phase") == "Terminating"

        assert all(gone_or_terminating(n.name) for n in managed)
        code, body = live_env.request("GET", "/api/v1/namespaces/cp-gc-mine")
        assert code == 200 and body["status"]["phase"] == "Active"
        with pytest.raises(ValueError, match="svclab did not create it"):
            cluster.namespace("cp-gc-mine")
    finally:
        live_env.request("DELETE", "/api/v1/namespaces/cp-gc-mine")


# --------------------------------------------------------------------------- Pod Security

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "c", "image": AGNHOST_IMAGE}]}}


def _pod(spec: dict | None = None, container: dict | None = None, volumes: list | None = None) -> dict:
    obj = copy.deepcopy(POD)
    obj["spec"].update(spec or {})
    obj["spec"]["containers"][0].update(container or {})
    if volumes:
        obj["spec"]["volumes"] = volumes
    return obj


# (id, pod) the Pod Security baseline profile decides; the sandbox must refuse at least these
POD_SECURITY_CASES = [
    ("plain", _pod()),
    ("host-network", _pod({"hostNetwork": True})),
    ("host-pid", _pod({"hostPID": True})),
    ("host-ipc", _pod({"hostIPC": True})),
    ("host-path", _pod(volumes=[{"name": "h", "hostPath": {"path": "/etc"}}])),
    ("empty-dir-ok", _pod(volumes=[{"name": "e", "emptyDir": {}}])),
    ("privileged", _pod(container={"securityContext": {"privileged": True}})),
    ("host-port", _pod(container={"ports": [{"containerPort": 80, "hostPort": 80}]})),
    ("cap-net-admin", _pod(container={"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}})),
    ("cap-default-set", _pod(container={"securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}})),
    ("cap-drop-all-ok", _pod(container={"securityContext": {"capabilities": {"drop": ["ALL"]}}})),
    ("seccomp-unconfined", _pod(container={"securityContext": {"seccompProfile": {"type": "Unconfined"}}})),
    ("seccomp-runtime-default-ok", _pod({"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}})),
    ("apparmor-unconfined", _pod(container={"securityContext": {"appArmorProfile": {"type": "Unconfined"}}})),
    ("selinux-custom-type", _pod(container={"securityContext": {"seLinuxOptions": {"type": "spc_t"}}})),
    ("selinux-container-t-ok", _pod(container={"securityContext": {"seLinuxOptions": {"type": "container_t"}}})),
    ("sysctl-unsafe", _pod({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "65536"}]}})),
    ("sysctl-safe-ok", _pod({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}})),
    ("proc-mount-unmasked", _pod(container={"securityContext": {"procMount": "Unmasked"}})),
    ("proc-mount-unmasked-user-namespace", _pod({"hostUsers": False},
                                                container={"securityContext": {"procMount": "Unmasked"}})),
]

#: Where the sandbox is stricter than baseline:
#: - capabilities in baseline's default set (grader/sandbox.py's docstring: none at all);
#: - procMount Unmasked in a user-namespaced pod (hostUsers: false), which baseline admits
#:   since 1.35 (pod-security-admission check_procMount_baseline.go). No lab needs it, and
#:   user namespaces depend on the node's kernel and runtime, so refusing it stays safe.
SANDBOX_STRICTER = {"cap-default-set", "proc-mount-unmasked-user-namespace"}


@pytest.mark.parametrize("case,obj", POD_SECURITY_CASES, ids=[c for c, _ in POD_SECURITY_CASES])
def test_pod_security_baseline_agrees_with_the_sandbox(case: str, obj: dict, baseline_ns: str,
                                                       control_plane: ControlPlane):
    ns = baseline_ns
    sandbox = [f"{p.path}: {p.message}" for p in sandbox_problems(load(obj), ns)]
    code, body = control_plane.request("POST", f"/api/v1/namespaces/{ns}/pods?dryRun=All", obj)
    server_refuses = code >= 400
    assert code in (201, 403, 422), body
    if server_refuses:
        assert sandbox, f"the API server refuses this pod ({code}: {body.get('message')}), the sandbox lets it through"
        if code == 403:
            assert "violates PodSecurity \"baseline:latest\"" in body["message"]
    elif case in SANDBOX_STRICTER:
        assert sandbox, "the sandbox is meant to refuse this (stricter than baseline)"
    else:
        assert sandbox == [], f"baseline admits this pod, the sandbox refuses it: {sandbox}"


@pytest.fixture(scope="module")
def baseline_ns(control_plane: ControlPlane) -> Iterator[str]:
    """One guarded namespace for all the Pod Security cases (dry runs leave nothing behind)."""
    cluster = control_plane.live_cluster()
    ns = cluster.namespace("cp-pod-security")
    yield ns.name
    ns.delete()


def test_endpoints_of_a_terminating_pod(ns: LiveNamespace, live_env: ControlPlane):
    """A pod held in Terminating (a finalizer keeps it; kwok has no kubelet to finish it):
    its endpoint is terminating, still serving, not ready, as endpoints() must report.
    The offline model has no terminating pods (deletion is instant), so this is live only."""
    ns.apply_objects([{"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "held", "labels": {"app": "held"}, "finalizers": ["svclab.test/hold"]},
        "spec": {"containers": [{"name": "app", "image": AGNHOST_IMAGE}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "held"},
         "spec": {"selector": {"app": "held"}, "ports": [{"port": 80, "targetPort": 8080}]}}])
    ns.wait_ready(timeout=60)
    eventually("a ready endpoint", lambda: [(e.ready, e.serving, e.terminating) for e in ns.endpoints("held")]
               == [(True, True, False)])
    path = f"/api/v1/namespaces/{ns.name}/pods/held"
    assert live_env.request("DELETE", path)[0] == 200
    try:
        eventually("a terminating endpoint", lambda: [(e.ready, e.serving, e.terminating)
                                                      for e in ns.endpoints("held")] == [(False, True, True)])
        assert ns.pods() == []            # pods being deleted do not count
    finally:
        live_env.request("PATCH", path, {"metadata": {"finalizers": None}},
                         content_type="application/merge-patch+json")


def test_limit_range_max_is_enforced_at_the_dry_run(ns: LiveNamespace):
    """A container asking for more than the LimitRange's max is refused by the LimitRanger
    admission plugin already at the dry run, so nothing of the set is applied. (The
    offline model does not enforce LimitRange or ResourceQuota: see the report of issue 12.)"""
    big = APP.replace("        ports: [{containerPort: 8080, name: http}]",
                      "        ports: [{containerPort: 8080, name: http}]\n"
                      "        resources: {limits: {memory: 1Gi}}")
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  containers:\n"
           f"  - name: c\n    image: {AGNHOST_IMAGE}\n    resources: {{limits: {{memory: 1Gi}}}}\n")
    with pytest.raises(ManifestError) as err:
        ns.apply(APP + "---\n" + pod)
    assert "Pod/big" in str(err.value) and "maximum memory usage per Container is 512Mi" in str(err.value)
    assert ns.pods() == [] and ns.cluster._api.read_service(ns.name, "backend") is None
    # in a Deployment the template is not admitted by LimitRanger: the ReplicaSet's pods are
    ns.apply(big)
    with pytest.raises(TimeoutError, match="maximum memory usage per Container is 512Mi"):
        ns.wait_ready(timeout=15)


def test_wait_ready_names_the_schedulers_reason(ns: LiveNamespace):
    """A pod no node can take stays Pending; wait_ready quotes kube-scheduler's reason. (The
    offline model schedules only by maxPods and ignores nodeSelector: see issue 12's report.)"""
    ns.apply(f"apiVersion: v1\nkind: Pod\nmetadata: {{name: picky}}\nspec:\n  nodeSelector: {{disktype: ssd}}\n"
             f"  containers:\n  - name: c\n    image: {AGNHOST_IMAGE}\n")
    with pytest.raises(TimeoutError) as err:
        ns.wait_ready(timeout=10)
    assert "pod/picky: Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node " \
           "affinity/selector" in str(err.value)
