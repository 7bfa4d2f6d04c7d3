"""The offline backend: the Cluster API (base.py) over the in-process model (grader.model).

Choices a notebook author should know:
- `wait_ready` returns at once: pods exist as soon as `apply` returns. A pod marked not
  ready with `set_ready(..., False)` stands for a failing readiness probe, which is a
  legitimate state to teach with, so `wait_ready` does not wait for it (nor fail). Pods
  the node has no room for (more than kubelet's maxPods) stay Pending for good, so
  `wait_ready` raises TimeoutError naming them, with the scheduler's reason.
- `frm` is a label selector ("app=frontend", "app=web,tier!=db") or a pod name; the first
  Ready matching pod in name order answers (as live), else the first running one. No
  match, or only Pending ones, is a LookupError naming the pods there.
- `matrix` covers the running pods of this namespace only (policies from every namespace
  apply); Pending pods have no IP to probe or be probed at, so the matrix leaves them out
  and says so (one line on stdout). Its ports default to those the pods listen on, as
  `svclab matrix` does, and are validated the same way.
- Every namespace `cluster.namespace()` makes carries the live guardrails (one definition:
  grader.guardrails): the LimitRange defaults resources and the ResourceQuota refuses what
  the API server would; a Deployment beyond the quota keeps the pods that fit and
  `wait_ready` names the rest ("10 pods of deployment/big could not be created: ...").
- `cluster.namespace(name)` on a namespace that exists deletes and recreates it (saying so
  on stdout); `fresh=False` keeps it as it is.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from grader import guardrails
from grader.cluster.base import (
    DnsAnswer,
    Endpoint,
    KubeProxyRules,
    ManifestInput,
    Matrix,
    NamespaceDeleted,
    Outcome,
    PodRef,
    ServiceInfo,
    ServicePortInfo,
)
from grader.k8s.nft import service_part
from grader.model import connectivity, dns, http_api
from grader.model.corefile import CorefileError, parse
from grader.model.endpointslices import render_get_endpoints
from grader.model.nodes import Node
from grader.model.objects import Pod
from grader.model.services import LB_IP_MODE
from grader.model.state import SYSTEM_NAMESPACES, ApplyError, ClusterState
from grader.observations import GatewayStatus, HttpResponse, ParentStatus


class OfflineNamespace:
    """One namespace of an OfflineCluster (implements grader.cluster.base.Namespace)."""

    #: set by a lab part that admits hand-written EndpointSlices (grader.sandbox.SliceScope)
    admits_endpoint_slices = False

    def __init__(self, cluster: "OfflineCluster", name: str) -> None:
        self.cluster = cluster
        self.name = name

    @property
    def state(self) -> ClusterState:
        return self.cluster.state

    def _alive(self) -> None:
        """Raise NamespaceDeleted once `delete()` removed this namespace (until it is created
        again with `cluster.namespace(name)`)."""
        if self.name not in self.state.namespaces and self.name not in SYSTEM_NAMESPACES:
            raise NamespaceDeleted(self.name)

    # ------------------------------------------------------------------ changes
    def apply(self, manifests: ManifestInput, *, source: str | None = None) -> list[str]:
        """Load and validate (grader.manifests), refuse anything the sandbox forbids
        (grader.sandbox), then apply all or nothing. Every refusal, including the API
        server's own (a NodePort already taken...), is a grader.manifests.ManifestError,
        worded as the live backend words it."""
        self._alive()
        from grader import manifests as mf
        from grader.sandbox import load_sandboxed, slice_scope_for

        loaded = load_sandboxed(manifests, self.name, source=source, existing_gateways=lambda: [
            g["metadata"]["name"] for g in self.state.objects("Gateway", self.name)],
            endpoint_slices=slice_scope_for(self))
        try:
            return self.state.apply([m.obj for m in loaded], namespace=self.name)
        except ApplyError as exc:
            m = next((m for m in loaded if m.kind == exc.kind and m.name == exc.name), None)
            where: tuple[str, int | None, str | None, str | None] = (
                (m.file, m.doc, m.kind, m.name) if m else ("<object>", None, exc.kind, exc.name))
            raise mf.ManifestError([mf.Problem(*where, "", f"the API server refused it: {msg}")
                                    for msg in exc.problems]) from None

    def apply_objects(self, objs: Iterable[Mapping[str, Any]]) -> list[str]:
        """Apply already-validated objects without the sandbox check: for a notebook's own
        fixtures (same as the live backend's apply_objects). Raises ApplyError when the API
        server would refuse them."""
        self._alive()
        return self.state.apply(list(objs), namespace=self.name)

    def delete(self, kind: str | None = None, name: str | None = None) -> None:
        if kind is None and name is None:
            if self.name in self.state.namespaces:
                self.state.delete_namespace(self.name)
            return
        if kind is None or name is None:
            raise ValueError("delete() needs both kind and name, or neither (the whole namespace)")
        self.state.delete(kind, name, self.name)

    def wait_ready(self, timeout: float = 120, *, unready: str | None = None) -> None:
        """Instant offline (see the module docstring); TimeoutError when pods are Pending, could
        not be created (quota), cannot start or fail a readiness probe (unless they match the
        selector `unready`), worded like the live backend's."""
        self._alive()
        here = self.state.pods_in(self.name)
        pending = [p for p in here if p.pending]
        failed = self.state.creation_failures(self.name)
        excused = {p.key for p in self.state.find_pods(unready, self.name)} if unready else set()
        stuck = [f"pod/{p.name}: {p.unready_reason}" for p in here if p.unready_reason and not (
            p.key in excused and not p.unready_reason.startswith("CreateContainer"))]
        unmodelled = self.state.ceiling_notes([self.name])
        if pending or failed or unmodelled or stuck:
            ready = sum(1 for p in here if p.ready)
            lines = [f"  - {line}" for line in failed + stuck + unmodelled]
            lines += [f"  - pod/{p.name}: Unschedulable: {p.pending_reason}" for p in pending[:10]]
            if len(pending) > 10:
                lines.append(f"  - ... and {len(pending) - 10} more Pending pods, for the same reason")
            why = []
            if pending:
                nodes = len(self.state.nodes)
                why.append(
                    f"{len(pending)} Pending: "
                    f"{'the node runs' if nodes == 1 else f'each of the {nodes} nodes runs'} "
                    f"at most {self.state.max_pods} pods, kubelet's maxPods"
                )
            if failed:
                why.append("pods refused by the namespace's ResourceQuota/LimitRange")
            if stuck:
                why.append("pods that cannot start or fail their readiness probe")
            raise TimeoutError(
                f"not ready after {timeout:g}s in namespace {self.name} ({ready}/{len(here)} pods Ready; "
                f"{'; '.join(why) or 'replicas beyond the model'}):\n" + "\n".join(lines))

    def set_ready(self, pod: str, ready: bool = False) -> list[str]:
        """Mark pods (a name or a selector) ready / not ready; returns their names."""
        self._alive()
        return [p.name for p in self.state.set_ready(pod, ready, namespace=self.name)]

    # ------------------------------------------------------------------ observations
    def env(self, pod: str, container: str | None = None) -> dict[str, str]:
        """The declared environment the container started with (grader.model.pod_env)."""
        found = self.pod(pod)
        if container is None:
            return dict(next(iter(found.env.values()), {}))
        if container not in found.env:
            raise LookupError(f"pod {found.name} has no container {container!r} "
                              f"(containers: {', '.join(found.env) or 'none started'})")
        return dict(found.env[container])

    def pods(self) -> list[PodRef]:
        self._alive()
        return [PodRef(p.namespace, p.name, p.ip, labels=dict(p.labels), ready=p.ready)
                for p in self.state.pods_in(self.name)]

    def endpoints(self, service: str) -> list[Endpoint]:
        self._alive()
        return self.state.endpoints(self.name, service)

    def services(self) -> list[ServiceInfo]:
        """Every Service of the namespace, by name."""
        self._alive()
        names = sorted(s.name for s in self.state.services if s.namespace == self.name)
        return [info for info in (self.service(n) for n in names) if info is not None]

    def service(self, name: str) -> ServiceInfo | None:
        self._alive()
        svc = self.state.service(self.name, name)
        if svc is None:
            return None
        cluster_ip = None if svc.type == "ExternalName" else ("None" if svc.headless else svc.cluster_ip)
        return ServiceInfo(
            namespace=svc.namespace, name=svc.name, type=svc.type, cluster_ip=cluster_ip,
            selector=dict(svc.selector or {}),
            ports=tuple(ServicePortInfo(p.port, p.protocol, p.name, p.target_port, p.node_port)
                        for p in svc.ports),
            external_address=svc.load_balancer_ip if svc.type == "LoadBalancer" else None,
            external_name=svc.external_name,
            external_traffic_policy=svc.external_traffic_policy,
            internal_traffic_policy=svc.internal_traffic_policy,
            traffic_distribution=svc.traffic_distribution,
            health_check_node_port=svc.health_check_node_port,
            load_balancer_source_ranges=svc.load_balancer_source_ranges,
            ip_mode=LB_IP_MODE if svc.type == "LoadBalancer" and svc.load_balancer_ip else None,
            session_affinity=svc.session_affinity,
            session_affinity_timeout=svc.session_affinity_timeout)

    def get_endpoints(self, service: str) -> str:
        """What `kubectl get endpoints <service>` prints (without AGE)."""
        return render_get_endpoints(service, self.endpoints(service))

    def pod(self, frm: str) -> Pod:
        """The pod `frm` names (selector or pod name): the first Ready match in name order,
        else the first running one. Pending pods (no IP) cannot be probed from."""
        self._alive()
        found = self.state.find_pods(frm, self.name)
        running = [p for p in found if not p.pending]
        if found and not running:
            names = ", ".join(p.name for p in found[:5]) + (
                f" and {len(found) - 5} more" if len(found) > 5 else ""
            )
            raise LookupError(f'every pod matching "{frm}" in namespace {self.name} is Pending, '
                              f"so it has no IP to probe from ({names}): {found[0].pending_reason}")
        if running:
            return next((p for p in running if p.ready), running[0])
        if not found:
            here = self.state.pods_in(self.name)

            def labels(pod: Pod) -> str:
                return ",".join(f"{k}={v}" for k, v in sorted(pod.labels.items()) if k != "pod-template-hash")
            listing = "; ".join(f"{p.name} ({labels(p)})" for p in here) or "none"
            raise LookupError(f'no pod in namespace {self.name} matches "{frm}"; pods there: {listing}')
        raise AssertionError("unreachable: pods were found, so some are running or all are Pending")

    def lookup(self, name: str, frm: str, rtype: str = "A") -> DnsAnswer:
        return dns.lookup(self.state, name, self.pod(frm), rtype)

    def resolv_conf(self) -> str:
        return dns.resolv_conf(self.name)

    def probe(self, target: str, frm: str, protocol: str = "TCP", timeout: float = 1.0) -> Outcome:
        return connectivity.probe(self.state, self.pod(frm), target, protocol)

    # ------------------------------------------------------------------ ingress / gateway
    def ingress_address(self, name: str) -> str | None:
        """The Ingress's status.loadBalancer address: its namespace's ingress Gateway's (None
        while no controller serves it)."""
        return http_api.ingress_address(self.state, self.name, name)

    def gateway_address(self, name: str) -> str | None:
        return http_api.gateway_address(self.state, self.name, name)

    def gateway_status(self, name: str) -> GatewayStatus:
        return http_api.gateway_status(self.state, self.name, name)

    def route_status(self, name: str) -> list[ParentStatus]:
        return http_api.route_status(self.state, self.name, name)

    def kube_proxy_rules(self, service: str, node: str | None = None) -> KubeProxyRules:
        self._alive()
        return self.cluster.kube_proxy_rules(node, service=f"{self.name}/{service}")

    def http(self, address: str, path: str = "/", *, host: str | None = None, port: int | None = None,
             method: str = "GET", headers: Mapping[str, str] | None = None,
             timeout: float = 2.0, scheme: str = "http", sni: str | None = None) -> HttpResponse:
        return self.cluster.http(address, path, host=host, port=port, method=method, headers=headers,
                                 timeout=timeout, scheme=scheme, sni=sni)

    def matrix(self, ports: Iterable[int] | int | None = None, protocols: Iterable[str] = ("TCP",)) -> Matrix:
        """The NetworkPolicy truth table of this namespace's running pods. `ports`: an int or
        ints 1-65535 (default: every port the pods listen on, as `svclab matrix`); Pending
        pods are left out and the omission is said on stdout."""
        self._alive()
        from grader.model.matrix import check_ports, check_protocols, listened_ports, matrix_from_engine
        protos = check_protocols(protocols)
        here = self.state.pods_in(self.name)
        pods = [p for p in here if not p.pending]
        port_list = listened_ports(pods, protos) if ports is None else check_ports(ports)
        note = self.state.pending_summary(here)
        if note:
            self.cluster.say(f"svclab: matrix of {len(pods)} pods in namespace {self.name}; {note}")
        return matrix_from_engine(self.state.policy_engine(), pods, port_list, protos)

    def __repr__(self) -> str:
        return f"OfflineNamespace({self.name!r})"


class OfflineCluster:
    """A whole offline cluster (implements grader.cluster.base.Cluster)."""

    mode = "offline"

    def __init__(self, state: ClusterState | None = None, *, nodes: int | None = None,
                 seed: int = 0, say: Callable[[str], None] = print) -> None:
        """`nodes`: how many kind nodes the model has (default: the course's kind config);
        `seed`: the endpoint-choice seed; `say`: where one-line notices go (stdout)."""
        if state is not None and nodes is not None:
            raise ValueError("give either a state or a node count, not both")
        self.state = state or ClusterState(nodes=nodes, seed=seed)
        self.say = say
        self._seed = seed

    def use_nodes(self, nodes: int) -> None:
        """Have `nodes` kind nodes (a lab whose checks judge traffic node by node needs as
        many as the course's live clusters, where they are two). Only on a cluster nothing
        was put in yet (each part is graded on a fresh one): the model is built again
        empty; refused once a namespace of its own exists."""
        if len(self.state.nodes) == nodes:
            return
        own = sorted(set(self.state.namespaces) - set(SYSTEM_NAMESPACES))
        if own:
            raise RuntimeError(f"the offline cluster already holds namespaces {', '.join(own)}: it can "
                               "change its node count only before anything is put in it")
        self.state = ClusterState(nodes=nodes, seed=self._seed)

    def namespace(self, name: str, *, fresh: bool = True,
                  labels: Mapping[str, str] | None = None) -> OfflineNamespace:
        """A namespace with the course's guardrails (grader.guardrails), like live. One that
        exists is deleted and recreated, and that is said on stdout (fresh=False keeps it).
        The system namespaces (default, kube-system...) are used as they are."""
        system = name in SYSTEM_NAMESPACES
        if fresh and name in self.state.namespaces and not system:
            self.state.delete_namespace(name)
            self.say(f"svclab: namespace {name} already existed: deleted and recreated empty "
                     "(pass fresh=False to keep its objects)")
        if system:
            if labels:
                self.state.create_namespace(name, {**self.state.namespaces[name].labels, **labels})
            return OfflineNamespace(self, name)
        if name not in self.state.namespaces:
            objs = guardrails.guardrail_objects(name)
            ns_obj = objs[0]
            ns_obj["metadata"]["labels"].update(labels or {})
            self.state.apply(objs)
        elif labels:
            self.state.create_namespace(name, {**self.state.namespaces[name].labels, **labels})
        return OfflineNamespace(self, name)

    def probe_external(self, port: int, host: str = "127.0.0.1", path: str | None = None,
                       timeout: float = 2.0) -> Outcome:
        return connectivity.probe_external(self.state, port, host, path)

    def node_addresses(self) -> dict[str, str]:
        return {n.name: n.ip for n in self.state.nodes}

    def http(self, address: str, path: str = "/", *, host: str | None = None, port: int | None = None,
             method: str = "GET", headers: Mapping[str, str] | None = None,
             timeout: float = 2.0, scheme: str = "http", sni: str | None = None) -> HttpResponse:
        return http_api.http_request(self.state, address, path, host=host, port=port, method=method,
                                     headers=headers, scheme=scheme, sni=sni)

    def kube_proxy_rules(self, node: str | None = None, *, service: str | None = None) -> KubeProxyRules:
        """Rendered from the model (grader.model.kube_proxy): what kube-proxy v1.37 in
        nftables mode would hold on that node now."""
        from grader.model.kube_proxy import render

        found = _node_named(self.state, node)
        table = render(self.state, found, source_ranges=_source_ranges(self.state))
        return service_part(table, found.name, "rendered offline from the model", service,
                            known=lambda ns, name: self.state.service(ns, name) is not None)

    def corefile(self) -> str:
        return dns.corefile(self.state).text

    def edit_corefile(self, text: str) -> str:
        """Validate `text` whole first (CorefileError names the line: nothing changes, as
        CoreDNS's reload keeps the old configuration when the new one does not load), then
        store it in kube-system/coredns, where every lookup reads it."""
        if not isinstance(text, str):
            raise CorefileError("edit_corefile takes the Corefile as text")
        parse(text)
        old = self.corefile()
        namespace, name = dns.COREFILE_CONFIGMAP
        cm = self.state.get("ConfigMap", name, namespace) or {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
        cm["data"] = {**(cm.get("data") or {}), "Corefile": text}
        self.state.apply([cm])
        dns.corefile(self.state)          # loaded now, as CoreDNS's reload would load it
        self.say("svclab: Corefile replaced in kube-system/coredns (offline: lookups follow it now; "
                 "live, CoreDNS's reload plugin picks it up within about 30 s)")
        return old

    def __repr__(self) -> str:
        return f"OfflineCluster(nodes={len(self.state.nodes)})"


def _node_named(state: ClusterState, node: str | None) -> Node:
    """The model's node called `node` (default: the first); LookupError names the nodes."""
    if node is None:
        return state.nodes[0]
    found = next((n for n in state.nodes if n.name == node), None)
    if found is None:
        raise LookupError(f"no node {node!r}; nodes: {', '.join(n.name for n in state.nodes)}")
    return found


def _source_ranges(state: ClusterState) -> dict[str, list[str]]:
    """spec.loadBalancerSourceRanges of every LoadBalancer Service, by "ns/name"."""
    out = {}
    for obj in state.objects("Service"):
        spec = obj.get("spec") or {}
        if spec.get("type") == "LoadBalancer" and spec.get("loadBalancerSourceRanges"):
            meta = obj["metadata"]
            out[f"{meta.get('namespace', 'default')}/{meta['name']}"] = [
                str(c).strip() for c in spec["loadBalancerSourceRanges"]]
    return out


__all__ = ["OfflineCluster", "OfflineNamespace"]
