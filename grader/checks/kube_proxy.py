"""Checks on the rules kube-proxy writes for a Service (`ns.kube_proxy_rules`): where a
connection to the ClusterIP is DNATed, whether a nodePort leads in, whether clients keep
their pod. Outcomes, not YAML: any Service that makes kube-proxy write that shape passes.

Where the node's rules cannot be read (a live cluster svclab has no host access to, or
kube-proxy in iptables mode), each check judges the same facts from what kube-proxy reads
them from, the API (ready endpoints, the Service's ports), or from traffic (affinity), and
says so in its feedback.
"""
from __future__ import annotations

from typing import Any

from grader.checks.core import Check, Verdict, failed, listing, passed
from grader.checks.services import pods_matching
from grader.cluster.base import KubeProxyRules, NodeRulesUnavailable


def _rules(ns: Any, service: str) -> KubeProxyRules | None:
    try:
        return ns.kube_proxy_rules(service)
    except NodeRulesUnavailable:
        return None


def _cluster_ip_targets(ns: Any, service: str, port: int) -> tuple[str, set[str]] | None:
    """(how it ends, the ip:port targets) of a connection to the ClusterIP on `port`."""
    svc = ns.service(service)
    rules = _rules(ns, service)
    if svc is None or rules is None:
        return None
    for path in rules.paths():
        if path.entry.startswith(f"{svc.cluster_ip} ") and path.entry.endswith(f"/{port}") and \
                path.map in ("service-ips", "no-endpoint-services"):
            return path.verdict, set(path.targets)
    return "nothing", set()


def _pod_names(ns: Any) -> Any:
    """"10.244.0.7:8080" -> "pay-7d9f-abcde:8080" (pod names read better than addresses)."""
    by_ip = {p.ip: p.name for p in ns.pods() if p.ip}

    def named(target: str) -> str:
        ip, _, port = target.rpartition(":")
        return f"{by_ip.get(ip, ip)}:{port}"
    return named


def dnats_to(service: str, port: int, selector: str, target_port: int, *, points: float = 1.0) -> Check:
    """A new connection to the Service's ClusterIP on `port` is DNATed, at random, to exactly
    the ready pods `selector` picks, on `target_port`."""
    def fn(ns: Any) -> Verdict:
        if ns.service(service) is None:
            return failed(f"there is no Service {service}")
        want = {f"{p.ip}:{target_port}" for p in pods_matching(ns, selector) if p.ready}
        found = _cluster_ip_targets(ns, service, port)
        source = "kube-proxy's rules"
        if found is None:               # no access to the node: the EndpointSlices kube-proxy reads
            source = "the ready endpoints kube-proxy reads (this cluster's node rules cannot be read here)"
            eps = {f"{e.ip}:{e.port}" for e in ns.endpoints(service) if e.ready}
            found = ("DNAT" if eps else "REJECT", eps)
        verdict, got = found
        if verdict != "DNAT":
            return failed(f"{source}: a connection to {service}:{port} ends in {verdict}, not a DNAT to a pod"
                          + (" (the Service has no such port)" if verdict == "nothing" else
                             " (no ready endpoint: check the selector)"))
        named = _pod_names(ns)
        extra, missing = sorted(map(named, got - want)), sorted(map(named, want - got))
        if extra or missing:
            where = listing(sorted(map(named, got)))
            return failed(f"{source}: connections to {service}:{port} go to {where}"
                          + f"; they should go to the ready {selector} pods on port {target_port}, "
                          + (f"not {listing(extra)}" if extra else f"also {listing(missing)}"))
        return passed(f"{source}: {service}:{port} is DNATed at random to the {len(want)} ready "
                      f"{selector} pods on {target_port}")
    return Check(f"kube-proxy sends {service}:{port} to the {selector} pods", fn, points=points)


def node_port_leads_in(service: str, node_port: int, *, points: float = 1.0) -> Check:
    """Node port `node_port` is in kube-proxy's service-nodeports map and leads, through the
    Service's external chain, to its endpoints."""
    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None:
            return failed(f"there is no Service {service}")
        rules = _rules(ns, service)
        if rules is None:
            ports = [p.node_port for p in svc.ports if p.node_port]
            if node_port in ports:
                return passed(f"Service {service} has nodePort {node_port} (the API's word: this "
                              "cluster's node rules cannot be read here)")
            return failed(f"Service {service} has nodePorts {ports or 'none'}, not {node_port}")
        entry = next((p for p in rules.paths()
                      if p.entry.startswith("node IP ") and p.entry.endswith(f"/{node_port}")), None)
        if entry is None:
            mine = sorted({p.entry for p in rules.paths() if p.entry.startswith("node IP ")})
            besides = f" (it has {listing(mine)})" if mine else f"; {service} is a {svc.type} Service"
            return failed(f"kube-proxy's service-nodeports map has no entry for port {node_port} of "
                          f"{service}{besides}")
        if entry.verdict != "DNAT":
            return failed(f"node port {node_port} ends in {entry.verdict}: the Service has no ready endpoint")
        return passed(f"node port {node_port} enters through the external chain and is DNATed to "
                      f"{len(entry.targets)} endpoint(s)")
    return Check(f"node port {node_port} leads to {service}", fn, points=points)


def keeps_clients_on_one_pod(service: str, port: int, frm: str, *, points: float = 1.0) -> Check:
    """kube-proxy remembers each client (affinity sets per endpoint), so every connection
    from one client reaches the pod it reached first."""
    def fn(ns: Any) -> Verdict:
        rules = _rules(ns, service)
        if rules is not None:
            remembered = [s for s in rules.table.sets if s.startswith("affinity-")]
            if not remembered:
                return failed(f"kube-proxy writes no affinity set for {service}: each new connection picks a "
                              "pod at random (sessionAffinity: ClientIP makes it remember the client)")
        answers = [ns.probe(f"{service}:{port}/hostname", frm=frm) for _ in range(12)]
        pods = {o.pod for o in answers if o.ok}
        if not all(o.ok for o in answers) or len(pods) != 1:
            return failed(f"12 connections from {frm} to {service}:{port} reached {len(pods)} pods"
                          + ("" if all(o.ok for o in answers) else " (some failed)")
                          + ": a client should keep its pod (sessionAffinity: ClientIP)")
        who = next(iter(pods)).split("/")[-1]
        return passed(f"kube-proxy remembers the client: 12 connections reached {who}")
    return Check(f"a client of {service} keeps its pod", fn, points=points)


__all__ = ["dnats_to", "keeps_clients_on_one_pod", "node_port_leads_in"]
