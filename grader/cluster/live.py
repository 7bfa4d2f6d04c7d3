"""The live backend: the Cluster API on a real cluster, through the official kubernetes client.

Four modules, one job each, so a bug found against a real cluster has one place to live:
- live.py (here): LiveCluster, the cluster half of the Cluster API: health, course
  namespaces (labelled, with quota and default limits), garbage collection, and probes from
  the learner's machine (NodePort, LoadBalancer, Ingress/Gateway HTTP);
- live_namespace.py: LiveNamespace: apply, wait_ready, endpoints, lookup, probe, matrix;
- live_pods.py: what pods, workloads and Services say about themselves (readiness, why not);
- live_api.py: LiveApi, every call into the kubernetes client (the only importer of it), so
  tests fake it exactly and a client upgrade touches one module.
"""
from __future__ import annotations

import re
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Callable

from grader.cluster.base import Outcome, Status
from grader.cluster.live_api import GATEWAY_GROUP, LiveApi
from grader.cluster.live_catch_up import KUBE_PROXY_CATCH_UP, POLICY_CATCH_UP
from grader.cluster.live_corefile import CorefileNotLoaded, await_reload, same_configuration
from grader.cluster.live_namespace import LiveNamespace
from grader.cluster.live_pods import conditions, pod_is_ready
from grader.cluster.live_tidied import DeletedNamespaceApi
from grader.cluster.node_rules import read_table
from grader.guardrails import guardrail_objects  # noqa: F401  (one definition for both backends)
from grader.k8s.nft import KubeProxyRules, parse, service_part
from grader.kind import CONTEXT_NAME, LOCAL_CONTEXT, MANAGED_BY_LABEL, loopback_alias
from grader.observations import HttpResponse

MANAGED_SELECTOR = f"{MANAGED_BY_LABEL[0]}={MANAGED_BY_LABEL[1]}"
#: The clusters a learner owns whole: the kind cluster and the project's local cluster
#: (grader.localcluster.layout.CONTEXT; a test keeps them equal). Only there may a notebook
#: replace CoreDNS's configuration, which every pod of the cluster depends on.
OWN_CONTEXTS = (CONTEXT_NAME, LOCAL_CONTEXT)
COREDNS_CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "coredns", "namespace": "kube-system"}}


#: Kinds whose changes an Ingress/Gateway controller must pick up before it serves them.
ROUTING_KINDS = frozenset({"Ingress", "Gateway", "HTTPRoute", "GRPCRoute", "ReferenceGrant", "Secret",
                           "Service"})
#: How long after such a change an HTTP request waits (LiveCluster._routes_settle).
ROUTES_CATCH_UP = 3.0
#: How long kube_proxy_rules waits for kube-proxy to write a Service's ready endpoints.
RULES_CATCH_UP = 10.0
#: How long, right after such a change, an Ingress's or Gateway's address is waited for.
ADDRESS_WAIT = 20.0


class LiveCluster:
    """A real cluster reached through a kubeconfig context (default: the current context)."""

    mode = "live"

    def __init__(self, context: str | None = None, kubeconfig: str | None = None, *,
                 api: LiveApi | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, progress: bool = True,
                 say: Callable[[str], None] = print) -> None:
        self.context = context
        self._kubeconfig = kubeconfig
        self._given_api = api
        self._say = say
        self._api = api or LiveApi.from_kubeconfig(context, kubeconfig)
        self._clock = clock
        self._sleep = sleep
        self._progress = progress
        self._namespaces: list[str] = []
        self._policy_changed_at: float | None = None
        self._routes_changed_at: float | None = None

    def sibling(self) -> "LiveCluster":
        """Another client of the same cluster with nothing of this one's state (its own
        namespaces, its own settle clocks), for work running beside this one in a thread of
        its own: `svclab grade live --jobs`. It draws no progress bars, as bars of several
        threads would garble one another. Its own API client from the kubeconfig, unless this
        one was handed an `api` (which it then shares)."""
        return LiveCluster(self.context, self._kubeconfig, api=self._given_api, clock=self._clock,
                           sleep=self._sleep, progress=False, say=self._say)

    @property
    def namespaces_created(self) -> tuple[str, ...]:
        """The namespaces this client made (`namespace()`) and has not deleted since, oldest
        first: what a grading run deletes afterwards, including those a check made for
        strangers (lab4-outside...)."""
        return tuple(self._namespaces)

    def __repr__(self) -> str:
        return f"LiveCluster(context={self.context!r})"

    # ---- NetworkPolicy and routing changes reach the packets a moment after the API server has them
    def _object_changed(self, kind: str | None) -> None:
        """This cluster object created, changed or deleted an object of `kind`: a probe
        (NetworkPolicy) or an HTTP request (what an Ingress/Gateway controller serves) waits
        for the agent or controller that reads it from its own watch."""
        if kind == "NetworkPolicy":
            self._policy_changed_at = self._clock()
        elif kind in ROUTING_KINDS:
            self._routes_changed_at = self._clock()

    def objects_changed(self, kinds: "set[str] | None") -> None:
        """Something other than this object (the real kubectl, run by `%kubectl` or an exam
        answer's replay) created, changed or deleted objects of these kinds; None: of kinds
        it could not tell, so both the policy agent and the routing controllers are waited for."""
        if kinds is None:
            kinds = {"NetworkPolicy", "Ingress"}
        for kind in sorted(kinds):
            self._object_changed(kind)

    def _policy_settle(self) -> None:
        """Before a probe: let POLICY_CATCH_UP pass since this cluster object last created,
        changed or deleted a NetworkPolicy (in any namespace: a probe from `ops` is judged
        by a policy applied in `shop`). The policy agent (kindnet, kube-network-policies,
        Calico...) reads policies from its own watch; until it has the change, a probe
        answers for the old state: notebook 10's AND-vs-OR table saw the old "allowed"
        under load. Measured on the local cluster: 0.2 s median, 1.5 s at worst."""
        self._wait_out(self._policy_changed_at, POLICY_CATCH_UP)

    def _routes_settle(self) -> None:
        """Before an HTTP request: let ROUTES_CATCH_UP pass since this cluster object last
        changed what an Ingress/Gateway controller serves. Traefik (the local cluster's)
        applies provider changes at most every 2 s; cloud-provider-kind's Envoy also takes
        a moment to get its new configuration. Offline the proxy is instant."""
        self._wait_out(self._routes_changed_at, ROUTES_CATCH_UP)

    def _wait_out(self, changed_at: float | None, catch_up: float) -> None:
        """Sleep until `catch_up` seconds have passed since `changed_at` (if ever)."""
        if changed_at is not None and changed_at + catch_up > self._clock():
            self._sleep(changed_at + catch_up - self._clock())

    def _policy_changed_within(self, seconds: float) -> bool:
        """Whether this cluster object changed a NetworkPolicy in the last `seconds`."""
        return self._policy_changed_at is not None and self._clock() < self._policy_changed_at + seconds

    def _routes_changed_within(self, seconds: float) -> bool:
        """Whether this cluster object changed a routing kind (a Service among them) in the
        last `seconds`: kube-proxy may not have programmed a new Service yet."""
        return self._routes_changed_at is not None and self._clock() < self._routes_changed_at + seconds

    def _await_address(self, read: Callable[[], str | None]) -> str | None:
        """An Ingress's or Gateway's address as `read` gives it; right after a change of a
        routing object, wait up to ADDRESS_WAIT for the controller to write it (kubectl's
        ADDRESS column fills in the same way). Later, no address means none is coming."""
        address = read()
        since = self._routes_changed_at
        while address is None and since is not None and self._clock() < since + ADDRESS_WAIT:
            self._sleep(0.5)
            address = read()
        return address

    # ---- health
    def ping(self, timeout: float = 2.0) -> str:
        """The server's version if the API server answers within `timeout`; raises otherwise."""
        return self._api.server_version(timeout)

    def node_status(self) -> tuple[bool, str]:
        nodes = self._api.list_nodes()
        if not nodes:
            return False, "no nodes registered yet"
        not_ready = [n["metadata"]["name"] for n in nodes
                     if conditions(n).get("Ready", {}).get("status") != "True"]
        if not_ready:
            return False, f"not Ready: {', '.join(not_ready)}"
        return True, f"{len(nodes)} Ready"

    def node_addresses(self) -> dict[str, str]:
        """Each node's InternalIP, by node name (a node without one is left out: nothing
        outside the cluster could reach its node ports by it)."""
        out = {}
        for n in self._api.list_nodes():
            ips = [a["address"] for a in (n.get("status") or {}).get("addresses") or []
                   if a.get("type") == "InternalIP" and a.get("address")]
            if ips:
                out[n["metadata"]["name"]] = ips[0]
        return dict(sorted(out.items()))

    def coredns_status(self) -> tuple[bool, str]:
        pods, _ = self._api.list_pods("kube-system", label_selector="k8s-app=kube-dns")
        ready = [p for p in pods if pod_is_ready(p)]
        if not pods:
            return False, "no CoreDNS pods yet"
        return bool(ready), f"{len(ready)}/{len(pods)} Ready"

    # ---- CoreDNS configuration
    def corefile(self) -> str:
        cm = self._api.get_object(COREDNS_CONFIGMAP)
        if cm is None or "Corefile" not in (cm.get("data") or {}):
            raise LookupError("kube-system/coredns has no Corefile key: "
                              "is CoreDNS installed as kubeadm installs it?")
        return str(cm["data"]["Corefile"])

    def edit_corefile(self, text: str) -> str:
        """Server-side apply the new Corefile into kube-system/coredns, on the course's own
        clusters only (a shared cluster's DNS is everyone's: the instructor edits it with
        `kubectl -n kube-system edit configmap coredns`), and return once every CoreDNS
        replica runs it (live_corefile.await_reload reads their logs), so the next lookup
        sees the new configuration, as offline. A Corefile CoreDNS refuses is put back to the
        old one and raises CorefileNotLoaded (a ValueError) with CoreDNS's reason, and so
        does a reload that does not come (TimeoutError): nothing is left half-applied, as
        offline."""
        if self.context not in OWN_CONTEXTS:
            raise PermissionError(
                f"edit_corefile changes DNS for every pod of the cluster, so svclab does it only on "
                f"the course's own clusters ({', '.join(OWN_CONTEXTS)}), not on context "
                f"{self.context!r}; there, an administrator runs `kubectl -n kube-system edit "
                "configmap coredns`")
        old = self.corefile()
        edited_at = time.time()
        self._api.server_side_apply({**COREDNS_CONFIGMAP, "data": {"Corefile": text}})
        if same_configuration(old, text):
            self._say("svclab: Corefile stored; it differs only in comments or spacing, so "
                      "CoreDNS keeps running the same configuration")
            return old
        self._say("svclab: Corefile replaced in kube-system/coredns; waiting for every CoreDNS "
                  "replica to load it (the kubelet refreshes the file, then the reload plugin "
                  "checks it: every 30 s unless its line gives an interval)")
        try:
            await_reload(self._api, edited_at, progress=self._progress)
        except (CorefileNotLoaded, TimeoutError):
            self._api.server_side_apply({**COREDNS_CONFIGMAP, "data": {"Corefile": old}})
            raise
        self._say("svclab: every CoreDNS replica runs the new Corefile")
        return old

    # ---- a node's packet rules (grader.cluster.node_rules: host access, own clusters only)
    def kube_proxy_rules(self, node: str | None = None, *, service: str | None = None) -> KubeProxyRules:
        """Read from the node with `nft list table ip kube-proxy` (see Cluster.kube_proxy_rules).
        For one Service, kube-proxy is given up to RULES_CATCH_UP seconds to write what the
        Service's EndpointSlices say (its sync follows them about a second later): a check
        reading the rules right after an apply saw the Service still rejected."""
        nodes = sorted(n["metadata"]["name"] for n in self._api.list_nodes())
        node = node or (nodes[0] if nodes else "")
        if node not in nodes:
            raise LookupError(f"no node {node!r}; nodes: {', '.join(nodes) or 'none'}")

        def known(namespace: str, name: str) -> bool:
            return self._api.read_service(namespace, name) is not None

        def read() -> KubeProxyRules:
            return service_part(parse(read_table(self.context, node)), node,
                                f"read live from the node (context {self.context})", service, known=known)
        rules = read()
        deadline = self._clock() + RULES_CATCH_UP
        while service and not self._caught_up(rules, service) and self._clock() < deadline:
            self._sleep(0.5)
            rules = read()
        return rules

    def _caught_up(self, rules: KubeProxyRules, service: str) -> bool:
        """The rules DNAT the Service's ClusterIP to exactly its ready endpoints (or reject
        it when it has none)."""
        namespace, _, name = service.partition("/")
        svc = self._api.read_service(namespace, name)
        cluster_ip = ((svc or {}).get("spec") or {}).get("clusterIP")
        if not cluster_ip or cluster_ip == "None":
            return True
        ready = {f"{e.ip}:{e.port}" for e in LiveNamespace(self, namespace).endpoints(name) if e.ready}
        paths = [p for p in rules.paths() if p.entry.startswith(f"{cluster_ip} ")]
        targets = {t for p in paths for t in p.targets}
        return bool(paths) and targets == ready

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
                self._api.stop_pods_promptly(name)   # asked for empty: no 30 s grace to wait out
                self._wait_namespace_gone(name)
                self._say(f"svclab: namespace {name} already existed: deleted and recreated empty "
                          "(pass fresh=False to keep its objects)")
        for obj in guardrail_objects(name):
            self._api.server_side_apply(obj)
        if name not in self._namespaces:
            self._namespaces.append(name)
        return LiveNamespace(self, name)

    def _deleted(self, name: str) -> DeletedNamespaceApi:
        """Delete namespace `name` for its `ns.delete()`, and forget it: it is no longer this
        client's to search for pods or to clean up (`namespaces_created`) until `namespace()`
        makes it again. Returns the stand-in the deleted LiveNamespace talks to from now on."""
        stand_in = DeletedNamespaceApi.after_deleting(name, self._api)
        if name in self._namespaces:
            self._namespaces.remove(name)
        return stand_in

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
        target = f"{host}:{port}{path or ''}"
        host_seen, host = host, self._reachable(host)
        where = f"[{host}]" if ":" in host else host
        if path is None:
            try:
                with socket.create_connection((host, port), timeout=timeout) as sock:
                    _refused_behind_port_mapping(sock, min(timeout, MAPPED_PORT_GRACE))
            except OSError as exc:
                status, reason = _socket_error(exc)
                return Outcome(status, target, reason=reason)
            return Outcome(Status.OK, target, ip=host_seen, reason="connected")
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
        return Outcome(Status.OK, target, pod=pod, ip=host_seen, body=body, reason=f"HTTP {code}")

    def http(self, address: str, path: str = "/", *, host: str | None = None, port: int | None = None,
             method: str = "GET", headers: dict[str, str] | None = None,
             timeout: float = 2.0, scheme: str = "http", sni: str | None = None) -> HttpResponse:
        """One HTTP request from this machine to an Ingress or Gateway address (http.client,
        no kubernetes call for the request itself). Live, the proxy does not say why it
        answered 404, nor which pod answered: `pod` is found from agnhost's `/hostname` body."""
        import http.client

        from grader.model.http_probe import DEFAULT_PORTS, describe

        if scheme not in DEFAULT_PORTS:
            raise ValueError(f"scheme={scheme!r}: write 'http' or 'https'")
        port = DEFAULT_PORTS[scheme] if port is None else port
        host = host or address
        path = path if path.startswith("/") else "/" + path
        self._routes_settle()
        target = describe(address, path, host, port, method.upper(), scheme, sni)
        conn = http.client.HTTPConnection(self._reachable(address), port, timeout=timeout)
        certificate = None
        try:
            if scheme == "https":
                conn.sock, certificate = self._tls_connect(address, port, sni or host, timeout)
            conn.request(method.upper(), path, headers={"Host": host, **(headers or {})})
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            code, got = resp.status, tuple(resp.getheaders())
        except OSError as exc:
            status, reason = _socket_error(exc)
            return HttpResponse(target, status, reason=reason)
        finally:
            conn.close()
        answer = body.strip()
        pod = self._find_pod(answer) if code == 200 and answer and "\n" not in answer else None
        reason = {404: "the proxy found no route (no listener, host or path matched; see route_status)",
                  500: "the route's backend is invalid (see route_status: ResolvedRefs)",
                  503: "the backend Service has no ready endpoint, or the proxy could not connect",
                  }.get(code, "")
        return HttpResponse(target, Status.OK, code, got, pod, body, reason=reason, certificate=certificate)

    def _tls_connect(self, address: str, port: int, sni: str, timeout: float) -> tuple[Any, str | None]:
        """A TLS connection to address:port sending SNI `sni`, as `curl -k --resolve` makes
        (the course's certificates are self-signed, so nothing is verified), and the
        "ns/secret" of the course namespaces whose tls.crt is the certificate presented."""
        import base64
        import ssl

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection((self._reachable(address), port), timeout=timeout)
        try:
            sock = context.wrap_socket(raw, server_hostname=sni)
        except ssl.SSLError as exc:
            raw.close()
            raise ConnectionResetError(f"TLS handshake failed ({exc.reason or exc})") from None
        der = sock.getpeercert(binary_form=True) or b""
        for ns in self._namespaces:
            for name, crt in self._api.list_tls_certificates(ns).items():
                try:
                    pem = base64.b64decode(crt).decode("ascii", "replace")
                    start = pem.index("-----BEGIN CERTIFICATE-----")
                    end = pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
                    if ssl.PEM_cert_to_DER_cert(pem[start:end]) == der:
                        return sock, f"{ns}/{name}"
                except ValueError:
                    continue
        return sock, None

    def _reachable(self, address: str) -> str:
        """Where this machine connects for `address`: the address itself, except on the local
        cluster (grader.localcluster), whose cluster network lives in a namespace of its own
        and whose LoadBalancer/Gateway addresses are published on loopback aliases."""
        if self.context == LOCAL_CONTEXT:
            return loopback_alias(address) or address
        return address

    def gateway_api_status(self) -> tuple[bool, str]:
        """Are the Gateway API CRDs installed (cloud-provider-kind installs them at start)?"""
        crd = self._api.read_crd(f"gateways.{GATEWAY_GROUP}")
        if crd is None:
            return False, "Gateway API CRDs missing (cloud-provider-kind installs them when it starts)"
        ann = (crd.get("metadata") or {}).get("annotations") or {}
        return True, (f"{ann.get(GATEWAY_GROUP + '/bundle-version', '?')} "
                      f"({ann.get(GATEWAY_GROUP + '/channel', '?')} channel)")

    def _find_pod(self, name: str) -> str | None:
        """The pod whose name an agnhost `/hostname` body is; None for any other body (agnhost
        answers unknown paths, e.g. `/api/hostname` behind an `/api` prefix rule, with
        "NOW: <time>", which is no pod name and no valid field selector either)."""
        if not name or not _POD_NAME.fullmatch(name):
            return None
        for ns in self._namespaces:
            pods, _ = self._api.list_pods(ns, field_selector=f"metadata.name={name}")
            if pods:
                return f"{ns}/{name}"
        return None


#: A pod name (an RFC 1123 subdomain), the only body `_find_pod` looks up.
_POD_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

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

