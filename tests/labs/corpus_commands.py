"""The generated corpus for parts answered with kubectl commands (the mock exams, lab 2 part 4,
lab 6 part 5), the counterpart of corpus.py's YAML operators: mutants change one thing in one
command as a learner's slip would (a flag dropped or its value changed, a value of a patch
changed, a label typo, one command left out, the wrong namespace), or, for a heredoc
`kubectl apply -f - <<EOF`, apply corpus.py's YAML operators to the YAML inside; rewrites say
the same with other words (`k`, `-n` of the task's own namespace, `--flag value`, short
resource names) or the heredoc YAML rewritten as corpus.py rewrites YAML.

Operators are generic (no task's names are spelt here), so a new commands part gets its
corpus for free."""
from __future__ import annotations

import copy
import dataclasses
import json
import re
import shlex
from typing import Any, Iterator

import corpus as yaml_corpus

from grader.labs.spec import Lab, Part

#: A heredoc apply: the command line, the YAML, the terminator line.
HEREDOC = re.compile(r"(kubectl apply -f - <<EOF\n)(.*?\n)(EOF\n?)", re.S)
#: Flags whose value may also be written as the next word.
TWO_WORD_FLAGS = ("--name", "--port", "--target-port", "--type", "--replicas", "--external-name", "--tcp",
                  "--clusterip")


def _commands(text: str) -> list[str]:
    """The answer's command lines, backslash continuations joined."""
    return [ln.strip() for ln in text.replace("\\\n", " ").splitlines() if ln.strip()]


def _leaves(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, path + (i,))
    else:
        yield path, obj


def _changed(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value + 1
    if str(value).startswith("/"):                 # a JSON patch path: another key
        return str(value).rsplit("/", 1)[0] + "/app"
    return f"{value}x"


def _patch_mutants(data: Any) -> Iterator[tuple[str, Any]]:
    for path, value in _leaves(data):
        changed = _changed(value)
        if changed == value:
            continue
        d = copy.deepcopy(data)
        t = d
        for k in path[:-1]:
            t = t[k]
        t[path[-1]] = changed
        yield f"patch {'/'.join(map(str, path))} changed", d


def _rule_mutants(flag: str, value: str) -> Iterator[tuple[str, str]]:
    """`--rule=host/path=service:port`: the port, an exact path for a prefix, no host."""
    hostpath, backend = value.split("=", 1)
    service, port = backend.rsplit(":", 1)
    if port.isdigit():
        yield f"{flag} port {int(port) + 1}", f"{flag}={hostpath}={service}:{int(port) + 1}"
    if hostpath.endswith("*"):
        yield f"{flag} exact path", f"{flag}={hostpath.rstrip('*')}={backend}"
    if "/" in hostpath and not hostpath.startswith("/"):
        yield f"{flag} without its host", f"{flag}=/{hostpath.split('/', 1)[1]}={backend}"


def _word_mutants(words: list[str], i: int) -> Iterator[tuple[str, str | None]]:
    """(what changed, the new word or None to drop it) for word `i` of one command."""
    word = words[i]
    before = words[i - 1] if i else ""
    if word.startswith("--") and "=" in word:
        flag, value = word.split("=", 1)
        if flag == "--rule":
            yield from _rule_mutants(flag, value)
            return
        yield f"without {flag}", None
        if value.isdigit():
            yield f"{flag} {int(value) + 1}", f"{flag}={int(value) + 1}"
        elif flag == "--type":
            yield f"{flag} ClusterIP", f"{flag}=ClusterIP"
        else:
            yield f"{flag} typo", f"{flag}={value}x"
    elif before in ("-p", "--patch"):
        for what, data in _patch_mutants(json.loads(word)):
            yield what, json.dumps(data, separators=(",", ":"))
    elif before == "--replicas" and word.isdigit():
        yield "replicas - 1", str(int(word) - 1)
    elif len(words) > 3 and words[1] == "label" and i > 3 and "=" in word and not word.startswith("-"):
        key, value = word.split("=", 1)
        yield f"label {key} typo", f"{key}={value}x"


def _heredoc_part(part: Part, match: re.Match[str]) -> Part:
    return dataclasses.replace(part, reference=match.group(2), kind="manifests")


def command_mutants(lab: Lab, part: Part) -> Iterator[tuple[str, str]]:
    ref = part.reference
    heredoc = HEREDOC.search(ref)
    if heredoc:
        for name, docs in yaml_corpus.mutants(lab, _heredoc_part(part, heredoc)):
            yield f"heredoc: {name}", ref[:heredoc.start(2)] + docs + ref[heredoc.end(2):]
        return
    commands = _commands(ref)
    if len(commands) > 1:
        for i in range(len(commands)):
            yield f"without command {i + 1}", "\n".join(commands[:i] + commands[i + 1:]) + "\n"
    yield "in namespace default", "".join(f"{c} -n default\n" for c in commands)
    for ci, command in enumerate(commands):
        words = shlex.split(command)
        for wi in range(len(words)):
            for what, new in _word_mutants(words, wi):
                changed = words[:wi] + ([new] if new is not None else []) + words[wi + 1:]
                lines = commands[:ci] + [shlex.join(changed)] + commands[ci + 1:]
                yield f"command {ci + 1} word {wi + 1}: {what}", "\n".join(lines) + "\n"


def command_rewrites(lab: Lab, part: Part) -> Iterator[tuple[str, str]]:
    ref = part.reference
    yield "k for kubectl", re.sub(r"(?m)^kubectl ", "k ", ref)
    heredoc = HEREDOC.search(ref)
    if heredoc:
        yield "-n of the task's namespace", ref.replace("apply -f - <<EOF", f"apply -n {part.namespace or lab.namespace} -f - <<EOF")
        for name, docs in yaml_corpus.rewrites(lab, _heredoc_part(part, heredoc)):
            yield f"heredoc: {name}", ref[:heredoc.start(2)] + docs + ref[heredoc.end(2):]
        return
    commands = _commands(ref)
    yield "-n of the task's namespace", "".join(f"{c} -n {part.namespace or lab.namespace}\n" for c in commands)
    flags = "|".join(re.escape(f) for f in TWO_WORD_FLAGS)
    yield "--flag value", "".join(re.sub(rf"({flags})=(\S+)", r"\1 \2", c) + "\n" for c in commands)
    yield "short resource names", "".join(
        c.replace(" service ", " svc ").replace(" deployment ", " deploy ") + "\n" for c in commands)
