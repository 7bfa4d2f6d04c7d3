"""Lab 1's "clients still stick after a rollout" on a cluster that lags the way a real one
does: kube-proxy keeps sending a remembered client to an old pod for a moment after the
rollout (it answers while it terminates, then nothing does). The check must wait for one of
today's pods to answer before it judges stickiness, and still fail a Service that reaches
no pod at all. A scripted namespace stands in for the cluster: these are the timings CI met,
which the offline model cannot produce."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from grader.labs import lab1_affinity
from grader.observations import Outcome, PodRef, Status

NEW = ("backend-new-a", "backend-new-b", "backend-new-c")


class LaggingNamespace:
    """A namespace whose first answers to `cart:80/hostname` are scripted; afterwards every
    request is answered by `sticky`. The rollout itself (apply, wait_ready) does nothing."""

    name = "lab1"

    def __init__(self, first: list[Outcome], sticky: str = NEW[0]) -> None:
        self._script: Iterator[Outcome] = iter(first)
        self._sticky = sticky
        self.requests = 0

    def apply(self, manifests: Any, *, source: str) -> None:
        pass

    def wait_ready(self) -> None:
        pass

    def pods(self) -> list[PodRef]:
        labels = {"app": "backend"}
        return [PodRef("lab1", name, f"10.244.0.{i + 10}", labels=labels) for i, name in enumerate(NEW)] + [
            PodRef("lab1", "client", "10.244.0.2", labels={"app": "client"})]

    def probe(self, target: str, frm: str, **_: Any) -> Outcome:
        self.requests += 1
        answer = next(self._script, None)
        return answer or Outcome(Status.OK, target, pod=f"lab1/{self._sticky}", body=self._sticky + "\n")


def _answered_by(pod: str) -> Outcome:
    return Outcome(Status.OK, "cart:80/hostname", pod=f"lab1/{pod}", body=pod + "\n")


def _timed_out() -> Outcome:
    return Outcome(Status.TIMEOUT, "cart:80/hostname", reason="timed out: packets dropped")


def test_an_old_pod_answering_then_vanishing_is_waited_out() -> None:
    # the remembered old pod answers while it terminates, then its address drops packets,
    # then kube-proxy has synced and a new pod answers from then on
    ns = LaggingNamespace([_answered_by("backend-old-x"), _answered_by("backend-old-x"), _timed_out(), _timed_out()])
    verdict = lab1_affinity.sticks_after_rollout().fn(ns)
    assert verdict.share == 1, verdict.feedback
    assert ns.requests == 4 + 1 + lab1_affinity.REQUESTS


def test_a_service_that_reaches_nothing_after_the_rollout_still_fails() -> None:
    ns = LaggingNamespace([_timed_out()] * 100)
    verdict = lab1_affinity.sticks_after_rollout().fn(ns)
    assert verdict.share == 0
    assert "TIMEOUT" in verdict.feedback
    assert ns.requests <= lab1_affinity.ROLLOUT_ATTEMPTS + 1


def test_no_endpoints_is_an_answer_and_ends_the_wait_at_once() -> None:
    empty = Outcome(Status.NO_ENDPOINTS, "cart:80/hostname", reason="Service cart has no ready endpoints")
    ns = LaggingNamespace([empty] * 100)
    verdict = lab1_affinity.sticks_after_rollout().fn(ns)
    assert verdict.share == 0
    assert "NO_ENDPOINTS" in verdict.feedback.upper().replace(" ", "_")
    assert ns.requests == 2


def test_a_client_that_moves_between_new_pods_still_fails() -> None:
    moving = [_answered_by(NEW[i % 3]) for i in range(1, 1 + lab1_affinity.REQUESTS)]
    ns = LaggingNamespace([_answered_by(NEW[0])] + moving)
    verdict = lab1_affinity.sticks_after_rollout().fn(ns)
    assert verdict.share == 0
    assert "reached 3 pods" in verdict.feedback
