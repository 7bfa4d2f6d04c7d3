"""How `kubectl get` prints objects: the server-side table columns of
pkg/printers/internalversion/printers.go (names, order, `-o wide` extras, `<none>`,
`<pending>`), plus `-o name|yaml|json|jsonpath=...` and `--show-labels`.

Each `row_*` function takes an API-shaped object (grader.kubectl.views) and returns its
cells; AGE comes from the object's creation time.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Sequence

import yaml

from grader.kubectl.ages import human_duration
from grader.kubectl.resources import Kind
from grader.kubectl.table import tabulate

LB_WIDTH = 16          # loadBalancerWidth: EXTERNAL-IP / ADDRESS are clipped unless -o wide


def format_labels(labels: Mapping[str, str] | None) -> str:
    """labels.FormatLabels: sorted k=v joined by commas, or <none>."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def format_selector(sel: Mapping[str, Any] | None, empty: str = "<none>") -> str:
    """metav1.FormatLabelSelector: matchLabels and matchExpressions in the order the
    labels.Selector string gives them (sorted by key), or <none> when empty (`empty=""`
    for printDeployment, which prints the bare selector.String())."""
    if not sel:
        return empty
    parts: list[tuple[str, str]] = []
    for k, v in (sel.get("matchLabels") or {}).items():
        parts.append((k, f"{k}={v}"))
    for e in sel.get("matchExpressions") or []:
        key, op, vals = e.get("key", ""), e.get("operator", ""), sorted(e.get("values") or [])
        if op == "In":
            parts.append((key, f"{key} in ({','.join(vals)})"))
        elif op == "NotIn":
            parts.append((key, f"{key} notin ({','.join(vals)})"))
        elif op == "Exists":
            parts.append((key, key))
        elif op == "DoesNotExist":
            parts.append((key, f"!{key}"))
    text = ",".join(p for _, p in sorted(parts, key=lambda kp: kp[0]))
    return text or empty


def _age(obj: Mapping[str, Any], now: float) -> str:
    import datetime as dt
    ts = (obj.get("metadata") or {}).get("creationTimestamp")
    if not ts:
        return "<unknown>"
    born = dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()
    return human_duration(now - born)


def _clip(text: str, wide: bool) -> str:
    return text if wide or len(text) <= LB_WIDTH else text[:LB_WIDTH - 3] + "..."


def _containers(template_spec: Mapping[str, Any]) -> tuple[str, str]:
    cs = template_spec.get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


# ------------------------------------------------------------------------- rows
def row_pod(o: Mapping[str, Any], wide: bool) -> tuple[list[str], list[str]]:
    st = o.get("status") or {}
    cs = st.get("containerStatuses") or []
    total = len((o.get("spec") or {}).get("containers") or [])
    ready = sum(1 for c in cs if c.get("ready"))
    cells = [f"{ready}/{total}", st.get("phase", ""), "0"]
    extra = [
        st.get("podIP") or "<none>",
        (o.get("spec") or {}).get("nodeName") or "<none>",
        "<none>",
        "<none>",
    ]
    return cells, extra


def service_external_ip(o: Mapping[str, Any], wide: bool) -> str:
    spec = o.get("spec") or {}
    t = spec.get("type", "ClusterIP")
    ext = list(spec.get("externalIPs") or [])
    if t in ("ClusterIP", "NodePort"):
        return ",".join(ext) if ext else "<none>"
    if t == "LoadBalancer":
        ing = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips = sorted({i.get("ip") or i.get("hostname") for i in ing if i.get("ip") or i.get("hostname")})
        lb = _clip(",".join(ips), wide)
        if ext:
            return ",".join(([*lb.split(",")] if lb else []) + ext)
        return lb or "<pending>"
    if t == "ExternalName":
        return spec.get("externalName", "")
    return "<unknown>"


def port_string(ports: Sequence[Mapping[str, Any]]) -> str:
    """makePortString: 80/TCP, 80:30080/TCP, comma-joined."""
    out = []
    for p in ports:
        proto = p.get("protocol", "TCP")
        out.append(f"{p['port']}:{p['nodePort']}/{proto}" if p.get("nodePort") else f"{p['port']}/{proto}")
    return ",".join(out)


def row_service(o: Mapping[str, Any], wide: bool):
    spec = o.get("spec") or {}
    ips = spec.get("clusterIPs") or []
    cells = [spec.get("type", "ClusterIP"), ips[0] if ips else "<none>", service_external_ip(o, wide),
             port_string(spec.get("ports") or []) or "<none>"]
    return cells, [format_labels(spec.get("selector"))]


def row_endpoints(o, wide):
    from grader.kubectl.views import format_endpoints
    return [format_endpoints(o)], []


def _list_more(items: list[str], count: int) -> str:
    text = ",".join(items[:3])
    if count > 3:
        return f"{text} + {count - 3} more..."
    return text or "<unset>"


def row_endpointslice(o, wide):
    ports = o.get("ports") or []
    port_items = [str(p["port"]) if p.get("port") is not None else (p.get("name") or "*") for p in ports]
    addrs = [a for e in o.get("endpoints") or [] for a in e.get("addresses") or []]
    return [
        o.get("addressType", ""),
        _list_more(port_items, len(port_items)),
        _list_more(addrs, len(addrs)),
    ], []


def row_networkpolicy(o, wide):
    return [format_selector((o.get("spec") or {}).get("podSelector"))], []


def row_ingress(o, wide):
    spec = o.get("spec") or {}
    rules = spec.get("rules") or []
    hosts = [r["host"] for r in rules if r.get("host")]
    if not hosts:
        host_text = "*"
    elif len(rules) > 3:
        host_text = ",".join(hosts[:3]) + f" + {len(rules) - 3} more..."
    else:
        host_text = ",".join(hosts)
    ing = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addr = _clip(
        ",".join(sorted({i.get("ip") or i.get("hostname") for i in ing if i.get("ip") or i.get("hostname")})),
        wide,
    )
    return [
        spec.get("ingressClassName") or "<none>",
        host_text,
        addr,
        "80, 443" if spec.get("tls") else "80",
    ], []


def row_deployment(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _containers(((spec.get("template") or {}).get("spec")) or {})
    return ([f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", str(st.get("updatedReplicas", 0)),
             str(st.get("availableReplicas", 0))],
            [names, images, format_selector(spec.get("selector"), empty="")])


def row_replicaset(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _containers(((spec.get("template") or {}).get("spec")) or {})
    return ([str(spec.get("replicas", 1)), str(st.get("replicas", 0)), str(st.get("readyReplicas", 0))],
            [names, images, format_selector(spec.get("selector"))])


def row_statefulset(o, wide):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _containers(((spec.get("template") or {}).get("spec")) or {})
    return [f"{st.get('readyReplicas', 0)}/{spec.get('replicas', 1)}"], [names, images]


def row_configmap(o, wide):
    return [str(len(o.get("data") or {}) + len(o.get("binaryData") or {}))], []


def row_namespace(o, wide):
    return [(o.get("status") or {}).get("phase", "Active")], []


def row_httproute(o, wide):
    hosts = (o.get("spec") or {}).get("hostnames") or []
    return [json.dumps(hosts, separators=(",", ":")) if hosts else ""], []


def row_gateway(o, wide):
    spec = o.get("spec") or {}
    addrs = (o.get("status") or {}).get("addresses") or []
    conds = {c.get("type"): c.get("status") for c in (o.get("status") or {}).get("conditions") or []}
    return [spec.get("gatewayClassName", ""), addrs[0].get("value", "") if addrs else "",
            conds.get("Programmed", "Unknown")], []


#: kind -> (columns between NAME and AGE, `-o wide` columns after AGE, row function returning
#: (cells, wide cells))
COLUMNS: dict[str, tuple[list[str], list[str], Callable]] = {
    "Pod": (["READY", "STATUS", "RESTARTS"], ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"], row_pod),
    "Service": (["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"], ["SELECTOR"], row_service),
    "Endpoints": (["ENDPOINTS"], [], row_endpoints),
    "EndpointSlice": (["ADDRESSTYPE", "PORTS", "ENDPOINTS"], [], row_endpointslice),
    "NetworkPolicy": (["POD-SELECTOR"], [], row_networkpolicy),
    "Ingress": (["CLASS", "HOSTS", "ADDRESS", "PORTS"], [], row_ingress),
    "Deployment": (
        ["READY", "UP-TO-DATE", "AVAILABLE"],
        ["CONTAINERS", "IMAGES", "SELECTOR"],
        row_deployment,
    ),
    "ReplicaSet": (["DESIRED", "CURRENT", "READY"], ["CONTAINERS", "IMAGES", "SELECTOR"], row_replicaset),
    "StatefulSet": (["READY"], ["CONTAINERS", "IMAGES"], row_statefulset),
    "ConfigMap": (["DATA"], [], row_configmap),
    "Namespace": (["STATUS"], [], row_namespace),
    "HTTPRoute": (["HOSTNAMES"], [], row_httproute),
    "Gateway": (["CLASS", "ADDRESS", "PROGRAMMED"], [], row_gateway),
}


def table(kind: Kind, objs: Sequence[Mapping[str, Any]], *, now: float, wide: bool = False,
          show_labels: bool = False, all_namespaces: bool = False, prefix: bool = False,
          no_headers: bool = False) -> str:
    """The table `kubectl get` prints for objects of one kind."""
    before, wide_cols, fn = COLUMNS[kind.kind]
    header = (["NAMESPACE"] if all_namespaces and kind.namespaced else []) + ["NAME", *before, "AGE"]
    if wide:
        header += wide_cols
    if show_labels:
        header.append("LABELS")
    rows = [] if no_headers else [header]
    for o in objs:
        meta = o.get("metadata") or {}
        cells, extra = fn(o, wide)
        name = f"{kind.singular}/{meta['name']}" if prefix else meta["name"]
        row = ([meta.get("namespace", "")] if all_namespaces and kind.namespaced else []) + [
            name,
            *cells,
            _age(o, now),
        ]
        if wide:
            row += extra
        if show_labels:
            row.append(format_labels(meta.get("labels")))
        rows.append(row)
    return tabulate(rows)


# ------------------------------------------------------------------------- -o formats
class _Dumper(yaml.SafeDumper):
    """sigs.k8s.io/yaml's look: block style, sequences not indented under their key,
    strings that would read as another type in double quotes."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    plain_ok = True
    if value == "" or value != value.strip() or "\n" in value:
        plain_ok = False
    else:
        try:
            plain_ok = yaml.safe_load(value) == value and not value.startswith(
                ("*", "&", "!", "%", "@", "`", "{", "[", "'", '"', "- ", "? ", ": ", "#", "|", ">")
            )
        except yaml.YAMLError:
            plain_ok = False
        if ": " in value or " #" in value:
            plain_ok = False
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain_ok else '"')


_Dumper.add_representer(str, _str)


def to_yaml(obj: Any) -> str:
    return yaml.dump(
        obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=4096
    )


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def as_list(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "items": list(items), "kind": "List", "metadata": {"resourceVersion": ""}}
