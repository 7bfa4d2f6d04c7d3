"""Turn what the in-pod tools print into the Cluster API's observation types.

Live probes run upstream tools inside pods (`/agnhost connect`, `curl`, `dig`, all shipped by
the agnhost e2e image). This module builds their command lines and reads their exit codes and
output. It imports nothing from kubernetes, so every mapping is unit-tested with plain strings,
and the live backend stays a thin layer of API calls.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from grader.observations import DnsAnswer, DnsRecord, Status, is_ip
from grader.observations import parse_target as parse_target_parts

#: Marks the line curl appends after the body (`-w`), so the body can be split off reliably.
#: Seconds an exec may run beyond the timeout its command sets itself (agnhost connect
#: --timeout, curl --max-time, dig +time): the process's start in the container. It took
#: over 5 s with four mock exam tasks graded side by side on a loaded machine (2 cores).
EXEC_SLACK = 15.0
CURL_MARK = "__svclab_curl__"

#: Exit codes the shell reports when the executable is missing or not runnable.
_NOT_FOUND_CODES = (126, 127)


class ProbeToolMissing(RuntimeError):
    """The pod chosen with `frm` has no agnhost/curl/dig: probes need the course image."""


@dataclass(frozen=True)
class Target:
    """A parsed probe target "host:port[/path]"."""

    host: str
    port: int
    path: str | None = None

    @property
    def is_ip(self) -> bool:
        return is_ip(self.host)

    def hostport(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def url(self) -> str:
        return f"http://{self.hostport()}{self.path or '/'}"


def parse_target(target: str) -> Target:
    """grader.cluster.base.parse_target (the one parser both backends use) as a Target:
    "backend:80/hostname" -> Target("backend", 80, "/hostname"); "[fd00::1]:80" -> host
    "fd00::1"; an optional http:// is dropped; a bad port is a ValueError."""
    return Target(*parse_target_parts(target))


# --------------------------------------------------------------------------- agnhost connect

def connect_command(target: Target, protocol: str = "TCP", timeout: float = 1.0) -> list[str]:
    """`/agnhost connect` (test/images/agnhost/connect/connect.go): exit 0 when connected,
    otherwise exit 1 and one stderr line starting with TIMEOUT, REFUSED, DNS, OTHER or
    UNKNOWN (TCP prints bare "TIMEOUT"/"REFUSED"; UDP appends ": <error>"; SCTP reports a
    refusal as "OTHER: ... connection refused"). UDP needs a server that answers (agnhost
    netexec --udp-port does). --timeout must be > 0: SCTP treats 0 as "time out at once"."""
    return ["/agnhost", "connect", f"--timeout={_seconds(timeout)}",
            f"--protocol={protocol.lower()}", target.hostport()]


def service_ref(host: str, here: str) -> tuple[str, str] | None:
    """(namespace, name) when `host` is a Service name as cluster DNS resolves it from a pod
    in namespace `here`: "svc", "svc.ns", "svc.ns.svc[.cluster.local]". None for IPs and
    other names."""
    if is_ip(host):
        return None
    parts = host.rstrip(".").split(".")
    if len(parts) > 2 and parts[2] != "svc":
        return None
    return (parts[1] if len(parts) >= 2 else here), parts[0]


def namespace_of(host: str, here: str) -> str:
    """The namespace of the Service `host` names from `here` (`here` for anything else)."""
    ref = service_ref(host, here)
    return ref[0] if ref else here


def parse_connect(rc: int, stderr: str) -> tuple[Status, str]:
    """Map an agnhost connect result to (Status, reason)."""
    if rc == 0:
        return Status.OK, "connected"
    _raise_if_missing(rc, stderr, "/agnhost")
    text = stderr.strip()
    first = text.splitlines()[0] if text else ""
    if first.startswith("TIMEOUT"):
        return Status.TIMEOUT, "timed out: packets dropped (a NetworkPolicy, or no route)"
    if first.startswith("REFUSED"):
        return Status.REFUSED, "connection refused: nothing listens on that port"
    if first.startswith("DNS"):
        return Status.DNS_ERROR, f"name did not resolve ({first[4:].strip() or 'DNS error'})"
    lowered = text.lower()
    if "no route to host" in lowered or "host is unreachable" in lowered:
        return Status.TIMEOUT, f"no route to host ({first})"
    if "connection refused" in lowered:
        return Status.REFUSED, "connection refused: nothing listens on that port"
    if "i/o timeout" in lowered or "deadline exceeded" in lowered:
        return Status.TIMEOUT, "timed out: packets dropped (a NetworkPolicy, or no route)"
    raise RuntimeError(f"agnhost connect failed unexpectedly (exit {rc}): {text or 'no output'}")


# --------------------------------------------------------------------------- curl

def curl_command(target: Target, timeout: float = 1.0) -> list[str]:
    """curl for HTTP probes: body on stdout, then a marker line with status and peer IP."""
    secs = f"{float(timeout):g}"
    return ["curl", "-sS", "--connect-timeout", secs, "--max-time", secs,
            "-w", f"\n{CURL_MARK} %{{http_code}} %{{remote_ip}}", target.url()]


@dataclass(frozen=True)
class HttpResult:
    """What one curl probe saw: its status and reason, and the body, HTTP code and peer when it
    got an answer."""

    status: Status
    reason: str
    body: str | None = None
    http_code: int | None = None
    remote_ip: str | None = None


def parse_curl(rc: int, stdout: str, stderr: str) -> HttpResult:
    """Map a curl result (see `curl_command`) to an HttpResult.

    curl exit codes: 6 name not resolved, 7 could not connect, 28 timed out, 52 empty reply,
    56 connection reset. Any HTTP response at all is OK (the status code is in `reason`)."""
    body, code, ip = _split_curl_output(stdout)
    if rc == 0:
        return HttpResult(Status.OK, f"HTTP {code}" if code else "HTTP response", body, code, ip)
    _raise_if_missing(rc, stderr, "curl")
    err = stderr.strip().removeprefix("curl: ").strip()
    lowered = err.lower()
    if rc == 6 or "could not resolve" in lowered:
        return HttpResult(Status.DNS_ERROR, f"name did not resolve ({err})")
    if rc == 28 or "timed out" in lowered:
        return HttpResult(Status.TIMEOUT, "timed out: packets dropped (a NetworkPolicy, or no route)")
    if "no route to host" in lowered or "host is unreachable" in lowered:
        return HttpResult(Status.TIMEOUT, f"no route to host ({err})")
    if rc in (7, 52, 56) or "refused" in lowered:
        return HttpResult(Status.REFUSED, "connection refused: nothing listens on that port")
    raise RuntimeError(f"curl failed unexpectedly (exit {rc}): {err or 'no output'}")


def _split_curl_output(stdout: str) -> tuple[str | None, int | None, str | None]:
    head, mark, tail = stdout.rpartition(f"\n{CURL_MARK} ")
    if not mark:
        if stdout.startswith(f"{CURL_MARK} "):
            head, tail = "", stdout[len(CURL_MARK) + 1:]
        else:
            return (stdout or None), None, None
    parts = tail.split()
    code = int(parts[0]) if parts and parts[0].isdigit() and parts[0] != "000" else None
    ip = parts[1] if len(parts) > 1 else None
    return head, code, ip


# --------------------------------------------------------------------------- dig

def dig_command(name: str, rtype: str = "A", timeout: float = 2.0) -> list[str]:
    """dig with the pod's search list and ndots (+search; dig reads /etc/resolv.conf), full
    output (status + QUESTION + ANSWER sections). The name and type go in with -q and -t:
    bare, dig takes a name that is also a type or class mnemonic ("ns", "mx", "txt", "ch",
    "in", "any"...) for the type or class, as its manual warns."""
    secs = max(1, int(round(timeout)))
    # two tries, as a pod's own resolver retries (glibc: attempts 2): with one, a single UDP
    # datagram lost or late on a loaded node read as "no answer" (mock exam q13, live)
    return ["dig", "+search", f"+time={secs}", "+tries=2", "-t", rtype.upper(), "-q", name]


_STATUS_RE = re.compile(r"->>HEADER<<-.*\bstatus:\s*([A-Z]+)")
_QUESTION_RE = re.compile(r"^;\s*(\S+)\s+IN\s+(\S+)\s*$")


def parse_dig(query: str, rtype: str, rc: int, stdout: str, stderr: str = "") -> DnsAnswer:
    """Read dig's full output: header status, QUESTION (the name that answered after the
    search list) and ANSWER records. No header at all means no server answered: TIMEOUT.
    Names lose dig's trailing root dot, as the offline model writes them."""
    rtype = rtype.upper()
    _raise_if_missing(rc, stderr, "dig")
    status_match = _STATUS_RE.search(stdout)
    if not status_match:
        if "timed out" in stdout + stderr or "no servers could be reached" in stdout + stderr:
            return DnsAnswer(query, rtype, "TIMEOUT")
        raise RuntimeError(f"dig gave no answer (exit {rc}): {(stderr or stdout).strip()[:300]}")
    rcode = status_match.group(1)
    section = None
    asked: str | None = None
    records: list[DnsRecord] = []
    ttls: list[int] = []
    for line in stdout.splitlines():
        stripped = line.strip()
        if stripped.startswith(";; ") and stripped.endswith("SECTION:"):
            section = stripped[3:-len(" SECTION:")]
            continue
        if not stripped:
            section = None if section == "ANSWER" else section
            continue
        if section == "QUESTION":
            m = _QUESTION_RE.match(stripped)
            if m:
                asked = m.group(1)
        elif section == "ANSWER" and not stripped.startswith(";"):
            fields = stripped.split(None, 4)
            if len(fields) == 5 and fields[2] == "IN":
                value = " ".join(_no_dot(v) for v in fields[4].split())
                records.append(DnsRecord(_no_dot(fields[0]), fields[3], value))
                if fields[1].isdigit():
                    ttls.append(int(fields[1]))
    name = _no_dot(asked) if rcode == "NOERROR" and asked else None
    return DnsAnswer(query, rtype, rcode, name, tuple(records), ttl=min(ttls) if ttls else None)


# --------------------------------------------------------------------------- helpers

def _no_dot(name: str) -> str:
    return name[:-1] if name.endswith(".") and name != "." else name


def _seconds(timeout: float) -> str:
    """Go duration text: whole seconds when whole, else milliseconds. Never "0s": agnhost
    connect reads --timeout=0 as "no timeout" for TCP and "time out at once" for SCTP."""
    if timeout <= 0:
        raise ValueError(f"probe timeout must be positive, got {timeout!r}")
    if float(timeout).is_integer():
        return f"{int(timeout)}s"
    return f"{max(1, int(round(timeout * 1000)))}ms"


def _raise_if_missing(rc: int, stderr: str, tool: str) -> None:
    lowered = stderr.lower()
    if rc in _NOT_FOUND_CODES or "executable file not found" in lowered or "no such file" in lowered:
        from grader.kind.images import AGNHOST_IMAGE

        raise ProbeToolMissing(
            f"the probing pod has no {tool}: run probes from pods using the course image "
            f"{AGNHOST_IMAGE} (it ships /agnhost, curl and dig)"
        )
