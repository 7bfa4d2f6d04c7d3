"""EndpointSlices, differential: the same manifests applied to the offline model and to the
control plane, whose EndpointSlice controller (kube-controller-manager) writes the real
slices from kwok's pods. Slices must agree: how endpoints are grouped by port set, port
names, numbers and protocols, per-pod targetPort resolution, hostnames, the
ready/serving/terminating conditions, through readiness changes (the pod's Ready condition
set through the status subresource, as a kubelet would, vs the model's `set_ready`) and
scaling.

Pod IPs and generated names differ between the two by nature; endpoints are compared by
the pod they point at, so the tests use StatefulSets and bare Pods, whose names are fixed.
"""
from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from grader.cluster.live import LiveNamespace
from grader.cluster.offline import OfflineCluster, OfflineNamespace
from grader.kind.images import AGNHOST_IMAGE
from tests.controlplane.upstream import ControlPlane, namespace_name

pytestmark = pytest.mark.controlplane

STATEFUL = f"""
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: web}}
spec:
  replicas: 2
  serviceName: web
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: app
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port=8080]
        ports: [{{containerPort: 8080, name: http}}, {{containerPort: 9090, name: metrics}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  clusterIP: None
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web-all}}
spec:
  selector: {{app: web}}
  ports:
  - {{name: http, port: 80, targetPort: http}}
  - {{name: metrics, port: 9090, targetPort: metrics}}
  - {{name: dns, port: 53, protocol: UDP, targetPort: 5353}}
"""

# two pods serving the named port "http" on different numbers, one lacking "metrics"
PODS = f"""
apiVersion: v1
kind: Pod
metadata: {{name: p1, labels: {{app: mixed}}}}
spec:
  containers:
  - name: app
    image: {AGNHOST_IMAGE}
    ports: [{{containerPort: 8080, name: http}}, {{containerPort: 9100, name: metrics}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: p2, labels: {{app: mixed}}}}
spec:
  containers:
  - name: app
    image: {AGNHOST_IMAGE}
    ports: [{{containerPort: 9376, name: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: mixed}}
spec:
  selector: {{app: mixed}}
  ports:
  - {{name: http, port: 80, targetPort: http}}
  - {{name: metrics, port: 9100, targetPort: metrics}}
---
apiVersion: v1
kind: Service
metadata: {{name: mixed-pna}}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector: {{app: mixed}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def slice_shapes(slices: list[dict[str, Any]]) -> list[tuple]:
    """What a slice says, without names, IPs or generated fields: its port set and its
    endpoints by pod, each with hostname, conditions and node (unset conditions = true, as the
    API documents; terminating unset = false)."""
    shapes = []
    for s in slices:
        ports = tuple(sorted((p.get("name") or "", p.get("port"), p.get("protocol") or "TCP")
                             for p in s.get("ports") or []))
        eps = []
        for e in s.get("endpoints") or []:
            cond = e.get("conditions") or {}
            eps.append(((e.get("targetRef") or {}).get("name"), e.get("hostname"),
                        cond.get("ready") is not False, cond.get("serving") is not False,
                        cond.get("terminating") is True, e.get("nodeName")))
        if eps:                      # the controller keeps an empty placeholder slice; so may we
            shapes.append((s.get("addressType"), ports, tuple(sorted(eps))))
    return sorted(shapes)


class Pair:
    def __init__(self, offline: OfflineNamespace, live: LiveNamespace, cp: ControlPlane) -> None:
        self.offline, self.live, self.cp = offline, live, cp

    def apply(self, text: str) -> None:
        self.offline.apply(text)
        self.live.apply(text)
        self.live.wait_ready(timeout=90)

    def offline_slices(self, service: str) -> list[tuple]:
        state = self.offline.state
        svc = state.service(self.offline.name, service)
        return slice_shapes([s.to_dict() for s in state.slices(svc)])

    def live_slices(self, service: str) -> list[tuple]:
        code, body = self.cp.request(
            "GET", f"/apis/discovery.k8s.io/v1/namespaces/{self.live.name}/endpointslices"
                   f"?labelSelector=kubernetes.io/service-name={service}")
        assert code == 200, body
        return slice_shapes(body.get("items") or [])

    def agree(self, service: str, timeout: float = 45.0) -> list[tuple]:
        """The controller works asynchronously: wait (bounded) until its slices say what the
        model says; fail showing both."""
        want = self.offline_slices(service)
        deadline = time.monotonic() + timeout
        got = self.live_slices(service)
        while got != want and time.monotonic() < deadline:
            time.sleep(0.3)
            got = self.live_slices(service)
        assert got == want, f"Service {service}:\n  upstream: {got}\n  model:    {want}"
        return want

    def set_live_ready(self, pod: str, ready: bool) -> None:
        """What the kubelet does when a readiness probe fails or passes: the pod's Ready
        and ContainersReady conditions and the container's ready flag, via /status."""
        status = "True" if ready else "False"
        path = f"/api/v1/namespaces/{self.live.name}/pods/{pod}/status"
        code, body = self.cp.request("GET", path)
        assert code == 200, body
        conds = body["status"].get("conditions") or []
        for c in conds:
            if c["type"] in ("Ready", "ContainersReady"):
                c["status"] = status
        for cs in body["status"].get("containerStatuses") or []:
            cs["ready"] = ready
        code, body = self.cp.request("PUT", path, body)
        assert code == 200, body


@pytest.fixture
def pair(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[Pair]:
    name = namespace_name("cp-eps", request)
    live = control_plane.live_cluster().namespace(name)
    yield Pair(OfflineCluster().namespace(name), live, control_plane)
    live.delete()


def test_statefulset_slices_hostnames_and_scaling(pair: Pair):
    pair.apply(STATEFUL)
    headless = pair.agree("web")
    assert [ep[1] for ep in headless[0][2]] == ["web-0", "web-1"]        # hostnames, as upstream
    multi = pair.agree("web-all")
    # the UDP port resolves to 5353 for every pod (a number is never looked up by name)
    assert multi[0][1] == (("dns", 5353, "UDP"), ("http", 8080, "TCP"), ("metrics", 9090, "TCP"))
    pair.apply(STATEFUL.replace("replicas: 2", "replicas: 3"))
    assert len(pair.agree("web")[0][2]) == 3
    pair.apply(STATEFUL.replace("replicas: 2", "replicas: 1"))
    assert len(pair.agree("web-all")[0][2]) == 1


def test_named_target_ports_resolve_per_pod(pair: Pair):
    pair.apply(PODS)
    shapes = pair.agree("mixed")
    assert len(shapes) == 2                    # two port sets -> two slices, upstream and model


def test_readiness_changes_and_publish_not_ready(pair: Pair):
    pair.apply(PODS)
    pair.agree("mixed")
    pair.offline.set_ready("p1", False)
    pair.set_live_ready("p1", False)
    shapes = pair.agree("mixed")
    conditions = {ep[0]: ep[2:5] for s in shapes for ep in s[2]}
    assert conditions["p1"] == (False, False, False)        # not ready, not serving
    pna = pair.agree("mixed-pna")
    assert {ep[0]: ep[2:5] for ep in pna[0][2]}["p1"] == (True, False, False)  # published anyway
    pair.offline.set_ready("p1", True)
    pair.set_live_ready("p1", True)
    assert {ep[0]: ep[2:5] for s in pair.agree("mixed") for ep in s[2]}["p1"] == (True, True, False)
