"""One namespace on a live cluster: the Namespace half of the Cluster API
(grader.cluster.base) for the live backend.

apply validates and sandboxes everything first, dry-runs it on the server, then applies in
grader.k8s.apply_order's order by server-side apply; wait_ready watches pods and names the ones
that can never run; endpoints, lookup, probe and matrix run upstream tools inside pods (the
agnhost e2e image ships /agnhost, curl and dig) and `exec_parsing` turns their output into
the same Outcome/DnsAnswer types the offline model returns, so a verdict can be compared
field by field across the two modes. Client calls go through LiveApi (grader.cluster.live_api)."""
from __future__ import annotations

import functools
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Protocol

from grader.cluster import exec_parsing as xp
from grader.cluster.base import (
    DnsAnswer,
    Endpoint,
    ManifestInput,
    Matrix,
    Outcome,
    PodRef,
    Reachability,
    ServiceInfo,
    Status,
    ip_sort_key,
)
from grader.cluster.live_api import GATEWAY_GROUP, ApiException, ExecResult, server_message
from grader.cluster.live_catch_up import (
    KUBE_PROXY_CATCH_UP,
    LEFTOVER_CATCH_UP,
    NEW_POD_RETRY,
    POLICY_RETRY,
    answered_by_leftover,
    created_within,
    service_changed_within,
    service_without_endpoints,
)
from grader.cluster.live_pods import (
    DELETABLE_KINDS,
    as_applied,
    conditions_of,
    display_name,
    explained_by_model,
    listened_ports,
    pod_counts,
    pod_is_ready,
    probe_container,
    service_cluster_ip,
    service_info,
    statefulset_shortfall,
    unready_on_purpose,
    why_not_ready,
    workload_problem,
)
from grader.k8s.apply_order import apply_rank
from grader.k8s.nft import KubeProxyRules
from grader.k8s.selectors import is_selector, parse_selector
from grader.observations import GatewayStatus, HttpResponse, ListenerStatus, ParentStatus


class LiveClusterHandle(Protocol):
    """What a namespace needs of its LiveCluster (grader.cluster.live), named here so the
    namespace does not import the cluster that creates it (no import cycle)."""

    _api: Any
    _progress: bool

    def _clock(self) -> float: ...
    def _sleep(self, seconds: float) -> None: ...
    def _say(self, text: str) -> None: ...
    def _object_changed(self, kind: str | None) -> None: ...
    def _policy_settle(self) -> None: ...
    def _await_address(self, read: Callable[[], str | None]) -> str | None: ...
    def _routes_changed_within(self, seconds: float) -> bool: ...
    def _policy_changed_within(self, seconds: float) -> bool: ...
    def _deleted(self, name: str) -> Any: ...
    def kube_proxy_rules(self, node: str | None = None, *, service: str | None = None) -> KubeProxyRules: ...
    def http(self, address: str, path: str = "/", *, host: str | None = None, port: int | None = None,
             method: str = "GET", headers: dict[str, str] | None = None,
             timeout: float = 2.0, scheme: str = "http", sni: str | None = None) -> HttpResponse: ...

class LiveNamespace:
    """One namespace on a live cluster (see grader.cluster.base.Namespace)."""

    admits_endpoint_slices = False  # set by a lab part that opts in (grader.sandbox.slice_scope_for)

    def __init__(self, cluster: LiveClusterHandle, name: str) -> None:
        self.cluster = cluster
        self.name = name
        self._api = cluster._api

    # ---- ingress / gateway status, as the controller wrote it
    def _must(self, obj: dict[str, Any] | None, resource: str, name: str) -> dict[str, Any]:
        if obj is None:
            raise LookupError(f'Error from server (NotFound): {resource} "{name}" not found')
        return obj

    def ingress_address(self, name: str) -> str | None:
        def read() -> str | None:
            ing = self._must(self._api.read_ingress(self.name, name), "ingresses.networking.k8s.io", name)
            entries = ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            return next((str(e.get("ip") or e.get("hostname"))
                         for e in entries if e.get("ip") or e.get("hostname")), None)
        return self.cluster._await_address(read)

    def gateway_status(self, name: str) -> GatewayStatus:
        gw = self._must(self._api.read_gateway_object(self.name, "gateways", name),
                        f"gateways.{GATEWAY_GROUP}", name)
        status = gw.get("status") or {}
        listeners = tuple(ListenerStatus(str(ls.get("name")), int(ls.get("attachedRoutes", 0)),
                                         conditions_of(ls.get("conditions")),
                                         tuple(str(k.get("kind")) for k in ls.get("supportedKinds") or []))
                          for ls in status.get("listeners") or [])
        return GatewayStatus(f"{self.name}/{name}",
                             tuple(str(a.get("value")) for a in status.get("addresses") or []),
                             conditions_of(status.get("conditions")), listeners)

    def gateway_address(self, name: str) -> str | None:
        return self.cluster._await_address(lambda: next(iter(self.gateway_status(name).addresses), None))

    def http(self, address: str, path: str = "/", *, host: str | None = None, port: int | None = None,
             method: str = "GET", headers: dict[str, str] | None = None,
             timeout: float = 2.0, scheme: str = "http", sni: str | None = None) -> HttpResponse:
        return self.cluster.http(address, path, host=host, port=port, method=method, headers=headers,
                                 timeout=timeout, scheme=scheme, sni=sni)

    def kube_proxy_rules(self, service: str, node: str | None = None) -> KubeProxyRules:
        return self.cluster.kube_proxy_rules(node, service=f"{self.name}/{service}")

    def route_status(self, name: str) -> list[ParentStatus]:
        route = self._must(self._api.read_gateway_object(self.name, "httproutes", name),
                           f"httproutes.{GATEWAY_GROUP}", name)
        out = []
        for parent in (route.get("status") or {}).get("parents") or []:
            ref = parent.get("parentRef") or {}
            out.append(ParentStatus(f"{ref.get('namespace') or self.name}/{ref.get('name')}",
                                    ref.get("sectionName"),
                                    conditions_of(parent.get("conditions")),
                                    str(parent.get("controllerName", ""))))
        return out

    def __repr__(self) -> str:
        return f"LiveNamespace({self.name!r})"

    # ---- apply / delete
    def apply(self, manifests: ManifestInput, *, source: str | None = None) -> list[str]:
        """Validate and sandbox-check everything before any request; then a server dry run of
        every object (so the API server's own rejections, e.g. a NodePort already taken, also
        leave nothing half-applied); then server-side apply in dependency order. Raises
        grader.manifests.ManifestError either way. Lines read like kubectl's."""
        from grader.sandbox import load_sandboxed, slice_scope_for  # (the schema stack loads on first use)
        return self._apply_all(load_sandboxed(manifests, self.name, source=source, endpoint_slices=(
            slice_scope_for(self)), existing_gateways=lambda: self._api.list_gateway_names(self.name)))

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
                                                f"the API server refused it: {server_message(exc)}")])

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
            elif as_applied(before) == as_applied(after):
                verb = "unchanged"
            else:
                verb = "configured"
            lines.append(f"{display_name(obj)} {verb}")
            if verb != "unchanged":
                self.cluster._object_changed(obj.get("kind"))
        return lines

    def _placed(self, obj: dict[str, Any]) -> dict[str, Any]:
        placed = json.loads(json.dumps(obj))  # a deep, JSON-clean copy
        placed.setdefault("metadata", {})["namespace"] = self.name
        return placed

    def delete(self, kind: str | None = None, name: str | None = None) -> None:
        """No arguments: delete the whole namespace (at once; the server finishes in the background,
        `cluster.namespace(name)` waits for it, using `ns` then says so). With kind and name: that object."""
        if kind is None and name is None:
            self._api = self.cluster._deleted(self.name)
            return
        if not kind or not name:
            raise ValueError("delete() takes both kind and name, or neither (whole namespace)")
        known = DELETABLE_KINDS.get(kind.lower())
        if known is None:
            raise ValueError(f"cannot delete kind {kind!r}; known: {', '.join(sorted(DELETABLE_KINDS))}")
        canonical, api_version = known
        self.cluster._object_changed(canonical)
        self._api.delete_object({"apiVersion": api_version, "kind": canonical,
                                 "metadata": {"name": name, "namespace": self.name}})

    # ---- readiness
    def wait_ready(self, timeout: float = 120, *, unready: str | None = None) -> None:
        """Block until every workload is rolled out and every pod is Ready (pods matching the
        selector `unready` need only run). Watches pods (so it returns as soon as the last one
        is ready) with a progress bar; on timeout raises TimeoutError naming each laggard and
        why (ImagePullBackOff, Unschedulable, ...)."""
        from tqdm.auto import tqdm

        clock = self.cluster._clock
        deadline = clock() + timeout
        bar = tqdm(total=0, desc=f"{self.name}: pods ready", unit="pod", leave=False,
                   disable=not self.cluster._progress)
        try:
            while True:
                ready, want, problems, rv = self._readiness(unready)
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

    def _readiness(self, unready: str | None = None) -> tuple[int, int, list[str], str | None]:
        # Workloads before pods: the other order let a Deployment created a moment ago look
        # settled while its new pod was missing from the older pod list (lab 7, live).
        workloads = self._api.list_workloads(self.name)
        pods, rv = self._api.list_pods(self.name)
        pods = [p for p in pods if pod_counts(p)]
        problems = [f"pod/{p['metadata']['name']}: {why_not_ready(p)}"
                    for p in sorted(pods, key=lambda p: p["metadata"]["name"])
                    if not pod_is_ready(p) and not unready_on_purpose(unready, pod=p)]
        want = 0
        for workload in workloads:
            want += (workload.get("spec") or {}).get("replicas", 1)
            problem = workload_problem(workload)
            if problem and unready_on_purpose(unready, workload=workload):
                problem = None
            if problem and workload["kind"] == "StatefulSet":
                failed = functools.partial(self._api.list_failed_creates, self.name, "StatefulSet",
                                 str((workload.get("metadata") or {}).get("name")))
                problem = statefulset_shortfall(workload, failed) or problem
            if problem:
                problems.append(problem)
        want += sum(1 for p in pods if not (p.get("metadata") or {}).get("ownerReferences"))
        ready = sum(1 for p in pods if pod_is_ready(p))
        return ready, max(want, ready), problems, rv

    # ---- observations
    def env(self, pod: str, container: str | None = None) -> dict[str, str]:
        """`env` run in the container: every variable the app reads."""
        name, default = self._client_pod(pod)
        result = self._exec(name, ["env"], 10.0, container or default)
        if result.rc != 0:
            raise RuntimeError(f"env in pod {name} failed (exit {result.rc}): {result.stderr.strip()[:200]}")
        return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)

    def pods(self) -> list[PodRef]:
        return [ref for ref, _ in self._listed_pods()]

    def _listed_pods(self) -> list[tuple[PodRef, dict[str, Any]]]:
        """The pods that count, by name, each with the object the list returned."""
        pods, _ = self._api.list_pods(self.name)
        return sorted(((PodRef(self.name, p["metadata"]["name"], (p.get("status") or {}).get("podIP") or "",
                               labels=dict((p.get("metadata") or {}).get("labels") or {}),
                               ready=pod_is_ready(p)), p)
                       for p in pods if pod_counts(p)), key=lambda pair: pair[0].name)

    def services(self) -> list[ServiceInfo]:
        """Every Service of the namespace, by name."""
        return sorted((service_info(s) for s in self._api.list_services(self.name)), key=lambda s: s.name)

    def service(self, name: str) -> ServiceInfo | None:
        """The Service as the API server stores it (allocated ClusterIP and nodePorts, the
        load balancer's address once the controller has written it)."""
        svc = self._api.read_service(self.name, name)
        if svc is None:
            return None
        info = service_info(svc)
        if info.type != "LoadBalancer" or info.external_address is not None:
            return info
        # right after a change, the load-balancer controller (cloud-provider-kind, MetalLB)
        # writes the address a moment later: `kubectl get` shows <pending> until then
        newest = [info]

        def address() -> str | None:
            again = self._api.read_service(self.name, name)
            if again is not None:
                newest[0] = service_info(again)
            return newest[0].external_address
        self.cluster._await_address(address)
        return newest[0]

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
                pod = (f"{ref.get('namespace') or self.name}/{ref['name']}"
                       if ref.get("kind") == "Pod" else None)
                for ip in (ep.get("addresses") or [])[:1]:  # kube-proxy uses only the first (issue 106267)
                    for port in ports:
                        result.append(Endpoint(
                            ip=ip, port=port.get("port"), protocol=port.get("protocol") or "TCP",
                            port_name=port.get("name") or None, pod=pod,
                            ready=cond.get("ready") is not False,
                            serving=cond.get("serving") is not False,
                            terminating=cond.get("terminating") is True, node=ep.get("nodeName") or None))
        return sorted(result, key=lambda e: (e.port_name or "", e.port, ip_sort_key(e.ip)))

    def lookup(self, name: str, frm: str, rtype: str = "A") -> DnsAnswer:
        """Ask the cluster DNS from inside a pod matching `frm`, with the pod's search list."""
        pod, container = self._client_pod(frm)
        self.cluster._policy_settle()       # an egress policy may decide DNS
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
        self.cluster._policy_settle()
        pod, container = self._client_pod(frm)
        ref = xp.service_ref(t.host, self.name)
        # the Service a name-shaped target names: read on first need, then reused
        named = functools.cache(lambda: self._api.read_service(*ref) if ref else None)
        ip = t.host if t.is_ip else None

        def attempt() -> tuple[Status, str, str | None, str | None]:
            if t.path is not None and protocol == "TCP":
                res = self._exec(pod, xp.curl_command(t, timeout), timeout, container)
                http = xp.parse_curl(res.rc, res.stdout, res.stderr)
                return http.status, http.reason, http.body, http.remote_ip
            res = self._exec(pod, xp.connect_command(t, protocol, timeout), timeout, container)
            status, reason = xp.parse_connect(res.rc, res.stderr)
            return status, reason, None, None

        status, reason, body, remote = attempt()
        api, here = self._api, self.name
        empty = functools.partial(service_without_endpoints, api, here, t, protocol, named)
        # kube-proxy may not have programmed a change yet (a new or changed Service, endpoints
        # that just turned ready: it refuses; a new Service or client: it drops): ask again
        clock, sleep, catch_up = self.cluster._clock, self.cluster._sleep, KUBE_PROXY_CATCH_UP
        deadline, routes_new = clock() + catch_up, self.cluster._routes_changed_within(catch_up)
        refusal_may_lag = functools.cache(
            lambda: routes_new or service_changed_within(api, ref, named(), catch_up))
        fresh = routes_new or (status is Status.TIMEOUT and bool(ref)
                               and self._may_be_catching_up(pod, named(), catch_up))
        while (status is Status.REFUSED and refusal_may_lag() or fresh and status is Status.TIMEOUT) \
                and ref and clock() < deadline:
            if empty() or named() is None:
                break
            sleep(0.5)
            status, reason, body, remote = attempt()
        # a terminating pod answering while the Service has ready endpoints is kube-proxy not
        # yet past the EndpointSlice change (a rollout): ask again, as a client would
        deadline = clock() + LEFTOVER_CATCH_UP
        while status is Status.OK and ref and answered_by_leftover(api, here, t, body) and clock() < deadline:
            if empty():
                break
            sleep(0.5)
            status, reason, body, remote = attempt()
        ip = remote or ip
        if status is Status.REFUSED and (why := empty()):
            status, reason = Status.NO_ENDPOINTS, why
        if ip is None and status is not Status.DNS_ERROR:
            ip = service_cluster_ip(named())
        answered = None
        if status is Status.OK and body and (t.path or "").rstrip("/") == "/hostname":
            answered = f"{xp.namespace_of(t.host, self.name)}/{body.strip()}"
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
        self.cluster._policy_settle()
        all_listed = self._listed_pods()
        listed = [(ref, obj) for ref, obj in all_listed if ref.ip]
        pods = [ref for ref, _ in listed]
        port_list = check_ports(ports) if ports is not None else listened_ports(
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
        containers = {ref.name: probe_container(obj) for ref, obj in listed}

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
        return Matrix(pods=pods, results=self._explained(results, listed, ports, protocols))

    def _explained(self, results: list[Reachability], listed: list[tuple[PodRef, dict[str, Any]]],
                   ports: list[int], protocols: list[str]) -> list[Reachability]:
        meta = (self._api.read_namespace(self.name) or {}).get("metadata") or {}  # the engine says why
        return explained_by_model(results, self.name, meta.get("labels"), listed,
                                  self._api.list_network_policies(self.name), ports, protocols)

    # ---- helpers
    def _exec(self, pod: str, cmd: list[str], timeout: float, container: str | None) -> ExecResult:
        return self._api.exec_in_pod(self.name, pod, cmd, timeout + xp.EXEC_SLACK, container=container)

    def _client_pod(self, frm: str) -> tuple[str, str | None]:
        """The pod to run a probe in: a label selector ("app=frontend", "tier in (a,b)",
        "!canary"; grader.k8s.selectors.is_selector decides, as offline) picks the first
        Ready pod by name; anything else is a pod name. A malformed selector is refused
        here (SelectorError, a ValueError) with the same words as offline."""
        if is_selector(frm):
            parse_selector(frm)
            pods, _ = self._api.list_pods(self.name, label_selector=frm.strip())
            ready = sorted((p for p in pods if pod_counts(p) and pod_is_ready(p)),
                           key=lambda p: p["metadata"]["name"])
            if not ready:
                raise LookupError(
                    f"no Ready pod matches {frm!r} in namespace {self.name} "
                    f"({len(pods)} match, none Ready); did you call wait_ready()?")
            pod = ready[0]
        else:
            found = self._api.read_pod(self.name, frm)
            if found is None:
                raise LookupError(f"no pod named {frm!r} in namespace {self.name}")
            pod = found
        return pod["metadata"]["name"], probe_container(pod)

    def _may_be_catching_up(self, pod: str, service: dict[str, Any] | None, catch_up: float) -> bool:
        """Whether a dropped probe may be the cluster not yet caught up with a change, rather
        than an answer: the Service is new to kube-proxy, the client pod is new to the policy
        agent, or a NetworkPolicy changed less than POLICY_RETRY ago (under load the agent took
        longer than POLICY_CATCH_UP: lab 5's fix timed out with six labs graded side by side)."""
        return (created_within(service, catch_up) or self.cluster._policy_changed_within(POLICY_RETRY)
                or created_within(self._api.read_pod(self.name, pod), NEW_POD_RETRY))

