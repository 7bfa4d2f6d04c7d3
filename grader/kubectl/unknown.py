"""What kubectl says to a command it does not have (`%kubectl gett pods`): cobra's
"unknown command" error with its suggestions, so a typo reads as a typo, not as something
the offline model lacks (grader.kubectl.offline.not_modelled is for real commands)."""
from __future__ import annotations

#: kubectl 1.37's commands in the order its suggestions come in (the order it registers
#: them; tests/kubectl/test_kubectl_unknown.py compares with the real binary).
KUBECTL_COMMANDS = (
    "create", "expose", "run", "set", "explain", "get", "edit", "delete", "rollout", "scale",
    "autoscale", "certificate", "cluster-info", "top", "cordon", "uncordon", "drain", "taint",
    "describe", "logs", "attach", "exec", "port-forward", "proxy", "cp", "auth", "debug",
    "events", "diff", "apply", "patch", "replace", "wait", "kustomize", "label", "annotate",
    "completion", "api-versions", "api-resources", "config", "kuberc", "plugin", "version",
)
#: Commands that exist but are never suggested (cobra leaves out help; options is hidden).
OTHER_COMMANDS = ("help", "options", "alpha")
SUGGESTION_DISTANCE = 2   # cobra's SuggestionsMinimumDistance


def is_kubectl_command(verb: str) -> bool:
    return verb in KUBECTL_COMMANDS or verb in OTHER_COMMANDS


def _distance(a: str, b: str) -> int:
    a, b = a.lower(), b.lower()
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def suggestions(verb: str) -> list[str]:
    """cobra's rule: within edit distance 2, or the typed word starts the command's name."""
    return [c for c in KUBECTL_COMMANDS
            if _distance(verb, c) <= SUGGESTION_DISTANCE or c.startswith(verb.lower())]


def unknown_command(verb: str) -> str:
    """kubectl's stderr, word for word: `error: unknown command "gett" for "kubectl"` and
    the "Did you mean this?" block when something is close."""
    text = f'error: unknown command "{verb}" for "kubectl"\n'
    near = suggestions(verb)
    if near:
        text += "\nDid you mean this?\n" + "".join(f"\t{c}\n" for c in near)
    return text
