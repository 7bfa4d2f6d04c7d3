"""Commands that create and delete: `apply -f FILE|DIR|-`, `delete`, `create deployment`,
`create service`, `create ingress` (built by ingress_builder), `create namespace`, `expose`.

Everything goes through the notebook namespace's own `apply`, so offline kubectl validates,
sandboxes and applies exactly as `ns.apply(...)` does: all or nothing (stricter than real
kubectl, which applies objects one by one and stops at the first refusal).
"""
from __future__ import annotations

import posixpath
import re
from typing import Any, cast

from grader.kubectl import views
from grader.kubectl.ages import observe
from grader.kubectl.cmd_get import not_found, select
from grader.kubectl.files import objects_from_files, problem_text, sources
from grader.kubectl.resources import by_kind, lookup, parse_targets
from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session


def apply_objects(s: Session, source: Any, label: str | None = None) -> list[str]:
    """Apply through the namespace (validation + sandbox + all-or-nothing); the lines come
    back in the order the source lists the objects, as kubectl prints them."""
    from grader import manifests as mf
    target = s.namespace_handle()
    try:
        lines = target.apply(source, source=label)
    except mf.ManifestError as exc:
        raise KubectlError(problem_text(exc)) from None
    return _in_source_order(source, label, lines)


def _in_source_order(source: Any, label: str | None, lines: list[str]) -> list[str]:
    """Namespace.apply reports objects in grader.k8s.apply_order's order (a stable sort by
    rank); real kubectl visits and prints them in file order. Undo that sort."""
    from grader import manifests as mf
    from grader.k8s.apply_order import apply_rank
    objs = [m.obj for m in mf.load(source, source=label)]
    if len(objs) != len(lines):
        return lines
    applied = sorted(range(len(objs)), key=lambda i: apply_rank(objs[i]))
    ordered = [""] * len(lines)
    for line, i in zip(lines, applied, strict=True):
        ordered[i] = line
    return ordered


# ------------------------------------------------------------------------- apply
def run_apply(s: Session) -> None:
    if not s.inv.has("filename"):
        raise KubectlError(
            "error: must specify one of -f and -k\n\nSee 'kubectl apply -h' for help and examples"
        )
    for src, label in sources(s):
        lines = apply_objects(s, src, label if isinstance(src, str) else None)
        for line in lines:
            s.print(line)


# ------------------------------------------------------------------------- delete
def _delete_one(s: Session, kind_name: str, name: str, namespace: str) -> None:
    from grader.model.state import ApplyError, NotFound
    kind = lookup(kind_name)
    if kind.kind == "Namespace":
        try:
            s.state.delete_namespace(name)
        except NotFound:
            raise KubectlError(not_found(kind, name)) from None
        except ApplyError as exc:
            raise KubectlError(f"Error from server (Forbidden): {exc}") from None
        s.print(f'namespace "{name}" deleted')
        return
    stored = s.state.get(kind.kind, name, namespace) is not None
    if not stored:
        existing = views.get_object(s.state, s.ages, kind.kind, name, namespace)
        if existing is None:
            raise KubectlError(not_found(kind, name))
        if kind.kind in ("Endpoints", "EndpointSlice", "ReplicaSet"):
            # derived objects: their controller writes them again at once
            s.ages.forget((kind.kind, namespace, name))
            s.print(f'{kind.singular} "{name}" deleted from {namespace} namespace')
            return
    try:
        s.state.delete(kind.kind, name, namespace)
    except NotFound:
        raise KubectlError(not_found(kind, name)) from None
    observe(s.state, s.ages)          # what went away is forgotten; a replacement is new
    s.print(f'{kind.singular} "{name}" deleted from {namespace} namespace')


def run_delete(s: Session) -> None:
    inv = s.inv
    errors: list[str] = []
    if inv.has("filename"):
        for obj in objects_from_files(s):
            kind = by_kind(str(obj.get("kind")))
            meta = obj.get("metadata") or {}
            ns = meta.get("namespace") or s.namespace
            try:
                _delete_one(s, kind.kind, cast(str, meta.get("name")), ns)     # validated: it has one
            except KubectlError as exc:
                if not inv.flag("ignore-not-found"):
                    errors.append(exc.message)
    else:
        targets = parse_targets(inv.args)
        if not targets:
            raise KubectlError(
                "error: You must provide one or more resources by argument or filename.\n"
                "Example resource specifications include:\n   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
                "   '<resource> <name>'\n   '<resource>'"
            )
        for kind, names in targets:
            if not names:
                if not (inv.flag("all") or inv.flag("selector")):
                    raise KubectlError("error: resource(s) were provided, but no name was specified")
                objs, _ = select(s, kind, [])
                names = [o["metadata"]["name"] for o in objs]
                if not names:
                    s.warn("No resources found")
            for n in names:
                try:
                    _delete_one(s, kind.kind, n, s.namespace)
                except KubectlError as exc:
                    if not (inv.flag("ignore-not-found") and "NotFound" in exc.message):
                        errors.append(exc.message)
    if errors:
        raise KubectlError("\n".join(errors))


# ------------------------------------------------------------------------- create
def _container_name(image: str) -> str:
    """kubectl create deployment: the container is named after the image's base name."""
    base = posixpath.basename(image).split(":")[0].split("@")[0]
    return re.sub(r"[^a-z0-9-]", "-", base.lower()).strip("-") or "container"


def run_create(s: Session) -> None:
    inv = s.inv
    if inv.has("filename"):
        run_apply_create(s)
        return
    if not inv.args:
        raise KubectlError("error: Unexpected args: []\nSee 'kubectl create -h' for help and examples")
    what, rest = inv.args[0], inv.args[1:]
    if what in ("deployment", "deploy"):
        obj = _deployment(s, rest)
    elif what in ("service", "svc"):
        obj = _service(s, rest)
    elif what in ("ingress", "ing"):
        from grader.kubectl import ingress_builder
        obj = ingress_builder.build(s, rest)
    elif what in ("namespace", "ns"):
        if len(rest) != 1:
            raise KubectlError("error: exactly one NAME is required, got %d" % len(rest))
        if rest[0] in s.state.namespaces:
            raise KubectlError(f'Error from server (AlreadyExists): namespaces "{rest[0]}" already exists')
        s.state.create_namespace(rest[0])
        s.print(f"namespace/{rest[0]} created")
        return
    else:
        from grader.kubectl.resources import NotModelled
        raise NotModelled(f"create {what}")
    kind = by_kind(obj["kind"])
    name = obj["metadata"]["name"]
    if inv.flag("dry-run"):
        _print_dry_run(s, kind, obj)
        return
    if s.state.get(kind.kind, name, s.namespace) is not None:
        raise KubectlError(
            f'error: failed to create {kind.kind.lower()}: {kind.qualified} "{name}" already exists'
            if kind.kind in ("Deployment", "Ingress")
            else f'error: failed to create {_svc_kind(rest)} service: services "{name}" already exists'
        )
    apply_objects(s, obj)
    s.print(f"{kind.singular}/{name} created")


def client_side(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as kubectl builds it before sending it (what `--dry-run=client -o yaml`
    prints): empty strategy/resources/status structs included, nothing the server adds."""
    import copy
    out = copy.deepcopy(obj)
    if out["kind"] == "Deployment":
        out["spec"]["strategy"] = {}
        for c in out["spec"]["template"]["spec"]["containers"]:
            c["resources"] = {}
        out["status"] = {}
    elif out["kind"] == "Service":
        out["status"] = {"loadBalancer": {}}
    return out


#: Go struct field order of the types `kubectl create` builds, by where the struct sits: a
#: typed object marshals to JSON in this order (a map, as `get -o json` prints, sorts its keys).
GO_FIELD_ORDER: dict[str, list[str]] = {
    "object": ["kind", "apiVersion", "metadata", "spec", "status"],
    "metadata": ["name", "generateName", "namespace", "labels", "annotations"],
    "Deployment.spec": ["replicas", "selector", "template", "strategy"],
    "template": ["metadata", "spec"],
    "container": ["name", "image", "command", "args", "workingDir", "ports", "env", "resources"],
    "containerPort": ["name", "hostPort", "containerPort", "protocol"],
    "Service.spec": ["ports", "selector", "clusterIP", "clusterIPs", "type", "externalName"],
    "servicePort": ["name", "protocol", "appProtocol", "port", "targetPort", "nodePort"],
}


def _ordered(d: dict[str, Any], where: str) -> dict[str, Any]:
    order = GO_FIELD_ORDER.get(where, [])
    rank = {k: i for i, k in enumerate(order)}
    return {k: d[k] for k in sorted(d, key=lambda k: (rank.get(k, len(rank)), k))}


def go_order(obj: dict[str, Any]) -> dict[str, Any]:
    """A copy of a Deployment or Service kubectl created, keys in Go struct order."""
    import copy
    o = copy.deepcopy(obj)
    kind = o.get("kind")
    o["metadata"] = _ordered(o.get("metadata") or {}, "metadata")
    spec = o.get("spec") or {}
    if kind == "Deployment":
        t = spec.get("template") or {}
        t["metadata"] = _ordered(t.get("metadata") or {}, "metadata")
        pod = t.get("spec") or {}
        pod["containers"] = [
            _ordered(
                {**c, "ports": [_ordered(p, "containerPort") for p in c["ports"]]} if c.get("ports") else c,
                "container",
            )
            for c in pod.get("containers") or []
        ]
        spec["template"] = _ordered(t, "template")
        o["spec"] = _ordered(spec, "Deployment.spec")
    elif kind == "Service":
        if spec.get("ports"):
            spec["ports"] = [_ordered(p, "servicePort") for p in spec["ports"]]
        o["spec"] = _ordered(spec, "Service.spec")
    return _ordered(o, "object")


def _print_dry_run(s: Session, kind: Any, obj: dict[str, Any]) -> None:
    from grader.kubectl import printers
    mode = str(s.inv.flag("dry-run"))
    if mode not in ("client", "server", "none"):
        raise KubectlError(f'error: Invalid dry-run value ({mode}). Must be "none", "server", or "client".')
    if mode == "server":
        from grader.kubectl.resources import NotModelled
        raise NotModelled("--dry-run=server", "use --dry-run=client")
    output = s.inv.flag("output") or ""
    shown = client_side(obj)
    if output == "yaml":
        s.write(printers.to_yaml(shown))
    elif output == "json":
        import json
        s.write(json.dumps(go_order(shown), indent=4, ensure_ascii=False) + "\n")
    elif output == "name":
        s.print(f"{kind.singular}/{obj['metadata']['name']}")
    elif output == "":
        s.print(f"{kind.singular}/{obj['metadata']['name']} created (dry run)")
    else:
        raise KubectlError(f'error: unable to match a printer suitable for the output format "{output}"')


def _svc_kind(rest: list[str]) -> str:
    return rest[0] if rest else "clusterip"


def run_apply_create(s: Session) -> None:
    for obj in objects_from_files(s):
        kind = by_kind(str(obj.get("kind")))
        name = (obj.get("metadata") or {}).get("name")
        ns = (obj.get("metadata") or {}).get("namespace") or s.namespace
        if s.state.get(kind.kind, name, ns) is not None:
            raise KubectlError(
                f'Error from server (AlreadyExists): error when creating: {kind.qualified} "{name}" '
                "already exists"
            )
    for src, label in sources(s):
        for line in apply_objects(s, src, label if isinstance(src, str) else None):
            s.print(line)


def _deployment(s: Session, rest: list[str]) -> dict[str, Any]:
    inv = s.inv
    if len(rest) != 1:
        raise KubectlError(
            "error: exactly one NAME is required, got %d\n"
            "See 'kubectl create deployment -h' for help and examples"
            % len(rest)
        )
    name = rest[0]
    image = inv.flag("image")
    if not image:
        raise KubectlError("error: required flag(s) \"image\" not set")
    labels = {"app": name}
    container: dict[str, Any] = {"name": _container_name(image), "image": image}
    if inv.command:
        container["command"] = list(inv.command)
    if inv.flag("port"):
        container["ports"] = [{"containerPort": int(inv.flag("port"))}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"replicas": int(inv.flag("replicas") or 1),
                     "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [container]}}}}


SERVICE_TYPES = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer",
                 "externalname": "ExternalName"}


def _service(s: Session, rest: list[str]) -> dict[str, Any]:
    inv = s.inv
    if not rest or rest[0] not in SERVICE_TYPES:
        raise KubectlError(
            "error: create service needs a type: clusterip, nodeport, loadbalancer or externalname\n"
            "See 'kubectl create service -h' for help and examples"
        )
    stype = SERVICE_TYPES[rest[0]]
    if len(rest) != 2:
        raise KubectlError("error: exactly one NAME is required, got %d" % (len(rest) - 1))
    name = rest[1]
    spec: dict[str, Any] = {"type": stype, "selector": {"app": name}}
    ports_flag = inv.flag("tcp") or []
    if stype == "ExternalName":
        ext = inv.flag("external-name")
        if not ext:
            raise KubectlError('error: required flag(s) "external-name" not set')
        spec["externalName"] = ext
    else:
        if not ports_flag and stype != "ClusterIP":
            raise KubectlError('error: required flag(s) "tcp" not set')
    ports = []
    for item in ports_flag:
        for spec_part in item.split(","):
            port, _, target = spec_part.partition(":")
            if not port.isdigit() or (
                target and not target.isdigit() and not re.match(r"^[a-z0-9-]+$", target)
            ):
                raise KubectlError(f'error: invalid port "{spec_part}": use PORT[:TARGET_PORT]')
            p: dict[str, Any] = {"name": f"{port}-{target or port}", "port": int(port), "protocol": "TCP",
                                 "targetPort": int(target or port) if (target or port).isdigit() else target}
            if stype == "NodePort" and inv.flag("node-port"):
                p["nodePort"] = int(inv.flag("node-port"))
            ports.append(p)
    if ports:
        spec["ports"] = ports
    # kubectl spells it --clusterip here (and --cluster-ip for expose); both are read
    cluster_ip = inv.flag("clusterip") or inv.flag("cluster-ip")
    if stype == "ClusterIP" and cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": spec,
    }


# ------------------------------------------------------------------------- expose
def run_expose(s: Session) -> None:
    inv = s.inv
    targets = parse_targets(inv.args)
    if not targets or len(targets[0][1]) != 1:
        raise KubectlError(
            "error: You must provide the resource to expose, e.g. `kubectl expose deployment web --port=80`\n"
            "See 'kubectl expose -h' for help and examples"
        )
    kind, (name,) = targets[0]
    if kind.kind not in ("Deployment", "Pod", "Service", "ReplicaSet"):
        # kubectl's canBeExposed: a StatefulSet is refused too (write its Service instead)
        raise KubectlError(f"error: cannot expose a {kind.kind}{'.' + kind.group if kind.group else ''}")
    obj = views.get_object(s.state, s.ages, kind.kind, name, s.namespace)
    if obj is None:
        raise KubectlError(not_found(kind, name))
    selector, labels, container_ports = _introspect(obj)
    if selector is None:
        raise KubectlError(f"error: couldn't retrieve selectors via --selector flag or introspection: "
                           f"the {kind.kind} uses matchExpressions, which a Service selector cannot express")
    svc_name = inv.flag("name") or name
    protocol = inv.flag("protocol") or "TCP"
    spec: dict[str, Any] = {"selector": selector}
    if inv.flag("port"):
        p: dict[str, Any] = {"port": int(inv.flag("port")), "protocol": protocol}
        tp = inv.flag("target-port")
        if tp:
            p["targetPort"] = int(tp) if str(tp).isdigit() else tp
        else:
            p["targetPort"] = p["port"]
        spec["ports"] = [p]
    elif container_ports:
        if len(container_ports) == 1:
            cp = container_ports[0]
            spec["ports"] = [
                {
                    "port": cp,
                    "protocol": protocol,
                    "targetPort": int(inv.flag("target-port"))
                    if str(inv.flag("target-port") or "").isdigit()
                    else inv.flag("target-port") or cp,
                }
            ]
        else:
            spec["ports"] = [{"name": f"port-{i + 1}", "port": cp, "protocol": protocol, "targetPort": cp}
                             for i, cp in enumerate(container_ports)]
    else:
        raise KubectlError("error: couldn't find port via --port flag or introspection\n"
                           "See 'kubectl expose -h' for help and examples")
    if inv.flag("type"):
        spec["type"] = inv.flag("type")
    if inv.flag("cluster-ip"):
        spec["clusterIP"] = inv.flag("cluster-ip")
    if inv.flag("session-affinity"):
        spec["sessionAffinity"] = inv.flag("session-affinity")
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": svc_name, **({"labels": labels} if labels else {})},
        "spec": spec,
    }
    if s.state.get("Service", svc_name, s.namespace) is not None:
        raise KubectlError(f'Error from server (AlreadyExists): services "{svc_name}" already exists')
    apply_objects(s, svc)
    s.print(f"service/{svc_name} exposed")


def _introspect(obj: dict[str, Any]) -> tuple[dict[str, str] | None, dict[str, str], list[int]]:
    """(selector, labels, container ports) kubectl expose takes from the object."""
    kind = obj["kind"]
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    if kind == "Service":
        return (
            dict(spec.get("selector") or {}),
            dict(meta.get("labels") or {}),
            [p["port"] for p in spec.get("ports") or []],
        )
    if kind == "Pod":
        cs = spec.get("containers") or []
        labels = dict(meta.get("labels") or {})     # all of them, pod-template-hash included
        return labels, dict(labels), [p["containerPort"] for c in cs for p in c.get("ports") or []]
    sel = spec.get("selector") or {}
    if sel.get("matchExpressions"):
        return None, {}, []
    cs = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    return (dict(sel.get("matchLabels") or {}), dict(meta.get("labels") or {}),
            [p["containerPort"] for c in cs for p in c.get("ports") or []])
