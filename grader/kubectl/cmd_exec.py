"""`kubectl exec POD -- PROG...` and `kubectl run NAME --rm -i --image=IMG -- PROG...`:
a program in a pod, answered by grader.kubectl.programs.

`run` really creates the pod in the model (labels `run=NAME`, so NetworkPolicy treats it as
it would treat the real one), runs the program from it, and with `--rm` deletes it again.
"""
from __future__ import annotations

from typing import Any

from grader.kubectl import programs
from grader.kubectl.ages import observe
from grader.kubectl.cmd_apply import apply_objects
from grader.kubectl.resources import NotModelled
from grader.kubectl.result import KubectlError
from grader.kubectl.session import Session
from grader.kubectl.views import containers_of, pod_template


def _find_pod(s: Session, ref: str) -> Any:
    kind, _, name = ref.partition("/") if "/" in ref else ("pod", "", ref)
    pods = s.state.pods_in(s.namespace)
    if kind in ("pod", "pods", "po"):
        for p in pods:
            if p.name == name:
                return p
        raise KubectlError(f'Error from server (NotFound): pods "{name}" not found')
    if kind in ("deployment", "deploy", "deployments", "statefulset", "sts", "replicaset", "rs"):
        full = {
            "deploy": "Deployment",
            "deployment": "Deployment",
            "deployments": "Deployment",
            "statefulset": "StatefulSet",
            "sts": "StatefulSet",
            "replicaset": "ReplicaSet",
            "rs": "ReplicaSet",
        }[kind]
        if s.state.get(full, name, s.namespace) is None:
            raise KubectlError(f'Error from server (NotFound): {full.lower()}s.apps "{name}" not found')
        owned = sorted(
            (p for p in pods if p.owner == f"{full}/{name}" and not p.pending), key=lambda p: p.name
        )
        if not owned:
            raise KubectlError(f"error: cannot attach to {full.lower()}/{name}: no running pod")
        return owned[0]
    raise NotModelled(f"exec into a {kind}")


def _image(s: Session, pod: Any, container: str | None) -> str:
    cs = containers_of(pod_template(s.state, pod))
    if container:
        for c in cs:
            if c.get("name") == container:
                return str(c.get("image", ""))
        raise KubectlError(
            f"error: unable to upgrade connection: container {container} not found in pod {pod.name}"
        )
    return str(cs[0].get("image", "")) if cs else ""


def _run_in(s: Session, pod: Any, argv: list[str], image: str) -> programs.Ran:
    target = s.namespace_handle()
    try:
        return programs.run_program(target, pod, argv, image)
    except (LookupError, ValueError) as exc:
        raise KubectlError(f"error: {exc}") from None


def run_exec(s: Session) -> None:
    inv = s.inv
    if not inv.args:
        raise KubectlError("error: expected 'exec POD_NAME COMMAND [ARG1] [ARG2] ... [ARGN]'.\n"
                           "POD_NAME and COMMAND are required arguments for the exec command\n"
                           "See 'kubectl exec -h' for help and examples")
    if not inv.command:
        raise KubectlError("error: you must specify at least one command for the container")
    pod = _find_pod(s, inv.args[0])
    if pod.pending:
        cname = (containers_of(pod_template(s.state, pod)) or [{}])[0].get("name", "")
        raise KubectlError(f'error: unable to upgrade connection: container not found ("{cname}")')
    image = _image(s, pod, inv.flag("container"))
    if inv.flag("tty"):
        s.warn("Unable to use a TTY - input is not a terminal or the right kind of file")
    ran = _run_in(s, pod, inv.command, image)
    s.write(ran.stdout)
    if ran.stderr:
        s.warn(ran.stderr.rstrip("\n"))
    if ran.code:
        raise KubectlError(f"command terminated with exit code {ran.code}", code=ran.code)


def run_run(s: Session) -> None:
    inv = s.inv
    if not inv.args:
        raise KubectlError("error: NAME is required for run\nSee 'kubectl run -h' for help and examples")
    name = inv.args[0]
    image = inv.flag("image")
    if not image:
        raise KubectlError('error: required flag(s) "image" not set')
    attach = bool(inv.flag("stdin") or inv.flag("tty"))
    if inv.flag("rm") and not attach:
        raise KubectlError("error: --rm should only be used for attached containers")
    if s.state.get("Pod", name, s.namespace) is not None or any(
        p.name == name for p in s.state.pods_in(s.namespace)
    ):
        raise KubectlError(f'Error from server (AlreadyExists): pods "{name}" already exists')
    labels = {"run": name}
    if inv.flag("labels"):
        labels = dict(kv.split("=", 1) for kv in str(inv.flag("labels")).split(",") if "=" in kv)
    container: dict[str, Any] = {"name": name, "image": image}
    if inv.command:
        container["command" if inv.flag("command") else "args"] = list(inv.command)
    if inv.flag("port"):
        container["ports"] = [{"containerPort": int(inv.flag("port"))}]
    restart = inv.flag("restart") or "Always"
    pod_obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
               "spec": {"containers": [container], "restartPolicy": restart}}
    apply_objects(s, pod_obj)
    if not attach:
        s.print(f"pod/{name} created")
        return
    if inv.flag("tty"):
        s.warn("Unable to use a TTY - input is not a terminal or the right kind of file")
    pod = next(p for p in s.state.pods_in(s.namespace) if p.name == name)
    try:
        if pod.pending:
            raise KubectlError("error: timed out waiting for the condition")
        if not inv.command:
            raise NotModelled("run -i without a command", "the model runs only the programs it knows")
        ran = _run_in(s, pod, inv.command, image)
    finally:
        if inv.flag("rm"):
            s.state.delete("Pod", name, s.namespace)
            observe(s.state, s.ages)
    s.write(ran.stdout)
    if ran.stderr:
        s.warn(ran.stderr.rstrip("\n"))
    if inv.flag("rm"):
        s.print(f'pod "{name}" deleted from {s.namespace} namespace')
    # kubectl waits for the exit code only when the pod will not restart (run.go)
    if ran.code and restart in ("Never", "OnFailure"):
        raise KubectlError(f"pod {s.namespace}/{name} terminated (Error)", code=ran.code)
