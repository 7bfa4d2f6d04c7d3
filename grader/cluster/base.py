"""The one Cluster API that both backends implement.

Notebooks, lab cells and `grader.checks` only ever see these protocols and the
observation types of `grader.observations` (re-exported here for callers that know them
from this module), so a verdict computed offline can be compared field by field with one
observed on a real cluster.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Protocol, Sequence, Union, runtime_checkable

from grader.k8s.nft import KubeProxyRules, NodeRulesUnavailable  # noqa: F401  (re-exported: the API's)
from grader.observations import (  # noqa: F401  (re-exported: the API's vocabulary)
    Condition,
    DnsAnswer,
    DnsRecord,
    Endpoint,
    GatewayStatus,
    HttpResponse,
    ListenerStatus,
    Matrix,
    Outcome,
    ParentStatus,
    PodRef,
    Reachability,
    ServiceInfo,
    ServicePortInfo,
    Status,
    ip_sort_key,
    is_ip,
    parse_target,
)


class NamespaceDeleted(LookupError):
    """The namespace object is used after `ns.delete()`: notebooks end with a tidy-up cell,
    and re-running a cell above it afterwards must say so, not fail with an empty result
    (a bare StopIteration from `next(p for p in ns.pods() ...)`)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"namespace {name} was deleted by the tidy-up cell (ns.delete()): "
                         f"run the cells above again, from the one that creates it")
        self.namespace = name


#: What `Namespace.apply` accepts: YAML text, a file or directory path, or parsed objects.
ManifestInput = Union[str, Path, Mapping[str, Any], Sequence[Union[Mapping[str, Any], str, Path]]]


@runtime_checkable
class Namespace(Protocol):
    """An isolated namespace in which a notebook or a lab submission runs."""

    name: str

    def apply(self, manifests: ManifestInput, *, source: str | None = None) -> list[str]:
        """Validate everything first, then apply all or nothing. Returns one line per object,
        like kubectl: "service/backend created|configured|unchanged"."""

    def delete(self, kind: str | None = None, name: str | None = None) -> None:
        """Delete one object, or (no arguments) the whole namespace."""

    def wait_ready(self, timeout: float = 120, *, unready: str | None = None) -> None:
        """Block until every workload pod is Ready; raise TimeoutError naming the laggards.
        Pods matching the label selector `unready` need only run (all containers started):
        for a lab whose point is a pod a readiness probe keeps out of rotation."""

    def env(self, pod: str, container: str | None = None) -> dict[str, str]:
        """The environment a container of `pod` (a name or a selector: its first Ready
        match) runs with, what the app reads: live, `env` run in the container (every
        variable); offline, the variables its `env`/`envFrom` declared when it started
        (pods keep them until replaced). Default container: the agnhost one."""

    def pods(self) -> list[PodRef]: ...

    def endpoints(self, service: str) -> list[Endpoint]: ...

    def service(self, name: str) -> ServiceInfo | None:
        """The Service as stored after defaulting and allocation; None if there is none."""

    def services(self) -> list[ServiceInfo]:
        """Every Service of the namespace, by name."""

    def lookup(self, name: str, frm: str, rtype: str = "A") -> DnsAnswer:
        """Resolve `name` as a pod matching selector `frm` (e.g. "app=frontend") would."""

    def probe(self, target: str, frm: str, protocol: str = "TCP", timeout: float = 1.0) -> Outcome:
        """Connect from a pod matching `frm` to "host:port[/path]" (a Service name, ClusterIP,
        pod IP, or DNS name)."""

    def matrix(self, ports: Iterable[int] | int | None = None, protocols: Iterable[str] = ("TCP",)) -> Matrix:
        """The NetworkPolicy truth table of the namespace's pods that have an IP. `ports`: an
        int or ints 1-65535, validated as `svclab matrix --ports` (default: the ports the
        pods listen on); pods left out (Pending) are named on stdout."""

    def ingress_address(self, name: str) -> str | None:
        """The Ingress's address (status.loadBalancer), None while no controller serves it."""

    def gateway_address(self, name: str) -> str | None:
        """The Gateway's first status address, None until the controller assigns one."""

    def gateway_status(self, name: str) -> GatewayStatus:
        """Addresses, conditions (Accepted, Programmed) and listeners (attachedRoutes...)."""

    def route_status(self, name: str) -> list[ParentStatus]:
        """An HTTPRoute's status.parents: Accepted and ResolvedRefs per parent Gateway."""

    def http(self, address: str, path: str = "/", *, host: str | None = None, port: int | None = None,
             method: str = "GET", headers: Mapping[str, str] | None = None,
             timeout: float = 2.0, scheme: str = "http", sni: str | None = None) -> HttpResponse:
        """`Cluster.http` (a request from the learner's machine), reachable from a namespace
        because checks are handed one."""

    def kube_proxy_rules(self, service: str, node: str | None = None) -> KubeProxyRules:
        """`Cluster.kube_proxy_rules` for Service `service` of this namespace."""


@runtime_checkable
class Cluster(Protocol):
    """A cluster, live or offline."""

    mode: str                      # "live" or "offline"

    def namespace(self, name: str, *, fresh: bool = True) -> Namespace: ...

    def probe_external(self, port: int, host: str = "127.0.0.1", path: str | None = None,
                       timeout: float = 2.0) -> Outcome:
        """Connect from the learner's machine (outside the cluster): a NodePort on 127.0.0.1
        (through kind's port mappings) or a LoadBalancer's external IP."""

    def node_addresses(self) -> dict[str, str]:
        """Each node's InternalIP by node name: where a NodePort can be reached on every node
        (a check that judges traffic node by node, e.g. externalTrafficPolicy Local)."""

    def http(self, address: str, path: str = "/", *, host: str | None = None, port: int | None = None,
             method: str = "GET", headers: Mapping[str, str] | None = None,
             timeout: float = 2.0, scheme: str = "http", sni: str | None = None) -> HttpResponse:
        """One HTTP request from the learner's machine to an Ingress or Gateway address, with
        Host `host` (default: the address): status code, the pod that answered, its body,
        response headers, and why for a 404 (no listener, no matching host or path)."""

    def kube_proxy_rules(self, node: str | None = None, *, service: str | None = None) -> KubeProxyRules:
        """kube-proxy's nftables table (`ip kube-proxy`) on `node` (default: the first node),
        or with `service="namespace/name"` only that Service's part (its chains, and the map
        elements that lead to them). Offline: rendered from the model as kube-proxy v1.37 in
        nftables mode would write it. Live: read from the node with `nft list table`, which
        needs host access: only on the course's own clusters (the local cluster; kind when
        its kube-proxy runs in nftables mode); elsewhere NodeRulesUnavailable says so."""

    def corefile(self) -> str:
        """The Corefile CoreDNS runs: the `Corefile` key of the `coredns` ConfigMap in
        kube-system."""

    def edit_corefile(self, text: str) -> str:
        """Replace the Corefile; returns the one it replaced. Offline the model follows it at
        once (and refuses, naming the line, a directive it does not model); live the ConfigMap
        changes and the call returns once every CoreDNS replica's `reload` plugin has loaded
        it (or puts the old file back when CoreDNS refuses it), only on the course's own
        clusters: CoreDNS serves every pod of a shared one."""
