"""What the kubelet's probes would conclude about a pod of the offline cluster, decided from
what its containers serve (grader.model.workloads.LISTENING_RULE), never from a clock.

The rules, after the Kubernetes probe documentation (concepts/configuration/
liveness-readiness-startup-probes) and the kubelet's prober:

- A container without a `readinessProbe` is Ready once it runs; with one, it is Ready only
  while the probe succeeds. A pod is Ready when all its containers are.
- `httpGet` succeeds on a status 200-399: a netexec (or generic) server on that TCP port
  answers every path with 200 (Go's ServeMux sends unknown paths to "/"), so only the port
  and the scheme decide. `scheme: HTTPS` against netexec's plain HTTP fails the handshake.
- `tcpSocket` succeeds when something accepts a TCP connection on the port.
- `grpc` asks the gRPC health service, which netexec does not serve: it fails.
- `exec` runs a command the model cannot run: it is assumed to succeed (said so here).
- A port given by name is looked up among *that container's* ports (the kubelet's
  findPortByName); a name it does not declare makes the probe fail.
- A failing `startupProbe` keeps the container from ever counting as started: not Ready.
- A failing `livenessProbe` does not touch readiness: the kubelet restarts the container,
  and between restarts it runs and is Ready (no readiness probe says otherwise), so a
  Service keeps sending it traffic. The model shows that steady fact, not the restarts.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

__all__ = ["readiness_failure"]


def _resolve_port(port: Any, container: Mapping[str, Any]) -> int | None:
    """The probe's port as a number: an int as given, a name through the container's own
    ports; None when the name is not one of them."""
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    text = str(port)
    if text.isdigit():
        return int(text)
    for p in container.get("ports") or []:
        if p.get("name") == text and "containerPort" in p:
            return int(p["containerPort"])
    return None


def probe_failure(kind: str, probe: Mapping[str, Any], container: Mapping[str, Any],
                  servers: Mapping[tuple[int, str], str]) -> str | None:
    """Why `probe` (the container's `kind`, e.g. "readinessProbe") fails against what the
    pod serves (`servers`: (port, protocol) -> server kind), like the kubelet's event
    message; None when it succeeds."""
    name = container.get("name", "?")
    for handler in ("httpGet", "tcpSocket", "grpc"):
        spec = probe.get(handler)
        if not isinstance(spec, Mapping):
            continue
        raw = spec.get("port")
        port = _resolve_port(raw, container)
        if port is None:
            return (f"{kind} of container {name} failed: port {raw!r} is not a port the container "
                    "declares by that name")
        if (port, "TCP") not in servers:
            return f"{kind} of container {name} failed: connect: connection refused on port {port}"
        if handler == "grpc":
            return (f"{kind} of container {name} failed: the server on port {port} does not serve the "
                    "gRPC health service")
        if handler == "httpGet" and str(spec.get("scheme") or "HTTP").upper() == "HTTPS":
            return (f"{kind} of container {name} failed: port {port} serves plain HTTP, so the HTTPS "
                    "handshake fails")
        return None
    return None          # exec (or no handler): not something the model can run


def readiness_failure(containers: Iterable[Mapping[str, Any]],
                      servers: Mapping[tuple[int, str], str]) -> str | None:
    """Why the pod is not Ready by its probes (the first failing startup or readiness probe),
    or None when every container would be Ready. Liveness probes never count here (see the
    module docstring)."""
    for c in containers:
        for kind in ("startupProbe", "readinessProbe"):
            probe = c.get(kind)
            if isinstance(probe, Mapping):
                why = probe_failure(kind, probe, c, servers)
                if why:
                    return why
    return None
