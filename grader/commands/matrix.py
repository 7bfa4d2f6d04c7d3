"""`svclab matrix` and `svclab explain`: NetworkPolicy reachability of manifests, offline.

    svclab matrix [--ports 80,81] [--protocols TCP,UDP,SCTP] [--format table|json] [-A] FILE_OR_DIR...
    svclab explain FROM TO --port P [--protocol TCP] FILE_OR_DIR...

Both load the manifests (grader.manifests.load: every problem listed, exit 1), build the
offline cluster from them (grader.model.state.ClusterState), and ask the NetworkPolicy
engine. Pods are probed by pod IP, so ports are POD ports (what a Service's targetPort
points at), never Service ports.

Which pods the matrix shows: those of the namespaces the manifests use - an object's
namespace ("default" when unset), a Namespace object, or a namespace named in a
namespaceSelector through `kubernetes.io/metadata.name` (so a policy allowing DNS to
kube-system brings CoreDNS into the table). The model's other system pods are left out
unless `--all-namespaces` is given; they still count for policy evaluation either way.

Without --ports, the matrix uses every port the pods of the manifests' own namespaces
listen on for the chosen protocols (80 if none), so a learner's 8080 server is not reported as "nothing listens".

FROM/TO for explain: "ns/name", or a bare pod name in namespace default; also "node" (the
node's IP, always allowed in) or an IP address outside the pod network (an external
client). An unknown pod is an error listing the known pods (exit 2). The verdict does not
change the exit status (0).
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from typing import Any, Iterable, Mapping, Sequence

NAMESPACED_DEFAULT = "default"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "Node", "PersistentVolume",
                  "StorageClass", "CustomResourceDefinition", "IngressClass", "PriorityClass"}
NAME_LABEL = "kubernetes.io/metadata.name"


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("matrix", help="reachability truth table between the pods of some manifests",
                       description="Print which pods may connect to which under the manifests' "
                       "NetworkPolicies ('.' allowed, 'X' denied), one table per port/protocol.")
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument("--ports", default=None, help="comma-separated pod ports (default: the ports the pods listen on)")
    p.add_argument("--protocols", default="TCP", help="comma-separated: TCP,UDP,SCTP (default TCP)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("-A", "--all-namespaces", action="store_true",
                   help="also show pods of namespaces the manifests do not use (e.g. CoreDNS)")
    p.set_defaults(func=run_matrix)

    e = sub.add_parser("explain", help="why a connection between two pods is allowed or denied",
                       description="Explain the NetworkPolicy verdict for FROM -> TO on a pod port.")
    e.add_argument("src", metavar="FROM", help='"ns/name", a pod name in default, "node", or an IP')
    e.add_argument("dst", metavar="TO", help='"ns/name", a pod name in default, "node", or an IP')
    e.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    e.add_argument("--port", type=int, required=True, help="destination pod port (after Service DNAT)")
    e.add_argument("--protocol", default="TCP", type=str.upper, choices=("TCP", "UDP", "SCTP"))
    e.set_defaults(func=run_explain)


# ---------------------------------------------------------------------------- helpers
def _load_state(paths: Sequence[str]) -> tuple[Any, list[dict]] | None:
    """(ClusterState, objects), or None after printing the manifest problems."""
    from grader import manifests
    from grader.model.state import ClusterState
    try:
        loaded = manifests.load(list(paths))
    except manifests.ManifestError as exc:
        print(str(exc), file=sys.stderr)
        return None
    objs = [m.obj for m in loaded]
    try:
        state = ClusterState.from_objects(objs)
    except ValueError as exc:            # ApplyError and friends: what the API server refuses
        print(str(exc), file=sys.stderr)
        return None
    return state, objs


def _selector_namespaces(sel: Any) -> set[str]:
    if not isinstance(sel, Mapping):
        return set()
    out = set()
    v = (sel.get("matchLabels") or {}).get(NAME_LABEL)
    if isinstance(v, str):
        out.add(v)
    for expr in sel.get("matchExpressions") or []:
        if isinstance(expr, Mapping) and expr.get("key") == NAME_LABEL and expr.get("operator") == "In":
            out.update(str(x) for x in expr.get("values") or [])
    return out


def used_namespaces(objs: Iterable[Mapping[str, Any]], *, mentions: bool = True) -> set[str]:
    """Namespaces the manifests use (see the module docstring); with mentions=False only
    those their objects live in."""
    out: set[str] = set()
    for o in objs:
        kind = o.get("kind")
        meta = o.get("metadata") or {}
        if kind == "Namespace":
            if meta.get("name"):
                out.add(str(meta["name"]))
            continue
        if kind in CLUSTER_SCOPED:
            continue
        out.add(str(meta.get("namespace") or NAMESPACED_DEFAULT))
        if kind == "NetworkPolicy" and mentions:
            spec = o.get("spec") or {}
            for direction, key in (("ingress", "from"), ("egress", "to")):
                for rule in spec.get(direction) or []:
                    for peer in (rule or {}).get(key) or []:
                        out |= _selector_namespaces((peer or {}).get("namespaceSelector"))
    return out


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _parse_ports(text: str) -> list[int]:
    ports = []
    for t in _split(text):
        if not t.isdigit() or not 1 <= int(t) <= 65535:
            raise ValueError(f"invalid port {t!r}: ports are numbers 1-65535")
        ports.append(int(t))
    if not ports:
        raise ValueError("--ports needs at least one port")
    return ports


def _parse_protocols(text: str) -> list[str]:
    protos = [t.upper() for t in _split(text)]
    bad = [p for p in protos if p not in ("TCP", "UDP", "SCTP")]
    if bad or not protos:
        raise ValueError(f"invalid protocol(s) {', '.join(bad) or '(none)'}: choose from TCP, UDP, SCTP")
    return protos


# ---------------------------------------------------------------------------- commands
def run_matrix(args: argparse.Namespace) -> int:
    from grader.display import format_matrix
    from grader.model.matrix import matrix_from_engine

    try:
        protocols = _parse_protocols(args.protocols)
        ports = _parse_ports(args.ports) if args.ports is not None else None
    except ValueError as exc:
        print(f"svclab matrix: {exc}", file=sys.stderr)
        return 2
    loaded = _load_state(args.paths)
    if loaded is None:
        return 1
    state, objs = loaded
    if args.all_namespaces:
        pods = [p for p in state.pods if not p.pending]     # Pending pods have no IP
    else:
        keep = used_namespaces(objs)
        pods = [p for p in state.pods if p.namespace in keep and not p.pending]
    if ports is None:       # what the manifests' own pods serve (not CoreDNS's metrics port)
        own = used_namespaces(objs, mentions=False)
        ports = sorted({port for p in pods if p.namespace in own
                        for (port, proto) in p.listening if proto in protocols}) or [80]
    m = matrix_from_engine(state.policy_engine(), pods, ports, protocols)
    if args.format == "json":
        print(json.dumps(m.to_json_dict(), indent=2))
    else:
        print(format_matrix(m))
    return 0


def _resolve(state: Any, ref: str) -> Any:
    from grader.model.objects import NODE_IP, Address
    if ref == "node":
        return Address(NODE_IP)
    try:
        ipaddress.ip_address(ref)
    except ValueError:
        key = ref if "/" in ref else f"{NAMESPACED_DEFAULT}/{ref}"
        return state.pod(key)
    return state.pod_by_ip(ref) or Address(ref)


def run_explain(args: argparse.Namespace) -> int:
    from grader.display import format_verdict
    from grader.model.matrix import listen_note
    from grader.model.objects import Pod

    loaded = _load_state(args.paths)
    if loaded is None:
        return 1
    state, _ = loaded
    ends = []
    for ref in (args.src, args.dst):
        ep = _resolve(state, ref)
        if ep is None:
            known = ", ".join(sorted(p.key for p in state.pods)) or "(none)"
            print(f'svclab explain: no pod "{ref}" (a bare name means namespace {NAMESPACED_DEFAULT}). '
                  f"Known pods: {known}", file=sys.stderr)
            return 2
        ends.append(ep)
    src, dst = ends
    verdict = state.policy_engine().check(src, dst, args.port, args.protocol)
    note = None
    if isinstance(dst, Pod):
        note = listen_note(dst, args.port, args.protocol)
    print(format_verdict(verdict, note))
    return 0
