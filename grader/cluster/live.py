"""The live backend: the Cluster API on a real cluster, through the official kubernetes client.

This is the only module in the project that imports `kubernetes`, and every call it makes into
the client goes through `_Api`, a handful of thin methods. That keeps the surface small enough
to fake exactly in tests (tests/test_live_backend.py), and means a client upgrade touches one
class. Everything else here is plain logic on camelCase dicts, the same shape as the YAML a
learner writes, whichever version of the client generated the models.

Probes run upstream tools inside pods (the agnhost e2e image ships /agnhost, curl and dig);
`exec_parsing` turns their output into the same Outcome/DnsAnswer types the offline model
returns, so a verdict can be compared field by field across the two modes.
"""
from __future__ import annotations

import functools
import json
import math
import os
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, TypeVar

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from grader.apply_order import apply_rank
from grader.guardrails import guardrail_objects  # noqa: F401  (one definition for both backends)
from grader.cluster import exec_parsing as xp
from grader.cluster.base import (
    DnsAnswer, Endpoint, ManifestInput, Matrix, Outcome, PodRef, Reachability, ServiceInfo,
    ServicePortInfo, Status, ip_sort_key,
)
from grader.observations import Condition, GatewayStatus, HttpResponse, ListenerStatus, ParentStatus
from grader.kind import MANAGED_BY_LABEL
from grader.model.selectors import is_selector, parse_selector
from grader.kind.images import AGNHOST_IMAGE
from grader.rules.service import effective_cluster_ips

FIELD_MANAGER = "svclab"
MANAGED_SELECTOR = f"{MANAGED_BY_LABEL[0]}={MANAGED_BY_LABEL[1]}"


#: Kinds `LiveNamespace.delete(kind, name)` knows: lower-case name -> (kind, apiVersion).
DELETABLE_KINDS = {
    "configmap": ("ConfigMap", "v1"), "service": ("Service", "v1"), "pod": ("Pod", "v1"),
    "deployment": ("Deployment", "apps/v1"), "statefulset": ("StatefulSet", "apps/v1"),
    "networkpolicy": ("NetworkPolicy", "networking.k8s.io/v1"),
    "ingress": ("Ingress", "networking.k8s.io/v1"),
    "gateway": ("Gateway", "gateway.networking.k8s.io/v1"),
    "httproute": ("HTTPRoute", "gateway.networking.k8s.io/v1"),
    "referencegrant": ("ReferenceGrant", "gateway.networking.k8s.io/v1"),
}

#: Hints for the container states a learner most often meets, quoted in wait_ready's error.
WAITING_HINTS = {
    "ImagePullBackOff": f"check the image name and tag (the course image is {AGNHOST_IMAGE})",
    "ErrImagePull": f"check the image name and tag (the course image is {AGNHOST_IMAGE})",
    "InvalidImageName": "the image reference is malformed",
    "CrashLoopBackOff": "the container keeps exiting: check its command and args",
    "CreateContainerConfigError": "a referenced ConfigMap/Secret or key is missing",
}


# =========================================================================== client boundary

@dataclass(frozen=True)
class ExecResult:
    """What a command run in a pod returned."""

    rc: int
    stdout: str
    stderr: str


def _status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status", None)


_T = TypeVar("_T")


def _unless_absent(absent: _T, call: Callable[[], _T]) -> _T:
    """call(), or `absent` when the API server answers 404 Not Found."""
    try:
        return call()
    except ApiException as exc:
        if _status_of(exc) == 404:
            return absent
        raise


def _server_message(exc: ApiException) -> str:
    body = getattr(exc, "body", None)
    if body:
        try:
            return str(json.loads(body).get("message") or body)
        except (ValueError, AttributeError):
            return str(body)
    return f"{exc.status} {exc.reason}"


class _Api:
    """Every call this backend makes into the kubernetes client. Reads return camelCase dicts.

    Tests construct it with fakes for `core`, `apps`, `discovery`, `version`, `dynamic`,
    `stream` and `watch_factory`; nothing else in this module talks to the client."""

    def __init__(self, api_client: Any, *, core: Any = None, apps: Any = None,
                 discovery: Any = None, version: Any = None, dynamic: Any = None,
                 stream: Callable[..., Any] | None = None,
                 watch_factory: Callable[[], Any] | None = None,
                 exec_core: Callable[[], Any] | None = None, custom: Any = None,
                 networking: Any = None) -> None:
        self.api_client = api_client
        self.custom = custom or k8s_client.CustomObjectsApi(api_client)
        self.networking = networking or k8s_client.NetworkingV1Api(api_client)
        if exec_core is None:
            exec_core = (lambda: core) if core is not None else self._fresh_core
        self._exec_core = exec_core
        self.core = core or k8s_client.CoreV1Api(api_client)
        self.apps = apps or k8s_client.AppsV1Api(api_client)
        self.discovery = discovery or k8s_client.DiscoveryV1Api(api_client)
        self.version = version or k8s_client.VersionApi(api_client)
        self._dynamic = dynamic
        if stream is None:
            from kubernetes.stream import stream as _stream
            stream = _stream
        self._stream = stream
        if watch_factory is None:
            from kubernetes.watch import Watch
            watch_factory = Watch
        self._watch_factory = watch_factory

    @classmethod
    def from_kubeconfig(cls, context: str | None = None, kubeconfig: str | None = None) -> "_Api":
        # $KUBECONFIG is read now, not when kubernetes was imported (the client caches it).
        config_file = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
        return cls(k8s_config.new_client_from_config(config_file=config_file, context=context))

    def _fresh_core(self) -> Any:
        """A CoreV1Api on its own ApiClient (same configuration) for one exec.

        kubernetes.stream.stream() swaps `api_client.call_api` for a websocket call while it
        runs and puts the previous one back afterwards. Two execs on one ApiClient at once
        (matrix() runs eight) can leave the websocket version installed for good, after which
        every ordinary request goes out as a websocket upgrade. One client per exec avoids it."""
        return k8s_client.CoreV1Api(k8s_client.ApiClient(configuration=self.api_client.configuration))

    @property
    def dynamic(self) -> Any:
        """Created on first use: the dynamic client runs API discovery against the server."""
        if self._dynamic is None:
            from kubernetes.dynamic import DynamicClient
            self._dynamic = DynamicClient(self.api_client)
        return self._dynamic

    def _dict(self, obj: Any) -> Any:
        """camelCase dicts from typed models (any client version) and dynamic ResourceInstances."""
        if isinstance(obj, dict):
            return obj
        if type(obj).__module__.startswith("kubernetes.dynamic"):
            return obj.to_dict()
        return self.api_client.sanitize_for_serialization(obj)

    # ---- reads
    def server_version(self, timeout: float) -> str:
        info = self._dict(self.version.get_code(_request_timeout=timeout))
        return str(info.get("gitVersion", "?"))

    def read_ingress(self, namespace: str, name: str) -> dict[str, Any] | None:
        return _unless_absent(None, lambda: self._dict(self.networking.read_namespaced_ingress(name, namespace)))

    def read_gateway_object(self, namespace: str, plural: str, name: str) -> dict[str, Any] | None:
        """A Gateway API object (gateways, httproutes) as the API server stores it."""
        return _unless_absent(None, lambda: self._dict(self.custom.get_namespaced_custom_object(
            GATEWAY_GROUP, "v1", namespace, plural, name)))

    def list_gateway_names(self, namespace: str) -> list[str]:
        """The namespace's Gateways (none when the Gateway API CRDs are not installed)."""
        found = _unless_absent(None, lambda: self._dict(self.custom.list_namespaced_custom_object(
            GATEWAY_GROUP, "v1", namespace, "gateways")))
        return [str((g.get("metadata") or {}).get("name")) for g in (found or {}).get("items") or []]

    def read_crd(self, name: str) -> dict[str, Any] | None:
        return _unless_absent(None, lambda: self._dict(self.custom.get_cluster_custom_object(
            "apiextensions.k8s.io", "v1", "customresourcedefinitions", name)))

    def read_namespace(self, name: str) -> dict[str, Any] | None:
        return _unless_absent(None, lambda: self._dict(self.core.read_namespace(name)))

    def list_namespaces(self, label_selector: str) -> list[dict[str, Any]]:
        return self._dict(self.core.list_namespace(label_selector=label_selector)).get("items") or []

    def list_pods(self, namespace: str, label_selector: str | None = None,
                  field_selector: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        kwargs = {k: v for k, v in (("label_selector", label_selector),
                                    ("field_selector", field_selector)) if v}
        data = self._dict(self.core.list_namespaced_pod(namespace, **kwargs))
        return data.get("items") or [], (data.get("metadata") or {}).get("resourceVersion")

    def read_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return _unless_absent(None, lambda: self._dict(self.core.read_namespaced_pod(name, namespace)))

    def read_service(self, namespace: str, name: str) -> dict[str, Any] | None:
        return _unless_absent(None, lambda: self._dict(self.core.read_namespaced_service(name, namespace)))

    def list_services(self, namespace: str) -> list[dict[str, Any]]:
        return self._dict(self.core.list_namespaced_service(namespace)).get("items") or []

    def list_endpoint_slices(self, namespace: str, service: str) -> list[dict[str, Any]]:
        data = self.discovery.list_namespaced_endpoint_slice(
            namespace, label_selector=f"kubernetes.io/service-name={service}")
        return self._dict(data).get("items") or []

    def list_workloads(self, namespace: str) -> list[dict[str, Any]]:
        deployments = self._dict(self.apps.list_namespaced_deployment(namespace)).get("items") or []
        statefulsets = self._dict(self.apps.list_namespaced_stateful_set(namespace)).get("items") or []
        return ([dict(d, kind="Deployment") for d in deployments]
                + [dict(s, kind="StatefulSet") for s in statefulsets])

    def list_nodes(self) -> list[dict[str, Any]]:
        return self._dict(self.core.list_node()).get("items") or []

    def list_failed_creates(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        """The FailedCreate events a controller recorded for one of its objects (the
        StatefulSet controller reports a refused pod or claim only this way)."""
        selector = f"involvedObject.kind={kind},involvedObject.name={name},reason=FailedCreate"
        return self._dict(self.core.list_namespaced_event(namespace, field_selector=selector)).get("items") or []

    # ---- writes
    def delete_namespace(self, name: str) -> bool:
        try:
            self.core.delete_namespace(name)
        except ApiException as exc:
            if _status_of(exc) in (404, 409):
                return False
            raise
        return True

    def _resource(self, obj: dict[str, Any]) -> Any:
        return self.dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])

    def get_object(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        meta = obj.get("metadata") or {}
        return _unless_absent(None, lambda: self._dict(self.dynamic.get(
            self._resource(obj), name=meta["name"], namespace=meta.get("namespace"))))

    def server_side_apply(self, obj: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply as the "svclab" field manager, forcing conflicts so re-running a
        cell after a `kubectl edit` still converges on what the notebook says."""
        meta = obj.get("metadata") or {}
        kwargs: dict[str, Any] = {"field_manager": FIELD_MANAGER, "force_conflicts": True}
        if dry_run:
            kwargs["dry_run"] = "All"
        applied = self.dynamic.server_side_apply(self._resource(obj), body=obj, name=meta["name"],
                                                 namespace=meta.get("namespace"), **kwargs)
        return self._dict(applied)

    def delete_object(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}

        def delete() -> bool:
            self.dynamic.delete(self._resource(obj), name=meta["name"], namespace=meta.get("namespace"))
            return True
        return _unless_absent(False, delete)

    # ---- streams
    def wait_for_pod_event(self, namespace: str, resource_version: str | None,
                           timeout: float) -> dict[str, Any] | None:
        """Block until any pod in the namespace changes (returns the event) or `timeout`."""
        watch = self._watch_factory()
        seconds = max(1, int(math.ceil(timeout)))
        # timeoutSeconds ends the watch on the server; _request_timeout bounds the socket read
        # in case the server (or a proxy in between) never closes it.
        kwargs: dict[str, Any] = {"timeout_seconds": seconds, "_request_timeout": seconds + 5}
        if resource_version:
            kwargs["resource_version"] = resource_version
        try:
            for event in watch.stream(self.core.list_namespaced_pod, namespace, **kwargs):
                watch.stop()
                return event
        except ApiException as exc:  # 410 Gone: our resourceVersion is stale; just re-list
            if _status_of(exc) != 410:
                raise
        return None

    def exec_in_pod(self, namespace: str, pod: str, command: list[str], timeout: float,
                    container: str | None = None) -> ExecResult:
        """Run `command` in a pod (no shell, no tty) and collect exit code, stdout, stderr."""
        kwargs: dict[str, Any] = dict(command=command, stderr=True, stdin=False, stdout=True,
                                      tty=False, _preload_content=False)
        if container:
            kwargs["container"] = container
        core = self._exec_core()
        try:
            resp = self._stream(core.connect_get_namespaced_pod_exec, pod, namespace, **kwargs)
            try:
                resp.run_forever(timeout=timeout)
                out = resp.read_stdout(timeout=0) or ""
                err = resp.read_stderr(timeout=0) or ""
                if resp.is_open():
                    return ExecResult(124, out, err + f"\nsvclab: command did not finish in {timeout:g}s")
                return _with_status(resp.read_channel(ERROR_CHANNEL, timeout=0), out, err,
                                    f"{namespace}/{pod}", command)
            finally:
                resp.close()
        finally:
            if core is not self.core:
                core.api_client.close()


#: kubernetes.stream.ws_client.ERROR_CHANNEL: where the kubelet sends the exec's v1 Status.
ERROR_CHANNEL = 3

#: Phrases of the container runtime's "cannot start that executable" errors (runc/crun via
#: containerd: `exec: "dig": executable file not found in $PATH`, `stat /agnhost: no such
#: file or directory`).
_MISSING_EXECUTABLE = ("executable file not found", "no such file or directory", "not found in $path")


def _with_status(error_channel: str, out: str, err: str, where: str = "pod",
                 command: list[str] | None = None) -> ExecResult:
    """Read the exec "error" channel, a v1 Status: Success = exit 0; NonZeroExitCode carries
    the code in details.causes[reason=ExitCode]; a runtime error saying the executable does
    not exist is exit 127 (what a shell reports), so exec_parsing names the course image.
    Any other failure is not a probe result: it raises with the API server's message."""
    if not error_channel:
        return ExecResult(0, out, err)
    try:
        status = json.loads(error_channel)
    except ValueError:
        status = {"status": "Failure", "message": error_channel}
    if status.get("status") == "Success":
        return ExecResult(0, out, err)
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode" and str(cause.get("message", "")).isdigit():
            return ExecResult(int(cause["message"]), out, err)
    message = str(status.get("message") or status.get("reason") or error_channel).strip()
    if any(phrase in message.lower() for phrase in _MISSING_EXECUTABLE):
        return ExecResult(127, out, (err + "\n" + message).strip())
    raise RuntimeError(f"could not run {' '.join(command or [])!r} in {where}: {message}")


# =========================================================================== pod state

def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type"): c for c in (obj.get("status") or {}).get("conditions") or []}


def pod_is_ready(pod: dict[str, Any]) -> bool:
    return _conditions(pod).get("Ready", {}).get("status") == "True"


def service_info(svc: dict[str, Any]) -> ServiceInfo:
    """A Service object as the API returns it -> the backend-neutral ServiceInfo."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = next((i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")), None)
    kind = spec.get("type") or "ClusterIP"
    return ServiceInfo(
        namespace=meta.get("namespace", ""), name=meta.get("name", ""), type=kind,
        cluster_ip=None if kind == "ExternalName" else spec.get("clusterIP"),
        selector=dict(spec.get("selector") or {}),
        ports=tuple(ServicePortInfo(int(p.get("port", 0)), p.get("protocol") or "TCP", p.get("name"),
                                    p.get("targetPort"), p.get("nodePort"))
                    for p in spec.get("ports") or []),
        external_address=external if kind == "LoadBalancer" else None,
        external_name=spec.get("externalName"))


def _pod_counts(pod: dict[str, Any]) -> bool:
    """Pods that count for readiness: not being deleted, not finished."""
    return not (pod.get("metadata") or {}).get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def why_not_ready(pod: dict[str, Any]) -> str:
    """One phrase a learner can act on: the waiting reason of a container, an unschedulable
    message, a crash, or a failing readiness probe."""
    status = pod.get("status") or {}
    scheduled = _conditions(pod).get("PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        return f"{scheduled.get('reason') or 'Unschedulable'}: {scheduled.get('message', '').strip()}"
    statuses = (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
            reason = waiting["reason"]
            msg = (waiting.get("message") or "").strip()
            hint = WAITING_HINTS.get(reason)
            parts = [f"container {cs.get('name')}: {reason}"]
            if msg:
                parts.append(f"({msg[:200]})")
            if hint:
                parts.append(f"- {hint}")
            return " ".join(parts)
        terminated = (cs.get("state") or {}).get("terminated")
        if terminated:
            return f"container {cs.get('name')} exited ({terminated.get('reason')}, code {terminated.get('exitCode')})"
    for cs in statuses:
        if (cs.get("state") or {}).get("running") and not cs.get("ready"):
            return f"container {cs.get('name')} is running but its readiness probe has not passed"
    for cs in statuses:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            return f"container {cs.get('name')}: {waiting.get('reason')}"
    return f"phase {status.get('phase', 'Pending')}"


def failed_create_reason(events: list[dict[str, Any]]) -> str | None:
    """The API server's refusal quoted in the newest FailedCreate event ("create Pod db-20
    in StatefulSet db failed error: <refusal>"), or None."""
    def when(e: dict[str, Any]) -> str:
        return str(e.get("lastTimestamp") or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp") or "")
    for event in sorted(events, key=when, reverse=True):
        message = str(event.get("message") or "")
        _, sep, refusal = message.partition(" failed error: ")
        return refusal.strip() if sep else message.strip() or None
    return None


def workload_problem(workload: dict[str, Any]) -> str | None:
    """Why a Deployment/StatefulSet is not yet fully rolled out, or None when it is."""
    kind = workload["kind"]
    meta = workload.get("metadata") or {}
    spec = workload.get("spec") or {}
    status = workload.get("status") or {}
    want = spec.get("replicas", 1)
    ready = status.get("readyReplicas") or 0
    updated = status.get("updatedReplicas") or 0
    observed = status.get("observedGeneration") or 0
    if ready >= want and updated >= want and observed >= (meta.get("generation") or 0):
        return None
    line = f"{kind.lower()}/{meta.get('name')}: {ready}/{want} ready"
    failure = _conditions(workload).get("ReplicaFailure")
    if failure and failure.get("status") == "True":
        created = status.get("replicas") or 0
        message = failure.get("message", "").strip()
        if failure.get("reason") == "FailedCreate" and created < want:
            # the ReplicaSet controller could not create them (quota, LimitRange...): the
            # offline model words the same failure the same way
            n = want - created
            return f"{n} pod{'s' if n != 1 else ''} of {kind.lower()}/{meta.get('name')} could not be created: {message}"
        line += f" ({message})"
    return line


# =========================================================================== the backend

class LiveCluster:
    """A real cluster reached through a kubeconfig context (default: the current context)."""

    mode = "live"

    def __init__(self, context: str | None = None, kubeconfig: str | None = None, *,
                 api: _Api | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, progress: bool = True,
                 say: Callable[[str], None] = print) -> None:
        self.context = context
        self._say = say
        self._api = api or _Api.from_kubeconfig(context, kubeconfig)
        self._clock = clock
        self._sleep = sleep
        self._progress = progress
        self._namespaces: list[str] = []

    def __repr__(self) -> str:
        return f"LiveCluster(context={self.context!r})"

    # ---- health
    def ping(self, timeout: float = 2.0) -> str:
        """The server's version if the API server answers within `timeout`; raises otherwise."""
        return self._api.server_version(timeout)

    def node_status(self) -> tuple[bool, str]:
        nodes = self._api.list_nodes()
        if not nodes:
            return False, "no nodes registered yet"
        not_ready = [n["metadata"]["name"] for n in nodes if _conditions(n).get("Ready", {}).get("status") != "True"]
        if not_ready:
            return False, f"not Ready: {', '.join(not_ready)}"
        return True, f"{len(nodes)} Ready"

    def coredns_status(self) -> tuple[bool, str]:
        pods, _ = self._api.list_pods("kube-system", label_selector="k8s-app=kube-dns")
        ready = [p for p in pods if pod_is_ready(p)]
        if not pods:
            return False, "no CoreDNS pods yet"
        return bool(ready), f"{len(ready)}/{len(pods)} Ready"

    # ---- namespaces
    def namespace(self, name: str, *, fresh: bool = True) -> "LiveNamespace":
        """An isolated namespace labelled for the course, with quota and default limits.

        fresh=True deletes a leftover namespace of the same name first (and waits until it is
        gone), saying so on stdout, as offline; it refuses to touch a namespace svclab did
        not create."""
        existing = self._api.read_namespace(name)
        if existing is not None:
            labels = (existing.get("metadata") or {}).get("labels") or {}
            if labels.get(MANAGED_BY_LABEL[0]) != MANAGED_BY_LABEL[1]:
                raise ValueError(
                    f"namespace {name!r} already exists and svclab did not create it; pick "
                    f"another name (svclab only deletes namespaces labelled {MANAGED_SELECTOR})")
            if fresh:
                self._api.delete_namespace(name)
                self._wait_namespace_gone(name)
                self._say(f"svclab: namespace {name} already existed: deleted and recreated empty "
                          "(pass fresh=False to keep its objects)")
        for obj in guardrail_objects(name):
            self._api.server_side_apply(obj)
        if name not in self._namespaces:
            self._namespaces.append(name)
        return LiveNamespace(self, name)

    def _wait_namespace_gone(self, name: str, timeout: float = 120) -> None:
        deadline = self._clock() + timeout
        while self._api.read_namespace(name) is not None:
            if self._clock() >= deadline:
                raise TimeoutError(
                    f"namespace {name!r} is still terminating after {timeout:g}s; try again "
                    f"in a minute, or use another name")
            self._sleep(1.0)

    def gc(self) -> list[str]:
        """Delete every namespace labelled app.kubernetes.io/managed-by=svclab (leftovers of
        interrupted runs). Returns their names; deletion finishes in the background."""
        names = sorted(ns["metadata"]["name"] for ns in self._api.list_namespaces(MANAGED_SELECTOR))
        for name in names:
            self._api.delete_namespace(name)
        return names

    # ---- from the learner's machine
    def probe_external(self, port: int, host: str = "127.0.0.1", path: str | None = None,
                       timeout: float = 2.0) -> Outcome:
        """Connect from this machine: a NodePort on 127.0.0.1 (kind's port mappings) or a
        LoadBalancer IP. Plain sockets/urllib, no kubernetes call for the probe itself. A
        refusal is asked again for a moment: kube-proxy opens a new NodePort a second or two
        after the Service is created (measured on the local cluster)."""
        out = self._probe_external_once(port, host, path, timeout)
        deadline = self._clock() + KUBE_PROXY_CATCH_UP
        while out.status is Status.REFUSED and self._clock() < deadline:
            self._sleep(0.5)
            out = self._probe_external_once(port, host, path, timeout)
        return out

    def _probe_external_once(self, port: int, host: str, path: str | None, timeout: float) -> Outcome:
        where = f"[{host}]" if ":" in host else host
        target = f"{host}:{port}{path or ''}"
        if path is None:
            try:
                with socket.create_connection((host, port), timeout=timeout) as sock:
                    _refused_behind_port_mapping(sock, min(timeout, MAPPED_PORT_GRACE))
            except OSError as exc:
                status, reason = _socket_error(exc)
                return Outcome(status, target, reason=reason)
            return Outcome(Status.OK, target, ip=host, reason="connected")
        url = f"http://{where}:{port}{path if path.startswith('/') else '/' + path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (http only)
                body, code = resp.read().decode("utf-8", "replace"), resp.status
        except urllib.error.HTTPError as exc:
            body, code = exc.read().decode("utf-8", "replace"), exc.code
        except urllib.error.URLError as exc:
            inner = exc.reason if isinstance(exc.reason, BaseException) else OSError(str(exc.reason))
            status, reason = _socket_error(inner)
            return Outcome(status, target, reason=reason)
        except OSError as exc:
            status, reason = _socket_error(exc)
            return Outcome(status, target, reason=reason)
        pod = self._find_pod(body.strip()) if path.rstrip("/") == "/hostname" else None
        return Outcome(Status.OK, target, pod=pod, ip=host, body=body, reason=f"HTTP {code}")

    def http(self, address: str, path: str = "/", *, host: str | None = None, port: int = 80,
             method: str = "GET", headers: dict[str, str] | None = None,
             timeout: float = 2.0) -> HttpResponse:
        """One HTTP request from this machine to an Ingress or Gateway address (http.client,
        no kubernetes call for the request itself). Live, the proxy does not say why it
        answered 404, nor which pod answered: `pod` is found from agnhost's `/hostname` body."""
        import http.client

        host = host or address
        path = path if path.startswith("/") else "/" + path
        authority = address if port == 80 else f"{address}:{port}"
        target = f"{method.upper()} http://{authority}{path}" + (f" (Host: {host})" if host != address else "")
        conn = http.client.HTTPConnection(address, port, timeout=timeout)
        try:
            conn.request(method.upper(), path, headers={"Host": host, **(headers or {})})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            code, got = resp.status, tuple(resp.getheaders())
        except OSError as exc:
            status, reason = _socket_error(exc)
            return HttpResponse(target, status, reason=reason)
        finally:
            conn.close()
        pod = self._find_pod(body.strip()) if code == 200 and body.strip() and "\n" not in body.strip() else None
        reason = {404: "the proxy found no route (no listener, host or path matched; see route_status)",
                  500: "the route's backend is invalid (see route_status: ResolvedRefs)",
                  503: "the backend Service has no ready endpoint, or the proxy could not connect"}.get(code, "")
        return HttpResponse(target, Status.OK, code, got, pod, body, reason=reason)

    def gateway_api_status(self) -> tuple[bool, str]:
        """Are the Gateway API CRDs installed (cloud-provider-kind installs them at start)?"""
        crd = self._api.read_crd(f"gateways.{GATEWAY_GROUP}")
        if crd is None:
            return False, "Gateway API CRDs missing (cloud-provider-kind installs them when it starts)"
        ann = (crd.get("metadata") or {}).get("annotations") or {}
        return True, (f"{ann.get(GATEWAY_GROUP + '/bundle-version', '?')} "
                      f"({ann.get(GATEWAY_GROUP + '/channel', '?')} channel)")

    def _find_pod(self, name: str) -> str | None:
        if not name:
            return None
        for ns in self._namespaces:
            pods, _ = self._api.list_pods(ns, field_selector=f"metadata.name={name}")
            if pods:
                return f"{ns}/{name}"
        return None


#: How long a probe of a Service with ready endpoints retries a refusal: kube-proxy programs
#: new endpoints a moment after they become ready (its sync runs at most once a second).
KUBE_PROXY_CATCH_UP = 3.0
#: How long a connect-only probe waits for a port mapping to drop the connection it accepted.
MAPPED_PORT_GRACE = 0.3


def _refused_behind_port_mapping(sock: socket.socket, grace: float) -> None:
    """A port mapping on 127.0.0.1 (kind's docker-proxy, the local cluster's forwarder)
    accepts every connection itself and closes it at once when the node refuses behind it:
    raise ConnectionResetError then. Silence (a server waiting for the request) or a first
    byte means something answered."""
    sock.settimeout(grace)
    try:
        if sock.recv(1) == b"":
            raise ConnectionResetError("closed connection: nothing answered behind the port mapping")
    except socket.timeout:
        pass


def _socket_error(exc: BaseException) -> tuple[Status, str]:
    if isinstance(exc, socket.gaierror):
        return Status.DNS_ERROR, f"name did not resolve ({exc})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return Status.TIMEOUT, "timed out (nothing answered: is the port mapped, or the LB IP reachable?)"
    if isinstance(exc, ConnectionRefusedError):
        return Status.REFUSED, "connection refused: nothing listens on that port"
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError)) or "reset" in str(exc).lower() \
            or "closed connection" in str(exc).lower():
        return Status.REFUSED, "connection reset: the port is mapped but no Service answers behind it"
    return Status.TIMEOUT, f"no connection ({exc})"


GATEWAY_GROUP = "gateway.networking.k8s.io"


def _conds(items: Any) -> tuple[Condition, ...]:
    return tuple(Condition(str(c.get("type")), str(c.get("status")), str(c.get("reason", "")),
                           str(c.get("message", ""))) for c in items or [])


class LiveNamespace:
    """One namespace on a live cluster (see grader.cluster.base.Namespace)."""

    def __init__(self, cluster: LiveCluster, name: str) -> None:
        self.cluster = cluster
        self.name = name
        self._api = cluster._api

    # ---- ingress / gateway status, as the controller wrote it
    def _must(self, obj: dict[str, Any] | None, resource: str, name: str) -> dict[str, Any]:
        if obj is None:
            raise LookupError(f'Error from server (NotFound): {resource} "{name}" not found')
        return obj

    def ingress_address(self, name: str) -> str | None:
        ing = self._must(self._api.read_ingress(self.name, name), "ingresses.networking.k8s.io", name)
        for entry in ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            if entry.get("ip") or entry.get("hostname"):
                return str(entry.get("ip") or entry.get("hostname"))
        return None

    def gateway_status(self, name: str) -> GatewayStatus:
        gw = self._must(self._api.read_gateway_object(self.name, "gateways", name),
                        f"gateways.{GATEWAY_GROUP}", name)
        status = gw.get("status") or {}
        listeners = tuple(ListenerStatus(str(ls.get("name")), int(ls.get("attachedRoutes", 0)),
                                         _conds(ls.get("conditions")),
                                         tuple(str(k.get("kind")) for k in ls.get("supportedKinds") or []))
                          for ls in status.get("listeners") or [])
        return GatewayStatus(f"{self.name}/{name}", tuple(str(a.get("value")) for a in status.get("addresses") or []),
                             _conds(status.get("conditions")), listeners)

    def gateway_address(self, name: str) -> str | None:
        addresses = self.gateway_status(name).addresses
        return addresses[0] if addresses else None

    def http(self, address: str, path: str = "/", *, host: str | None = None, port: int = 80,
             method: str = "GET", headers: dict[str, str] | None = None,
             timeout: float = 2.0) -> HttpResponse:
        return self.cluster.http(address, path, host=host, port=port, method=method, headers=headers,
                                 timeout=timeout)

    def route_status(self, name: str) -> list[ParentStatus]:
        route = self._must(self._api.read_gateway_object(self.name, "httproutes", name),
                           f"httproutes.{GATEWAY_GROUP}", name)
        out = []
        for parent in (route.get("status") or {}).get("parents") or []:
            ref = parent.get("parentRef") or {}
            out.append(ParentStatus(f"{ref.get('namespace') or self.name}/{ref.get('name')}", ref.get("sectionName"),
                                    _conds(parent.get("conditions")), str(parent.get("controllerName", ""))))
        return out

    def __repr__(self) -> str:
        return f"LiveNamespace({self.name!r})"

    # ---- apply / delete
    def apply(self, manifests: ManifestInput, *, source: str | None = None) -> list[str]:
        """Validate and sandbox-check everything before any request; then a server dry run of
        every object (so the API server's own rejections, e.g. a NodePort already taken, also
        leave nothing half-applied); then server-side apply in dependency order. Raises
        grader.manifests.ManifestError either way. Lines read like kubectl's."""
        return self._apply_all(_load_checked(manifests, self.name, source,
                                             lambda: self._api.list_gateway_names(self.name)))

    def apply_objects(self, objs: Iterable[dict[str, Any]]) -> list[str]:
        """Apply already-validated objects without the sandbox check: for a notebook's own
        fixtures (same as the offline backend's apply_objects)."""
        from grader import manifests as mf

        return self._apply_all([mf.Manifest(obj=dict(o), file="<object>", doc=i)
                                for i, o in enumerate(objs)])

    def _apply_all(self, loaded: list[Any]) -> list[str]:
        from grader import manifests as mf

        placed = sorted(((m, self._placed(m.obj)) for m in loaded),
                        key=lambda pair: apply_rank(pair[1]))

        def rejected(m: Any, exc: ApiException) -> Exception:
            return mf.ManifestError([mf.Problem(m.file, m.doc, m.kind, m.name, "",
                                                f"the API server refused it: {_server_message(exc)}")])

        for m, obj in placed:
            try:
                self._api.server_side_apply(obj, dry_run=True)
            except ApiException as exc:
                raise rejected(m, exc) from None
        lines = []
        for m, obj in placed:
            before = self._api.get_object(obj)
            try:
                after = self._api.server_side_apply(obj)
            except ApiException as exc:
                raise rejected(m, exc) from None
            if before is None:
                verb = "created"
            elif _as_applied(before) == _as_applied(after):
                verb = "unchanged"
            else:
                verb = "configured"
            lines.append(f"{_display_name(obj)} {verb}")
        return lines

    def _placed(self, obj: dict[str, Any]) -> dict[str, Any]:
        placed = json.loads(json.dumps(obj))  # a deep, JSON-clean copy
        placed.setdefault("metadata", {})["namespace"] = self.name
        return placed

    def delete(self, kind: str | None = None, name: str | None = None) -> None:
        """No arguments: delete the whole namespace (returns at once; the API server finishes
        in the background, and `cluster.namespace(name)` waits for it if you reuse the name).
        With kind and name: delete that one object."""
        if kind is None and name is None:
            self._api.delete_namespace(self.name)
            return
        if not kind or not name:
            raise ValueError("delete() takes both kind and name, or neither (whole namespace)")
        known = DELETABLE_KINDS.get(kind.lower())
        if known is None:
            raise ValueError(f"cannot delete kind {kind!r}; known: {', '.join(sorted(DELETABLE_KINDS))}")
        canonical, api_version = known
        self._api.delete_object({"apiVersion": api_version, "kind": canonical,
                                 "metadata": {"name": name, "namespace": self.name}})

    # ---- readiness
    def wait_ready(self, timeout: float = 120) -> None:
        """Block until every workload is rolled out and every pod is Ready. Watches pods (so it
        returns as soon as the last one is ready) with a progress bar; on timeout raises
        TimeoutError naming each laggard and why (ImagePullBackOff, Unschedulable, ...)."""
        from tqdm.auto import tqdm

        clock = self.cluster._clock
        deadline = clock() + timeout
        bar = tqdm(total=0, desc=f"{self.name}: pods ready", unit="pod", leave=False,
                   disable=not self.cluster._progress)
        try:
            while True:
                ready, want, problems, rv = self._readiness()
                bar.total, bar.n = want, ready
                bar.refresh()
                if not problems:
                    return
                remaining = deadline - clock()
                if remaining <= 0:
                    raise TimeoutError(
                        f"not ready after {timeout:g}s in namespace {self.name} "
                        f"({ready}/{want} pods Ready):\n" + "\n".join(f"  - {p}" for p in problems))
                self._api.wait_for_pod_event(self.name, rv, min(remaining, 2.0))
        finally:
            bar.close()

    def _readiness(self) -> tuple[int, int, list[str], str | None]:
        pods, rv = self._api.list_pods(self.name)
        pods = [p for p in pods if _pod_counts(p)]
        problems = [f"pod/{p['metadata']['name']}: {why_not_ready(p)}"
                    for p in sorted(pods, key=lambda p: p["metadata"]["name"]) if not pod_is_ready(p)]
        want = 0
        for workload in self._api.list_workloads(self.name):
            want += (workload.get("spec") or {}).get("replicas", 1)
            problem = workload_problem(workload)
            if problem and workload["kind"] == "StatefulSet":
                problem = self._statefulset_shortfall(workload) or problem
            if problem:
                problems.append(problem)
        want += sum(1 for p in pods if not (p.get("metadata") or {}).get("ownerReferences"))
        ready = sum(1 for p in pods if pod_is_ready(p))
        return ready, max(want, ready), problems, rv

    def _statefulset_shortfall(self, sts: dict[str, Any]) -> str | None:
        """A StatefulSet has no ReplicaFailure condition: when it has created fewer pods
        than it wants, its FailedCreate events say why, worded as offline."""
        want = (sts.get("spec") or {}).get("replicas", 1)
        created = (sts.get("status") or {}).get("replicas") or 0
        if created >= want:
            return None
        name = (sts.get("metadata") or {}).get("name")
        why = failed_create_reason(self._api.list_failed_creates(self.name, "StatefulSet", str(name)))
        if why is None:
            return None
        n = want - created
        return f"{n} pod{'s' if n != 1 else ''} of statefulset/{name} could not be created: {why}"

    # ---- observations
    def pods(self) -> list[PodRef]:
        return [ref for ref, _ in self._listed_pods()]

    def _listed_pods(self) -> list[tuple[PodRef, dict[str, Any]]]:
        """The pods that count, by name, each with the object the list returned."""
        pods, _ = self._api.list_pods(self.name)
        return sorted(((PodRef(self.name, p["metadata"]["name"], (p.get("status") or {}).get("podIP") or "",
                               labels=dict((p.get("metadata") or {}).get("labels") or {}),
                               ready=pod_is_ready(p)), p)
                       for p in pods if _pod_counts(p)), key=lambda pair: pair[0].name)

    def services(self) -> list[ServiceInfo]:
        """Every Service of the namespace, by name."""
        return sorted((service_info(s) for s in self._api.list_services(self.name)), key=lambda s: s.name)

    def service(self, name: str) -> ServiceInfo | None:
        """The Service as the API server stores it (allocated ClusterIP and nodePorts, the
        load balancer's address once the controller has written it)."""
        svc = self._api.read_service(self.name, name)
        return None if svc is None else service_info(svc)

    def endpoints(self, service: str) -> list[Endpoint]:
        """The Service's endpoints as its EndpointSlices list them (one entry per address and
        port). Unset ready/serving conditions count as true, as the API documents. A Service
        without ports (headless, only for DNS) has port-less slices: their addresses come
        back with port 0, as offline."""
        result = []
        portless_service: bool | None = None
        for es in self._api.list_endpoint_slices(self.name, service):
            if es.get("addressType") not in ("IPv4", "IPv6"):
                continue
            ports = es.get("ports") or []
            if not ports:
                if portless_service is None:
                    svc = self._api.read_service(self.name, service)
                    portless_service = svc is not None and not (svc.get("spec") or {}).get("ports")
                if not portless_service:
                    continue
                ports = [{"port": 0}]
            for ep in es.get("endpoints") or []:
                cond = ep.get("conditions") or {}
                ref = ep.get("targetRef") or {}
                pod = f"{ref.get('namespace') or self.name}/{ref['name']}" if ref.get("kind") == "Pod" else None
                for ip in ep.get("addresses") or []:
                    for port in ports:
                        result.append(Endpoint(
                            ip=ip, port=port.get("port"), protocol=port.get("protocol") or "TCP",
                            port_name=port.get("name") or None, pod=pod,
                            ready=cond.get("ready") is not False,
                            serving=cond.get("serving") is not False,
                            terminating=cond.get("terminating") is True))
        return sorted(result, key=lambda e: (e.port_name or "", e.port, ip_sort_key(e.ip)))

    def lookup(self, name: str, frm: str, rtype: str = "A") -> DnsAnswer:
        """Ask the cluster DNS from inside a pod matching `frm`, with the pod's search list."""
        pod, container = self._client_pod(frm)
        cmd = xp.dig_command(name, rtype)
        res = self._exec(pod, cmd, 5.0, container)
        return xp.parse_dig(name, rtype, res.rc, res.stdout, res.stderr)

    def probe(self, target: str, frm: str, protocol: str = "TCP", timeout: float = 1.0) -> Outcome:
        """Connect from a pod matching `frm`. "host:port" uses `agnhost connect` (TCP/UDP/SCTP);
        "host:port/path" makes an HTTP GET with curl and returns the body (and, for /hostname,
        the pod that answered). REFUSED from a Service with no ready endpoints becomes
        NO_ENDPOINTS, as the offline model reports it."""
        t = xp.parse_target(target)
        protocol = protocol.upper()
        pod, container = self._client_pod(frm)
        ref = self._service_ref(t.host)
        # the Service a name-shaped target names: read on first need, then reused
        named = functools.cache(lambda: self._api.read_service(*ref) if ref else None)
        ip = t.host if t.is_ip else None

        def attempt() -> tuple[Status, str, str | None, str | None]:
            if t.path is not None and protocol == "TCP":
                res = self._exec(pod, xp.curl_command(t, timeout), timeout, container)
                http = xp.parse_curl(res.rc, res.stdout, res.stderr)
                return http.status, http.reason, http.body, http.remote_ip
            res = self._exec(pod, xp.connect_command(t, protocol, timeout), timeout, container)
            return (*xp.parse_connect(res.rc, res.stderr), None, None)

        status, reason, body, remote = attempt()
        # A Service whose endpoints are ready but that kube-proxy has not programmed yet
        # rejects for a moment (its no-endpoints rule): ask again before believing it.
        clock, sleep = self.cluster._clock, self.cluster._sleep
        deadline = clock() + KUBE_PROXY_CATCH_UP
        while status is Status.REFUSED and ref and clock() < deadline:
            empty = self._service_without_endpoints(t, protocol, named)
            if empty or named() is None:
                break
            sleep(0.5)
            status, reason, body, remote = attempt()
        ip = remote or ip
        if status is Status.REFUSED:
            empty = self._service_without_endpoints(t, protocol, named)
            if empty:
                status, reason = Status.NO_ENDPOINTS, empty
        if ip is None and status is not Status.DNS_ERROR:
            ip = _cluster_ip(named())
        answered = None
        if status is Status.OK and body and (t.path or "").rstrip("/") == "/hostname":
            answered = f"{self._namespace_of(t.host)}/{body.strip()}"
        return Outcome(status, target, pod=answered, ip=ip, body=body, reason=reason)

    def matrix(self, ports: Iterable[int] | int | None = None, protocols: Iterable[str] = ("TCP",)) -> Matrix:
        """Probe every ordered pod pair by pod IP (bounded concurrency). `allowed` is the
        NetworkPolicy verdict: a refused connection reached the pod, so policy allowed it.
        `ports` is validated as offline; by default, the ports the pods listen on by the
        model's rule (grader.model.workloads.LISTENING_RULE) read from their specs. Pods
        without an IP (Pending) cannot be probed: they are left out, and that is said."""
        from tqdm.auto import tqdm

        from grader.model.matrix import check_ports, check_protocols

        protocols = check_protocols(protocols)
        all_listed = self._listed_pods()
        listed = [(ref, obj) for ref, obj in all_listed if ref.ip]
        pods = [ref for ref, _ in listed]
        port_list = check_ports(ports) if ports is not None else _listened_ports(
            [obj for _, obj in listed], protocols)
        unplaced = [ref.name for ref, _ in all_listed if not ref.ip]
        if unplaced:
            self.cluster._say(f"svclab: matrix of {len(pods)} pods in namespace {self.name}; "
                              f"{len(unplaced)} pod{'s have' if len(unplaced) != 1 else ' has'} no IP yet "
                              f"(Pending) and {'are' if len(unplaced) != 1 else 'is'} left out: "
                              f"{', '.join(unplaced[:5])}{' ...' if len(unplaced) > 5 else ''}")
        ports = port_list
        jobs = [(src, dst, port, proto.upper()) for src in pods for dst in pods
                for port in ports for proto in protocols]
        containers = {ref.name: _probe_container(obj) for ref, obj in listed}

        def run(job: tuple[PodRef, PodRef, int, str]) -> Reachability:
            src, dst, port, proto = job
            cmd = xp.connect_command(xp.Target(dst.ip, port), proto, 1.0)
            res = self._exec(src.name, cmd, 1.0, containers[src.name])
            status, reason = xp.parse_connect(res.rc, res.stderr)
            allowed = status in (Status.OK, Status.REFUSED)
            if status is Status.REFUSED:
                reason = f"allowed, but nothing listens on {port}/{proto}"
            return Reachability(src.key, dst.key, port, proto, allowed, reason)

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(tqdm(pool.map(run, jobs), total=len(jobs), desc=f"{self.name}: matrix",
                                unit="probe", leave=False, disable=not self.cluster._progress))
        return Matrix(pods=pods, results=results)

    # ---- helpers
    def _exec(self, pod: str, cmd: list[str], timeout: float, container: str | None) -> ExecResult:
        return self._api.exec_in_pod(self.name, pod, cmd, timeout + 5.0, container=container)

    def _client_pod(self, frm: str) -> tuple[str, str | None]:
        """The pod to run a probe in: a label selector ("app=frontend", "tier in (a,b)",
        "!canary"; grader.model.selectors.is_selector decides, as offline) picks the first
        Ready pod by name; anything else is a pod name. A malformed selector is refused
        here (SelectorError, a ValueError) with the same words as offline."""
        if is_selector(frm):
            parse_selector(frm)
            pods, _ = self._api.list_pods(self.name, label_selector=frm.strip())
            ready = sorted((p for p in pods if _pod_counts(p) and pod_is_ready(p)),
                           key=lambda p: p["metadata"]["name"])
            if not ready:
                raise LookupError(
                    f"no Ready pod matches {frm!r} in namespace {self.name} "
                    f"({len(pods)} match, none Ready); did you call wait_ready()?")
            pod = ready[0]
        else:
            pod = self._api.read_pod(self.name, frm)
            if pod is None:
                raise LookupError(f"no pod named {frm!r} in namespace {self.name}")
        return pod["metadata"]["name"], _probe_container(pod)

    def _service_ref(self, host: str) -> tuple[str, str] | None:
        """(namespace, name) when `host` is a Service name as cluster DNS resolves it from a
        pod here: "svc", "svc.ns", "svc.ns.svc[.cluster.local]". None for IPs and other names."""
        if xp.is_ip(host):
            return None
        parts = host.rstrip(".").split(".")
        if len(parts) > 2 and parts[2] != "svc":
            return None
        return (parts[1] if len(parts) >= 2 else self.name), parts[0]

    def _namespace_of(self, host: str) -> str:
        ref = self._service_ref(host)
        return ref[0] if ref else self.name

    def _service_without_endpoints(self, t: xp.Target, protocol: str,
                                   named: Callable[[], dict[str, Any] | None]) -> str | None:
        """If `t` names a Service port whose EndpointSlices have no ready endpoint, say so.
        `named()` is the Service a name-shaped target names (None for IPs and other names)."""
        if t.is_ip:
            ns = self.name
            svc = next((s for s in self._api.list_services(ns)
                        if t.host in effective_cluster_ips(s.get("spec") or {})), None)
        else:
            ns, svc = self._namespace_of(t.host), named()
        if not svc or (svc.get("spec") or {}).get("type") == "ExternalName":
            return None
        sport = next((p for p in (svc["spec"].get("ports") or [])
                      if p.get("port") == t.port and (p.get("protocol") or "TCP") == protocol), None)
        if sport is None:
            return None
        name = svc["metadata"]["name"]
        for es in self._api.list_endpoint_slices(ns, name):
            names = {(p.get("name") or "") for p in es.get("ports") or []}
            if (sport.get("name") or "") not in names:
                continue
            if any((ep.get("conditions") or {}).get("ready") is not False for ep in es.get("endpoints") or []):
                return None
        return f"Service {name} has no ready endpoints for port {t.port}"


#: Fields the server or controllers write, which say nothing about whether the apply changed
#: anything: a Deployment's status moves (and its resourceVersion with it) while its pods
#: start, between our read and our apply.
_SERVER_WRITTEN = ("resourceVersion", "managedFields", "generation")


def _as_applied(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without status and server-written metadata, to tell "unchanged" from
    "configured" whatever a controller did to it meanwhile."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _SERVER_WRITTEN}
    return {**{k: v for k, v in obj.items() if k != "status"}, "metadata": meta}


def _display_name(obj: dict[str, Any]) -> str:
    group = obj["apiVersion"].rpartition("/")[0]
    kind = obj["kind"].lower()
    return f"{kind}.{group}/{obj['metadata']['name']}" if group else f"{kind}/{obj['metadata']['name']}"


def _cluster_ip(svc: dict[str, Any] | None) -> str | None:
    """The ClusterIP a Service name resolves to (what the client connected to); None for a
    headless Service or none at all."""
    ip = ((svc or {}).get("spec") or {}).get("clusterIP")
    return ip if ip and ip != "None" else None


def _listened_ports(pods: list[dict[str, Any]], protocols: list[str]) -> list[int]:
    """What the pods serve for these protocols (the offline model's rule, on live specs),
    or [80] when nothing: the same default as offline and `svclab matrix`."""
    from grader.model.workloads import container_servers

    found = set()
    for pod in pods:
        for c in (pod.get("spec") or {}).get("containers") or []:
            found |= {port for (port, proto) in container_servers(c) if proto in protocols}
    return sorted(found) or [80]


def _probe_container(pod: dict[str, Any]) -> str | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    if len(containers) <= 1:
        return None
    for c in containers:
        if "agnhost" in (c.get("image") or ""):
            return c.get("name")
    return containers[0].get("name")


def _load_checked(manifests: ManifestInput, namespace: str, source: str | None,
                  existing_gateways: Any = ()) -> list[Any]:
    """grader.sandbox.load_sandboxed: refuse before anything reaches the cluster."""
    from grader.sandbox import load_sandboxed

    return load_sandboxed(manifests, namespace, source=source, existing_gateways=existing_gateways)
