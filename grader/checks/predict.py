"""Predict, then observe: the learner writes down what they expect before running a cell,
and these compare the prediction with what the cluster did, explaining each difference.

Ungraded in the course notebooks, but built from the same Verdicts and Reports as the labs,
so a learner meets the exact feedback style the autograder will use.
"""
from __future__ import annotations

from typing import Any, Mapping

from grader.checks.core import Report, Result, listing
from grader.checks.policy import reason_body
from grader.observations import Matrix

ALLOWED_WORDS = {"allowed", "allow", "yes", "ok", "y", ".", "true", "1"}
DENIED_WORDS = {"denied", "deny", "no", "blocked", "n", "x", "false", "0"}


def _blank(value: Any) -> bool:
    return value is None or value is ... or (isinstance(value, str) and not value.strip())


def prediction(what: str, predicted: Any, observed: Any, *, why: str = "") -> Report:
    """Compare one predicted value with the observed one. `why` is the explanation shown
    either way (the point of the exercise is the reason, not the guess)."""
    if _blank(predicted):
        fb = f"write your prediction first (observed: {observed!r})"
        return Report(f"Prediction: {what}", [Result(what, 0, 1, fb)])
    same = _norm(predicted) == _norm(observed)
    fb = (f"right: {observed!r}" if same else f"you predicted {predicted!r}, the cluster says {observed!r}")
    if why:
        fb += f". {why}"
    return Report(f"Prediction: {what}", [Result(what, 1 if same else 0, 1, fb)])


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted(_norm(v) for v in value)
    return value


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ALLOWED_WORDS:
        return True
    if text in DENIED_WORDS:
        return False
    return None


def predict_matrix(predicted: Mapping[tuple[str, str], Any], matrix: Matrix, port: int,
                   protocol: str = "TCP") -> Report:
    """Compare a predicted truth table, {("frontend", "backend"): "allowed", ...} keyed by
    pod names or by the prefix of a Deployment's pod names, with the observed matrix.
    Each wrong or missing cell is reported with the engine's reason."""
    pods = matrix.pods
    results: list[Result] = []

    def find(ref: str) -> list[str]:
        exact = [p.key for p in pods if p.key == ref or p.name == ref]
        return exact or [p.key for p in pods if p.name.startswith(ref + "-")]

    for (src_ref, dst_ref), guess in predicted.items():
        label = f"{src_ref} -> {dst_ref} on {port}/{protocol}"
        want = _as_bool(guess)
        srcs, dsts = find(src_ref), find(dst_ref)
        if not srcs or not dsts:
            missing = src_ref if not srcs else dst_ref
            results.append(Result(label, 0, 1, f"no pod called {missing!r}; pods: "
                                  + listing([p.name for p in pods], 8)))
            continue
        cell = matrix.lookup(srcs[0], dsts[0], port, protocol)
        if want is None:
            results.append(Result(label, 0, 1, "write 'allowed' or 'denied' before you look"))
            continue
        verdict = "allowed" if cell.allowed else "denied"
        why = reason_body(cell.reason)
        if want == cell.allowed:
            results.append(Result(label, 1, 1, f"right, {verdict}: {why}"))
        else:
            results.append(Result(label, 0, 1, f"you predicted {'allowed' if want else 'denied'}, it is "
                                  f"{verdict}: {why}"))
    return Report(f"Your predictions for port {port}/{protocol}", results)
