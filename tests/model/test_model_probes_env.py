"""Readiness from probes and the environment a container starts with, offline, against the
behaviour upstream documents:

- "Configure Liveness, Readiness and Startup Probes" (kubernetes.io/docs/tasks/configure-pod-
  container/configure-liveness-readiness-startup-probes/): httpGet succeeds on 200-399, a
  named port is looked up among the container's ports, a failing readiness probe removes the
  pod from Service endpoints, liveness restarts the container.
- "EndpointSlices" (kubernetes.io/docs/concepts/services-networking/endpoint-slices/): a
  selected pod that is not ready is still listed, with conditions.ready false.
- "Configure a Pod to Use a ConfigMap": env from a ConfigMap is read when the container
  starts and is not updated afterwards; a missing non-optional ConfigMap keeps the
  container from starting (CreateContainerConfigError).
"""
from __future__ import annotations

import pytest

from grader.cluster.offline import OfflineCluster
from grader.kubectl.offline import run as kubectl
from grader.labs.workloads import AGNHOST_IMAGE

SERVICE = """apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


def web(probe: str, *, listen: int = 8080, kind: str = "readinessProbe") -> str:
    return f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port={listen}]
        ports: [{{name: http, containerPort: 8080}}]
        {kind}: {probe}
"""


def fresh() -> object:
    return OfflineCluster(say=lambda _: None).namespace("probes")


@pytest.mark.parametrize("probe", [
    "{httpGet: {path: /healthz, port: 8080}}",
    "{httpGet: {path: /healthz, port: http}}",
    "{httpGet: {path: /any/path, port: http}}",          # netexec answers every path with 200
    "{tcpSocket: {port: http}}",
    "{exec: {command: [\"true\"]}}",                        # not run by the model: assumed to pass
])
def test_a_probe_the_server_answers_makes_the_pod_ready(probe: str) -> None:
    ns = fresh()
    ns.apply(web(probe) + "---\n" + SERVICE)
    assert all(p.ready for p in ns.pods())
    assert len([e for e in ns.endpoints("web") if e.ready]) == 2


@pytest.mark.parametrize("probe, why", [
    ("{httpGet: {path: /healthz, port: 80}}", "connection refused on port 80"),
    ("{httpGet: {path: /healthz, port: 8081}}", "connection refused on port 8081"),   # netexec's UDP port
    ("{httpGet: {path: /healthz, port: web}}", "not a port the container declares"),
    ("{httpGet: {path: /healthz, port: http, scheme: HTTPS}}", "HTTPS handshake fails"),
    ("{grpc: {port: 8080}}", "gRPC health service"),
])
def test_a_failing_readiness_probe_keeps_the_pod_listed_but_not_ready(probe: str, why: str) -> None:
    ns = fresh()
    ns.apply(web(probe) + "---\n" + SERVICE)
    pods = ns.pods()
    assert pods and not any(p.ready for p in pods)
    eps = ns.endpoints("web")
    assert len(eps) == 2 and not any(e.ready for e in eps)        # listed, conditions.ready false
    assert ns.probe("web:80", frm="app=web").status.value != "OK"
    with pytest.raises(TimeoutError, match=why):
        ns.wait_ready()
    ns.wait_ready(unready="app=web")                              # excused: they run


def test_the_probe_follows_the_port_the_app_serves_not_the_declared_number() -> None:
    ns = fresh()
    ns.apply(web("{httpGet: {path: /healthz, port: http}}", listen=9090) + "---\n" + SERVICE)
    assert not any(p.ready for p in ns.pods())


def test_a_failing_liveness_probe_does_not_touch_readiness() -> None:
    ns = fresh()
    ns.apply(web("{httpGet: {path: /healthz, port: http}}", listen=9090, kind="livenessProbe") + "---\n" + SERVICE)
    assert all(p.ready for p in ns.pods())           # Ready between restarts: still an endpoint
    assert all(e.ready for e in ns.endpoints("web"))


def test_a_failing_startup_probe_keeps_the_pod_unready() -> None:
    ns = fresh()
    ns.apply(web("{tcpSocket: {port: 9999}}", kind="startupProbe"))
    assert not any(p.ready for p in ns.pods())


def test_set_ready_cannot_make_a_failing_probe_pass() -> None:
    ns = fresh()
    ns.apply(web("{tcpSocket: {port: 80}}"))
    ns.set_ready("app=web", True)
    assert not any(p.ready for p in ns.pods())


API = f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: api}}}}
  template:
    metadata: {{labels: {{app: api}}}}
    spec:
      containers:
      - name: api
        image: {AGNHOST_IMAGE}
        args: [netexec]
        envFrom: [{{configMapRef: {{name: cfg}}}}, {{prefix: C_, configMapRef: {{name: cfg}}}}]
        env:
        - {{name: DB_PORT, value: "6543"}}
        - {{name: URL, value: "$(DB_HOST):$(DB_PORT)"}}
        - {{name: MODE, valueFrom: {{configMapKeyRef: {{name: cfg, key: MODE}}}}}}
        - {{name: OPT, valueFrom: {{configMapKeyRef: {{name: absent, key: x, optional: true}}}}}}
"""
CONFIG = """apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {DB_HOST: db, DB_PORT: "5432", MODE: blue}
"""


def test_env_and_envfrom_resolve_as_the_kubelet_does() -> None:
    ns = fresh()
    ns.apply(CONFIG + "---\n" + API)
    env = ns.env("app=api")
    assert env == {"DB_HOST": "db", "DB_PORT": "6543", "MODE": "blue", "C_DB_HOST": "db", "C_DB_PORT": "5432",
                   "C_MODE": "blue", "URL": "db:6543"}   # env wins over envFrom; $(VAR) expanded; optional skipped


def test_pods_keep_the_environment_they_started_with_until_a_rollout_restart() -> None:
    ns = fresh()
    ns.apply(CONFIG + "---\n" + API)
    ns.apply(CONFIG.replace("MODE: blue", "MODE: green"))
    assert {ns.env(p.name)["MODE"] for p in ns.pods()} == {"blue"}
    assert kubectl(ns, "rollout restart deployment/api").code == 0
    assert {ns.env(p.name)["MODE"] for p in ns.pods()} == {"green"}
    out = kubectl(ns, f"exec {ns.pods()[0].name} -- env").stdout
    assert "MODE=green\n" in out and "DB_HOST=db\n" in out


def test_a_missing_configmap_keeps_the_container_from_starting_until_it_exists() -> None:
    ns = fresh()
    ns.apply(API)
    assert not any(p.ready for p in ns.pods())
    with pytest.raises(TimeoutError, match='CreateContainerConfigError: configmap "cfg" not found'):
        ns.wait_ready(unready="app=api")              # not excused: the container never ran
    ns.apply(CONFIG)                                  # the kubelet retries: the pods start now
    assert all(p.ready for p in ns.pods()) and ns.env("app=api")["MODE"] == "blue"


def test_a_missing_key_is_an_error_unless_optional() -> None:
    ns = fresh()
    ns.apply(CONFIG.replace("MODE: blue", "OTHER: x") + "---\n" + API)
    with pytest.raises(TimeoutError, match="couldn't find key MODE in ConfigMap probes/cfg"):
        ns.wait_ready()
