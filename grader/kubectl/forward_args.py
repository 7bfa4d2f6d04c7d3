"""A `kubectl port-forward` command line, read as kubectl reads it: the target
(`[TYPE/]NAME`, a bare name is a pod), each `[LOCAL:]REMOTE` port, `--address` and
`--pod-running-timeout`, with kubectl's own errors for what it refuses.

One reader for everyone who must understand the command: offline `%kubectl port-forward`
(grader.kubectl.portforward) runs what it reads, and lab 6 grades a learner's recorded
command with it, so a command the notebook accepted is never read differently by the grader.
The flags themselves are split by grader.kubectl.argv, like every other command's.

What kubectl checks only against the cluster (the Service has that port, the pod exists, a
named port resolves) is left to the caller, which has the objects.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from grader.kubectl.argv import Invocation
from grader.kubectl.resources import Kind, parse_targets
from grader.kubectl.result import KubectlError

#: kubectl's default for --pod-running-timeout (defaultPodPortForwardWaitTimeout), seconds.
DEFAULT_POD_RUNNING_TIMEOUT = 60.0
_USAGE = "\nSee 'kubectl port-forward -h' for help and examples"


@dataclass(frozen=True)
class PortSpec:
    """One `[LOCAL:]REMOTE` argument. `remote` is a number, or a port's name (after svc/NAME
    the name of a Service port, after a pod the name of a container port); `local` is None
    when only REMOTE was written (kubectl then listens on the same number, or on the number a
    named port resolves to) and 0 for `:REMOTE` (any free port)."""

    typed: str
    local: int | None
    remote: int | str


@dataclass(frozen=True)
class ForwardRequest:
    """What one `kubectl port-forward` line asks for, before the cluster is consulted."""

    target: str                  # "svc/cache"; a bare name reads as "pod/NAME"
    kind: Kind
    name: str
    ports: tuple[PortSpec, ...]
    addresses: tuple[str, ...]   # --address, comma lists and repeats flattened
    namespace: str | None        # -n/--namespace, None for the context's
    pod_running_timeout: float   # seconds


def read(inv: Invocation) -> ForwardRequest:
    """The request in a parsed `port-forward` invocation; KubectlError with kubectl's message
    for what kubectl refuses before it looks at the cluster, NotModelled (from the resource
    lookup) for a type kubectl knows and the offline model does not keep."""
    if len(inv.args) < 2:
        raise KubectlError("error: TYPE/NAME and list of ports are required for port-forward" + _USAGE)
    timeout = _pod_running_timeout(inv.flag("pod-running-timeout"))
    target = inv.args[0] if "/" in inv.args[0] else f"pod/{inv.args[0]}"
    (kind, names), = parse_targets([target])
    ports = tuple(_port(spec) for spec in inv.args[1:])
    addresses = tuple(a for value in inv.flag("address") or ["localhost"] for a in value.split(","))
    for address in addresses:
        _check_address(address)
    return ForwardRequest(target, kind, names[0], ports, addresses, inv.flag("namespace"), timeout)


def _uint16(text: str, which: str) -> int:
    """strconv.ParseUint(text, 10, 16), with client-go's message when it fails."""
    why = "invalid syntax" if not text.isascii() or not text.isdigit() else (
        "value out of range" if int(text) > 65535 else "")
    if why:
        raise KubectlError(f"error: error parsing {which} port '{text}': "
                           f'strconv.ParseUint: parsing "{text}": {why}')
    return int(text)


def _port(spec: str) -> PortSpec:
    """One `[LOCAL:]REMOTE`, parsed as client-go's port-forward parses it; a REMOTE that is
    not a number is a port name, which kubectl resolves against the target."""
    parts = spec.split(":")
    if len(parts) > 2:
        raise KubectlError(f"error: invalid port format '{spec}'")
    local_text, remote_text = parts if len(parts) == 2 else (None, parts[0])
    remote: int | str = remote_text
    if not remote_text or (remote_text.isascii() and remote_text.isdigit()):
        remote = _uint16(remote_text, "remote")
        if remote == 0:
            raise KubectlError("error: remote port must be > 0")
    local = None if local_text is None else _uint16(local_text or "0", "local")
    return PortSpec(spec, local, remote)


def _check_address(address: str) -> None:
    """--address takes `localhost` or IP addresses only (client-go's parseAddresses)."""
    if address == "localhost":
        return
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise KubectlError(f"error: {address} is not a valid IP") from None


#: Go's time.ParseDuration: an optionally signed sequence of decimal numbers, each with a unit.
_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3,
          "s": 1.0, "m": 60.0, "h": 3600.0}
_PIECE = re.compile(r"(\d+\.?\d*|\.\d+)([^\d.]*)")


def go_duration(text: str) -> float:
    """Seconds in a Go duration (`90s`, `1m30s`, `1.5h`, `0`); ValueError with Go's message."""
    body = text[1:] if text[:1] in "+-" else text
    sign = -1.0 if text.startswith("-") else 1.0
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    seconds, pos = 0.0, 0
    while pos < len(body):
        match = _PIECE.match(body, pos)
        if match is None:
            raise ValueError(f'time: invalid duration "{text}"')
        number, unit = match.groups()
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS:
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        seconds += float(number) * _UNITS[unit]
        pos = match.end()
    return sign * seconds


def _pod_running_timeout(value: str | None) -> float:
    """--pod-running-timeout: a Go duration (pflag refuses anything else), above zero."""
    if value is None:
        return DEFAULT_POD_RUNNING_TIMEOUT
    try:
        seconds = go_duration(value)
    except ValueError as exc:
        raise KubectlError(f'error: invalid argument "{value}" for "--pod-running-timeout" flag: {exc}\n'
                           "See 'kubectl port-forward --help' for usage.") from None
    if seconds <= 0:
        raise KubectlError("error: --pod-running-timeout must be higher than zero" + _USAGE)
    return seconds
