"""Commands that change an existing object: `patch` (strategic, merge, json), `label`
(with `--overwrite` and `key-`), `scale`, `rollout restart|status`.

Each reads the stored object, changes it as the API server would, and applies the result
through the namespace (validated, sandboxed, all or nothing). Pods made by a controller are
not stored in the model (it derives them from their template), so changing one directly is
answered honestly instead of pretending.
"""
from __future__ import annotations

import copy
from typing import Any

import yaml

from grader.kubectl.cmd_apply import apply_objects
from grader.kubectl.cmd_get import not_found
from grader.kubectl.resources import Kind, NotModelled, parse_targets
from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session

#: Lists that strategic merge patch merges by a key (x-kubernetes-patch-merge-key in the
#: OpenAPI of core/v1 and apps/v1); every other list is replaced, as in the API server.
MERGE_KEYS: dict[str, str | None] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "env": "name", "volumes": "name", "volumeMounts": "mountPath", "imagePullSecrets": "name",
    "ports": None,      # container ports merge on containerPort, Service ports on port
}


def _stored(s: Session, kind: Kind, name: str) -> dict[str, Any]:
    obj = s.state.get(kind.kind, name, s.namespace) if kind.kind != "Namespace" else None
    if obj is None:
        if kind.kind == "Pod" and any(p.name == name for p in s.state.pods_in(s.namespace)):
            owner = next(p.owner for p in s.state.pods_in(s.namespace) if p.name == name)
            raise NotModelled(
                f"{s.inv.verb} of pod {name}",
                f"{owner} owns it and the model derives that pod from its template: change the "
                f"template instead, e.g. kubectl patch {owner.split('/')[0].lower()} "
                f"{owner.split('/')[1]} ...",
            )
        raise KubectlError(not_found(kind, name))
    return obj


def _one_target(s: Session, verb: str) -> tuple[Kind, str]:
    targets = parse_targets(s.inv.args[:1] if "/" in (s.inv.args[:1] or [""])[0] else s.inv.args[:2])
    if not targets or len(targets[0][1]) != 1:
        raise KubectlError(
            f"error: you must specify a type and a name, e.g. `kubectl {verb} deployment web`\n"
            f"See 'kubectl {verb} -h' for help and examples"
        )
    return targets[0][0], targets[0][1][0]


# ------------------------------------------------------------------------- patch
def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: maps merge, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """Strategic merge patch for the fields the course touches: like a merge patch, but the
    keyed lists of MERGE_KEYS merge element by element."""
    if isinstance(patch, dict):
        if patch.get("$patch") == "replace":
            return {k: v for k, v in copy.deepcopy(patch).items() if k != "$patch"}
        out = copy.deepcopy(target) if isinstance(target, dict) else {}
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = strategic_merge(out.get(k), v, k)
        return out
    if isinstance(patch, list) and field in MERGE_KEYS and isinstance(target, list):
        key = MERGE_KEYS[field]
        if key is None:  # "ports"
            key = (
                "containerPort"
                if any("containerPort" in p for p in patch + target if isinstance(p, dict))
                else "port"
            )
        return _merge_keyed_list(target, patch, key)
    return copy.deepcopy(patch)


def _merge_keyed_list(server: list[Any], patch: list[Any], key: str) -> list[Any]:
    """A keyed list as apimachinery's strategic merge orders it: the patch's items (merged
    with the server's item of the same key) in patch order, the server-only items in server
    order, interleaved by their place in the server's list (mergeSortedSlice)."""
    def k(item: Any) -> Any:
        return item.get(key) if isinstance(item, dict) else item
    deleted = {k(i) for i in patch if isinstance(i, dict) and i.get("$patch") == "delete"}
    patch = [i for i in patch if not (isinstance(i, dict) and i.get("$patch") == "delete")]
    by_key = {k(i): i for i in server}
    right = [strategic_merge(by_key[k(i)], i, "") if k(i) in by_key else copy.deepcopy(i) for i in patch]
    patched = {k(i) for i in patch}
    left = [copy.deepcopy(i) for i in server if k(i) not in patched and k(i) not in deleted]
    order = [k(i) for i in server]
    out: list[Any] = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            out.append(right[j])
            j += 1
        elif j >= len(right):
            out.append(left[i])
            i += 1
        else:
            li = order.index(k(left[i])) if k(left[i]) in order else -1
            ri = order.index(k(right[j])) if k(right[j]) in order else -1
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 add/remove/replace/test (the operations `kubectl patch --type=json` uses)."""
    doc = copy.deepcopy(target)
    if not isinstance(ops, list):
        raise KubectlError("error: unable to parse the json patch: it must be a list of operations")
    for op in ops:
        path = [p.replace("~1", "/").replace("~0", "~") for p in str(op.get("path", "")).split("/")[1:]]
        parent = doc
        for part in path[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent.get(part)
            if parent is None:
                raise KubectlError(
                    "The request is invalid: the server rejected our request due to an error in our "
                    "request: "
                    f'doc is missing path: "{op.get("path")}"'
                )
        last = path[-1] if path else ""
        kind = op.get("op")
        if kind in ("add", "replace"):
            if isinstance(parent, list):
                if last == "-":
                    parent.append(op.get("value"))
                elif kind == "add":
                    parent.insert(int(last), op.get("value"))
                else:
                    parent[int(last)] = op.get("value")
            else:
                if kind == "replace" and last not in parent:
                    raise KubectlError(
                        "The request is invalid: the server rejected our request due to an error in our "
                        "request: "
                        f'doc is missing key: "{op.get("path")}"'
                    )
                parent[last] = op.get("value")
        elif kind == "remove":
            if isinstance(parent, list):
                del parent[int(last)]
            elif last in parent:
                del parent[last]
            else:
                raise KubectlError(
                    "The request is invalid: the server rejected our request due to an error in our "
                    "request: "
                    f'doc is missing path: "{op.get("path")}"'
                )
        else:
            raise KubectlError(f"error: the json patch operation {kind!r} is not modelled offline")
    return doc


def run_patch(s: Session) -> None:
    kind, name = _one_target(s, "patch")
    raw = s.inv.flag("patch")
    if raw is None:
        raise KubectlError("error: must specify -p to patch\nSee 'kubectl patch -h' for help and examples")
    try:
        patch = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise KubectlError(f"error: unable to parse \"{raw}\": {exc}") from None
    ptype = s.inv.flag("type") or "strategic"
    obj = _stored(s, kind, name)
    if ptype == "merge":
        new = merge_patch(obj, patch)
    elif ptype == "strategic":
        new = strategic_merge(obj, patch)
    elif ptype == "json":
        new = json_patch(obj, patch)
    else:
        raise KubectlError(f'error: --type must be one of [json merge strategic], not "{ptype}"')
    if new == obj:
        s.print(f"{kind.singular}/{name} patched (no change)")
        return
    apply_objects(s, new)
    s.print(f"{kind.singular}/{name} patched")


# ------------------------------------------------------------------------- label
def run_label(s: Session) -> None:
    args = s.inv.args
    changes = [a for a in args if "=" in a or a.endswith("-")]
    resources = [a for a in args if a not in changes]
    targets = parse_targets(resources)
    if not targets or not any(n for _, n in targets):
        raise KubectlError(
            "error: one or more resources must be specified as <resource> <name> or <resource>/<name>"
        )
    if not changes:
        raise KubectlError("error: at least one label update is required")
    sets: dict[str, str] = {}
    removes: list[str] = []
    for c in changes:
        if c.endswith("-") and "=" not in c:
            removes.append(c[:-1])
        else:
            k, _, v = c.partition("=")
            sets[k] = v
    for kind, names in targets:
        for name in names:
            if kind.kind == "Namespace":
                _label_namespace(s, name, sets, removes)
                continue
            obj = _stored(s, kind, name)
            labels = dict((obj.get("metadata") or {}).get("labels") or {})
            if not s.inv.flag("overwrite"):
                for k, v in sets.items():
                    if k in labels and labels[k] != v:
                        raise KubectlError(
                            f"error: '{k}' already has a value ({labels[k]}), and --overwrite is false"
                        )
            new_labels = {**labels, **sets}
            for k in removes:
                new_labels.pop(k, None)
            if new_labels == labels:
                s.print(f"{kind.singular}/{name} not labeled")
                continue
            new = copy.deepcopy(obj)
            new.setdefault("metadata", {})["labels"] = new_labels
            apply_objects(s, new)
            s.print(f"{kind.singular}/{name} labeled")


def _label_namespace(s: Session, name: str, sets: dict[str, str], removes: list[str]) -> None:
    info = s.state.namespaces.get(name)
    if info is None:
        raise KubectlError(f'Error from server (NotFound): namespaces "{name}" not found')
    labels = dict(info.labels)
    if not s.inv.flag("overwrite"):
        for k, v in sets.items():
            if k in labels and labels[k] != v:
                raise KubectlError(
                    f"error: '{k}' already has a value ({labels[k]}), and --overwrite is false"
                )
    new = {**labels, **sets}
    for k in removes:
        new.pop(k, None)
    if new == labels:
        s.print(f"namespace/{name} not labeled")
        return
    s.state.create_namespace(name, new)
    s.print(f"namespace/{name} labeled")


# ------------------------------------------------------------------------- scale / rollout
def run_scale(s: Session) -> None:
    kind, name = _one_target(s, "scale")
    if kind.kind not in ("Deployment", "StatefulSet", "ReplicaSet"):
        raise KubectlError(f'error: no scaler has been implemented for {{"{kind.group}" "{kind.kind}"}}')
    replicas = s.inv.flag("replicas")
    if replicas is None or not str(replicas).isdigit():
        raise KubectlError(
            "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
        )
    obj = _stored(s, kind, name)
    new = copy.deepcopy(obj)
    new.setdefault("spec", {})["replicas"] = int(replicas)
    if new != obj:
        apply_objects(s, new)
    s.print(f"{kind.singular}/{name} scaled")


def run_rollout(s: Session) -> None:
    if not s.inv.args:
        raise KubectlError("error: Required resource not specified.")
    sub, rest = s.inv.args[0], s.inv.args[1:]
    saved = s.inv.args
    s.inv.args = rest
    try:
        kind, name = _one_target(s, f"rollout {sub}")
    finally:
        s.inv.args = saved
    if kind.kind not in ("Deployment", "StatefulSet", "DaemonSet"):
        raise KubectlError(f"error: no {sub} has been implemented for {kind.kind}")
    obj = _stored(s, kind, name)
    if sub == "restart":
        import datetime as dt
        new = copy.deepcopy(obj)
        tmeta = new.setdefault("spec", {}).setdefault("template", {}).setdefault("metadata", {})
        stamp = dt.datetime.fromtimestamp(s.now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        tmeta.setdefault("annotations", {})["kubectl.kubernetes.io/restartedAt"] = stamp
        apply_objects(s, new)
        s.print(f"{kind.singular}/{name} restarted")
    elif sub == "status":
        owner = f"{kind.kind}/{name}"
        pods = [p for p in s.state.pods_in(s.namespace) if p.owner == owner]
        want = int((obj.get("spec") or {}).get("replicas", 1))
        ready = sum(1 for p in pods if p.ready)
        if ready >= want:
            s.print(f'{kind.kind.lower()} "{name}" successfully rolled out' if kind.kind == "Deployment"
                    else f"partitioned roll out complete: {want} new pods have been updated...")
        else:
            s.print(
                f'Waiting for deployment "{name}" rollout to finish: {ready} of {want} updated replicas '
                "are available..."
            )
            raise KubectlError("error: timed out waiting for the condition")
    else:
        raise NotModelled(f"rollout {sub}")
