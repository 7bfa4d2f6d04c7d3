"""The kubectl command line, split the way kubectl (cobra + pflag) splits it.

`parse("get svc -n shop -o wide")` -> Invocation(verb="get", args=["svc"], flags={...}).
Flags may come anywhere, in every spelling pflag accepts (`-n shop`, `-nshop`, `-n=shop`,
`--namespace shop`, `--namespace=shop`, `-it` for `-i -t`); everything after a bare `--` is
the command of `exec` / `run`, untouched. An unknown flag is kubectl's own error.

Only the flags the course's commands use are known; that list is the offline mode's
contract. Live mode hands the original words to the real kubectl, which knows them all.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from grader.kubectl.result import KubectlError

BOOL, VALUE, MULTI = "bool", "value", "multi"

#: long name -> (shorthand or "", kind). `-l` means --selector except for `run`
#: (--labels), as in kubectl.
FLAGS: dict[str, tuple[str, str]] = {
    "namespace": ("n", VALUE), "all-namespaces": ("A", BOOL), "output": ("o", VALUE),
    "selector": ("l", VALUE), "show-labels": ("", BOOL), "filename": ("f", MULTI),
    "recursive": ("R", BOOL), "no-headers": ("", BOOL), "context": ("", VALUE),
    "kubeconfig": ("", VALUE), "container": ("c", VALUE), "stdin": ("i", BOOL),
    "tty": ("t", BOOL), "rm": ("", BOOL), "image": ("", VALUE), "restart": ("", VALUE),
    "port": ("", VALUE), "target-port": ("", VALUE), "type": ("", VALUE), "name": ("", VALUE),
    "replicas": ("", VALUE), "overwrite": ("", BOOL), "patch": ("p", VALUE),
    "protocol": ("", VALUE), "tcp": ("", MULTI), "dry-run": ("", VALUE), "labels": ("", VALUE),
    "command": ("", BOOL), "env": ("", MULTI), "all": ("", BOOL), "ignore-not-found": ("", BOOL),
    "wait": ("", VALUE), "timeout": ("", VALUE), "quiet": ("q", BOOL), "address": ("", MULTI),
    "cluster-ip": ("", VALUE), "session-affinity": ("", VALUE), "node-port": ("", VALUE),
    "external-name": ("", VALUE), "recursive-explain": ("", BOOL), "api-version": ("", VALUE),
    "grace-period": ("", VALUE), "force": ("", BOOL), "now": ("", BOOL), "watch": ("w", BOOL),
    "for": ("", VALUE), "class": ("", VALUE), "rule": ("", MULTI), "default-backend": ("", VALUE),
    "annotation": ("", MULTI), "clusterip": ("", VALUE),
    # port-forward's own (a Go duration), and global flags that change nothing the offline
    # model answers: how long to wait for the API server, and the log level
    "pod-running-timeout": ("", VALUE), "request-timeout": ("", VALUE), "v": ("v", VALUE),
}
_SHORT = {short: long for long, (short, _) in FLAGS.items() if short}


@dataclass
class Invocation:
    """One parsed command line."""

    verb: str
    args: list[str] = field(default_factory=list)
    flags: dict[str, Any] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)     # after `--`
    words: list[str] = field(default_factory=list)       # everything, as typed

    def flag(self, name: str, default: Any = None) -> Any:
        return self.flags.get(name, default)

    def has(self, name: str) -> bool:
        return name in self.flags


def split_words(line: str) -> list[str]:
    """Shell-like word splitting (quotes as in bash); a leading `kubectl` is dropped."""
    try:
        words = shlex.split(line, comments=False)
    except ValueError as exc:
        raise KubectlError(f"error: cannot parse the command line: {exc}") from None
    if words and words[0] == "kubectl":
        words = words[1:]
    return words


def _set(flags: dict[str, Any], name: str, value: Any, verb: str) -> None:
    kind = FLAGS[name][1]
    if kind == MULTI:
        flags.setdefault(name, []).append(value)
    else:
        flags[name] = value


def _unknown(flag: str, verb: str) -> KubectlError:
    return KubectlError(
        f"error: unknown flag: {flag}\nSee 'kubectl {verb or ''} --help' for usage.".replace("  ", " ")
    )


def parse(line: str | list[str]) -> Invocation:
    words = split_words(line) if isinstance(line, str) else list(line)
    verb = ""
    args: list[str] = []
    flags: dict[str, Any] = {}
    command: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        if w == "--":
            command = words[i:]
            break
        if w.startswith("--") and len(w) > 2:
            name, eq, value = w[2:].partition("=")
            if name not in FLAGS:
                raise _unknown(w.split("=")[0], verb)
            kind = FLAGS[name][1]
            if kind == BOOL:
                _set(flags, name, value.lower() != "false" if eq else True, verb)
            elif eq:
                _set(flags, name, value, verb)
            else:
                if i >= len(words):
                    raise KubectlError(f"error: flag needs an argument: --{name}")
                _set(flags, name, words[i], verb)
                i += 1
            continue
        if w.startswith("-") and len(w) > 1 and not _is_number(w):
            j = 1
            while j < len(w):
                ch = w[j]
                long = _SHORT.get(ch)
                if verb == "run" and ch == "l":
                    long = "labels"
                if long is None:
                    raise _unknown(f"-{ch}", verb) if j == 1 else KubectlError(
                        f"error: unknown shorthand flag: '{ch}' in {w}")
                kind = FLAGS[long][1]
                if kind == BOOL:
                    _set(flags, long, True, verb)
                    j += 1
                    continue
                rest = w[j + 1:]
                if rest.startswith("="):
                    rest = rest[1:]
                if rest:
                    _set(flags, long, rest, verb)
                else:
                    if i >= len(words):
                        raise KubectlError(f"error: flag needs an argument: '{ch}' in -{ch}")
                    _set(flags, long, words[i], verb)
                    i += 1
                break
            continue
        if not verb:
            verb = w
        else:
            args.append(w)
    return Invocation(verb=verb, args=args, flags=flags, command=command, words=words)


def _is_number(w: str) -> bool:
    return w[1:].isdigit()
