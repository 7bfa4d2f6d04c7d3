"""CoreDNS as the Corefile in kube-system's `coredns` ConfigMap configures it: which server
block takes a question, and what its plugins do with it, in CoreDNS's own order (plugin.cfg
of v1.14.6, the local cluster's: cache, rewrite, hosts, kubernetes, forward; newer releases
put rewrite before cache; the order of lines in a block does not matter).

Facts followed (coredns.io plugin pages; coredns/coredns core/dnsserver and plugin/*):
- Server block: the one whose zone is the longest match for the name, on port 53 (where
  kube-dns sends); none: REFUSED. A plugin that does not take the name passes it on; past
  the last plugin the answer is SERVFAIL (plugin.NextOrFailure).
- rewrite name: rules in line order, `stop` (the default) ends the list. exact and suffix
  compare lower-cased names with a trailing dot; prefix and substring too (their FROM gets a
  dot as well, as plugin.Name.Normalize does); regex matches the name with its trailing dot,
  `{n}` in TO is group n. The rewritten name goes down the same block's chain. Answer names
  come back as the name asked only for `exact` rules (always) and rules with `answer auto`;
  otherwise they keep the rewritten name: dig shows the mismatch (and a resolver like
  glibc's drops those records).
- cache: every answer it passes carries a TTL capped to the cache's maximum and raised to
  its minimum (5 s), even for zones whose storage `disable` turns off (plugin/cache
  ResponseWriter.WriteMsg applies the capped TTL before deciding to store).
- hosts: A/AAAA from inline lines (and PTR unless no_reverse); a name it has of another
  type: NODATA; a name it lacks: next plugin with `fallthrough`, else SERVFAIL (the plugin
  has no SOA to say NXDOMAIN with). TTL 3600 unless `ttl`.
- kubernetes: grader.model.dns_zone; `fallthrough` passes NXDOMAIN on.
- forward FROM: names under FROM (less `except`) go to the resolver outside, which the model
  answers as the node's resolver does offline (upstream_rcode): public names SERVFAIL (no
  internet), anything else NXDOMAIN. No records, so the default Corefile keeps the answers
  the model always gave.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from grader.model.corefile import Corefile, Rewrite, ServerBlock, falls_through, matching_zone
from grader.model.dns_zone import Result, Zone
from grader.observations import DnsRecord

if TYPE_CHECKING:  # pragma: no cover
    from grader.model.state import ClusterState

#: Top-level domains the model treats as real. Offline there is no upstream resolver, so a
#: name under one of them cannot be answered (SERVFAIL, as CoreDNS reports a failed
#: forward); any other name outside cluster.local is one the root would deny (NXDOMAIN).
PUBLIC_TLDS = frozenset("com org net io dev edu gov info app cloud co uk de fr eu ai us".split())
MAX_DEPTH = 10


def upstream_rcode(fqdn: str) -> str:
    return "SERVFAIL" if fqdn.lower().rstrip(".").rsplit(".", 1)[-1] in PUBLIC_TLDS else "NXDOMAIN"


def _rewritten(rule: Rewrite, fqdn: str) -> str | None:
    """The name `rule` turns `fqdn` (lower-case, trailing dot) into, or None."""
    if rule.match == "regex":
        m = re.search(rule.source, fqdn)
        if not m:
            return None
        out = rule.target
        for i, group in enumerate((m.group(0),) + m.groups()):
            out = out.replace("{%d}" % i, group or "")
        return out.lower()
    src, dst = rule.source.rstrip(".") + ".", rule.target.rstrip(".") + "."
    if rule.match == "exact":
        return dst if fqdn == src else None
    if rule.match == "suffix":
        return fqdn[: -len(src)] + dst if fqdn.endswith(src) else None
    if rule.match == "prefix":
        return dst + fqdn[len(src):] if fqdn.startswith(src) else None
    return fqdn.replace(src, dst) if src in fqdn else None


class Server:
    """The CoreDNS server one Corefile describes, answering from the model's state."""

    def __init__(self, state: "ClusterState", corefile: Corefile) -> None:
        self.state = state
        self.corefile = corefile

    def ask(self, qname: str, rtype: str, depth: int = 0) -> Result:
        """The reply to one question, as a client of kube-dns gets it."""
        name = qname.lower().rstrip(".")
        block = self.corefile.block_for(name)
        if block is None or depth > MAX_DEPTH:
            return Result("REFUSED" if block is None else "SERVFAIL")
        asked, revert = self._rewrite(block, name)
        if asked is None:
            return Result("SERVFAIL")                            # not a legal name after rewrite
        res = self._chain(block, qname if asked == name else asked, rtype.upper(), depth)
        if asked != name and revert is not None:
            res = replace(res, records=tuple(self._revert(r, revert, asked, name) for r in res.records))
        return self._cache(block, name, res)           # cache runs before rewrite (v1.14)

    # -- rewrite
    @staticmethod
    def _rewrite(block: ServerBlock, name: str) -> tuple[str | None, Rewrite | None]:
        """(the name the chain sees, the last rule applied if answers go back to the name
        asked, else None)."""
        fqdn = name + "."
        revert: Rewrite | None = None
        for rule in block.rewrites:
            new = _rewritten(rule, fqdn)
            if new is None:
                continue
            if not re.fullmatch(r"[a-z0-9_*-]+(\.[a-z0-9_*-]+)*\.?", new) or len(new) > 254:
                return None, None
            fqdn = new if new.endswith(".") else new + "."
            revert = rule if rule.match == "exact" or rule.answer_auto else None
            if rule.stop:
                break
        return fqdn.rstrip("."), revert

    @staticmethod
    def _revert(record: DnsRecord, rule: Rewrite, asked: str, original: str) -> DnsRecord:
        def back(value: str) -> str:
            low = value.lower()
            if rule.match == "suffix":
                src, dst = rule.source.strip("."), rule.target.strip(".")
                return value[: -len(dst)] + src if low.endswith(dst) and dst else value
            return original if low == asked else value
        value = record.value
        if record.rtype in ("CNAME", "PTR"):
            value = back(value)
        elif record.rtype == "SRV":
            *head, target = value.split(" ")
            value = " ".join([*head, back(target)])
        return DnsRecord(back(record.name), record.rtype, value)

    # -- the chain after rewrite
    def _chain(self, block: ServerBlock, qname: str, rtype: str, depth: int) -> Result:
        name = qname.lower().rstrip(".")
        if block.hosts is not None:
            res = self._hosts(block, qname, name, rtype)
            if res is not None:
                return res
        if block.kubernetes is not None:
            zone = Zone(self.state, block.kubernetes,
                        upstream=lambda target, t, d: self.ask(target, t, d + depth))
            res = zone.serve(qname, rtype)
            if res is not None:
                return res
        fwd = block.forward
        if fwd is not None and matching_zone(name, (fwd.base,)) is not None \
                and matching_zone(name, fwd.excepts) is None:
            return Result(upstream_rcode(name))
        return Result("SERVFAIL")                                # no next plugin

    @staticmethod
    def _hosts(block: ServerBlock, qname: str, name: str, rtype: str) -> Result | None:
        h = block.hosts
        assert h is not None
        if matching_zone(name, h.zones) is None and rtype != "PTR":
            return None
        records: list[DnsRecord] = []
        if rtype == "PTR":
            ip = Zone._reverse_ip(name)
            records = [DnsRecord(qname, "PTR", host) for host, addr in h.entries
                       if h.reverse and ip is not None and addr == ip]
            if not records:
                return None
        elif rtype in ("A", "AAAA"):
            want = 4 if rtype == "A" else 6
            records = [DnsRecord(qname, rtype, addr) for host, addr in h.entries
                       if host == name and (":" in addr) == (want == 6)]
        if not records and not any(host == name for host, _ in h.entries):
            if falls_through(h.fallthrough, name):
                return None
            return Result("SERVFAIL")
        return Result("NOERROR", tuple(records), h.ttl if records else None)

    @staticmethod
    def _cache(block: ServerBlock, name: str, res: Result) -> Result:
        c = block.cache
        if c is None or res.ttl is None or matching_zone(name, c.zones) is None:
            return res
        return replace(res, ttl=min(max(res.ttl, c.success_min), c.success_ttl))


def server(state: "ClusterState", corefile: Corefile) -> Server:
    return Server(state, corefile)
