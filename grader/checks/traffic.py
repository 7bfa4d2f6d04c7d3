"""Checks on how a Service treats traffic from outside: whether the pods see the address
the connection came from (externalTrafficPolicy), and who may connect to a load balancer
at all (loadBalancerSourceRanges). Behaviour first: the address is read from what the pod
answers on `/clientip`; the ranges, which no probe from one machine can explore, are
compared with the network the task allows.
"""
from __future__ import annotations

import ipaddress
from typing import Any

from grader.checks.core import Check, Verdict, failed, passed
from grader.checks.services import diagnose_service
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
