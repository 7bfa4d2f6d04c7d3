"""`grader.connect()`: pick the live backend when a cluster answers, else the offline model.

Decides without importing the kubernetes client unless a candidate context exists (the
kubeconfig is read as plain YAML), so a JupyterHub without any cluster starts instantly.
Says which mode it chose, and why, in exactly one line on stdout (never stderr: nbgrader
scores a test cell 0 when it writes to stderr).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import yaml

from grader.k8s.wording import first_line
from grader.kind import CONTEXT_NAME

if TYPE_CHECKING:  # pragma: no cover
    from grader.cluster.base import Cluster

MODES = ("offline", "live")


class LiveClusterUnavailable(ConnectionError):
    """Live mode was asked for explicitly, but no cluster answers."""


def kubeconfig_paths(kubeconfig: str | None = None) -> list[Path]:
    """The files the kubernetes client would read: the argument, else $KUBECONFIG (a
    path list), else ~/.kube/config."""
    if kubeconfig:
        return [Path(kubeconfig).expanduser()]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [Path("~/.kube/config").expanduser()]


def kubeconfig_contexts(kubeconfig: str | None = None) -> list[str]:
    """Context names across the kubeconfig files; unreadable files count as empty."""
    names: list[str] = []
    for path in kubeconfig_paths(kubeconfig):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            continue
        for ctx in data.get("contexts") or [] if isinstance(data, dict) else []:
            if isinstance(ctx, dict) and ctx.get("name"):
                names.append(str(ctx["name"]))
    return names


def connect(mode: str | None = None, context: str | None = None, timeout: float = 2.0, *,
            kubeconfig: str | None = None, quiet: bool = False,
            say: Callable[[str], None] = print, nodes: int | None = None) -> "Cluster":
    """Live if the course context answers within `timeout`, else offline.

    SVCLAB_MODE=offline|live (or `mode=`) forces a mode; forcing live when nothing answers
    raises LiveClusterUnavailable with what to do. SVCLAB_CONTEXT (or `context=`) picks a
    kubeconfig context other than kind-svclab, e.g. a shared classroom cluster. `nodes`
    sizes the offline model (kind nodes, default: the course's kind config); a live
    cluster has the nodes it has."""
    mode = (mode or os.environ.get("SVCLAB_MODE") or "").strip().lower() or None
    if mode not in (None, *MODES):
        raise ValueError(f"unknown mode {mode!r}: use 'offline' or 'live' (or leave it unset)")
    explicit_context = context or os.environ.get("SVCLAB_CONTEXT") or None
    context = explicit_context or CONTEXT_NAME
    tell = (lambda line: None) if quiet else say

    if mode == "offline":
        tell("svclab: offline mode (SVCLAB_MODE=offline / mode='offline')")
        return _offline(nodes)

    live, why_not = _try_live(context, timeout, kubeconfig)
    if live is not None:
        tell(f"svclab: live mode (context '{context}', Kubernetes {why_not})")
        return live
    if mode == "live":
        raise LiveClusterUnavailable(
            f"live mode was requested but {why_not}. Start the course cluster with "
            f"`make cluster` (or point SVCLAB_CONTEXT at a cluster that answers), or unset "
            f"SVCLAB_MODE to fall back to offline mode.")
    tell(f"svclab: offline mode ({why_not}; run `make cluster` for live mode)")
    return _offline(nodes)


def _try_live(context: str, timeout: float, kubeconfig: str | None) -> tuple[Any, str]:
    """(LiveCluster, server version) when the context answers; else (None, why not)."""
    if context not in kubeconfig_contexts(kubeconfig):
        return None, f"no kubeconfig context '{context}'"
    try:
        from grader.cluster.live import LiveCluster

        cluster = LiveCluster(context=context, kubeconfig=kubeconfig)
        version = cluster.ping(timeout=timeout)
    except Exception as exc:  # any failure to reach it means: not live
        return None, f"context '{context}' did not answer within {timeout:g}s: {first_line(exc)[:160]}"
    return cluster, version


def _offline(nodes: int | None = None) -> "Cluster":
    from grader.cluster.offline import OfflineCluster

    return OfflineCluster(nodes=nodes)
