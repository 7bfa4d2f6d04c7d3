"""Checks on what a Service *does*: which pods it sends traffic to, on which port, of which
type, reachable how. Any manifest that produces the right behaviour passes, however it is
written; a wrong one gets the reason a troubleshooting guide would find first.
"""
from __future__ import annotations

from typing import Any

from grader.checks.core import Check, Verdict, failed, listing, partial, passed
from grader.k8s.selectors import SelectorError, labels_text, matches, parse_selector
from grader.observations import PodRef, ServiceInfo, Status


def pods_matching(ns: Any, selector: str) -> list[PodRef]:
    """The running pods of `ns` whose labels match `selector` ("app=web,tier!=db")."""
    sel = parse_selector(selector)
    return [p for p in ns.pods() if p.ip and matches(sel, p.labels)]


def _labels(p: PodRef) -> str:
    mine = {k: v for k, v in p.labels.items() if k not in ("pod-template-hash",
            "controller-revision-hash", "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index")}
    return labels_text(mine) if mine else "no labels"


def diagnose_service(ns: Any, service: str) -> str:
    """Why a Service sends traffic to no pod (or the wrong ones), in one sentence: the
    first finding of the usual troubleshooting order (exists? selector? ready? port?)."""
    svc: ServiceInfo | None = ns.service(service)
    if svc is None:
        names = [p.name for p in ns.pods()]
        return f"there is no Service named {service!r} in namespace {ns.name}" + (
            "" if names else " (and no pods either)")
    if svc.type == "ExternalName":
        return (
            f"Service {service} is an ExternalName (a DNS alias for {svc.external_name}); it has no endpoints"
        )
    if not svc.selector:
        return (f"Service {service} has no selector, so Kubernetes never creates endpoints for it; "
                "add spec.selector with the labels of the pods it should send traffic to, or (for a fixed "
                f"address) an EndpointSlice labelled kubernetes.io/service-name={service} whose port names "
                "match the Service's")
    pods = [p for p in ns.pods() if p.ip]
    selected = [p for p in pods if matches({"matchLabels": dict(svc.selector)}, p.labels)]
    want = labels_text(dict(svc.selector))
    if not selected:
        if not pods:
            return f"Service {service} selects {want}, but namespace {ns.name} has no running pods"
        close = _closest(dict(svc.selector), pods)
        return (f"Service {service} selects {want}, but no pod carries those labels; the pods carry "
                + listing(sorted({_labels(p) for p in close})) + " (selectors match labels exactly, "
                "keys and values)")
    not_ready = [p for p in selected if not p.ready]
    if not_ready and len(not_ready) == len(selected):
        return (f"Service {service} selects {listing([p.name for p in selected])}, but none of them is "
                "Ready, and only Ready pods become endpoints (check the readiness probe)")
    return ""


def _closest(selector: dict[str, str], pods: list[PodRef]) -> list[PodRef]:
    """The pods that share the most selector labels (keys, then key=value)."""
    def score(p: PodRef) -> tuple[int, int]:
        return (sum(1 for k in selector if k in p.labels),
                sum(1 for k, v in selector.items() if p.labels.get(k) == v))
    best = max(score(p) for p in pods)
    return [p for p in pods if score(p) == best]


def endpoints_match(service: str, selector: str, *, port: int | None = None,
                    include_not_ready: bool = False,
                    name: str | None = None, points: float = 1.0) -> Check:
    """The Service's ready endpoints are exactly the running, ready pods matching
    `selector` (and, with `port`, on that pod port).

    With `include_not_ready`, every running matching pod must be a ready endpoint, Ready or
    not: what `spec.publishNotReadyAddresses: true` does (peer discovery while starting)."""
    def fn(ns: Any) -> Verdict:
        try:
            matching = pods_matching(ns, selector)
        except SelectorError as exc:  # a lab author's mistake, said plainly
            return failed(f"the check's selector {selector!r} is invalid: {exc}")
        want = {p.name for p in matching if p.ready or include_not_ready}
        eps = [e for e in ns.endpoints(service) if e.ready] if ns.service(service) else []
        got = {e.pod.split("/", 1)[-1] for e in eps if e.pod}
        if not matching:
            return failed(f"no running pod matches {selector} in namespace {ns.name}, so there is "
                          "nothing for the Service to select; apply the workload too")
        if not want:
            return failed(
                f"the pods matching {selector} ({listing([p.name for p in matching])}) exist, but "
                "none of them is Ready, and only Ready pods become endpoints (check the readiness probe)"
            )
        if not got:
            why = diagnose_service(ns, service) or f"Service {service} has no ready endpoints"
            return failed(why)
        if got != want:
            extra, missing = sorted(got - want), sorted(want - got)
            parts = []
            if missing:
                parts.append(f"misses {listing(missing)}")
            if extra:
                parts.append(f"also sends traffic to {listing(extra)}, which should not receive it")
            unready = sorted(set(missing) & {p.name for p in matching if not p.ready})
            hint = (f"; {listing(unready)} {'is' if len(unready) == 1 else 'are'} not Ready, and only "
                    "spec.publishNotReadyAddresses: true lists not-ready pods as ready endpoints"
                    if include_not_ready and unready else "; compare its selector with the pods' labels")
            return partial(
                len(got & want) / len(got | want), f"Service {service} " + " and ".join(parts) + hint
            )
        if port is not None:
            ports = sorted({e.port for e in eps})
            if ports != [port]:
                return failed(f"Service {service} sends traffic to its pods on port "
                              f"{listing([str(p) for p in ports])}, but they listen on {port}: "
                              "set targetPort to the container port (or its name)")
        return passed(f"Service {service} sends traffic to exactly the {len(want)} pods matching {selector}"
                      + (", ready or not" if include_not_ready else "")
                      + (f", on port {port}" if port is not None else ""))
    return Check(name or f"Service {service} selects {selector}", fn, points)


def service_type(service: str, type_: str, *, name: str | None = None, points: float = 1.0) -> Check:
    """The Service exists and is of `type_` (ClusterIP, NodePort, LoadBalancer, ExternalName)."""
    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None:
            return failed(diagnose_service(ns, service))
        if svc.type != type_:
            return failed(f"Service {service} is of type {svc.type}, not {type_}")
        return passed(f"Service {service} is {_article(type_)} {type_} Service")
    return Check(name or f"Service {service} is {_article(type_)} {type_}", fn, points)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def service_port(service: str, port: int, *, node_port: int | None = None, protocol: str = "TCP",
                 name: str | None = None, points: float = 1.0) -> Check:
    """The Service offers `port`/`protocol` (and, with `node_port`, on that nodePort)."""
    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None:
            return failed(diagnose_service(ns, service))
        sp = next((p for p in svc.ports if p.port == port and p.protocol == protocol), None)
        if sp is None:
            offered = listing([f"{p.port}/{p.protocol}" for p in svc.ports])
            return failed(f"Service {service} offers {offered}, not {port}/{protocol} (spec.ports[].port "
                          "is what clients connect to)")
        if node_port is not None and sp.node_port != node_port:
            got = "no nodePort" if sp.node_port is None else f"nodePort {sp.node_port}"
            return failed(f"Service {service} port {port} has {got}, not {node_port}: set "
                          "spec.ports[].nodePort (and type NodePort or LoadBalancer)")
        return passed(f"Service {service} offers {port}/{protocol}"
                      + (f" on nodePort {node_port}" if node_port is not None else ""))
    return Check(name or f"Service {service} offers port {port}", fn, points)


def reachable(target: str, frm: str, *, expect: Status | str = Status.OK, answered_by: str | None = None,
              protocol: str = "TCP", name: str | None = None, points: float = 1.0) -> Check:
    """A connection from a pod matching `frm` to `target` ends as `expect`; with
    `answered_by`, the answering pod matches that selector."""
    want = Status(expect) if isinstance(expect, str) else expect

    def fn(ns: Any) -> Verdict:
        out = ns.probe(target, frm=frm, protocol=protocol)
        if out.status is not want:
            hint = f" ({out.reason})" if out.reason else ""
            if out.status is Status.NO_ENDPOINTS and "/" not in target.split(":")[0]:
                service = target.split(":")[0].split(".")[0]
                diagnosis = diagnose_service(ns, service)
                hint = f" ({diagnosis})" if diagnosis else hint
            return failed(f"{target} from {frm}: expected {want.value}, got {out.status.value}{hint}")
        if answered_by and out.ok:
            pod = (out.pod or "").split("/", 1)[-1]
            allowed = {p.name for p in pods_matching(ns, answered_by)}
            if not pod and not out.body:
                # live, a plain connect cannot say which pod answered: a Service whose every
                # ready endpoint matches was answered by one of them
                pod = _sole_answerer(ns, target, allowed) or ""
            if pod not in allowed:
                return failed(f"{target} from {frm} was answered by {pod or 'nobody'}, "
                              f"which does not match {answered_by}")
        return passed(f"{target} from {frm}: {out.status.value}"
                      + (f", answered by {out.pod.split('/', 1)[-1]}" if out.ok and out.pod else ""))
    verb = "reaches" if want is Status.OK else f"gets {want.value} for"
    return Check(name or f"{frm} {verb} {target}", fn, points)


def _sole_answerer(ns: Any, target: str, allowed: set[str]) -> str | None:
    """A pod that must have answered a connection to a same-namespace Service `target`:
    any of its ready endpoints, when all of them are in `allowed` (else None)."""
    host = target.split(":")[0]
    if "." in host or not host or host[0].isdigit():
        return None
    try:
        ready = {(e.pod or "").split("/", 1)[-1] for e in ns.endpoints(host) if e.ready}
    except Exception:  # noqa: BLE001  -- no such Service: nobody is known to have answered
        return None
    return min(ready) if ready and ready <= allowed else None


def spreads_over(target: str, frm: str, selector: str, *, tries: int = 40,
                 name: str | None = None, points: float = 1.0) -> Check:
    """Repeated requests to `target` (an HTTP path like "web:80/hostname") are answered by
    every pod matching `selector` at least once: the Service balances over all of them."""
    def fn(ns: Any) -> Verdict:
        want = {p.name for p in pods_matching(ns, selector) if p.ready}
        seen: set[str] = set()
        for _ in range(tries):
            out = ns.probe(target, frm=frm)
            if not out.ok:
                return failed(f"{target} from {frm}: {out.status.value} ({out.reason})")
            seen.add((out.pod or "").split("/", 1)[-1])
            if want and want <= seen:
                break
        if not want:
            return failed(f"no ready pod matches {selector}")
        stray = sorted(seen - want)
        if stray:
            return failed(f"{target} was answered by {listing(stray)}, which do not match {selector}")
        return partial(len(seen & want) / len(want),
                       f"{len(seen & want)} of {len(want)} pods answered in {tries} requests"
                       + ("" if want <= seen else f"; never {listing(sorted(want - seen))}"))
    return Check(name or f"{target} is spread over {selector}", fn, points)


def external(port: int, *, host: str = "127.0.0.1", path: str | None = None,
             expect: Status | str = Status.OK, answered_by: str | None = None,
             name: str | None = None, points: float = 1.0) -> Check:
    """A connection from the learner's machine to host:port (a NodePort through kind's
    port mapping, or a LoadBalancer address) ends as `expect`."""
    want = Status(expect) if isinstance(expect, str) else expect

    def fn(ns: Any) -> Verdict:
        out = ns.cluster.probe_external(port, host=host, path=path)
        where = f"{host}:{port}{path or ''}"
        if out.status is not want:
            return failed(f"{where} from your machine: expected {want.value}, got {out.status.value}"
                          + (f" ({out.reason})" if out.reason else ""))
        if answered_by and out.ok:
            pod = (out.pod or "").split("/", 1)[-1]
            if pod not in {p.name for p in pods_matching(ns, answered_by)}:
                return failed(f"{where} was answered by {pod or 'nobody'}, not a pod matching {answered_by}")
        return passed(f"{where} from your machine: {out.status.value}")
    return Check(name or f"{host}:{port} from your machine", fn, points)


def load_balancer_address(service: str, *, name: str | None = None, points: float = 1.0) -> Check:
    """A LoadBalancer Service got an external address, and that address serves its port."""
    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None:
            return failed(diagnose_service(ns, service))
        if svc.type != "LoadBalancer":
            return failed(
                f"Service {service} is of type {svc.type}; only a LoadBalancer gets an external address"
            )
        if not svc.external_address:
            return failed(f"Service {service} has no external address yet (EXTERNAL-IP <pending>): "
                          "is the load-balancer controller running? (`make cluster-status`)")
        if not svc.ports:
            return failed(f"Service {service} has no ports")
        out = ns.cluster.probe_external(svc.ports[0].port, host=svc.external_address)
        if not out.ok:
            return failed(f"{svc.external_address}:{svc.ports[0].port} did not answer: "
                          f"{out.status.value} ({out.reason})")
        return passed(f"Service {service} answers on {svc.external_address}:{svc.ports[0].port}")
    return Check(name or f"Service {service} has a working external address", fn, points)
