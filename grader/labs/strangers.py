"""Hidden checks that meet a namespace's NetworkPolicies with pods the learner never saw.

A lab's matrix covers the lab's own pods, and inside a default-deny namespace every other
pod's egress is denied, so a rule that lets in (or out) far more than the task allows can
look perfect there. Pods in a namespace without policies, a kube-dns look-alike outside
kube-system and a kube-system pod that is not DNS show what a rule really matches. Each
check names the pod, port and protocol that got through and what to change.
"""
from __future__ import annotations

from typing import Any, Mapping

from grader.checks.core import Check, Verdict, failed, passed
from grader.kind.images import AGNHOST_IMAGE
from grader.labs.spec import add_pods

DECOY = "not-dns"


def _pod(name: str, labels: Mapping[str, str], ports: tuple[int, ...]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"containers": [
                {"name": f"c{p}", "image": AGNHOST_IMAGE,
                 "args": ["netexec", f"--http-port={p}", f"--udp-port={p}"],
                 "ports": [{"containerPort": p}, {"containerPort": p, "protocol": "UDP"}]} for p in ports]}}


def stranger(ns: Any, namespace: str, name: str, labels: Mapping[str, str], *ports: int) -> Any:
    """Pod `name` in `namespace` (no policies there), created on first use; its PodRef."""
    other = ns.cluster.namespace(namespace, fresh=False)
    if not any(p.name == name for p in other.pods()):
        add_pods(other, [_pod(name, labels, ports or (8080,))], source=f"a pod in namespace {namespace}")
    return next(p for p in other.pods() if p.name == name)


def system_decoy(ns: Any) -> Any | None:
    """Offline, a kube-system pod that is not DNS (the model's kube-system holds only
    CoreDNS); live, None: a learner's grading never creates pods in kube-system."""
    if getattr(ns.cluster, "mode", "") != "offline":
        return None
    system = ns.cluster.namespace("kube-system")
    if not any(p.name == DECOY for p in system.pods()):
        system.apply([_pod(DECOY, {"app": DECOY}, (53,))], source="a kube-system pod that is not DNS")
    return next(p for p in system.pods() if p.name == DECOY)


def reached(outcome: Any) -> bool:
    """The connection got through every NetworkPolicy: an answer, or a refusal from the pod."""
    return outcome.status.value not in ("TIMEOUT", "DNS_ERROR")


def egress_only_to_dns(frm: str, namespace: str, *, also: str = "") -> Check:
    """Hidden: `frm`'s new egress must lead to the kube-dns pods in kube-system on port 53
    and nowhere else (`also`: what else the reference allows it, for the sentence)."""
    def fn(ns: Any) -> Verdict:
        if ns.lookup("kubernetes.default", frm=frm).rcode != "NOERROR":
            return failed(f"not earned yet: this counts once {frm}'s DNS queries are answered")
        other = stranger(ns, namespace, "stranger", {"app": "stranger"}, 8080, 53)
        lookalike = stranger(ns, namespace, "dns-lookalike", {"k8s-app": "kube-dns"}, 53)
        tries = [
            (f"{other.ip}:8080", "TCP", f"a pod in namespace {namespace} on 8080/TCP",
             f"its egress is open to every destination; allow only DNS{also}"),
            (f"{other.ip}:53", "UDP", f"a pod in namespace {namespace} on 53/UDP",
             "the DNS rule allows port 53 of every destination; add `to:` the kube-dns pods in kube-system"),
            (f"{lookalike.ip}:53", "UDP", f"a k8s-app=kube-dns pod in namespace {namespace} on 53/UDP",
             "the DNS rule matches kube-dns pods in every namespace; add namespaceSelector "
             "kubernetes.io/metadata.name: kube-system to the same peer"),
            ("kube-dns.kube-system.svc.cluster.local:9153", "TCP", "CoreDNS's metrics port 9153",
             "the DNS rule opens every port of the kube-dns pods; list ports 53/UDP and 53/TCP")]
        decoy = system_decoy(ns)
        if decoy is not None:
            tries.append((f"{decoy.ip}:53", "UDP", "a kube-system pod that is not DNS on 53/UDP",
                          "namespaceSelector and podSelector are two peers (either may match, an OR); "
                          "put them in one peer, without a dash before podSelector, so both must match"))
        for target, proto, what, fix in tries:
            if reached(ns.probe(target, frm=frm, protocol=proto)):
                return failed(f"{frm} reaches {what}: {fix}")
        return passed(f"{frm}'s egress reaches DNS in kube-system{also} and nothing else")
    return Check("egress is open to DNS only", fn)


def dns_over_tcp(frm: str) -> Check:
    """Hidden: large DNS answers fall back to TCP, so DNS egress needs TCP 53 as well as UDP."""
    def fn(ns: Any) -> Verdict:
        out = ns.probe("kube-dns.kube-system.svc.cluster.local:53", frm=frm, protocol="TCP")
        if not reached(out):
            return failed(f"{frm} cannot reach kube-dns on TCP 53 ({out.status.value}): allow TCP as well as "
                          "UDP, since DNS falls back to TCP for large answers")
        return passed(f"{frm}'s DNS over TCP reaches kube-dns")
    return Check("DNS over TCP is allowed too", fn)


__all__ = ["dns_over_tcp", "egress_only_to_dns", "reached", "stranger", "system_decoy"]
