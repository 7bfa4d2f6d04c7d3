"""Checks on how a Service treats traffic from outside: whether the pods see the address
the connection came from (externalTrafficPolicy), and who may connect to a load balancer
at all (loadBalancerSourceRanges). Behaviour first: the address is read from what the pod
answers on `/clientip`; the ranges, which no probe from one machine can explore, are
compared with the network the task allows.
"""
from __future__ import annotations

import ipaddress
import time
from typing import Any

from grader.checks.core import Check, Verdict, failed, passed
from grader.checks.services import diagnose_service, pods_matching
from grader.kind import LEARNER_ADDRESS


def keeps_client_address(service: str, *, tries: int = 8, name: str | None = None,
                         points: float = 1.0) -> Check:
    """Every request to the LoadBalancer's address reaches a pod that sees the address the
    connection came from (the load balancer's own, or your machine's), never a node's: no
    source NAT by kube-proxy, i.e. externalTrafficPolicy Local."""
    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None:
            return failed(diagnose_service(ns, service))
        if svc.type != "LoadBalancer" or not svc.external_address or not svc.ports:
            return failed(f"Service {service} is not a LoadBalancer with an address, so nothing can be "
                          "sent through it")
        kept = {svc.external_address, LEARNER_ADDRESS}
        where = f"{svc.external_address}:{svc.ports[0].port}/clientip"
        for _ in range(tries):
            out = ns.cluster.probe_external(svc.ports[0].port, host=svc.external_address,
                                            path="/clientip")
            if not out.ok:
                return failed(f"{where} from your machine: {out.status.value} ({out.reason})")
            seen = (out.body or "").strip().rsplit(":", 1)[0]
            if seen not in kept:
                return failed(f"the pod saw the connection come from {seen}, a node's address: with "
                              "externalTrafficPolicy Cluster (the default) the node that receives it may "
                              "send it to a pod on another node, so kube-proxy rewrites the source; "
                              "externalTrafficPolicy: Local keeps it")
        return passed(f"{tries} requests to {where}: the pods saw {' or '.join(sorted(kept))}, never a node")
    return Check(name or f"pods behind {service} see where connections come from", fn, points)


def source_ranges(service: str, *, admit: str = LEARNER_ADDRESS, within: str, name: str | None = None,
                  points: float = 1.0) -> Check:
    """loadBalancerSourceRanges is set, admits `admit`, and every range lies inside `within`
    (the network the task allows): a range that is broader lets in clients the task keeps
    out, and no range at all lets in everyone."""
    allowed = ipaddress.ip_network(within)

    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None:
            return failed(diagnose_service(ns, service))
        ranges = [ipaddress.ip_network(r, strict=False) for r in svc.load_balancer_source_ranges]
        if not ranges:
            return failed(f"Service {service} has no loadBalancerSourceRanges, so any address that reaches "
                          f"the load balancer may connect; list {within} (or a part of it)")
        broad = [str(r) for r in ranges if r.version != allowed.version or not r.subnet_of(allowed)]  # type: ignore[arg-type]
        if broad:
            return failed(f"loadBalancerSourceRanges {', '.join(broad)} reaches beyond {within}: clients "
                          "outside the allowed network could connect")
        if not any(ipaddress.ip_address(admit) in r for r in ranges):
            return failed(f"loadBalancerSourceRanges ({', '.join(map(str, ranges))}) leave out {admit}, a "
                          "client that must get in")
        return passed(f"only {', '.join(map(str, ranges))} may connect (inside {within}, {admit} included)")
    return Check(name or f"{service} admits {within} only", fn, points)


def every_node_answers(node_port: int, *, service: str, selector: str, shrink: str, shrink_to: int = 1,
                       settle: float = 60.0, name: str | None = None, points: float = 1.0) -> Check:
    """Every node's address answers on `node_port` from a pod matching `selector`, judged
    after the backends are shrunk to `shrink_to` pod(s) by applying `shrink` (the workload
    with fewer replicas), so that on a two-node cluster at least one node runs none of them,
    wherever the scheduler put the pods. That is the node externalTrafficPolicy Local gives
    away: kube-proxy sends outside traffic only to the receiving node's own ready endpoints
    and DROPs it when there are none (a LoadBalancer's healthCheckNodePort answers 503
    there), while under
    Cluster every node forwards, masquerading the source. It changes the namespace: list it
    after every other check of its part."""
    def fn(ns: Any) -> Verdict:
        ns.apply(shrink, source=f"the check's scale-down to {shrink_to} pod(s)")
        ns.wait_ready()
        placed = _settled_placement(ns, service, shrink_to, settle)
        if placed is None:
            return failed(f"Service {service} did not settle on {shrink_to} ready endpoint(s) within "
                          f"{settle:g}s after the backends were scaled down")
        svc = ns.service(service)
        policy = svc.external_traffic_policy if svc is not None else ""
        want = {p.name for p in pods_matching(ns, selector)}
        problems, fine = [], []
        for node, ip in ns.cluster.node_addresses().items():
            # retried live while kube-proxy may still hold a removed pod's rule: on a node with a
            # pod, and under Cluster on every node (a pod-less node forwards; found live: one
            # TIMEOUT right after the scale-down). Local's drop on a pod-less node is not retried.
            out = _answer_from(ns, ip, node_port, retry=node in placed or policy != "Local")
            pod = (out.pod or "").split("/", 1)[-1]
            runs = f"runs {placed[node]}" if node in placed else f"runs no pod of {service}"
            if out.ok and pod in want:
                fine.append(node)
            elif out.ok:
                problems.append(f"node {node} ({ip}) was answered by {pod or 'nobody'}, "
                                f"not a pod matching {selector}")
            elif node not in placed and policy == "Local":
                problems.append(
                    f"node {node} ({ip}) {runs}, and {ip}:{node_port} gave {out.status.value}: with "
                    "externalTrafficPolicy: Local a node sends outside traffic only to pods on itself and "
                    "drops it when it has none (for a LoadBalancer, its healthCheckNodePort answers 503 "
                    "there); a client that picks this node gets nothing. Every node must answer: keep the "
                    "default policy, Cluster")
            else:
                problems.append(f"node {node} ({ip}) {runs}: {out}")
        if problems:
            return failed("; ".join(problems))
        return passed(f"with {shrink_to} pod(s) of {service} left, every node answered on {node_port}: "
                      + ", ".join(f"{n} ({placed.get(n, 'no pod of its own')})" for n in fine))
    return Check(name or f"every node answers on {node_port}, also one without a pod of {service}",
                 fn, points)


def _settled_placement(ns: Any, service: str, count: int, settle: float) -> dict[str, str] | None:
    """Node -> its pods of `service`, once the Service lists exactly `count` pods, all ready
    and none terminating (live, a scaled-down pod lingers while it stops); None if that
    does not happen within `settle` seconds. Offline it holds at once."""
    deadline = time.monotonic() + settle
    while True:
        endpoints = ns.endpoints(service)
        pods = {(e.pod or e.ip): e for e in endpoints}
        if len(pods) == count and all(e.ready and not e.terminating for e in endpoints):
            placed: dict[str, list[str]] = {}
            for key, e in sorted(pods.items()):
                placed.setdefault(e.node or "?", []).append(key.split("/", 1)[-1])
            return {node: " and ".join(names) for node, names in placed.items()}
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.5)


def _answer_from(ns: Any, ip: str, node_port: int, *, retry: bool) -> Any:
    """One request to a node's node port from outside. Live, with `retry`, it is asked again
    for a few seconds while it fails: kube-proxy may still hold the removed pod's rule a
    moment after the EndpointSlice changed."""
    out = ns.cluster.probe_external(node_port, host=ip, path="/hostname")
    if not retry or getattr(ns.cluster, "mode", "offline") != "live":
        return out
    deadline = time.monotonic() + 10
    while not out.ok and time.monotonic() < deadline:
        time.sleep(1)
        out = ns.cluster.probe_external(node_port, host=ip, path="/hostname")
    return out
