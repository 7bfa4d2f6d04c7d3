"""Read kube-proxy's nftables table from a node of a live cluster.

The API server does not serve a node's packet rules: reading them needs a shell on the node,
which svclab has only on the course's own clusters:
- the local cluster (context svclab-local): each node is a network namespace on this
  machine, so `nft` runs there with nsenter, into the namespace of the node's kube-proxy;
- the kind cluster (context kind-svclab): each node is a container, so `docker exec <node>
  nft list table ip kube-proxy`. kind runs kube-proxy in iptables mode unless its config
  says `kubeProxyMode: nftables`, and then there is no such table: the error says so and
  what to run instead.
On any other cluster NodeRulesUnavailable says how an administrator would read them.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

from grader.k8s.nft import NodeRulesUnavailable
from grader.kind import CONTEXT_NAME, LOCAL_CONTEXT

LIST_TABLE = ("nft", "list", "table", "ip", "kube-proxy")
#: A runner: argv -> (exit code, stdout, stderr); tests replace it.
Runner = Callable[[list[str]], "tuple[int, str, str]"]


def _run(argv: list[str]) -> tuple[int, str, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", str(exc)
    return done.returncode, done.stdout, done.stderr


def kube_proxy_pid(node: str, proc: Path = Path("/proc")) -> int | None:
    """The pid of the kube-proxy serving `node` on this machine (`--hostname-override=<node>`)."""
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and os.path.basename(argv[0].decode(errors="replace")) == "kube-proxy" \
                and f"--hostname-override={node}".encode() in argv:
            return int(entry.name)
    return None


def read_table(context: str | None, node: str, *, run: Runner = _run,
               find_pid: Callable[[str], int | None] = kube_proxy_pid) -> str:
    """`nft list table ip kube-proxy` as printed on `node` of the cluster behind `context`."""
    if context == LOCAL_CONTEXT:
        pid = find_pid(node)
        if pid is None:
            raise NodeRulesUnavailable(f"no kube-proxy for node {node!r} runs on this machine: is the local "
                                       "cluster up (svclab cluster status --local)?")
        argv = ["nsenter", f"--target={pid}", "--net", *LIST_TABLE]
    elif context == CONTEXT_NAME:
        if shutil.which("docker") is None:
            raise NodeRulesUnavailable("reading kind's node rules needs the docker command")
        argv = ["docker", "exec", node, *LIST_TABLE]
    else:
        raise NodeRulesUnavailable(
            f"a node's packet rules are not served by the API server, and svclab reads them only on the "
            f"course's own clusters ({CONTEXT_NAME}, {LOCAL_CONTEXT}), not on context {context!r}; on a node "
            "of this cluster an administrator runs `nft list table ip kube-proxy` (nftables mode) or "
            "`iptables-save -t nat` (iptables mode)")
    code, out, err = run(argv)
    if code != 0:
        if "No such file or directory" in err or "does not exist" in err:
            raise NodeRulesUnavailable(
                f"node {node} has no nftables table ip kube-proxy: its kube-proxy does not run in nftables "
                "mode (kind's default is iptables: read those rules with `docker exec "
                f"{node} iptables-save -t nat`)")
        raise NodeRulesUnavailable(f"could not read the rules of node {node}: `{' '.join(argv)}` said: "
                                   f"{(err or out).strip()[:300]}")
    return out


__all__ = ["NodeRulesUnavailable", "kube_proxy_pid", "read_table"]
