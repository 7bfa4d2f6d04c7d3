"""Labs that grade HTTP routing (through an Ingress or a Gateway) by which pod answered.
Offline the model knows; live, the backend can only read it from the response's body
(grader.cluster.live: the body must be a pod's name). So every answer such a check reads must
carry the answering pod's name in its body, or the same check that passes offline fails on
every real cluster. agnhost `serve-hostname` (lab 6's apps) names itself on every path;
netexec only on `/hostname`."""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from grader.cluster.offline import OfflineCluster
from grader.labs import all_labs, get_lab
from grader.labs.spec import Lab, grade_lab
from grader.model import http_api
from grader.observations import HttpResponse


def _answers_read(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> tuple[list[HttpResponse], float]:
    """Every HTTP response the reference solution's grading reads offline, and its score."""
    seen: list[HttpResponse] = []
    real = http_api.http_request

    def recording(*args: Any, **kwargs: Any) -> HttpResponse:
        resp = real(*args, **kwargs)
        seen.append(resp)
        return resp

    monkeypatch.setattr(http_api, "http_request", recording)
    reports = grade_lab(lab, lab.references(), OfflineCluster)
    return seen, sum(r.earned for rep in reports.values() for r in rep.results)


def _unnamed(responses: list[HttpResponse]) -> list[str]:
    """The answers from a pod whose body is not that pod's name (what live cannot attribute)."""
    return [f"{r.target}: {r.pod} answered {r.body!r}" for r in responses
            if r.code == 200 and r.pod and (r.body or "").strip() != r.pod.split("/", 1)[-1]]


def test_every_answer_lab6_reads_names_the_pod_that_gave_it(monkeypatch: pytest.MonkeyPatch) -> None:
    lab = get_lab("lab6-ingress")
    responses, score = _answers_read(lab, monkeypatch)
    from_pods = [r for r in responses if r.code == 200 and r.pod]
    assert score == pytest.approx(sum(p.points for p in lab.parts))
    # the canary alone sends 200 requests; every part's routing reads pods
    assert len(from_pods) > 200 and {r.target.split()[1].split("/")[2] for r in from_pods} >= {
        "shop.example", "blog.example"}
    assert _unnamed(responses) == []


@pytest.mark.parametrize("name", [lab.name for lab in all_labs() if lab.name != "lab6-ingress"])
def test_every_other_lab_reads_only_named_answers(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    responses, _ = _answers_read(get_lab(name), monkeypatch)
    assert _unnamed(responses) == []


def test_the_same_lab_on_netexec_backends_would_not_be_gradable_live(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: netexec answers `/`, `/api/items` ... with its clock, so the check above
    catches a lab whose backends do not name themselves."""
    lab = get_lab("lab6-ingress")
    netexec = lab.workloads.replace("[serve-hostname, --port=8080]", "[netexec, --http-port=8080]")
    assert netexec != lab.workloads
    responses, _ = _answers_read(dataclasses.replace(lab, workloads=netexec), monkeypatch)
    unnamed = _unnamed(responses)
    assert unnamed and all("NOW: " in line for line in unnamed)
