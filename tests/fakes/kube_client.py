"""Fakes of exactly the kubernetes client calls the live backend makes (grader.cluster.live_api),
shared by every test of the live backend: import them from here, one way
(`from tests.fakes.kube_client import World, pod`), never from a test module.

The fakes record every call (method, args, kwargs) and return camelCase dicts, the shape the
real client's objects serialize to. Every fake method is bound to the INSTALLED client's
signature (`real(...)`): a call the real client would refuse (a misspelt keyword, a
positional too many, a keyword the DynamicClient would silently drop) fails in the fake too,
not in a classroom. `World` wires them into a LiveCluster with a fake clock; `FakeApiServer`
stands behind the REAL ApiClient (only the HTTP connection pool is faked) for the tests that
run the backend through the client's models, serialization, discovery, Watch and stream."""
from __future__ import annotations

import functools
import inspect
import json
import re
from typing import Any, Callable

from kubernetes import client as k8s
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.stream.ws_client import WSClient
from kubernetes.watch import Watch

from grader.cluster import live, live_api
from grader.kind.images import AGNHOST_IMAGE

NS = "lab1"


def _dynamic_request_params() -> frozenset[str]:
    """The keyword arguments DynamicClient.request() reads (it takes **params and silently
    ignores any other name, so a misspelt `fieldManager=` would be lost without an error)."""
    inner = inspect.getclosurevars(DynamicClient.request).nonlocals["func"]  # under @meta_request
    names = set(re.findall(r"\bparams(?:\.get\(|\.pop\(|\[)'(\w+)'", inspect.getsource(inner)))
    return frozenset(names | {"serialize", "serializer"})  # popped by meta_request


DYNAMIC_REQUEST_PARAMS = _dynamic_request_params()


def bind_real(real: Callable[..., Any], *args: Any, **kwargs: Any) -> inspect.BoundArguments:
    """Bind a call to the installed client's method (unbound: `self` is a placeholder), so the
    fake accepts exactly the arguments the real method accepts."""
    try:
        bound = inspect.signature(real).bind(None, *args, **kwargs)
    except TypeError as exc:
        raise TypeError(f"the real {real.__qualname__} refuses this call: {exc}") from None
    extra = {}
    for name, param in inspect.signature(real).parameters.items():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            extra = bound.arguments.get(name, {})
    if extra and real.__qualname__.startswith("DynamicClient."):
        unknown = set(extra) - DYNAMIC_REQUEST_PARAMS
        if unknown:
            raise TypeError(f"DynamicClient.request() ignores {sorted(unknown)}; it reads "
                            f"{sorted(DYNAMIC_REQUEST_PARAMS)}")
    return bound


def real(real_method: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for a fake method standing in for `real_method` of the installed client."""
    def wrap(fake: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fake)
        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            bind_real(real_method, *args, **kwargs)
            return fake(self, *args, **kwargs)
        checked.real = real_method  # type: ignore[attr-defined]
        return checked
    return wrap


def not_found_error() -> ApiException:
    return ApiException(status=404, reason="Not Found")


def pod(name: str, ip: str, labels: dict[str, str] | None = None, ready: bool = True,
        waiting: str | None = None, owner: bool = True, image: str = AGNHOST_IMAGE,
        scheduled: tuple[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": "Running" if ready else "Pending", "podIP": ip,
                              "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if waiting:
        status["containerStatuses"] = [{"name": "app", "ready": False,
                                        "state": {"waiting": {"reason": waiting, "message": f"{waiting} for {image}"}}}]
    if scheduled:
        status["conditions"].append({"type": "PodScheduled", "status": "False", "reason": scheduled[0],
                                     "message": scheduled[1]})
    meta: dict[str, Any] = {"name": name, "namespace": NS, "labels": labels or {}}
    if owner:
        meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs"}]
    return {"metadata": meta, "spec": {"containers": [{"name": "app", "image": image}]}, "status": status}


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def record(self, _call: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((_call, args, kwargs))

    def named(self, name: str) -> list[tuple[tuple, dict]]:
        return [(a, k) for n, a, k in self.calls if n == name]


class FakeCore:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.namespaces: dict[str, dict] = {}
        self.pods: list[dict] = []
        self.services: dict[str, dict] = {}
        self.nodes: list[dict] = []
        self.events: list[dict] = []

    @real(k8s.CoreV1Api.read_namespace)
    def read_namespace(self, name: str) -> dict:
        self.rec.record("read_namespace", name)
        if name not in self.namespaces:
            raise not_found_error()
        return self.namespaces[name]

    @real(k8s.CoreV1Api.list_namespace)
    def list_namespace(self, **kw: Any) -> dict:
        self.rec.record("list_namespace", **kw)
        return {"items": list(self.namespaces.values())}

    @real(k8s.CoreV1Api.delete_namespace)
    def delete_namespace(self, name: str) -> None:
        self.rec.record("delete_namespace", name)
        self.namespaces.pop(name, None)

    @real(k8s.CoreV1Api.delete_collection_namespaced_pod)
    def delete_collection_namespaced_pod(self, namespace: str, **kw: Any) -> None:
        self.rec.record("delete_collection_namespaced_pod", namespace, **kw)

    @real(k8s.CoreV1Api.list_namespaced_pod)
    def list_namespaced_pod(self, namespace: str, **kw: Any) -> dict:
        self.rec.record("list_namespaced_pod", namespace, **kw)
        items = self.pods
        if kw.get("label_selector"):
            k, _, v = kw["label_selector"].partition("=")
            items = [p for p in items if p["metadata"]["labels"].get(k) == v]
        if kw.get("field_selector"):
            items = [p for p in items if f"metadata.name={p['metadata']['name']}" == kw["field_selector"]]
        return {"items": items, "metadata": {"resourceVersion": "41"}}

    @real(k8s.CoreV1Api.read_namespaced_pod)
    def read_namespaced_pod(self, name: str, namespace: str) -> dict:
        self.rec.record("read_namespaced_pod", name, namespace)
        for p in self.pods:
            if p["metadata"]["name"] == name:
                return p
        raise not_found_error()

    @real(k8s.CoreV1Api.read_namespaced_service)
    def read_namespaced_service(self, name: str, namespace: str) -> dict:
        self.rec.record("read_namespaced_service", name, namespace)
        if name not in self.services:
            raise not_found_error()
        return self.services[name]

    @real(k8s.CoreV1Api.list_namespaced_service)
    def list_namespaced_service(self, namespace: str) -> dict:
        return {"items": list(self.services.values())}

    @real(k8s.CoreV1Api.list_namespaced_event)
    def list_namespaced_event(self, namespace: str, **kw: Any) -> dict:
        self.rec.record("list_namespaced_event", namespace, **kw)
        return {"items": list(self.events)}

    @real(k8s.CoreV1Api.list_node)
    def list_node(self) -> dict:
        return {"items": self.nodes}

    @real(k8s.CoreV1Api.connect_get_namespaced_pod_exec)
    def connect_get_namespaced_pod_exec(self, *a: Any, **k: Any) -> None:  # only passed to stream()
        raise AssertionError("must be called through kubernetes.stream.stream")


class FakeApps:
    def __init__(self, rec: Recorder) -> None:
        self.rec, self.deployments, self.statefulsets = rec, [], []

    @real(k8s.AppsV1Api.list_namespaced_deployment)
    def list_namespaced_deployment(self, namespace: str) -> dict:
        return {"items": self.deployments}

    @real(k8s.AppsV1Api.list_namespaced_stateful_set)
    def list_namespaced_stateful_set(self, namespace: str) -> dict:
        return {"items": self.statefulsets}


class FakeNetworking:
    def __init__(self, rec: Recorder) -> None:
        self.rec, self.policies = rec, []

    @real(k8s.NetworkingV1Api.list_namespaced_network_policy)
    def list_namespaced_network_policy(self, namespace: str, **kw: Any) -> dict:
        self.rec.record("list_namespaced_network_policy", namespace, **kw)
        return {"items": [p for p in self.policies if (p.get("metadata") or {}).get("namespace", NS) == namespace]}


class FakeDiscovery:
    def __init__(self, rec: Recorder) -> None:
        self.rec, self.slices = rec, {}

    @real(k8s.DiscoveryV1Api.list_namespaced_endpoint_slice)
    def list_namespaced_endpoint_slice(self, namespace: str, **kw: Any) -> dict:
        self.rec.record("list_namespaced_endpoint_slice", namespace, **kw)
        svc = kw["label_selector"].split("=", 1)[1]
        return {"items": self.slices.get(svc, [])}


class FakeResources:
    """DynamicClient.resources (a Discoverer): get(**kwargs) searches by api_version/kind."""

    def get(self, **kw: Any) -> tuple[str, str]:
        assert set(kw) <= {"prefix", "group", "api_version", "kind", "name", "short_names",
                           "singular_name"}, kw  # Discoverer.search keys
        return (kw["api_version"], kw["kind"])


class FakeDynamic:
    def __init__(self, rec: Recorder) -> None:
        self.rec, self.resources, self.store, self.rv = rec, FakeResources(), {}, 100
        self.reject: dict[str, str] = {}

    @real(DynamicClient.get)
    def get(self, resource: tuple, name: str, namespace: str | None = None) -> dict:
        self.rec.record("get", resource, name=name, namespace=namespace)
        if (resource[1], name) not in self.store:
            raise not_found_error()
        return self.store[(resource[1], name)]

    @real(DynamicClient.server_side_apply)
    def server_side_apply(self, resource: tuple, body: dict, name: str, namespace: str | None = None,
                          **kw: Any) -> dict:
        self.rec.record("server_side_apply", resource, body=body, name=name, namespace=namespace, **kw)
        if name in self.reject:
            exc = ApiException(status=422, reason="Invalid")
            if self.reject[name]:            # the API server's Status body, with its message
                exc.body = json.dumps({"kind": "Status", "status": "Failure", "message": self.reject[name]})
            raise exc
        if kw.get("dry_run"):
            return body
        self.rv += 1
        stored = json.loads(json.dumps(body))
        stored["metadata"]["resourceVersion"] = str(self.rv)
        self.store[(resource[1], name)] = stored
        return stored

    @real(DynamicClient.delete)
    def delete(self, resource: tuple, name: str, namespace: str | None = None) -> None:
        self.rec.record("delete", resource, name=name, namespace=namespace)


class FakeWS:
    def __init__(self, rc: int, out: str, err: str, status: str | None = None) -> None:
        self.rc, self.out, self.err = rc, out, err
        self.status = status if status is not None else json.dumps(
            {"status": "Success"} if rc == 0 else
            {"status": "Failure", "reason": "NonZeroExitCode",
             "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]}})
        self.closed = False

    @real(WSClient.run_forever)
    def run_forever(self, timeout: float | None = None) -> None:
        self.timeout = timeout

    @real(WSClient.read_stdout)
    def read_stdout(self, timeout: float | None = None) -> str:
        return self.out

    @real(WSClient.read_stderr)
    def read_stderr(self, timeout: float | None = None) -> str:
        return self.err

    @real(WSClient.is_open)
    def is_open(self) -> bool:
        return False

    @real(WSClient.read_channel)
    def read_channel(self, channel: int, timeout: float = 0) -> str:
        assert channel == 3
        return self.status

    @real(WSClient.close)
    def close(self) -> None:
        self.closed = True


class FakeStream:
    """kubernetes.stream.stream: scripted replies keyed by the executable."""

    def __init__(self, rec: Recorder) -> None:
        self.rec, self.replies = rec, {}

    def __call__(self, func: Any, *args: Any, **kw: Any) -> FakeWS:
        # stream() forwards everything to the API method (it pops only `binary`)
        bind_real(func.real, *args, **{k: v for k, v in kw.items() if k != "binary"})
        name, namespace = args
        self.rec.record("exec", func.__name__, name, namespace, **kw)
        reply = self.replies[kw["command"][0]]
        return reply(kw["command"]) if callable(reply) else reply


class FakeWatch:
    """kubernetes.watch.Watch: no events; each stream() lets `timeout_seconds` pass."""

    def __init__(self, rec: Recorder, clock: "FakeClock") -> None:
        self.rec, self.clock = rec, clock

    def __call__(self) -> "FakeWatch":
        return self

    @real(Watch.stream)
    def stream(self, func: Any, *args: Any, **kw: Any):
        # Watch.stream adds watch=True and _preload_content=False, then calls func with it all
        bind_real(func.real, *args, **kw, watch=True, _preload_content=False)
        self.rec.record("watch", func.__name__, *args, **kw)
        self.clock.now += kw["timeout_seconds"]
        return iter(())

    @real(Watch.stop)
    def stop(self) -> None:
        pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class World:
    def __init__(self) -> None:
        self.rec = Recorder()
        self.clock = FakeClock()
        self.core, self.apps = FakeCore(self.rec), FakeApps(self.rec)
        self.discovery, self.dynamic = FakeDiscovery(self.rec), FakeDynamic(self.rec)
        self.stream, self.watch = FakeStream(self.rec), FakeWatch(self.rec, self.clock)
        self.networking = FakeNetworking(self.rec)
        api = live_api.LiveApi(ApiClient(), core=self.core, apps=self.apps, discovery=self.discovery,
                        version=object(), dynamic=self.dynamic, stream=self.stream,
                        watch_factory=self.watch, networking=self.networking)
        self.cluster = live.LiveCluster(api=api, clock=self.clock, sleep=self._sleep, progress=False)
        self.slept = 0.0

    def _sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.clock.now += seconds

    def ns(self) -> live.LiveNamespace:
        return live.LiveNamespace(self.cluster, NS)



_API_V1 = [("namespaces", "Namespace", False), ("pods", "Pod", True), ("services", "Service", True),
           ("configmaps", "ConfigMap", True), ("resourcequotas", "ResourceQuota", True),
           ("limitranges", "LimitRange", True)]
_GROUPS = {"apps/v1": [("deployments", "Deployment", True), ("statefulsets", "StatefulSet", True)],
           "networking.k8s.io/v1": [("networkpolicies", "NetworkPolicy", True), ("ingresses", "Ingress", True)],
           "discovery.k8s.io/v1": [("endpointslices", "EndpointSlice", True)]}


_PLURALS = frozenset(name for rows in (_API_V1, *_GROUPS.values()) for name, _, _ in rows)


def _resource_list(gv: str, rows: list[tuple[str, str, bool]]) -> dict:
    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
    return {"kind": "APIResourceList", "groupVersion": gv, "resources": [
        {"name": n, "singularName": k.lower(), "kind": k, "namespaced": ns, "verbs": verbs} for n, k, ns in rows]}


class FakeApiServer:
    """Just enough of an API server, behind the real ApiClient's urllib3 pool manager."""

    def __init__(self) -> None:
        import urllib3

        self.urllib3 = urllib3
        self.requests: list[dict[str, Any]] = []
        self.objects: dict[str, dict] = {}
        self.rv = 500
        self.lists: dict[str, list[dict]] = {}
        self.watch_events: list[dict] = []

    # urllib3.PoolManager surface the REST client uses
    def request(self, method: str, url: str, body: Any = None, fields: Any = None, timeout: Any = None,
                headers: Any = None, preload_content: bool = True, **kw: Any) -> Any:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(url)
        query = parse_qs(parts.query)
        sent = json.loads(body) if isinstance(body, (str, bytes)) and body else None
        self.requests.append({"method": method, "path": parts.path, "query": query, "body": sent,
                              "headers": dict(headers or {}), "timeout": timeout})
        status, payload = self.answer(method, parts.path, query, sent)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        import io
        return self.urllib3.HTTPResponse(body=io.BytesIO(data), status=status, reason="x",
                                         headers={"Content-Type": "application/json"},
                                         preload_content=False)

    def clear(self) -> None:
        pass

    def _not_found(self, path: str) -> tuple[int, dict]:
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                     "message": f"{path} not found", "code": 404}

    def answer(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        path = path.rstrip("/") or "/"  # VersionApi.get_code asks for "/version/"
        if path == "/version":
            return 200, {"major": "1", "minor": "37", "gitVersion": "v1.37.0", "gitCommit": "x",
                         "gitTreeState": "clean", "buildDate": "2026-11-01T00:00:00Z",
                         "goVersion": "go1.25", "compiler": "gc", "platform": "linux/amd64"}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": "v1"}],
                 "preferredVersion": {"groupVersion": gv, "version": "v1"}} for gv in _GROUPS]}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/api/v1":
            return 200, _resource_list("v1", _API_V1)
        for gv, rows in _GROUPS.items():
            if path == f"/apis/{gv}":
                return 200, _resource_list(gv, rows)
        if query.get("watch") == ["true"]:
            lines = b"".join(json.dumps(e).encode() + b"\n" for e in self.watch_events)
            return 200, lines
        if path in self.lists and method == "GET":
            return 200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "41"},
                         "items": self.lists[path]}
        if method == "PATCH":
            stored = json.loads(json.dumps(body))
            if query.get("dryRun") != ["All"]:
                self.rv += 1
                stored["metadata"]["resourceVersion"] = str(self.rv)
                self.objects[path] = stored
            return 200, stored
        if method == "GET" and path not in self.objects and path.rsplit("/", 1)[-1] in _PLURALS:
            # a collection nobody filled: the API server lists it empty
            return 200, {"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "41"}, "items": []}
        if method == "GET":
            return (200, self.objects[path]) if path in self.objects else self._not_found(path)
        if method == "DELETE":
            obj = self.objects.pop(path, None)
            if obj is None:
                return self._not_found(path)
            if obj["kind"] == "Namespace":  # the real API answers with the Namespace, not a Status
                obj = dict(obj, status={"phase": "Terminating"})
                obj["metadata"] = dict(obj["metadata"], deletionTimestamp="2026-11-23T10:00:00Z")
            return 200, obj
        return self._not_found(path)
