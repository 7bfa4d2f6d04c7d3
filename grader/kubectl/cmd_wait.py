"""`kubectl wait --for=condition=Ready|Available ...` offline. The model has no time: a
condition either holds now (kubectl prints "condition met" at once) or never will without a
change from you (kubectl would time out, and so does this, at once)."""
from __future__ import annotations

from typing import Any

from grader.kubectl.cmd_get import select
from grader.kubectl.resources import NotModelled, parse_targets
from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session


def _condition(obj: dict[str, Any], name: str) -> bool:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type", "").lower() == name.lower():
            return c.get("status") == "True"
    if obj["kind"] == "Deployment" and name.lower() == "available":
        st, spec = obj.get("status") or {}, obj.get("spec") or {}
        return st.get("availableReplicas", 0) >= spec.get("replicas", 1)
    return False


def run(s: Session) -> None:
    cond = str(s.inv.flag("for") or "")
    if not cond.startswith("condition="):
        raise NotModelled(
            f"wait --for={cond}" if cond else "wait", "use --for=condition=Ready or condition=Available"
        )
    name = cond.split("=", 1)[1].split("=")[0]
    targets = parse_targets(s.inv.args)
    if not targets:
        raise KubectlError("error: resource(s) were provided, but no name was specified")
    found: list[tuple[Any, dict[str, Any]]] = []
    for kind, names in targets:
        if kind.kind not in ("Pod", "Deployment"):
            raise NotModelled(f"wait for {kind.resource}")
        if not names and not (s.inv.flag("selector") or s.inv.flag("all")):
            raise KubectlError("error: resource(s) were provided, but no name was specified")
        objs, errors = select(s, kind, names)
        if errors:
            raise KubectlError("\n".join(errors))
        found.extend((kind, o) for o in objs)
    if not found:
        raise KubectlError("error: no matching resources found")
    for kind, o in found:
        if _condition(o, name):
            s.print(f"{kind.singular}/{o['metadata']['name']} condition met")
        else:
            raise KubectlError(
                f"error: timed out waiting for the condition on {kind.resource}/{o['metadata']['name']}"
            )
