"""Answers made of kubectl commands (the mock exam): read a cell of command lines as a shell
would, refuse what a grading process must not run, and replay the rest in a task's namespace.

An answer cell holds what the learner typed in a terminal, one command a line:

    kubectl expose deployment web --port=80 --target-port=8080
    k scale deploy web --replicas=3            # `k` is the exam's alias
    kubectl apply -f - <<EOF
    apiVersion: networking.k8s.io/v1
    ...
    EOF

Why a replay, and not a log of what the learner's kernel did: the score must come from
what the commands *do*, computed where no learner code ran. The autograder reads the cell's
text from the submitted notebook and runs every command again, in order, on a fresh
cluster prepared for the task; a printed output, an edited transcript or a claimed command
counts for nothing. The learner's own run of the cell does exactly the same (a fresh
namespace each time), so what they see is what is graded.

Limits, the same as for YAML answers plus the ones a command line needs: the whole answer
at most MAX_CHARS characters and MAX_COMMANDS commands; each object still goes through
validation and the sandbox (`ns.apply`); and a command is refused, with the reason, when
it would read the grader's files (`-f PATH`), reach another cluster or namespace
(`--kubeconfig`, `--context`, `-n other`, `-A`), open an editor or a shell, or chain
programs (`|`, `&&`, `;`, `>`). A refused or failing command changes nothing, as on a real
cluster; the replay goes on with the next one.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

MAX_CHARS = 64 * 1024
MAX_COMMANDS = 100
#: The verbs a task answer may use; the rest of kubectl is for looking around, not graded.
ALLOWED = {
    "get",
    "describe",
    "explain",
    "create",
    "expose",
    "patch",
    "label",
    "scale",
    "apply",
    "delete",
    "rollout",
    "set",
    "annotate",
    "wait",
}
#: Verbs for looking around (or that start pods and processes): refused with a pointer to
#: `%kubectl`, where they run against the namespace the answer cell left.
LOOKING = {"run", "exec", "port-forward", "logs", "top", "attach", "cp", "debug", "proxy"}
OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "&"}


@dataclass(frozen=True)
class Command:
    """One command line of an answer: its words (after `kubectl`/`k`), its stdin (a heredoc)
    and the line it starts on."""

    line: int
    words: tuple[str, ...]
    stdin: str | None = None
    refused: str | None = None

    @property
    def text(self) -> str:
        return "kubectl " + " ".join(shlex.quote(w) for w in self.words) + (" <<EOF" if self.stdin else "")


@dataclass
class Replay:
    """What a replay did: per command, its exit code and output (kubectl's words)."""

    ran: list[tuple[Command, int, str]] = field(default_factory=list)
    problem: str | None = None  # the whole answer could not be replayed (size, empty)

    @property
    def failed(self) -> list[tuple[Command, int, str]]:
        return [r for r in self.ran if r[1] != 0]

    def summary(self) -> str:
        """One sentence for the report's title: how many commands ran, which failed first."""
        n = len(self.ran)
        bad = self.failed
        text = f"{n} command{'s' if n != 1 else ''} replayed"
        if not bad:
            return text + ", all succeeded"
        cmd, _, out = bad[0]
        first = (out.strip().splitlines() or ["failed"])[0][:160]
        return f"{text}, {len(bad)} failed; line {cmd.line} `{_short(cmd.text)}`: {first}"

    def transcript(self) -> str:
        """What a terminal would have shown: each command, then its output."""
        lines = []
        for cmd, _, out in self.ran:
            lines.append(f"$ {cmd.text}")
            if out.strip():
                lines.append(out.rstrip("\n"))
        return "\n".join(lines)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) with backslash continuations joined, as a shell joins them."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = n
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        out.append((start, pending + raw))
        pending = ""
    if pending:
        out.append((start, pending))
    return out


def parse_commands(text: str) -> list[Command]:
    """The commands of an answer, in order. Heredocs (`<<EOF`, `<<'EOF'`, `<<-EOF`, and
    `cat <<EOF | kubectl ...`) become the command's stdin."""
    lines = _logical_lines(text)
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        n, line = lines[i]
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            words = shlex.split(line.strip().removeprefix("$ "), comments=True)
        except ValueError as exc:
            commands.append(Command(n, tuple(line.split()), refused=f"cannot read the line: {exc}"))
            continue
        if not words:
            continue
        words, delimiter = _heredoc(words)
        stdin = None
        if delimiter is not None:
            body = []
            while i < len(lines) and lines[i][1].strip() != delimiter:
                body.append(lines[i][1])
                i += 1
            i += 1  # the delimiter line
            stdin = "\n".join(body) + "\n"
        commands.append(_command(n, words, stdin))
    return commands


def _heredoc(words: list[str]) -> tuple[list[str], str | None]:
    """(the words without the heredoc, its delimiter); `cat <<EOF | kubectl ...` becomes
    `kubectl ...` with stdin."""
    for j, w in enumerate(words):
        if w.startswith("<<"):
            delim = w[2:].lstrip("-").strip("'\"") or (
                words[j + 1].strip("'\"") if j + 1 < len(words) else ""
            )
            skip = 1 if w[2:].lstrip("-") else 2
            rest = words[:j] + words[j + skip :]
            if rest[:1] == ["cat"] and "|" in rest:
                rest = rest[rest.index("|") + 1 :]
            return rest, delim or None
    return words, None


def _command(line: int, words: list[str], stdin: str | None) -> Command:
    if words[0] in ("kubectl", "k"):
        words = words[1:]
    if not words:
        return Command(line, (), stdin, "an empty kubectl command")
    found = [w for w in words if w in OPERATORS]
    if found:
        return Command(
            line,
            tuple(words),
            stdin,
            f"`{found[0]}`: only one kubectl command a line, "
            "without pipes, lists or redirections, is replayed",
        )
    return Command(line, tuple(words), stdin)


def refusal(cmd: Command, namespace: str) -> str | None:
    """Why the grading process will not run `cmd`, or None."""
    if cmd.refused:
        return cmd.refused
    verb = cmd.words[0] if cmd.words else ""
    if verb == "config":
        return ("`kubectl config` is not needed: each answer cell already works in its task's namespace, "
                "as if you had run `kubectl config set-context --current --namespace=...`")
    if verb in LOOKING:
        return (f"`kubectl {verb}` is for looking around: run it in a `%kubectl` cell; the answer cell "
                "holds the commands that change the task's state")
    from grader.kubectl.argv import parse
    from grader.kubectl.result import KubectlError

    try:
        inv = parse(list(cmd.words))
    except KubectlError as exc:
        return exc.message
    if inv.verb == "edit":
        return (
            "`kubectl edit` opens an editor, which an answer cell cannot: make the same change with "
            "`kubectl patch` or `kubectl apply -f - <<EOF`"
        )
    if inv.verb not in ALLOWED:
        return f"`kubectl {inv.verb}` is not replayed in an answer (verbs: {', '.join(sorted(ALLOWED))})"
    for f in inv.flag("filename") or []:
        if f != "-":
            return f"`-f {f}`: files are not graded, only this cell; paste the YAML in a heredoc: -f - <<EOF"
    for flag in ("kubeconfig", "context"):
        if inv.has(flag):
            return f"`--{flag}`: an answer works on the exam's cluster only"
    if inv.has("all-namespaces") and inv.verb not in ("get", "describe"):
        return "`-A`: a change must stay in the task's namespace"
    ns = inv.flag("namespace")
    if ns is not None and ns != namespace:
        return (
            f"`-n {ns}`: this task works in namespace {namespace} only (the grading cluster has no "
            f"namespace {ns})"
        )
    if (
        inv.args
        and inv.args[0].split("/")[0] in ("namespace", "namespaces", "ns")
        and inv.verb not in ("get", "describe")
    ):
        return "changing a namespace itself is not part of a task; work inside the task's namespace"
    return _sandbox_refusal(cmd, inv, namespace)


#: Fields the sandbox refuses in any object (grader.sandbox): a patch that names one is
#: refused before it reaches a live API server, which would accept some of them.
PATCH_FORBIDDEN = ("externalIPs", "hostNetwork", "hostPID", "hostIPC", "hostPath", "hostPort",
                   "privileged", "capabilities", "hostProcess", "procMount", "sysctls")


def _sandbox_refusal(cmd: Command, inv: Any, namespace: str) -> str | None:
    """The sandbox's verdict on what a command sends, checked here so that a live replay
    (the real kubectl, straight to the API server) obeys the limits YAML answers obey."""
    if cmd.stdin is not None and inv.verb in ("apply", "create"):
        from grader.manifests import ManifestError
        from grader.sandbox import load_sandboxed
        try:
            load_sandboxed(cmd.stdin, namespace, source="STDIN")
        except ManifestError as exc:
            return "; ".join(str(p) for p in exc.problems[:3])
    if inv.verb == "patch":
        body = str(inv.flag("patch") or "")
        named = [f for f in PATCH_FORBIDDEN if f in body]
        if named:
            return f"the patch sets {named[0]}, which the course's sandbox refuses in any answer"
    return None


def replay(ns: Any, text: str) -> Replay:
    """Run the answer's commands in `ns` (offline or live), in order; refused ones are
    reported as failed with the reason and change nothing."""
    from grader.kubectl import run

    out = Replay()
    if len(text) > MAX_CHARS:
        out.problem = f"the answer is {len(text):,} characters long; at most {MAX_CHARS:,} are graded"
        return out
    commands = parse_commands(text)
    if len(commands) > MAX_COMMANDS:
        out.problem = f"the answer has {len(commands)} commands; at most {MAX_COMMANDS} are replayed"
        return out
    for cmd in commands:
        why = refusal(cmd, ns.name)
        if why:
            out.ran.append((cmd, 1, f"refused: {why}"))
            continue
        result = run(ns, list(cmd.words), stdin=cmd.stdin)
        out.ran.append((cmd, result.code, result.output))
    return out
