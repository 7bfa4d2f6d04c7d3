"""How recent a change the live backend believes an object to carry: the stamps the API
server writes (creation, managedFields, the EndpointSlice controller's trigger time)."""
from __future__ import annotations

import datetime

import pytest

from grader.cluster.live_catch_up import TRIGGER_TIME, changed_within, last_changed, terminating

NOW = datetime.datetime(2026, 12, 6, 12, 0, 0, tzinfo=datetime.timezone.utc).timestamp()


def test_the_newest_stamp_counts_whoever_wrote_it() -> None:
    obj = {"metadata": {
        "creationTimestamp": "2026-12-06T10:00:00Z",
        "annotations": {TRIGGER_TIME: "2026-12-06T11:59:58.123456789Z"},    # Go writes 9 digits
        "managedFields": [{"manager": "kube-controller-manager", "time": "2026-12-06T11:59:50Z"}]}}
    assert last_changed(obj) == pytest.approx(NOW - 2 + 0.123456)
    assert changed_within([obj], 3.0, now=NOW)
    assert not changed_within([obj], 0.5, now=NOW + 5)


def test_whole_second_stamps_get_one_more_second() -> None:
    svc = {"metadata": {"creationTimestamp": "2026-12-06T11:59:57Z"}}
    assert changed_within([svc], 3.0, now=NOW)          # 3 s old, read up to a second early
    assert not changed_within([svc], 3.0, now=NOW + 1.5)


def test_what_carries_no_readable_stamp_never_counts_as_new() -> None:
    assert last_changed(None) is None and last_changed({}) is None
    broken = {"metadata": {"creationTimestamp": "yesterday", "managedFields": [{"time": None}, "junk"]}}
    assert last_changed(broken) is None
    assert not changed_within([None, {}, broken], 3600, now=NOW)


def test_a_pod_is_terminating_once_its_deletion_is_stamped() -> None:
    assert terminating({"metadata": {"deletionTimestamp": "2026-12-06T11:59:59Z"}})
    assert not terminating({"metadata": {}}) and not terminating(None)
