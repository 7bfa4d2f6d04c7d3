"""Checks on HTTP routing through an Ingress or a Gateway: which pod answers which request,
what status a client sees, how a route's status conditions read, how traffic splits.

The address is looked up when the check runs (an Ingress's or Gateway's status), so a
check names the object, not an IP that differs between the offline pool and a live
controller.
"""
from __future__ import annotations

from typing import Any, Mapping

from grader.checks.core import Check, Verdict, failed, listing, partial, passed
from grader.checks.services import pods_matching


def _address(ns: Any, via: str) -> tuple[str | None, str]:
    """("ingress/NAME" | "gateway/NAME") -> (address or None, why not)."""
    kind, _, name = via.partition("/")
    kind = kind.lower()
    if kind in ("ingress", "ing"):
        addr = ns.ingress_address(name)
        return addr, (f"Ingress {name} has no address: does it exist, and does a controller serve its "
                      "class (spec.ingressClassName, or a default IngressClass)?")
    if kind in ("gateway", "gw"):
        addr = ns.gateway_address(name)
        return addr, f"Gateway {name} has no address: does it exist, and is it Programmed?"
    raise ValueError(f"via={via!r}: write 'ingress/NAME' or 'gateway/NAME'")


def _request(host: str | None, path: str, method: str, scheme: str = "http") -> str:
    if scheme == "https":
        return f"{method} https://{host or '<address>'}{path}"
    return f"{method} {path}" + (f" (Host: {host})" if host else "")


def routes_to(via: str, path: str = "/", *, host: str | None = None, answered_by: str | None = None,
              code: int = 200, method: str = "GET", headers: Mapping[str, str] | None = None,
              port: int | None = None, scheme: str = "http", certificate: str | None = None,
              name: str | None = None, points: float = 1.0) -> Check:
    """A request through `via` ("ingress/NAME" or "gateway/NAME") with this host and path
    gets HTTP `code` and, with `answered_by`, is answered by a pod matching that selector.
    `scheme="https"` sends the host as SNI too; `certificate` (a Secret name) is the one
    whose certificate the handshake must present."""
    what = _request(host, path, method, scheme)

    def fn(ns: Any) -> Verdict:
        addr, why = _address(ns, via)
        if not addr:
            return failed(why)
        resp = ns.http(addr, path, host=host, port=port, method=method, headers=dict(headers or {}),
                       scheme=scheme)
        if resp.code != code:
            got = f"HTTP {resp.code}" if resp.code is not None else resp.status.value
            return failed(f"{what} through {via}: expected HTTP {code}, got {got}"
                          + (f" ({resp.reason})" if resp.reason else ""))
        if certificate and (resp.certificate or "").split("/", 1)[-1] != certificate:
            shown = (resp.certificate or "an unknown certificate").split("/", 1)[-1]
            return failed(f"{what} through {via}: the TLS handshake presented {shown}, not the certificate "
                          f"of Secret {certificate} (which listener or certificateRef takes SNI {host}?)")
        if answered_by:
            pod = (resp.pod or "").split("/", 1)[-1]
            allowed = {p.name for p in pods_matching(ns, answered_by)}
            if pod not in allowed:
                sent = f" (sent to {resp.backend})" if resp.backend else ""
                return failed(f"{what} through {via} was answered by {pod or 'the proxy itself'}{sent}, "
                              f"not by a pod matching {answered_by}")
        return passed(f"{what} through {via}: HTTP {resp.code}"
                      + (f", answered by {resp.pod.split('/', 1)[-1]}" if resp.pod else ""))
    return Check(name or f"{what} via {via}", fn, points)


def splits(via: str, path: str = "/", *, shares: Mapping[str, float], host: str | None = None,
           requests: int = 200, tolerance: float = 0.05, port: int = 80,
           name: str | None = None, points: float = 1.0) -> Check:
    """Requests through `via` are answered by pods of each selector in about the given
    shares, e.g. {"app=stable": 0.9, "app=canary": 0.1}, within `tolerance`."""
    def fn(ns: Any) -> Verdict:
        addr, why = _address(ns, via)
        if not addr:
            return failed(why)
        groups = {sel: {p.name for p in pods_matching(ns, sel)} for sel in shares}
        counts = {sel: 0 for sel in shares}
        other = 0
        for _ in range(requests):
            resp = ns.http(addr, path, host=host, port=port)
            pod = (resp.pod or "").split("/", 1)[-1]
            hit = next((sel for sel, names in groups.items() if pod in names), None)
            if hit is None:
                other += 1
            else:
                counts[hit] += 1
        seen = ", ".join(f"{sel}: {counts[sel] / requests:.0%}" for sel in shares)
        if other:
            seen += f", elsewhere or failed: {other / requests:.0%}"
        off = [sel for sel, want in shares.items() if abs(counts[sel] / requests - want) > tolerance]
        if other / requests > tolerance or off:
            return failed(f"{requests} requests through {via} split {seen}; wanted "
                          + ", ".join(f"{sel}: {w:.0%}" for sel, w in shares.items()))
        return passed(f"{requests} requests through {via} split {seen}")
    return Check(name or f"traffic through {via} splits as asked", fn, points)


def route_accepted(route: str, *, name: str | None = None, points: float = 1.0) -> Check:
    """Every parent Gateway accepted HTTPRoute `route` and resolved its backends; feedback
    quotes the conditions that are not True, as `kubectl describe httproute` shows them."""
    def fn(ns: Any) -> Verdict:
        parents = ns.route_status(route)
        if not parents:
            return failed(f"HTTPRoute {route} has no status from any Gateway: does it exist, and does "
                          "spec.parentRefs name a Gateway (and sectionName a listener) that exists?")
        bad = [f"{p.gateway}: {c}" for p in parents for c in p.conditions
               if c.type in ("Accepted", "ResolvedRefs") and c.status != "True"]
        if bad:
            good = sum(1 for p in parents if p.accepted)
            return partial(good / len(parents) * 0.5, f"HTTPRoute {route}: " + "; ".join(bad))
        return passed(f"HTTPRoute {route} is accepted by {listing([p.gateway for p in parents])} "
                      "with all references resolved")
    return Check(name or f"HTTPRoute {route} is accepted", fn, points)


def redirects(via: str, path: str = "/", *, host: str, location: str, code: int = 301,
              name: str | None = None, points: float = 1.0) -> Check:
    """A plain-HTTP request through `via` is answered by the proxy itself with `code` and
    `Location: location` (an HTTP -> HTTPS redirect: the RequestRedirect filter)."""
    what = _request(host, path, "GET")

    def fn(ns: Any) -> Verdict:
        addr, why = _address(ns, via)
        if not addr:
            return failed(why)
        resp = ns.http(addr, path, host=host)
        got_location = resp.header("location")
        if resp.code == code and got_location == location:
            return passed(f"{what} through {via}: {code} to {location}")
        got = f"HTTP {resp.code}" if resp.code is not None else resp.status.value
        extra = f" to {got_location}" if got_location else (f" ({resp.reason})" if resp.reason else "")
        hint = ""
        if resp.code in (301, 302, 303, 307, 308) and resp.code != code:
            hint = f"; RequestRedirect answers 302 unless statusCode says {code}"
        elif got_location and got_location != location:
            hint = "; check requestRedirect.scheme (and port)"
        return failed(f"{what} through {via}: expected {code} to {location}, got {got}{extra}{hint}")
    return Check(name or f"{what} via {via} redirects to {location}", fn, points)
