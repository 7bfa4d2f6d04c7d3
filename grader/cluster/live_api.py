"""The live backend's boundary with the official kubernetes client: every call into it.

`LiveApi` is a handful of thin methods that return camelCase dicts, the same shape as the
YAML a learner writes, whichever version of the client generated the models. Keeping the
surface this small is what lets tests fake it exactly (tests/fakes/kube_client.py) and means a
client upgrade touches this module only. The rest of the backend (grader.cluster.live,
live_namespace, live_pods) is plain logic on those dicts.

Also here: reading an exec's status channel into an ExecResult, since that is the client's
wire format, not the backend's logic.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

FIELD_MANAGER = "svclab"
GATEWAY_GROUP = "gateway.networking.k8s.io"

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


def server_message(exc: ApiException) -> str:
    body = getattr(exc, "body", None)
    if body:
        try:
            return str(json.loads(body).get("message") or body)
        except (ValueError, AttributeError):
            return str(body)
    return f"{exc.status} {exc.reason}"


class LiveApi:
    """Every call this backend makes into the kubernetes client. Reads return camelCase dicts.

    Tests construct it with fakes for `core`, `apps`, `discovery`, `version`, `dynamic`,
    `stream` and `watch_factory`; nothing else in the backend talks to the client."""

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
    def from_kubeconfig(cls, context: str | None = None, kubeconfig: str | None = None) -> "LiveApi":
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
        return _unless_absent(
            None, lambda: self._dict(self.networking.read_namespaced_ingress(name, namespace)))

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
        kwargs: dict[str, Any] = {k: v for k, v in (("label_selector", label_selector),
                                    ("field_selector", field_selector)) if v}
        data = self._dict(self.core.list_namespaced_pod(namespace, **kwargs))
        return data.get("items") or [], (data.get("metadata") or {}).get("resourceVersion")

    def read_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return _unless_absent(None, lambda: self._dict(self.core.read_namespaced_pod(name, namespace)))

    def read_pod_log(self, namespace: str, name: str, since_seconds: int) -> str:
        """The pod's log lines of the last `since_seconds` (its current container); "" when
        the pod is gone."""
        return _unless_absent("", lambda: str(self.core.read_namespaced_pod_log(
            name, namespace, since_seconds=max(1, int(since_seconds)))))

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

    def list_tls_certificates(self, namespace: str) -> dict[str, str]:
        """Secret name -> its tls.crt (base64, as stored) for the namespace's kubernetes.io/tls
        Secrets: to name the Secret whose certificate an HTTPS handshake presented."""
        data = self._dict(self.core.list_namespaced_secret(namespace,
                                                           field_selector="type=kubernetes.io/tls"))
        return {s["metadata"]["name"]: (s.get("data") or {}).get("tls.crt", "")
                for s in data.get("items") or []}
    def list_network_policies(self, namespace: str) -> list[dict[str, Any]]:
        return self._dict(self.networking.list_namespaced_network_policy(namespace)).get("items") or []

    def list_nodes(self) -> list[dict[str, Any]]:
        return self._dict(self.core.list_node()).get("items") or []

    def list_failed_creates(self, namespace: str, kind: str, name: str) -> list[dict[str, Any]]:
        """The FailedCreate events a controller recorded for one of its objects (the
        StatefulSet controller reports a refused pod or claim only this way)."""
        selector = f"involvedObject.kind={kind},involvedObject.name={name},reason=FailedCreate"
        events = self._dict(self.core.list_namespaced_event(namespace, field_selector=selector))
        return events.get("items") or []

    # ---- writes
    def delete_namespace(self, name: str) -> bool:
        try:
            self.core.delete_namespace(name)
        except ApiException as exc:
            if _status_of(exc) in (404, 409):
                return False
            raise
        return True

    def stop_pods_promptly(self, namespace: str, grace_seconds: int = 1) -> None:
        """Shorten every pod's termination grace in `namespace` to `grace_seconds`.

        Why: a namespace is gone only when its last pod is; a container that ignores
        SIGTERM (agnhost netexec does) holds it for the full 30 s default. Not a force
        delete: the kubelet still stops each container and reports it, so nothing keeps
        running behind the API's back. A later, longer grace cannot lengthen it again."""
        try:
            self.core.delete_collection_namespaced_pod(namespace, grace_period_seconds=grace_seconds)
        except ApiException as exc:
            if _status_of(exc) != 404:
                raise

    def _resource(self, obj: dict[str, Any]) -> Any:
        return self.dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])

    def get_object(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        meta = obj.get("metadata") or {}
        return _unless_absent(None, lambda: self._dict(self.dynamic.get(
            self._resource(obj), name=meta["name"], namespace=meta.get("namespace"))))

    def server_side_apply(self, obj: dict[str, Any], *, dry_run: bool = False,
                          field_manager: str = FIELD_MANAGER) -> dict[str, Any]:
        """Server-side apply as the "svclab" field manager, forcing conflicts so re-running a
        cell after a `kubectl edit` still converges on what the notebook says. Another
        `field_manager` owns a part of an object apart (e.g. only its labels), so applying
        that part again, smaller, removes what it no longer names and nothing else."""
        meta = obj.get("metadata") or {}
        kwargs: dict[str, Any] = {"field_manager": field_manager, "force_conflicts": True}
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

