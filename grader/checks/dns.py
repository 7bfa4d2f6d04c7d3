"""Checks on what cluster DNS answers, asked from inside a pod as its resolver asks."""
from __future__ import annotations

from typing import Any

from grader.checks.core import Check, Verdict, failed, listing, passed
from grader.checks.services import pods_matching
from grader.observations import DnsAnswer


def resolves(name: str, frm: str, *, rtype: str = "A", rcode: str = "NOERROR",
             to_service: str | None = None, to_pods: str | None = None,
             cname: str | None = None, srv_port: int | None = None,
             check_name: str | None = None, points: float = 1.0) -> Check:
    """`name`, looked up from a pod matching `frm`, answers as expected:
    - `rcode`: NOERROR (the default), NXDOMAIN, ...;
    - `to_service`: exactly that Service's ClusterIP;
    - `to_pods`: exactly the IPs of the ready pods matching that selector (headless);
    - `cname`: a CNAME to that name (ExternalName);
    - `srv_port`: SRV records whose port is that number (named ports)."""
    def fn(ns: Any) -> Verdict:
        ans = ns.lookup(name, frm=frm, rtype=rtype)
        asked = f"{rtype} {name} from {frm}"
        if ans.rcode != rcode:
            hint = f" (answered for {ans.name})" if ans.name else ""
            if ans.rcode == "TIMEOUT":
                hint = (" (the query got no answer from CoreDNS: if the pod is isolated for egress, "
                        "allow UDP and TCP 53 to the kube-dns pods in kube-system)")
            elif ans.rcode == "NXDOMAIN":
                hint = (" (no such name: check the spelling, the namespace in the name, and that "
                        "the Service exists)")
            return failed(f"{asked}: expected {rcode}, got {ans.rcode}{hint}")
        if to_service is not None:
            svc = ns.service(to_service)
            if svc is None:
                return failed(f"there is no Service named {to_service!r} to compare with")
            if ans.addresses != [svc.cluster_ip]:
                return failed(f"{asked} gave {listing(ans.addresses)}, not the ClusterIP {svc.cluster_ip} "
                              f"of Service {to_service}")
        if to_pods is not None:
            want = sorted(p.ip for p in pods_matching(ns, to_pods) if p.ready)
            got = sorted(ans.addresses)
            if got != want:
                return failed(f"{asked} gave {listing(got)}, but the ready pods matching {to_pods} are "
                              f"{listing(want)} (a headless Service answers with its pods' IPs)")
        if cname is not None:
            targets = [r.value.rstrip(".") for r in ans.records if r.rtype == "CNAME"]
            if cname.rstrip(".") not in targets:
                return failed(
                    f"{asked} gave no CNAME to {cname}"
                    + (f" (CNAME to {listing(targets)})" if targets else "")
                )
        if srv_port is not None:
            ports = sorted({int(r.value.split()[2]) for r in ans.records if r.rtype == "SRV"})
            if ports != [srv_port]:
                return failed(f"{asked} gave SRV ports {listing([str(p) for p in ports])}, not {srv_port}")
        shown = listing([r.value for r in ans.records]) if ans.records else ans.rcode
        return passed(f"{asked}: {shown}")
    return Check(check_name or f"{name} resolves from {frm}", fn, points)


def answered_as_asked(name: str, frm: str, *, check_name: str | None = None, points: float = 1.0) -> Check:
    """Every record of the answer to `name` belongs to the name the resolver asked (or to a
    CNAME target on the way). A CoreDNS `rewrite` can answer under the rewritten name; dig
    prints such records, but glibc's resolver, which most applications use, throws them away
    and the lookup fails."""
    def fn(ns: Any) -> Verdict:
        ans = ns.lookup(name, frm=frm)
        if not ans.ok or not ans.records:
            return failed(f"A {name} from {frm}: {ans.rcode} without records, so nothing answers "
                          "under any name")
        owners = {str(ans.name).lower()} | {r.value.lower() for r in ans.records if r.rtype == "CNAME"}
        strangers = sorted({r.name for r in ans.records if r.name.lower() not in owners})
        if strangers:
            return failed(f"A {name} from {frm} was answered with records owned by {listing(strangers)}, "
                          f"not {ans.name}: glibc drops them, so applications still fail (a `rewrite name` "
                          "rule that is not `exact` needs `answer auto`)")
        return passed(f"A {name} from {frm}: every record is owned by {ans.name}")
    return Check(check_name or f"{name} is answered under its own name", fn, points)


def resolver_queries(ns: Any, name: str, frm: str, rtype: str = "A") -> list[DnsAnswer]:
    """The questions a pod's stub resolver sends for `name`, in order, each with the answer
    it got back: what the search list and ndots:5 of a ClusterFirst pod's resolv.conf make of
    one lookup (`api.example.com` costs three NXDOMAINs before the real question).

    Each candidate is asked as an absolute name (a trailing dot), so the cluster answers
    exactly that one question, live (dig) and offline alike. The sequence stops at the first
    answer that is not NXDOMAIN, as `dig +search` (and the course's probes) do; glibc also
    walks on past NODATA and SERVFAIL, and asks AAAA beside A, so a real application can send
    more queries than this, never fewer."""
    from grader.k8s.dns_names import candidates

    sent: list[DnsAnswer] = []
    for fqdn in candidates(name, ns.name):
        answer = ns.lookup(fqdn + ".", frm=frm, rtype=rtype)
        sent.append(answer)
        if answer.rcode != "NXDOMAIN":
            break
    return sent
