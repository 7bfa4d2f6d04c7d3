"""The observation types are the contract between backends, checks and other tools; the
matrix JSON in particular is a public format that must not drift."""
from __future__ import annotations

import json

import pytest

from grader.cluster.base import DnsAnswer, DnsRecord, Matrix, Outcome, PodRef, Reachability, Status


def _matrix() -> Matrix:
    a, b = PodRef("x", "a", "10.244.0.5"), PodRef("y", "b", "10.244.0.6")
    return Matrix(pods=[a, b], results=[
        Reachability("x/a", "y/b", 80, "TCP", True, "not isolated"),
        Reachability("y/b", "x/a", 80, "TCP", False, "no rule allows it"),
    ])


def test_matrix_json_has_exactly_the_documented_shape() -> None:
    data = json.loads(_matrix().to_json())
    assert set(data) == {"pods", "results"}
    assert data["pods"] == [{"name": "x/a", "ip": "10.244.0.5"}, {"name": "y/b", "ip": "10.244.0.6"}]
    assert data["results"][1] == {"from": "y/b", "to": "x/a", "port": 80, "protocol": "TCP",
                                  "allowed": False, "reason": "no rule allows it"}


def test_matrix_lookup_finds_one_pair_and_names_a_missing_one() -> None:
    m = _matrix()
    assert m.lookup("y/b", "x/a", 80).allowed is False
    with pytest.raises(KeyError, match="x/a -> x/a 81/TCP"):
        m.lookup("x/a", "x/a", 81)


def test_outcome_reads_like_a_sentence() -> None:
    denied = Outcome(Status.TIMEOUT, "backend:80", reason="ingress to lab/backend-1 denied")
    assert not denied.ok
    assert str(denied) == "backend:80: TIMEOUT (ingress to lab/backend-1 denied)"
    assert Outcome(Status.OK, "backend:80/hostname", pod="lab/backend-1").ok


def test_dns_answer_addresses_skip_non_address_records() -> None:
    ans = DnsAnswer("web", "A", "NOERROR", "web.lab.svc.cluster.local.", (
        DnsRecord("web.lab.svc.cluster.local.", "CNAME", "example.org."),
        DnsRecord("example.org.", "A", "192.0.2.1"),
    ))
    assert ans.ok and ans.addresses == ["192.0.2.1"]
    assert not DnsAnswer("nope", "A", "NXDOMAIN").ok
