"""`svclab matrix` and `svclab explain`: NetworkPolicy reachability of manifests, offline.

    svclab matrix [--ports 80,81] [--protocols TCP,UDP,SCTP]
                  [--format table|json [--explain | --explain-denied]] [-A] [--nodes N] FILE_OR_DIR...
    svclab explain FROM TO --port P [--protocol TCP] [--nodes N] FILE_OR_DIR...

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
listen on for the chosen protocols (80 if none), so a learner's 8080 server is not reported as
"nothing listens".

No pod disappears silently. The model has the kind config's nodes (one) unless --nodes N
says otherwise (N kind nodes: with more than one, the control plane runs no workload pods,
as in kind), each running at most 110 pods (kubelet's maxPods); pods beyond that are
Pending, have no IP, and are left out of the matrix, and stderr says how many and why.
No quota applies here; instead the model holds at most 2000 pods (MAX_MODEL_PODS in
grader.model.state), a documented ceiling that bounds the work whatever the replica
counts say: replicas beyond it are not modelled, and stderr says so too.

FROM/TO for explain: "ns/name" or a bare name (namespace default) of a pod, or of a
Deployment/StatefulSet/ReplicaSet (then its first running pod answers for all of them, and
the output says which); a label selector ("app=web", "ns/app=web,tier!=db"), answered by
its first matching running pod (a prefix before the first "/" names the namespace when it
is a plain name, so "app.kubernetes.io/name=web" is a selector in default); "node" (the
node's IP, always allowed in) or an IP address outside the pod network (an external
client). Something that names no running pod is an error listing the known pods (exit 2).
The verdict does not change the exit status (0).
"""
from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from typing import Any, Iterable, Mapping, Sequence

NAMESPACED_DEFAULT = "default"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "Node", "PersistentVolume",
                  "StorageClass", "CustomResourceDefinition", "IngressClass", "PriorityClass"}
NAME_LABEL = "kubernetes.io/metadata.name"


def register(sub: "argparse._SubParsersAction") -> None:
    p = sub.add_parser("matrix", help="reachability truth table between the pods of some manifests",
                       description="Print which pods may connect to which under the manifests' "
                       "NetworkPolicies ('.' allowed, 'X' denied), one table per port/protocol. "
                       "Pods no node has room for (110 per node) are Pending and left out; stderr says "
                       "how many and why. At most 2000 pods are modelled, whatever the replica "
                       "counts say; stderr says when that ceiling is reached.")
    p.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    p.add_argument(
        "--ports", default=None, help="comma-separated pod ports (default: the ports the pods listen on)"
    )
    p.add_argument("--protocols", default="TCP", help="comma-separated: TCP,UDP,SCTP (default TCP)")
    p.add_argument("--format", choices=("table", "json"), default="table",
                   help="json: the grouped form (pods, their groups, per source group the "
                   "destination groups it may reach), streamed; see matrix-json.schema.json")
    explain = p.add_mutually_exclusive_group()
    explain.add_argument("--explain", dest="explain", action="store_const", const="all", default=None,
                         help="with --format json: every cell with its explanation (Matrix.to_json's "
                         "form, one object per pod pair, port and protocol)")
    explain.add_argument("--explain-denied", dest="explain", action="store_const", const="denied",
                         help="with --format json: the grouped form plus every denied cell with its "
                         "explanation")
    p.add_argument("-A", "--all-namespaces", action="store_true",
                   help="also show pods of namespaces the manifests do not use (e.g. CoreDNS)")
    _nodes_arg(p)
    p.set_defaults(func=run_matrix)

    e = sub.add_parser("explain", help="why a connection between two pods is allowed or denied",
                       description="Explain the NetworkPolicy verdict for FROM -> TO on a pod port.")
    e.add_argument("src", metavar="FROM", help='"ns/name", a pod name in default, "node", or an IP')
    e.add_argument("dst", metavar="TO", help='"ns/name", a pod name in default, "node", or an IP')
    e.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    e.add_argument("--port", type=int, required=True, help="destination pod port (after Service DNAT)")
    e.add_argument("--protocol", default="TCP", type=str.upper, choices=("TCP", "UDP", "SCTP"))
    _nodes_arg(e)
    e.set_defaults(func=run_explain)


def _nodes_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nodes", type=int, default=None, metavar="N",
                   help="model N kind nodes, each running at most 110 pods (default: the course's "
                   "kind config, one node); with N > 1 the control plane runs no workload pods")


# ---------------------------------------------------------------------------- helpers
def _load_state(paths: Sequence[str], nodes: int | None = None) -> tuple[Any, list[dict]] | None:
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
        state = ClusterState.from_objects(objs, nodes=nodes)
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
    from grader.model.matrix import check_ports
    ports = []
    for t in _split(text):
        if not t.isdigit():
            raise ValueError(f"invalid port {t!r}: ports are numbers 1-65535")
        ports.append(int(t))
    if not ports:
        raise ValueError("--ports needs at least one port")
    return check_ports(ports)


def _check_nodes(nodes: int | None) -> None:
    if nodes is not None:
        from grader.model.nodes import check_node_count
        check_node_count(nodes)


def _report_omissions(state: Any, shown_namespaces: set[str] | None, command: str) -> None:
    """Every pod the output leaves out, said on stderr: Pending pods (no node had room)
    and replicas beyond the model's ceiling."""
    pods = [p for p in state.pods if shown_namespaces is None or p.namespace in shown_namespaces]
    note = state.pending_summary(pods)
    if note:
        print(f"svclab {command}: left out: {note}; try --nodes N for a bigger cluster", file=sys.stderr)
    for line in state.ceiling_notes(shown_namespaces):
        print(f"svclab {command}: left out: {line}", file=sys.stderr)


def _parse_protocols(text: str) -> list[str]:
    protos = [t.upper() for t in _split(text)]
    bad = [p for p in protos if p not in ("TCP", "UDP", "SCTP")]
    if bad or not protos:
        raise ValueError(f"invalid protocol(s) {', '.join(bad) or '(none)'}: choose from TCP, UDP, SCTP")
    return protos


# ---------------------------------------------------------------------------- commands
def run_matrix(args: argparse.Namespace) -> int:
    from grader.model.matrix import listened_ports, matrix_from_engine

    try:
        if args.explain is not None and args.format != "json":
            raise ValueError("--explain/--explain-denied need --format json (the table's explanations are "
                             "`svclab explain FROM TO --port P`)")
        protocols = _parse_protocols(args.protocols)
        ports = _parse_ports(args.ports) if args.ports is not None else None
        _check_nodes(args.nodes)
    except ValueError as exc:
        print(f"svclab matrix: {exc}", file=sys.stderr)
        return 2
    loaded = _load_state(args.paths, args.nodes)
    if loaded is None:
        return 1
    state, objs = loaded
    keep = None if args.all_namespaces else used_namespaces(objs)
    pods = [p for p in state.pods if (keep is None or p.namespace in keep) and not p.pending]
    _report_omissions(state, keep, "matrix")
    if ports is None:       # what the manifests' own pods serve (not CoreDNS's metrics port)
        own = used_namespaces(objs, mentions=False)
        ports = listened_ports([p for p in pods if p.namespace in own], protocols)
    m = matrix_from_engine(state.policy_engine(), pods, ports, protocols)
    if args.format == "json":
        from grader.commands.matrix_json import write_matrix_json
        write_matrix_json(m, sys.stdout, args.explain)
    else:
        from grader.display import format_matrix
        print(format_matrix(m))
    return 0


WORKLOAD_OWNERS = ("Deployment", "StatefulSet", "ReplicaSet")


def _resolve(state: Any, ref: str) -> tuple[Any, str | None]:
    """(pod or Address or None, a note saying which pod stands for a workload/selector).
    A Pending pod resolves to None with a note saying it is Pending."""
    from grader.k8s.selectors import is_selector
    from grader.model.objects import NODE_IP, Address
    if ref == "node":
        return Address(NODE_IP), None
    try:
        ipaddress.ip_address(ref)
    except ValueError:
        pass
    else:
        return state.pod_by_ip(ref) or Address(ref), None
    # "ns/rest" when the part before the first "/" is a plain name (namespaces have no
    # dots); "app.kubernetes.io/name=web" is a selector in namespace default
    head, slash, rest = ref.partition("/")
    if slash and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", head):
        ns, name = head, rest
    else:
        ns, name = NAMESPACED_DEFAULT, ref
    if is_selector(name):
        found = state.find_pods(name, ns)
        what = f'label selector "{name}" in namespace {ns}'
    else:
        pod = state.pod(f"{ns}/{name}")
        if pod is not None:
            found, what = [pod], None
        else:
            owners = [f"{k}/{name}" for k in WORKLOAD_OWNERS if state.get(k, name, ns) is not None]
            found = [p for p in state.pods_in(ns) if p.owner in owners]
            what = f"{owners[0].split('/')[0].lower()}/{name} in namespace {ns}" if owners else None
    running = [p for p in found if not p.pending]
    if not running:
        if found and what is None:
            return None, f"pod {found[0].key} is Pending (no IP to connect with): {found[0].pending_reason}"
        if found:
            return None, f"every pod of {what} is Pending (no IP to connect with): {found[0].pending_reason}"
        return None, None
    pod = running[0]
    if what is None:
        return pod, None
    return pod, (f"{ref}: {what} has {len(found)} pod{'s' if len(found) != 1 else ''}; "
                 f"{pod.key} answers for {'them' if len(found) != 1 else 'it'} (its replicas share "
                 "labels and ports, so NetworkPolicy treats them alike)")


def run_explain(args: argparse.Namespace) -> int:
    from grader.display import format_verdict
    from grader.model.matrix import listen_note
    from grader.model.objects import Pod

    try:
        _check_nodes(args.nodes)
    except ValueError as exc:
        print(f"svclab explain: {exc}", file=sys.stderr)
        return 2
    loaded = _load_state(args.paths, args.nodes)
    if loaded is None:
        return 1
    state, _ = loaded
    ends = []
    for ref in (args.src, args.dst):
        try:
            ep, said = _resolve(state, ref)
        except ValueError as exc:            # a malformed label selector
            print(f"svclab explain: {ref!r}: {exc}", file=sys.stderr)
            return 2
        if ep is None:
            if said:
                print(f"svclab explain: {said}", file=sys.stderr)
                return 2
            known = ", ".join(sorted(p.key for p in state.pods)) or "(none)"
            print(f'svclab explain: no pod, workload or selector "{ref}" (a bare name means namespace '
                  f"{NAMESPACED_DEFAULT}). Known pods: {known}", file=sys.stderr)
            return 2
        if said:
            print(said)
        ends.append(ep)
    src, dst = ends
    verdict = state.policy_engine().check(src, dst, args.port, args.protocol)
    note = None
    if isinstance(dst, Pod):
        note = listen_note(dst, args.port, args.protocol)
    print(format_verdict(verdict, note))
    return 0
