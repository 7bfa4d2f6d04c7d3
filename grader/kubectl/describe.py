"""`kubectl describe` offline for svc, pod, endpoints and networkpolicy, laid out as
staging/src/k8s.io/kubectl/pkg/describe/describe.go does (tabwriter with padding 2 over
each run of `Label:<TAB>value` lines).

The model has no events, so every describe ends in `Events: <none>`; a pod's description
leaves out what only a kubelet knows (container and image IDs, the service-account token
volume and its mounts).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from grader.kubectl import views
from grader.kubectl.cmd_get import select
from grader.kubectl.printers import format_labels, format_selector
from grader.kubectl.resources import NotModelled, parse_targets
from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session
from grader.kubectl.table import aligned_block

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _multiline(
    label: str, values: Mapping[str, str] | None, skip: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    items = sorted((k, v) for k, v in (values or {}).items() if k not in skip)
    if not items:
        return [(f"{label}:", "<none>")]
    return [(f"{label}:" if i == 0 else "", f"{k}={v}" if label == "Labels" else f"{k}: {v}")
            for i, (k, v) in enumerate(items)]


def _blocks(parts: Sequence[Any]) -> str:
    """Lay out a describe text: lists of (label, value) pairs are tab-aligned blocks,
    plain strings are lines without tabs (which end a block, as in tabwriter)."""
    out = ""
    for part in parts:
        out += part if isinstance(part, str) else aligned_block(part)
    return out


# ------------------------------------------------------------------------- service
def slice_endpoints(slices: Sequence[Mapping[str, Any]], port_name: str | None) -> str:
    """describe.go formatEndpointSlices for one Service port (quirks included)."""
    if not slices:
        return "<none>"
    items: list[str] = []
    count, more = 0, False
    for sl in slices:
        ports = sl.get("ports") or []
        eps = sl.get("endpoints") or []
        if not ports:
            for e in eps:
                if len(items) == 3:
                    more = True
                if not (e.get("conditions") or {}).get("ready", True):
                    continue
                if not more:
                    items.append(e["addresses"][0])
                count += 1
            continue
        for p in ports:
            if port_name is not None and (p.get("name") or "") != (port_name or ""):
                continue
            for e in eps:
                if len(items) == 3:
                    more = True
                if not (e.get("conditions") or {}).get("ready", True):
                    continue
                if not more:
                    items.append(f"{e['addresses'][0]}:{p['port']}")
                count += 1
    text = ",".join(items)
    return f"{text} + {count - 3} more..." if more else text


def describe_service(s: Session, svc: Mapping[str, Any]) -> str:
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    status = svc.get("status") or {}
    slices = [
        o
        for o in views.endpointslice_objects(s.state, s.ages, meta["namespace"])
        if ((o.get("metadata") or {}).get("labels") or {}).get("kubernetes.io/service-name") == meta["name"]
    ]
    head = [("Name:", meta["name"]), ("Namespace:", meta["namespace"]),
            *_multiline("Labels", meta.get("labels")),
            *_multiline("Annotations", meta.get("annotations"), (LAST_APPLIED,)),
            ("Selector:", format_labels(spec.get("selector"))), ("Type:", spec.get("type", "ClusterIP"))]
    if spec.get("ipFamilyPolicy"):
        head.append(("IP Family Policy:", spec["ipFamilyPolicy"]))
    head.append(("IP Families:", ",".join(spec.get("ipFamilies") or []) or "<none>"))
    head.append(("IP:", spec.get("clusterIP", "")))
    head.append(("IPs:", ",".join(spec.get("clusterIPs") or []) or "<none>"))
    if spec.get("externalIPs"):
        head.append(("External IPs:", ",".join(spec["externalIPs"])))
    if spec.get("loadBalancerIP"):
        head.append(("IP:", spec["loadBalancerIP"]))
    if spec.get("externalName"):
        head.append(("External Name:", spec["externalName"]))
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        head.append(
            (
                "LoadBalancer Ingress:",
                ", ".join(
                    (i.get("ip") or i.get("hostname", "")) + (f" ({i['ipMode']})" if i.get("ipMode") else "")
                    for i in ingress
                ),
            )
        )
    # A Port/NodePort line has a second tab-terminated cell (the port name) that tabwriter
    # pads on its own: "<unset>" + 2 spaces.
    for p in spec.get("ports") or []:
        name = p.get("name") or "<unset>"
        proto = p.get("protocol", "TCP")
        head.append(("Port:", f"{name}  {p['port']}/{proto}"))
        head.append(("TargetPort:", f"{p.get('targetPort', p['port'])}/{proto}"))
        if p.get("appProtocol"):
            head.append(("AppProtocol:", p["appProtocol"]))
        if p.get("nodePort"):
            head.append(("NodePort:", f"{name}  {p['nodePort']}/{proto}"))
        head.append(("Endpoints:", slice_endpoints(slices, p.get("name") or "")))
    head.append(("Session Affinity:", spec.get("sessionAffinity", "None")))
    if spec.get("externalTrafficPolicy"):
        head.append(("External Traffic Policy:", spec["externalTrafficPolicy"]))
    if spec.get("internalTrafficPolicy"):
        head.append(("Internal Traffic Policy:", spec["internalTrafficPolicy"]))
    if spec.get("healthCheckNodePort"):
        head.append(("HealthCheck NodePort:", str(spec["healthCheckNodePort"])))
    if spec.get("loadBalancerSourceRanges"):
        head.append(("LoadBalancer Source Ranges:", ",".join(spec["loadBalancerSourceRanges"])))
    head.append(("Events:", "<none>"))
    return _blocks([head])


# ------------------------------------------------------------------------- endpoints
def describe_endpoints(s: Session, ep: Mapping[str, Any]) -> str:
    meta = ep.get("metadata") or {}
    parts: list[Any] = [[("Name:", meta["name"]), ("Namespace:", meta["namespace"]),
                         *_multiline("Labels", meta.get("labels")),
                         *_multiline("Annotations", meta.get("annotations"))], "Subsets:\n"]
    for sub in ep.get("subsets") or []:
        ready = ",".join(a["ip"] for a in sub.get("addresses") or []) or "<none>"
        not_ready = ",".join(a["ip"] for a in sub.get("notReadyAddresses") or []) or "<none>"
        parts.append([("  Addresses:", ready), ("  NotReadyAddresses:", not_ready)])
        if sub.get("ports"):
            parts.append("  Ports:\n")
            rows = [("    Name", "Port", "Protocol"), ("    ----", "----", "--------")]
            rows += [
                (f"    {p.get('name') or '<unset>'}", str(p["port"]), p.get("protocol", "TCP"))
                for p in sub["ports"]
            ]
            w0 = max(len(r[0]) for r in rows) + 2
            w1 = max(len(r[1]) for r in rows) + 2
            parts.append("".join(f"{a.ljust(w0)}{b.ljust(w1)}{c}\n" for a, b, c in rows))
        parts.append("\n")
    parts.append([("Events:", "<none>")])
    return _blocks(parts)


# ------------------------------------------------------------------------- networkpolicy
def _peers(rules: Sequence[Mapping[str, Any]], direction: str) -> str:
    word, other = ("From", "source") if direction == "ingress" else ("To", "destination")
    port_word = "To Port"
    indent = "    "
    if not rules:
        isolated = "<none> (Selected pods are isolated for ingress connectivity)" if direction == "ingress" \
            else "<none> (Selected pods are isolated for egress connectivity)"
        return f"{indent}{isolated}\n"
    out = ""
    for i, rule in enumerate(rules):
        ports = rule.get("ports") or []
        if not ports:
            out += f"{indent}{port_word}: <any> (traffic allowed to all ports)\n"
        for p in ports:
            port = p.get("port", "<nil>")
            out += f"{indent}{port_word}: {port}/{p.get('protocol') or 'TCP'}\n"
        peers = rule.get("from" if direction == "ingress" else "to") or []
        if not peers:
            out += f"{indent}{word}: <any> (traffic not restricted by {other})\n"
        for peer in peers:
            out += f"{indent}{word}:\n"
            pod, nsel, block = peer.get("podSelector"), peer.get("namespaceSelector"), peer.get("ipBlock")
            if pod is not None and nsel is not None:
                out += (f"  {indent}NamespaceSelector: {format_selector(nsel)}\n"
                        f"  {indent}PodSelector: {format_selector(pod)}\n")
            elif pod is not None:
                out += f"  {indent}PodSelector: {format_selector(pod)}\n"
            elif nsel is not None:
                out += f"  {indent}NamespaceSelector: {format_selector(nsel)}\n"
            elif block is not None:
                out += f"  {indent}IPBlock:\n    {indent}CIDR: {block.get('cidr', '')}\n"
                out += f"    {indent}Except: {', '.join(block.get('except') or [])}\n"
        if i != len(rules) - 1:
            out += f"{indent}----------\n"
    return out


def describe_networkpolicy(s: Session, np: Mapping[str, Any]) -> str:
    meta, spec = np.get("metadata") or {}, np.get("spec") or {}
    key = ("NetworkPolicy", meta["namespace"], meta["name"])
    parts: list[Any] = [[("Name:", meta["name"]), ("Namespace:", meta["namespace"]),
                         ("Created on:", s.ages.go_time(key)), *_multiline("Labels", meta.get("labels")),
                         *_multiline("Annotations", meta.get("annotations"), (LAST_APPLIED,))]]
    text = "Spec:\n"
    sel = spec.get("podSelector") or {}
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        text += "  PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)\n"
    else:
        text += f"  PodSelector:     {format_selector(sel)}\n"
    types = spec.get("policyTypes")
    if not types:
        types = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    if "Ingress" in types:
        text += "  Allowing ingress traffic:\n" + _peers(spec.get("ingress") or [], "ingress")
    else:
        text += "  Not affecting ingress traffic\n"
    if "Egress" in types:
        text += "  Allowing egress traffic:\n" + _peers(spec.get("egress") or [], "egress")
    else:
        text += "  Not affecting egress traffic\n"
    text += f"  Policy Types: {', '.join(types)}\n"
    parts.append(text)
    return _blocks(parts)


# ------------------------------------------------------------------------- pod
def _port_rows(ports: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """A container's Port(s) and Host Port(s) lines, as kubectl describe prints them."""
    if not ports:
        return [("    Port:", "<none>"), ("    Host Port:", "<none>")]

    def text(number: Any, p: dict[str, Any]) -> str:
        return f"{number}/{p.get('protocol', 'TCP')}" + (f" ({p['name']})" if p.get("name") else "")

    plural = "s" if len(ports) > 1 else ""
    return [(f"    Port{plural}:", ", ".join(text(p["containerPort"], p) for p in ports)),
            (f"    Host Port{plural}:", ", ".join(text(p.get("hostPort", 0), p) for p in ports))]


def describe_pod(s: Session, pod: Mapping[str, Any]) -> str:
    meta, spec, st = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    key = ("Pod", meta["namespace"], meta["name"], st.get("podIP", ""))
    node = spec.get("nodeName")
    head = [("Name:", meta["name"]), ("Namespace:", meta["namespace"]), ("Priority:", "0"),
            ("Service Account:", spec.get("serviceAccountName", "default")),
            ("Node:", f"{node}/{st.get('hostIP')}" if node else "<none>")]
    if st.get("startTime"):
        head.append(("Start Time:", s.ages.rfc1123(key)))
    head += [*_multiline("Labels", meta.get("labels")),
             *_multiline("Annotations", meta.get("annotations"), (LAST_APPLIED,)),
             ("Status:", st.get("phase", "")), ("IP:", st.get("podIP", ""))]
    parts: list[Any] = [head]
    ips = st.get("podIPs") or []
    block: list[tuple[str, str]] = []
    if ips:
        parts.append("IPs:\n")
        block.append(("  IP:", ips[0]["ip"]))
    else:
        block.append(("IPs:", "<none>"))
    owners = meta.get("ownerReferences") or []
    if owners:
        block.append(("Controlled By:", f"{owners[0]['kind']}/{owners[0]['name']}"))
    parts.append(block)
    parts.append("Containers:\n")
    statuses = {c.get("name"): c for c in st.get("containerStatuses") or []}
    for c in spec.get("containers") or []:
        parts.append(f"  {c.get('name')}:\n")
        rows: list[tuple[str, str]] = [("    Image:", c.get("image", ""))]
        rows += _port_rows(c.get("ports") or [])
        for label, items in (("Command", c.get("command")), ("Args", c.get("args"))):
            if items:
                parts.append(rows)
                parts.append(f"    {label}:\n" + "".join(f"      {a}\n" for a in items))
                rows = []
        cs = statuses.get(c.get("name"))
        if cs:
            rows += [("    State:", "Running"), ("      Started:", s.ages.rfc1123(key)),
                     ("    Ready:", "True" if cs.get("ready") else "False"), ("    Restart Count:", "0")]
        else:
            rows += [("    State:", "Waiting"), ("    Ready:", "False"), ("    Restart Count:", "0")]
        env = c.get("env") or []
        if env:
            parts.append(rows)
            parts.append(
                "    Environment:\n" + "".join(f"      {e.get('name')}:  {e.get('value', '')}\n" for e in env)
            )
        else:
            parts.append(rows + [("    Environment:", "<none>")])
    parts.append("Conditions:\n")
    tail = [("  Type", "Status")] + [
        (f"  {c['type']} ", c["status"] + " ") for c in st.get("conditions") or []
    ]
    tail += [("Volumes:", "<none>"), ("QoS Class:", st.get("qosClass", "BestEffort")),
             ("Node-Selectors:", format_labels(spec.get("nodeSelector"))),
             ("Tolerations:", "node.kubernetes.io/not-ready:NoExecute op=Exists for 300s"),
             ("", "node.kubernetes.io/unreachable:NoExecute op=Exists for 300s")]
    if st.get("phase") == "Pending":
        parts.append(tail)
        conds_by = {c["type"]: c for c in st.get("conditions") or []}
        msg = (conds_by.get("PodScheduled") or {}).get("message", "")
        parts.append("Events:\n  Type     Reason            Age   From               Message\n"
                     "  ----     ------            ----  ----               -------\n"
                     f"  Warning  FailedScheduling  0s    default-scheduler  {msg}\n")
    else:
        parts.append(tail + [("Events:", "<none>")])
    return _blocks(parts)


DESCRIBERS = {"Service": describe_service, "Endpoints": describe_endpoints,
              "NetworkPolicy": describe_networkpolicy, "Pod": describe_pod}


def run(s: Session) -> None:
    targets = parse_targets(s.inv.args)
    if not targets:
        raise KubectlError("error: Required resource not specified.\n"
                           "See 'kubectl describe -h' for help and examples")
    texts: list[str] = []
    errors: list[str] = []
    for kind, names in targets:
        fn = DESCRIBERS.get(kind.kind)
        if fn is None:
            raise NotModelled(f"describe {kind.resource}")
        if kind.kind == "Endpoints":
            s.warn(views.ENDPOINTS_WARNING)
        if names:
            # describe matches name prefixes when no object has the exact name
            objs, errs = select(s, kind, [])
            for n in names:
                exact = [o for o in objs if o["metadata"]["name"] == n]
                pref = exact or [o for o in objs if o["metadata"]["name"].startswith(n)]
                if not pref:
                    errors.append(f'Error from server (NotFound): {kind.qualified} "{n}" not found')
                texts.extend(fn(s, o) for o in pref)
        else:
            objs, _ = select(s, kind, [])
            texts.extend(fn(s, o) for o in objs)
    if texts:
        s.write("\n\n".join(t.rstrip("\n") + "\n" for t in texts))
    elif not errors:
        s.warn(f"No resources found in {s.namespace} namespace.")
    if errors:
        raise KubectlError("\n".join(errors))
