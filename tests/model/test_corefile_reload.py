"""The reload line read as CoreDNS's reload plugin reads it: Go durations, at most an interval
and a jitter, the 2 s and 1 s floors. A file CoreDNS would refuse must not load offline
either (live, CoreDNS keeps the old file and logs why)."""
from __future__ import annotations

import pytest

from grader.model.corefile import DEFAULT_COREFILE, CorefileError, parse
from grader.model.corefile_reload import go_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("2s", 2.0), ("30s", 30.0), ("1m", 60.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("300ms", 0.3),
    (".5s", 0.5), ("2us", 2e-6), ("2µs", 2e-6), ("0", 0.0), ("+5s", 5.0), ("-1m", -60.0),
])
def test_go_durations_read_as_go_reads_them(text: str, seconds: float) -> None:
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["2", "", "s", "2x", "banana", "1m 2s", "2S", "1.2.3s", "-", "0s5"])
def test_what_go_refuses_is_not_a_duration(text: str) -> None:
    assert go_duration(text) is None


def _with_reload(line: str) -> str:
    return DEFAULT_COREFILE.replace("    reload\n", f"    {line}\n", 1)


@pytest.mark.parametrize(("line", "interval"), [("reload", 30.0), ("reload 2s", 2.0), ("reload 10s 5s", 10.0),
                                                ("reload 1m 1s", 60.0), ("reload 4s 10s", 4.0)])
def test_the_interval_is_kept(line: str, interval: float) -> None:
    assert parse(_with_reload(line)).blocks[0].reload == interval


@pytest.mark.parametrize(("line", "why"), [
    ("reload 1s", "at most every 2s"),
    ("reload 1500ms", "at most every 2s"),
    ("reload 10s 500ms", "at least 1s"),
    ("reload 10", "'10' is not a duration"),
    ("reload 10s five", "jitter 'five' is not a duration"),
    ("reload 10s 5s 1s", "at most an interval and a jitter"),
])
def test_a_reload_line_coredns_refuses_does_not_load(line: str, why: str) -> None:
    with pytest.raises(CorefileError, match="line 21") as refused:
        parse(_with_reload(line))
    assert why in str(refused.value)


def test_a_block_without_reload_has_none() -> None:
    assert parse(".:53 {\n    forward . /etc/resolv.conf\n}\n").blocks[0].reload is None
