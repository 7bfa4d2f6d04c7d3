"""Lab 9's access checks try the whole class of forbidden connections: one forbidden pair
opened, anywhere in the universe (inside the namespace, from another namespace, out of it),
is found and named; a pod started after the answer is part of the class too. Graded
through the same path as the autograder (grade_part on the offline cluster)."""
from __future__ import annotations

import pytest

from grader.cluster.offline import OfflineCluster
from grader.labs import get_lab
from grader.labs.lab9_access import allowed
from grader.labs.lab9_parts import POLICIES
from grader.labs.spec import grade_part

LAB = get_lab("lab9-capstone")


def _extra(name: str, target: str, direction: str, peer: str, port: int) -> str:
    """POLICIES plus one policy opening exactly one more path."""
    key = "from" if direction == "ingress" else "to"
    return POLICIES + f"""---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}}}
spec:
  podSelector: {{matchLabels: {target}}}
  policyTypes: [{direction.capitalize()}]
  {direction}:
  - {key}: [{peer}]
    ports: [{{port: {port}}}]
"""


def _result(answer: str, name: str) -> tuple[float, float, str]:
    report = grade_part(LAB, LAB.part("part3"), answer, OfflineCluster(say=lambda _: None), include_hidden=True)
    found = next(r for r in report.results if r.name.startswith(name))
    return found.earned, found.points, found.feedback


ONE_PAIR = [
    # the intruder of the office reaches one database pod on 5432, nothing else changes
    ("intruder-to-db-1", _extra("hole", "{statefulset.kubernetes.io/pod-name: db-1}", "ingress",
                                "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: lab9-office}}, "
                                "podSelector: {matchLabels: {app: intruder}}}", 5432),
     "lab9-office/app=intruder (intruder) reaches lab9/app=db (db-1) on 5432"),
    # db-0 may call out to the office's reports pod on 8080
    ("db-0-out", _extra("hole", "{statefulset.kubernetes.io/pod-name: db-0}", "egress",
                        "{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: lab9-office}}, "
                        "podSelector: {matchLabels: {app: reports}}}", 8080),
     "lab9/app=db (db-0) reaches lab9-office/app=reports (reports) on 8080"),
]


@pytest.mark.parametrize("name,answer,sentence", ONE_PAIR, ids=[c[0] for c in ONE_PAIR])
def test_one_forbidden_pair_across_namespaces_is_found_and_named(name: str, answer: str, sentence: str) -> None:
    earned, points, feedback = _result(answer, "across namespaces")
    assert earned == 0 and points > 0, feedback
    assert sentence in feedback
    assert feedback.startswith("1 connection(s) differ"), feedback


def test_one_forbidden_pair_inside_the_namespace_is_found_and_named() -> None:
    # toolbox -> db-1 on 5432: needs toolbox's egress and db-1's ingress
    answer = _extra("hole-in", "{statefulset.kubernetes.io/pod-name: db-1}", "ingress",
                    "{podSelector: {matchLabels: {app: toolbox}}}", 5432) + _extra(
        "hole-out", "{app: toolbox}", "egress", "{podSelector: {matchLabels: {app: db}}}", 5432)[len(POLICIES):]
    earned, _, feedback = _result(answer, "inside the namespace")
    assert earned == 0
    assert "lab9/app=toolbox (toolbox) reaches lab9/app=db (db-1) on 5432" in feedback
    assert "db-0" not in feedback.split("differ from the allow-list:")[1].split(". Allowed")[0]


def test_a_pod_started_after_the_answer_belongs_to_the_class() -> None:
    # a deny that lists today's apps: the pod started later (app=late) is not isolated
    answer = POLICIES.replace("""  name: default-deny
spec:
  podSelector: {}""", """  name: default-deny
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [api, db, toolbox]}]}""")
    earned, _, feedback = _result(answer, "across namespaces")
    assert earned == 0
    assert "(late)" in feedback


def test_the_reference_meets_the_allow_list_and_the_allow_list_opens_three_paths() -> None:
    earned, points, feedback = _result(POLICIES, "across namespaces")
    assert earned == points, feedback
    api, db, reports = {"app": "api"}, {"app": "db"}, {"app": "reports"}
    assert allowed("lab9", api, "lab9", db, 5432) and not allowed("lab9", db, "lab9", api, 5432)
    assert allowed("lab9-office", reports, "lab9", api, 8080)
    assert not allowed("lab9-office", reports, "lab9", api, 5432)
    assert not allowed("lab9-elsewhere", reports, "lab9", api, 8080)
    assert not allowed("lab9", api, "lab9-office", reports, 8080)
