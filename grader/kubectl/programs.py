"""The programs a learner runs inside a pod (`kubectl exec ... -- PROG`, `kubectl run --rm -i
... -- PROG`), answered from the model's probes and DNS: what each prints and its exit code.

Formats follow the tools in the course's images: busybox `wget` and `nc` (busybox image),
curl 8, `nslookup` from bind's dnsutils (agnhost) or busybox's (busybox image), `cat` of
the files the kubelet writes (/etc/resolv.conf, /etc/hosts), `hostname`.
Anything else is reported as not modelled.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from grader.kubectl.resources import NotModelled
from grader.model.services import DNS_SERVICE_IP as DNS_SERVER
from grader.observations import Status


@dataclass
class Ran:
    """What a program run in a pod printed, and its exit code."""

    stdout: str = ""
    stderr: str = ""
    code: int = 0


def _url(url: str) -> tuple[str, int, str]:
    u = url if "://" in url else "http://" + url
    parts = urlsplit(u)
    if parts.scheme not in ("http", ""):
        raise NotModelled(f"-- {parts.scheme}://...", "the model answers plain HTTP only")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname or "", parts.port or 80, path


def _probe(ns: Any, pod: str, host: str, port: int, path: str | None) -> Any:
    target = f"{host}:{port}{path or ''}"
    return ns.probe(target, frm=pod)


def wget(ns: Any, pod: str, args: list[str]) -> Ran:
    # -T only bounds how long busybox waits; the model knows the outcome at once
    quiet, out, url = False, None, None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-q", "--quiet"):
            quiet = True
        elif a.startswith("-") and "O" in a and not a.startswith("--"):
            quiet = quiet or "q" in a
            rest = a.split("O", 1)[1]
            out = rest if rest else (args[i + 1] if i + 1 < len(args) else None)
            if not rest:
                i += 1
        elif a in ("-T", "--timeout"):
            i += 1
        elif a.startswith("--timeout="):
            pass
        elif a.startswith("-"):
            raise NotModelled(f"-- wget {a}")
        else:
            url = a
        i += 1
    if url is None:
        return Ran(stderr="BusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n\n"
                          "Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n", code=1)
    if out != "-" or not quiet:
        raise NotModelled("-- wget without -qO-", "use wget -qO- URL")
    host, port, path = _url(url)
    o = _probe(ns, pod, host, port, path)
    if o.status is Status.OK:
        return Ran(stdout=o.body or "")
    if o.status is Status.DNS_ERROR:
        return Ran(stderr=f"wget: bad address '{host}'\n", code=1)
    if o.status is Status.TIMEOUT:
        return Ran(stderr="wget: download timed out\n", code=1)
    return Ran(stderr=f"wget: can't connect to remote host ({o.ip}): Connection refused\n", code=1)


def curl(ns: Any, pod: str, args: list[str]) -> Ran:
    silent, show_errors, max_time, url = False, False, None, None
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and not a.startswith("--") and set(a[1:]) <= set("sSfL"):
            silent = silent or "s" in a
            show_errors = show_errors or "S" in a
        elif a in ("--silent",):
            silent = True
        elif a in ("--show-error",):
            show_errors = True
        elif a in ("-m", "--max-time", "--connect-timeout"):
            max_time = float(args[i + 1]) if i + 1 < len(args) else None
            i += 1
        elif a.startswith(("--max-time=", "--connect-timeout=")):
            max_time = float(a.split("=", 1)[1])
        elif a.startswith("-"):
            raise NotModelled(f"-- curl {a}")
        else:
            url = a
        i += 1
    if url is None:
        return Ran(stderr="curl: try 'curl --help' or 'curl --manual' for more information\n", code=2)
    host, port, path = _url(url)
    o = _probe(ns, pod, host, port, path)
    quiet = silent and not show_errors
    if o.status is Status.OK:
        return Ran(stdout=o.body or "")
    if o.status is Status.DNS_ERROR:
        return Ran(stderr="" if quiet else f"curl: (6) Could not resolve host: {host}\n", code=6)
    if o.status is Status.TIMEOUT:
        ms = int((max_time or 130) * 1000)
        msg = (
            f"curl: (28) Connection timed out after {ms + 1} milliseconds\n"
            if max_time
            else f"curl: (28) Failed to connect to {host} port {port} after {ms} ms: "
            "Could not connect to server\n"
        )
        return Ran(stderr="" if quiet else msg, code=28)
    return Ran(stderr="" if quiet else f"curl: (7) Failed to connect to {host} port {port} after 0 ms: "
                                       "Could not connect to server\n", code=7)


def nc(ns: Any, pod: str, args: list[str]) -> Ran:
    flags = "".join(a[1:] for a in args if a.startswith("-") and not a[1:].isdigit())
    rest = [a for a in args if not a.startswith("-")]
    if "w" in flags:
        # -w N takes a value: drop it from the positional arguments
        for j, a in enumerate(args):
            if a.startswith("-") and "w" in a and j + 1 < len(args) and args[j + 1] in rest:
                rest.remove(args[j + 1])
                break
    if "z" not in flags or len(rest) != 2 or not rest[1].isdigit():
        raise NotModelled("-- nc " + " ".join(args), "use nc -zv [-w N] HOST PORT")
    host, port = rest[0], int(rest[1])
    o = _probe(ns, pod, host, port, None)
    verbose = "v" in flags
    if o.status is Status.DNS_ERROR:
        return Ran(stderr=f"nc: bad address '{host}'\n", code=1)
    if o.status is Status.OK:
        return Ran(stderr=f"{host} ({o.ip}:{port}) open\n" if verbose else "")
    why = "Connection timed out" if o.status is Status.TIMEOUT else "Connection refused"
    return Ran(stderr=f"nc: {host} ({o.ip}:{port}): {why}\n", code=1)


def nslookup(ns: Any, pod: str, args: list[str], image: str) -> Ran:
    names = [a for a in args if not a.startswith("-")]
    if not names or len(names) > 1:
        raise NotModelled("-- nslookup " + " ".join(args), "use nslookup NAME")
    name = names[0]
    ans = ns.lookup(name, frm=pod, rtype="A")
    busybox = "busybox" in image
    head = (f"Server:\t\t{DNS_SERVER}\nAddress:\t{DNS_SERVER}:53\n\n" if busybox
            else f"Server:\t\t{DNS_SERVER}\nAddress:\t{DNS_SERVER}#53\n\n")
    if ans.rcode == "TIMEOUT":
        return Ran(stdout=";; connection timed out; no servers could be reached\n\n", code=1)
    if ans.rcode != "NOERROR":
        return Ran(stdout=head + f"** server can't find {name}: {ans.rcode}\n\n", code=1)
    body = ""
    for r in ans.records:
        if r.rtype == "CNAME":
            body += f"{r.name}\tcanonical name = {r.value}{'' if r.value.endswith('.') else '.'}\n"
    for r in ans.records:
        if r.rtype == "A":
            body += f"Name:\t{r.name.rstrip('.')}\nAddress: {r.value}\n"
    if not any(r.rtype == "A" for r in ans.records):
        target = next((r.value for r in ans.records if r.rtype == "CNAME"), name)
        return Ran(stdout=head + body + f"** server can't find {target.rstrip('.')}: NXDOMAIN\n\n", code=1)
    return Ran(stdout=head + body + "\n")


def hosts_file(pod: Any) -> str:
    """/etc/hosts as the kubelet writes it (ManagedHostsHeader + the pod's own line)."""
    fqdn = pod.hostname or pod.name
    line = f"{pod.ip}\t{fqdn}"
    if pod.hostname and pod.subdomain:
        line = f"{pod.ip}\t{pod.hostname}.{pod.subdomain}.{pod.namespace}.svc.cluster.local\t{pod.hostname}"
    return (
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
        f"{line}\n"
    )


def run_program(ns: Any, pod: Any, argv: list[str], image: str) -> Ran:
    """Run argv in `pod` (a model Pod record) of namespace `ns`."""
    if not argv:
        raise NotModelled("without a command")
    if argv[0] in ("sh", "/bin/sh", "bash", "/bin/bash") and len(argv) >= 3 and argv[1] == "-c":
        inner = shlex.split(argv[2])
        if any(t in ("|", "&&", ";", "||", ">") for t in inner):
            raise NotModelled("-- sh -c with pipelines or lists", "run one program per command")
        argv = inner
    prog = argv[0].rsplit("/", 1)[-1]
    args = argv[1:]
    if prog == "cat":
        files = {"/etc/resolv.conf": ns.resolv_conf(), "/etc/hosts": hosts_file(pod),
                 "/etc/hostname": (pod.hostname or pod.name) + "\n"}
        out = ""
        for f in args:
            if f not in files:
                raise NotModelled(
                    f"-- cat {f}", "the model knows /etc/resolv.conf, /etc/hosts and /etc/hostname"
                )
            out += files[f]
        return Ran(stdout=out)
    if prog == "hostname":
        return Ran(stdout=(pod.hostname or pod.name) + "\n")
    if prog in ("env", "printenv") and not args:
        # the declared environment the container started with (grader.model.pod_env) and
        # HOSTNAME; a real container also has PATH, KUBERNETES_* and Service link variables
        env = {"HOSTNAME": pod.hostname or pod.name, **next(iter(pod.env.values()), {})}
        return Ran(stdout="".join(f"{k}={v}\n" for k, v in env.items()))
    if prog == "wget":
        return wget(ns, pod.name, args)
    if prog == "curl":
        return curl(ns, pod.name, args)
    if prog in ("nc", "netcat"):
        return nc(ns, pod.name, args)
    if prog == "nslookup":
        return nslookup(ns, pod.name, args, image)
    raise NotModelled(f"-- {prog}", "the model runs cat, hostname, env, wget -qO-, curl, nc -zv and nslookup")
