"""Live edit_corefile returns once every CoreDNS replica runs the new Corefile, as CoreDNS's
reload plugin logs it (plugin/reload/reload.go, v1.14.6: "Running configuration SHA512 = %x"
on each instance start, "Corefile changed but reload failed: %s" when the new file does not
load), and puts the old file back when CoreDNS refuses the new one."""
from __future__ import annotations

from typing import Any

import pytest

from grader.cluster.live import LiveCluster
from grader.cluster.live_corefile import CorefileNotLoaded, await_reload, reload_outcome, same_configuration
from grader.model.corefile import DEFAULT_COREFILE

STARTED = "[INFO] plugin/reload: Running configuration SHA512 = 3f9a\n"
REFUSED = ("[ERROR] plugin/reload: Corefile changed but reload failed: plugin/rewrite: "
           "/etc/coredns/Corefile:4 - Error during parsing: invalid rule\n")
NEW = DEFAULT_COREFILE.replace("    cache 30", "    cache 60")


def ready_pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class CoreDnsApi:
    """Two replicas whose logs gain lines as (fake) time passes; the ConfigMap as stored."""

    def __init__(self, clock: Clock, logs: dict[str, list[tuple[float, str]]]) -> None:
        self.clock, self.logs = clock, logs
        self.corefile = DEFAULT_COREFILE
        self.applied: list[str] = []
        self.asked: list[tuple[str, int]] = []

    def list_pods(self, namespace: str, label_selector: str | None = None) -> tuple[list, None]:
        assert (namespace, label_selector) == ("kube-system", "k8s-app=kube-dns")
        return [ready_pod(name) for name in self.logs], None

    def read_pod_log(self, namespace: str, name: str, since_seconds: int) -> str:
        self.asked.append((name, since_seconds))
        return "".join(line for at, line in self.logs[name]
                       if self.clock.now - since_seconds <= at <= self.clock.now)

    def get_object(self, obj: dict) -> dict:
        return {"data": {"Corefile": self.corefile}}

    def server_side_apply(self, obj: dict) -> dict:
        self.corefile = obj["data"]["Corefile"]
        self.applied.append(self.corefile)
        return obj


def test_the_wait_ends_when_every_replica_logged_a_new_start() -> None:
    clock = Clock()
    api = CoreDnsApi(clock, {"coredns-a": [(900.0, STARTED), (1020.0, STARTED)],
                             "coredns-b": [(900.0, STARTED), (1050.0, STARTED)]})
    await_reload(api, edited_at=1000.0, clock=clock, sleep=clock.sleep, progress=False)  # type: ignore[arg-type]
    assert 1050.0 <= clock.now < 1056.0          # not before replica b, not long after
    assert all(since >= clock.now - 1000.0 for _, since in api.asked[-1:])


def test_the_start_logged_before_the_edit_does_not_count() -> None:
    clock = Clock()
    api = CoreDnsApi(clock, {"coredns-a": [(990.0, STARTED)], "coredns-b": [(990.0, STARTED)]})
    with pytest.raises(TimeoutError, match="coredns-a, coredns-b"):
        await_reload(api, edited_at=1000.0, timeout=30, clock=clock, sleep=clock.sleep,  # type: ignore[arg-type]
                     progress=False)


def test_a_refused_corefile_is_reported_with_coredns_reason() -> None:
    clock = Clock()
    api = CoreDnsApi(clock, {"coredns-a": [(1010.0, REFUSED)], "coredns-b": []})
    with pytest.raises(CorefileNotLoaded, match="coredns-a .*keeps the old one: plugin/rewrite: "
                                                 ".*Corefile:4 - Error during parsing: invalid rule"):
        await_reload(api, edited_at=1000.0, clock=clock, sleep=clock.sleep, progress=False)  # type: ignore[arg-type]


def test_the_last_line_wins_between_a_refusal_and_a_later_start() -> None:
    assert reload_outcome(REFUSED + STARTED) == (True, None)
    assert reload_outcome(STARTED + REFUSED)[1] is not None
    assert reload_outcome("[INFO] plugin/reload: Corefile parse failed: Unexpected '}'\n") == (
        False, "Unexpected '}'")
    assert reload_outcome("[INFO] 10.244.0.5:43012 - 1 \"A IN web. udp\" NOERROR\n") == (False, None)


def test_comments_and_spacing_are_the_same_configuration() -> None:
    assert same_configuration(DEFAULT_COREFILE, DEFAULT_COREFILE.replace("    errors", "  errors   # log them"))
    assert not same_configuration(DEFAULT_COREFILE, NEW)


def live_cluster(api: CoreDnsApi, clock: Clock) -> LiveCluster:
    cluster = LiveCluster(context="svclab-local", api=api, say=lambda line: None,  # type: ignore[arg-type]
                          progress=False)
    return cluster


def test_edit_corefile_puts_the_old_file_back_when_coredns_refuses_the_new(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    api = CoreDnsApi(clock, {"coredns-a": [(1000.0, REFUSED)], "coredns-b": [(1000.0, REFUSED)]})
    monkeypatch.setattr("grader.cluster.live.time.time", clock)
    with pytest.raises(CorefileNotLoaded):
        live_cluster(api, clock).edit_corefile(NEW)
    assert api.applied == [NEW, DEFAULT_COREFILE]
    assert api.corefile == DEFAULT_COREFILE


def test_an_edit_of_comments_only_returns_without_waiting_for_a_reload_that_never_comes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    api = CoreDnsApi(clock, {"coredns-a": [], "coredns-b": []})
    monkeypatch.setattr("grader.cluster.live.time.time", clock)
    assert live_cluster(api, clock).edit_corefile(DEFAULT_COREFILE + "# a note\n") == DEFAULT_COREFILE
    assert api.asked == []


def test_edit_corefile_puts_the_old_file_back_when_no_replica_reloads_in_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    api = CoreDnsApi(clock, {"coredns-a": [], "coredns-b": [(1001.0, STARTED)]})
    monkeypatch.setattr("grader.cluster.live.time.time", clock)
    monkeypatch.setattr("grader.cluster.live.await_reload",
                        lambda api_, at, progress: await_reload(api_, at, timeout=30, clock=clock,
                                                                sleep=clock.sleep, progress=False))
    with pytest.raises(TimeoutError, match="coredns-a"):
        live_cluster(api, clock).edit_corefile(NEW)
    assert api.corefile == DEFAULT_COREFILE
