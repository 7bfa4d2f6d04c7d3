"""Answers that are a whole CoreDNS Corefile (lab 3's stub-zone part): what the grader lets
into the cluster's DNS, how it applies the file, and how it puts the original back.

A Corefile is not a namespaced object: CoreDNS serves every pod of the cluster from it.
So, unlike a YAML answer, it is applied only where that is safe, and always undone:

- **Offline** (the official grade: grader.grading.clean, a fresh model per part) the model
  follows the file at once.
- **Live, on the course's own clusters** (kind `svclab`, the local cluster) the file is
  server-side applied into kube-system/coredns; `LiveCluster.edit_corefile` returns once
  every CoreDNS replica has logged loading it (the kubelet refreshes the mounted ConfigMap,
  then the `reload` plugin notices: often 30-90 s) and puts the old file back itself when
  CoreDNS refuses it. Grading then asks a marker name the grader appended
  (`ready.svclab-grading-<nonce>.invalid`, answered by a `hosts` line) once, as proof that
  the file serves (never depending on the learner's own rules being right), runs the
  checks, and applies the original again (edit_corefile waits for that too), whatever the
  checks did.
- **Live, on any other cluster** (a shared class cluster) `LiveCluster.edit_corefile`
  refuses, and the part is "not gradable on this cluster" (NOT_HERE): every check says so,
  no point is awarded, and `svclab grade live` lists it as not gradable live, apart from
  the offline/live disagreements; the learner's grade still comes from the offline run.

The policy (policy_problem), the same offline and live, so an answer never scores offline
what it could not be given live. The file must load (grader.model.corefile: CoreDNS's
syntax, and only the plugins the model follows) and may change DNS for the lab's own zone
only, never point outside the lab:
- a server block other than the root one (`.`) may serve zones in ZONE only, on port 53;
- `forward` may send only to the node's resolver (`/etc/resolv.conf`, as kind's file
  does): a learner's upstream would receive, and could answer, queries from every pod;
- a `rewrite name` rule may be `exact`, `suffix` or `regex` (a `prefix` or `substring` rule
  can catch any name of the cluster); its source must lie in ZONE (a regex must end with
  the zone, `\\.shop\\.internal\\.$`), its target in the lab namespace's Service domain;
- a `hosts` line may name hosts in ZONE only, with addresses inside the cluster (the
  Service and pod ranges);
- the root block keeps kind's `health`, `ready` and `reload` (CoreDNS's probes, and the
  reload that brings the original file back after grading), and no block checks for
  changes less often than reload's default 30 s (else the original would not come back).
"""
from __future__ import annotations

import ipaddress
import secrets
from typing import Any, Callable

from grader.checks.core import Report
from grader.model.corefile import CorefileError, Rewrite, in_zone, parse, parse_blocks
from grader.model.corefile_reload import DEFAULT_INTERVAL
from grader.model.nodes import POD_CIDR
from grader.model.services import SERVICE_CIDR

#: The zone a lab answer may change.
ZONE = "shop.internal"
#: The start of the reason a part gets where the Corefile cannot be edited (a shared cluster).
NOT_HERE = "not gradable on this cluster"
_CLUSTER_RANGES = (ipaddress.ip_network(SERVICE_CIDR), ipaddress.ip_network(POD_CIDR))
#: What the root block must keep (see _root_keeps).
KEEP = ("health", "ready", "reload")
_REGEX_ENDINGS = ("\\.shop\\.internal\\.$", "\\.shop\\.internal\\.?$")


def policy_problem(text: str, namespace: str) -> str | None:
    """Why the grader will not put `text` into the cluster's DNS, or None."""
    try:
        corefile = parse(text)
    except CorefileError as exc:
        if "forward to" in str(exc):
            where = str(exc).split(":", 1)[0]
            return (f"{where}: a lab answer may forward only to /etc/resolv.conf (the node's resolver): "
                    "another upstream would receive, and could answer, every pod's queries")
        return f"CoreDNS (or the course's model of it) would not load it: {exc}"
    kept = _root_keeps(text)
    if kept:
        return kept
    domain = f"{namespace}.svc.cluster.local"
    for block in corefile.blocks:
        where = f"line {block.line}"
        if block.zones != ("",):
            outside = [z or "." for z in block.zones if not in_zone(z, ZONE)]
            if outside:
                return (f"{where}: a server block for {', '.join(outside)} would change names outside the "
                        f"lab's zone {ZONE} for every pod of the cluster; add blocks for {ZONE} only")
        if block.reload is not None and block.reload > DEFAULT_INTERVAL:
            return (f"{where}: reload checks the Corefile only every {block.reload:g} s: the grader puts the "
                    f"original Corefile back after grading, and waits for that; keep reload's interval at "
                    f"{DEFAULT_INTERVAL:g}s (its default) or less")
        if block.port != 53:
            return f"{where}: port {block.port}: kube-dns sends queries to port 53 only"
        for rule in block.rewrites:
            problem = _rewrite_problem(rule, domain)
            if problem:
                return f"line {rule.line}: {problem}"
        if block.hosts is not None:
            for name, ip in block.hosts.entries:
                if not in_zone(name, ZONE):
                    return f"{where}: hosts names {name}, outside the lab's zone {ZONE}"
                if not any(ipaddress.ip_address(ip) in net for net in _CLUSTER_RANGES):
                    return (f"{where}: hosts sends {name} to {ip}, outside the cluster (Services "
                            f"{SERVICE_CIDR}, pods {POD_CIDR}); a lab answer may not point elsewhere")
    return None


def _root_keeps(text: str) -> str | None:
    """The root block must keep kind's `health`, `ready` and `reload`: the kubelet's liveness
    and readiness probes ask the first two, and without `reload` CoreDNS would never load the
    original Corefile the grader puts back."""
    for keys, number, body in parse_blocks(text):
        zones = {k.lower().removeprefix("dns://").partition(":")[0] for k in keys}
        if zones & {".", ""}:
            missing = [p for p in KEEP if p not in {line.tokens[0] for line in body if line.tokens}]
            if missing:
                return (f"line {number}: the root block drops {', '.join(missing)}: keep kind's `health`, "
                        "`ready` and `reload` lines (CoreDNS's probes ask the first two; without `reload`, "
                        "CoreDNS would never load the original Corefile back after grading)")
            return None
    return "the Corefile has no root block (`.:53 { ... }`): every name outside the cluster would fail"


def _rewrite_problem(rule: Rewrite, domain: str) -> str | None:
    if rule.match in ("prefix", "substring"):
        return (f"a `rewrite name {rule.match}` rule can catch any name of the cluster; use exact, "
                f"suffix or regex, for names in {ZONE}")
    source, target = rule.source.lower(), rule.target.lower().rstrip(".")
    if rule.match == "regex":
        if not source.endswith(_REGEX_ENDINGS):
            return (f"the regex {rule.source!r} must end with the lab's zone, `\\.shop\\.internal\\.$`, "
                    "so it catches no other name")
        if "|" in source:
            return f"the regex {rule.source!r} has an alternation (|): write one rule per name pattern"
    elif not in_zone(source.strip("."), ZONE):
        return f"rewrite source {rule.source!r} is outside the lab's zone {ZONE}"
    elif rule.match == "suffix" and not source.startswith("."):
        return (f"the suffix {rule.source!r} must start with a dot (.{ZONE}.), else it also catches names "
                f"such as my{source.strip('.')}")
    if not (target == domain or target.endswith("." + domain)):
        return (f"rewrite target {rule.target!r} leads outside the lab: names may lead to Services of "
                f"namespace {domain.split('.')[0]} only (<service>.{domain})")
    return None


def graded_with(ns: Any, text: str, report: Callable[[str | None], Report], *, frm: str = "client") -> Report:
    """Apply `text` as the cluster's Corefile, run `report(None)` (the checks), restore the
    original; or `report(why)` without running a check when it cannot be applied. `frm`
    selects the pod that asks for the marker."""
    problem = policy_problem(text, ns.name)
    if problem:
        return report(f"the Corefile was not applied: {problem}")
    cluster = ns.cluster
    marker = f"ready.svclab-grading-{secrets.token_hex(4)}.invalid"
    try:
        original = cluster.edit_corefile(text.rstrip("\n") + "\n" + _marker_block(marker))
    except PermissionError as exc:
        return report(f"{NOT_HERE}: {exc}. Your submitted notebook is graded offline, where this part "
                      "counts")
    except (CorefileError, ValueError, TimeoutError) as exc:   # refused, or never loaded (put back)
        return report(f"the Corefile was not applied: {exc}")
    try:
        if ns.lookup(marker + ".", frm=frm).rcode != "NOERROR":
            return report("CoreDNS did not load the Corefile: it reported no error, yet does not answer "
                          f"the grader's marker {marker} (`kubectl -n kube-system logs -l k8s-app=kube-dns`)")
        return report(None)
    finally:
        cluster.edit_corefile(original)


def _marker_block(marker: str) -> str:
    zone = marker.split(".", 1)[1]
    return f"{zone}:53 {{\n    hosts {{\n        10.96.0.1 {marker}\n    }}\n}}\n"
