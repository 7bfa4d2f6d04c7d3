"""Cluster DNS as a pod sees it: the kubelet-written resolv.conf (search list + ndots:5) in
front of CoreDNS's `kubernetes` plugin, following the Kubernetes DNS-Based Service Discovery
specification (kubernetes/dns docs/specification.md), kubernetes.io "DNS for Services and
Pods", and CoreDNS's plugin/kubernetes source, which decides every case the spec leaves
open. kind's Corefile (the default, see the end): `kubernetes cluster.local in-addr.arpa
ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa; ttl 30 }`, then
`forward . /etc/resolv.conf`.

Client side (what `dig +search` in a pod does, which is how the live backend asks):
- resolv.conf: `search <ns>.svc.cluster.local svc.cluster.local cluster.local`,
  `options ndots:5`. A name with fewer than 5 dots is tried with each search suffix, then
  as given; 5 or more dots: as given first, then with the suffixes; a trailing dot: only as
  given. dig moves to the next candidate only on NXDOMAIN: the first other answer (records,
  NOERROR without records = NODATA, SERVFAIL) is final; when every candidate is NXDOMAIN the
  answer is NXDOMAIN.
- DNS is case-insensitive: names are matched lower-cased, but answers keep the case of the
  question (CoreDNS writes records for `state.QName()`).

Server side (CoreDNS plugin/kubernetes: parse.go parseRequest, kubernetes.go findServices /
findPods, reverse.go, plugin/backend_lookup.go):
- Names are `[<endpoint>|_<port>._<proto>.]<svc>.<ns>.svc.cluster.local` and
  `<a-b-c-d>.<ns>.pod.cluster.local`. `cluster.local`, `svc.cluster.local`,
  `pod.cluster.local`, `<existing ns>.svc|pod.cluster.local` exist without records (NODATA);
  anything else that does not match (unknown namespace, service, endpoint, port, a label
  other than svc/pod, too many labels) is NXDOMAIN.
- ClusterIP Service: A = the ClusterIP; SRV = one record per Service port matching the
  optional `_<port>._<proto>` (the bare name lists every port, named or not), target the
  Service name. Headless Service: A = the addresses of ready endpoints (the EndpointSlice
  `ready` condition; NXDOMAIN when there are none, as spec 2.4.1 says), SRV per endpoint and
  port with target `<hostname>.<svc>...`, hostname = the endpoint's hostname or its dashed
  IP. `<hostname>.<svc>` answers that endpoint for ClusterIP Services too.
- SRV weight = floor(100 / number of records), at least 1; priority 0.
- ExternalName: CNAME to spec.externalName. An A/AAAA query follows it: inside
  cluster.local the CNAME is returned only with the target's records (NODATA when the target
  has none); outside, CoreDNS asks its upstream, which the model does not have, so the
  answer is the CNAME alone (what CoreDNS returns when the upstream lookup fails). SRV/TXT
  on an ExternalName name are NODATA; `_port._proto` or endpoint names under it NXDOMAIN; an
  externalName that is an IP address gives NXDOMAIN.
- Pods (`pods insecure`): `<a-b-c-d>.<ns>.pod.cluster.local` answers a.b.c.d for any
  existing namespace without checking that such a pod exists.
- PTR `<d>.<c>.<b>.<a>.in-addr.arpa`: a Service whose ClusterIP it is, else
  `<hostname>.<svc>.<ns>.svc.cluster.local` for every Service having it as a ready endpoint
  (headless or not), else NXDOMAIN (CoreDNS falls through to the upstream, which denies
  private reverse names).
- TXT `dns-version.cluster.local` = "1.1.0"; TXT on another name that has records is NODATA,
  otherwise NXDOMAIN. CNAME queries answer only ExternalName names. Other types on existing
  names are NODATA.
- Names outside cluster.local would go to the upstream resolver, which the model does not
  have: names under a public TLD answer SERVFAIL, anything else NXDOMAIN.
- All of the above is what kind's Corefile (grader.model.corefile.DEFAULT_COREFILE) makes
  CoreDNS answer. The model reads the Corefile in kube-system's `coredns` ConfigMap on every
  question (grader.model.coredns): an edited one changes the answers as CoreDNS would
  (stub domains, rewrite, hosts, cache TTLs, pods verified...).
- Records and answer names carry no trailing dot.
- DNS is traffic: the query goes from the pod to kube-dns (10.96.0.10) -> a CoreDNS pod on
  53/UDP. If NetworkPolicy drops it (egress of the client or ingress of CoreDNS), or
  kube-dns has no ready endpoint, the answer is rcode TIMEOUT, as dig's "connection timed
  out; no servers could be reached".
"""
from __future__ import annotations

import weakref
from dataclasses import replace
from typing import TYPE_CHECKING

from grader.k8s.dns_names import NDOTS, candidates, search_list
from grader.model.coredns import PUBLIC_TLDS, Server, upstream_rcode
from grader.model.corefile import DEFAULT_COREFILE, Corefile, CorefileError, CorefileNotModelled, parsed
from grader.model.dns_zone import DNS_NAMESPACE, DNS_SERVICE, REVERSE_ZONES, Zone, dashed
from grader.model.objects import Pod
from grader.model.services import DNS_SERVICE_IP
from grader.observations import DnsAnswer

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state import ClusterState

__all__ = ["COREFILE_CONFIGMAP", "PUBLIC_TLDS", "REVERSE_ZONES", "Zone", "as_applications_see", "corefile",
           "dashed", "dns_server_for", "lookup", "resolv_conf", "resolve", "upstream_rcode"]

#: Where CoreDNS's configuration lives, as kubeadm (and kind) install it.
COREFILE_CONFIGMAP = (DNS_NAMESPACE, "coredns")


def resolv_conf(namespace: str) -> str:
    """/etc/resolv.conf as the kubelet writes it for a ClusterFirst pod in `namespace`."""
    return (f"search {' '.join(search_list(namespace))}\n"
            f"nameserver {DNS_SERVICE_IP}\noptions ndots:{NDOTS}\n")


def corefile(state: "ClusterState") -> Corefile:
    """The Corefile CoreDNS runs: the `Corefile` key of kube-system/coredns. When that does
    not load (or is gone), the one that loaded last, as CoreDNS's reload plugin keeps it;
    CorefileNotModelled (naming the line) when it loads but uses what the model lacks."""
    cm = state.get("ConfigMap", COREFILE_CONFIGMAP[1], COREFILE_CONFIGMAP[0]) or {}
    text = (cm.get("data") or {}).get("Corefile")
    try:
        loaded = parsed(text if isinstance(text, str) else _LAST_LOADED.get(state, DEFAULT_COREFILE))
    except CorefileNotModelled:
        raise                                    # live CoreDNS would run it: say so, do not guess
    except CorefileError:
        # CoreDNS's reload keeps running the configuration that loaded last (and logs why)
        return parsed(_LAST_LOADED.get(state, DEFAULT_COREFILE))
    _LAST_LOADED[state] = loaded.text
    return loaded


#: Per model, the Corefile that loaded last (what CoreDNS keeps running after a bad edit).
_LAST_LOADED: "weakref.WeakKeyDictionary[ClusterState, str]" = weakref.WeakKeyDictionary()


def as_applications_see(answer: DnsAnswer) -> DnsAnswer:
    """`answer` less the records a stub resolver like glibc's throws away: those owned by a
    name other than the one it asked (or a CNAME target on the way), which a CoreDNS
    `rewrite` that is neither `exact` nor `answer auto` produces ("asked for X, got Y")."""
    if answer.name is None:
        return answer
    owners = {answer.name.lower()} | {r.value.lower() for r in answer.records if r.rtype == "CNAME"}
    kept = tuple(r for r in answer.records if r.name.lower() in owners)
    return answer if kept == answer.records else replace(answer, records=kept)


def dns_server_for(state: "ClusterState", pod: Pod | None) -> tuple[Pod | None, str]:
    """The CoreDNS pod a query from `pod` reaches (kube-dns -> first ready endpoint), or
    None with the reason the query would time out."""
    try:
        eps = state.endpoints(DNS_NAMESPACE, DNS_SERVICE)
    except LookupError:
        return None, "Service kube-system/kube-dns does not exist"
    ready = [e for e in eps if e.ready and e.protocol == "UDP" and e.pod]
    if not ready:
        return None, "kube-dns has no ready CoreDNS endpoint"
    server = state.pod(ready[0].pod)  # type: ignore[arg-type]
    if server is None:
        return None, "kube-dns endpoint is not a pod"
    if pod is not None:
        verdict = state.policy_engine().check(pod, server, ready[0].port, "UDP")
        if not verdict.allowed:
            return None, ("the DNS query to kube-dns (UDP 53) was dropped by NetworkPolicy: "
                          + verdict.explanation)
    return server, ""


def lookup(state: "ClusterState", name: str, pod: Pod, rtype: str = "A") -> DnsAnswer:
    """Resolve `name` exactly as `dig +search` inside `pod` would (search list, ndots, DNS
    traffic subject to NetworkPolicy)."""
    rtype = rtype.upper()
    server, why = dns_server_for(state, pod)
    if server is None:
        return DnsAnswer(query=name, rtype=rtype, rcode="TIMEOUT", name=None)
    return resolve(state, name, pod.namespace, rtype)


def resolve(state: "ClusterState", name: str, namespace: str, rtype: str = "A") -> DnsAnswer:
    """The answer for `name` asked from `namespace`, ignoring whether DNS traffic flows.
    Like dig +search: the next candidate is tried only after NXDOMAIN."""
    rtype = rtype.upper()
    server = Server(state, corefile(state))
    rcode = "NXDOMAIN"
    for fqdn in candidates(name, namespace):
        res = server.ask(fqdn, rtype)
        if res.rcode == "NXDOMAIN":
            continue
        if res.rcode == "NOERROR":
            return DnsAnswer(query=name, rtype=rtype, rcode="NOERROR", name=fqdn, records=res.records,
                             ttl=res.ttl)
        return DnsAnswer(query=name, rtype=rtype, rcode=res.rcode)
    return DnsAnswer(query=name, rtype=rtype, rcode=rcode)

