"""NetworkPolicy rules beyond the schema (after networking/validation ValidateNetworkPolicy)."""
from __future__ import annotations

from grader.k8s.fields import Issue, dicts, is_int, items, join_index, join_key, mapping, quote
from grader.rules.base import enum_issue
from grader.rules.meta import selector_issues
from grader.rules.names import cidr_problem, port_number_problem
from grader.rules.service import PROTOCOLS, int_or_name_issue

POLICY_TYPES = ("Ingress", "Egress")


def networkpolicy_issues(obj: dict) -> list[Issue]:
    """networking/validation ValidateNetworkPolicySpec."""
    spec = mapping(obj.get("spec"))
    out = selector_issues(spec.get("podSelector"), "spec.podSelector")
    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        for rpath, rule in dicts(spec.get(direction), f"spec.{direction}"):
            for ppath, port in dicts(rule.get("ports"), join_key(rpath, "ports")):
                out += _port_issues(port, ppath)
            for ppath, peer in dicts(rule.get(peers_field), join_key(rpath, peers_field)):
                out += _peer_issues(peer, ppath)
    types = items(spec.get("policyTypes"))
    if len(types) > len(POLICY_TYPES):
        # The API server stops here; it does not otherwise refuse repeated values.
        out.append(("spec.policyTypes", "may not specify more than two policyTypes"))
        return out
    for i, value in enumerate(types):
        bad = enum_issue(join_index("spec.policyTypes", i), value, POLICY_TYPES, "policy type")
        if bad:
            out.append(bad)
    return out


def _peer_issues(peer: dict, path: str) -> list[Issue]:
    """ValidateNetworkPolicyPeer: at least one of podSelector/namespaceSelector/ipBlock
    (a null one does not count), and ipBlock alone."""
    out: list[Issue] = []
    present = [f for f in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(f) is not None]
    if not present:
        out.append((path, "must specify a peer: podSelector, namespaceSelector or ipBlock "
                    "(an empty peer '{}' is not allowed; to allow everything, leave out 'from'/'to')"))
    elif len(present) > 1 and "ipBlock" in present:
        out.append((path, "ipBlock cannot be combined with podSelector or namespaceSelector in the "
                    "same peer; make it a separate list item"))
    for field in ("podSelector", "namespaceSelector"):
        if peer.get(field) is not None:
            out += selector_issues(peer[field], join_key(path, field))
    block = peer.get("ipBlock")
    if isinstance(block, dict):
        out += _ip_block_issues(block, join_key(path, "ipBlock"))
    return out


def _ip_block_issues(block: dict, path: str) -> list[Issue]:
    """ValidateIPBlock: cidr and every except entry parse (sloppily: host bits and leading
    zeros are still accepted while StrictIPCIDRValidation is off), and each except is a
    strict subset of cidr."""
    out: list[Issue] = []
    cidr = block.get("cidr")
    if cidr == "":
        return [(join_key(path, "cidr"), "required: a CIDR such as '10.0.0.0/24'")]
    if not isinstance(cidr, str):
        return out
    network, why = cidr_problem(cidr)
    if why or network is None:
        return [(join_key(path, "cidr"), why or "invalid CIDR")]
    for i, ex in enumerate(items(block.get("except"))):
        if not isinstance(ex, str):
            continue
        epath = join_index(join_key(path, "except"), i)
        inner, why = cidr_problem(ex)
        if why or inner is None:
            out.append((epath, why or "invalid CIDR"))
            continue
        contained = inner.version == network.version and inner.network_address in network
        if not contained or network.prefixlen >= inner.prefixlen:
            out.append((epath, f"{quote(ex)} must be a strict subset of cidr {quote(cidr)} "
                        "(inside it, with a longer prefix)"))
    return out


def _port_issues(port: dict, path: str) -> list[Issue]:
    """ValidateNetworkPolicyPort, including the endPort rules."""
    out: list[Issue] = []
    protocol = port.get("protocol")
    if protocol is not None:
        bad = enum_issue(join_key(path, "protocol"), protocol, PROTOCOLS, "protocol")
        if bad:
            out.append(bad)
    number = port.get("port")
    end = port.get("endPort")
    epath = join_key(path, "endPort")
    if number is None:
        if end is not None:
            out.append((epath, "endPort needs 'port' as the start of the range"))
    elif is_int(number):
        why = port_number_problem(number)
        if why:
            out.append((join_key(path, "port"), why))
        if is_int(end):
            if end < number:
                out.append((epath, f"endPort {end} must be greater than or equal to port {number}"))
            why = port_number_problem(end)
            if why:
                out.append((epath, why))
    elif isinstance(number, str):
        if end is not None:
            out.append((epath, f"endPort needs a numeric 'port', but port is {quote(number)}"))
        bad = int_or_name_issue(number, join_key(path, "port"))
        if bad:
            out.append(bad)
    return out
