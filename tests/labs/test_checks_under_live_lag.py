"""Lab checks on a cluster that lags the way a real one does, which the offline model never
does. Scripted namespaces stand in for the cluster with the timings live grading met:

- lab 1's "clients still stick after a rollout": kube-proxy keeps sending a remembered
  client to an old pod for a moment (it answers while it terminates, then nothing does). The
  check waits for one of today's pods before it judges stickiness, and still fails a
  Service that reaches no pod at all (CI saw the TIMEOUT).
- the readiness parts (labs 1, 7 and 9): a pod without a readinessProbe is Ready a moment
  before the EndpointSlice controller lists it; read too early, it looks kept out of
  rotation and a missing probe passes (found by an audit of the live checks)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from grader.labs import lab1_affinity, lab1_readiness
from grader.observations import Endpoint, Outcome, PodRef, Status

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


class LaggingSlices:
    """A live namespace whose EndpointSlice for `service` lists nothing for the first
    `lag` reads, then every pod as ready (pods without a readiness probe)."""

    name = "lab1"
    cluster = type("LiveMode", (), {"mode": "live"})()

    def __init__(self, pods: list[str], lag: int) -> None:
        self._pods = pods
        self._lag = lag

    def pods(self) -> list[PodRef]:
        return [PodRef("lab1", n, f"10.244.0.{i + 10}", labels={"app": "web"}) for i, n in enumerate(self._pods)]

    def endpoints(self, service: str) -> list[Endpoint]:
        if self._lag > 0:
            self._lag -= 1
            return []
        return [Endpoint(p.ip, 8080, pod=f"lab1/{p.name}", ready=True) for p in self.pods()]


def test_a_ready_pod_the_slice_does_not_list_yet_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lab1_readiness.time, "sleep", lambda s: None)
    ns = LaggingSlices(["web-broken-1"], lag=2)
    assert lab1_readiness._listed_as_ready_as_they_are(ns, "web", "app=web", "web-broken") == {"web-broken-1"}


def test_slices_that_never_catch_up_are_read_as_they_are_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 1000))
    monkeypatch.setattr(lab1_readiness.time, "monotonic", lambda: float(next(clock)))
    monkeypatch.setattr(lab1_readiness.time, "sleep", lambda s: None)
    ns = LaggingSlices(["web-broken-1"], lag=10_000)
    assert lab1_readiness._listed_as_ready_as_they_are(ns, "web", "app=web", "web-broken", timeout=5.0) == set()
