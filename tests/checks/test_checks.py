"""grader.checks: every sub-check runs and is reported, wrong answers get the sentence a
learner can act on, and nothing a check does can crash or dirty a test cell."""
from __future__ import annotations

import sys
import time
import warnings

import pytest

from grader import checks
from grader.cluster.offline import OfflineCluster
from grader.labs.workloads import netexec_workload, pause_pod

WORKLOADS = "---\n".join([
    netexec_workload("backend", {"app": "backend"}, replicas=3, container="web"),
    pause_pod("frontend", {"app": "frontend"}, container="c"),
])

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {app: backend}
  ports: [{port: 80, targetPort: http}]
"""

PART = [
    checks.endpoints_match("backend", "app=backend", port=8080, points=2),
    checks.reachable("backend:80/hostname", frm="app=frontend", answered_by="app=backend"),
    checks.resolves("backend", frm="app=frontend", to_service="backend"),
]


@pytest.fixture
def ns():
    n = OfflineCluster().namespace("checks")
    n.apply(WORKLOADS)
    return n


def test_a_right_answer_scores_everything(ns) -> None:
    report = checks.run(ns, PART, answer=SERVICE)
    assert report.score == report.points == 4
    assert report.passed and "every check passed" in report.summary()


def test_any_correct_form_scores_a_numeric_target_port_too(ns) -> None:
    report = checks.run(ns, PART, answer=SERVICE.replace("targetPort: http", "targetPort: 8080"))
    assert report.score == 4


def test_a_selector_typo_is_named_with_the_labels_that_exist(ns) -> None:
    report = checks.run(ns, PART, answer=SERVICE.replace("{app: backend}", "{app: back}"))
    first = report.results[0]
    assert first.earned == 0
    assert first.feedback.startswith("Service backend selects app=back, but no pod carries those labels")
    assert "app=backend" in first.feedback
    # DNS still works: the Service exists, so that check alone passes (every check reported)
    assert [r.passed for r in report.results] == [False, False, True]
    assert report.score == 1


def test_a_wrong_target_port_says_where_the_pods_listen(ns) -> None:
    report = checks.run(ns, PART, answer=SERVICE.replace("targetPort: http", "targetPort: 9090"))
    assert "on port 9090, but they listen on 8080" in report.results[0].feedback
    assert "REFUSED" in report.results[1].feedback


def test_invalid_yaml_is_not_gradable_for_every_check_never_a_traceback(ns) -> None:
    report = checks.run(ns, PART, answer="kind: Service\nmetadata: {name: x\n")
    assert report.score == 0
    assert all(r.feedback.startswith("not gradable: ") for r in report.results)
    assert "YAML syntax error" in report.results[0].feedback


def test_an_empty_answer_says_where_to_write(ns) -> None:
    report = checks.run(ns, PART, answer="   ")
    assert report.score == 0 and "YOUR ANSWER HERE" in report.results[0].feedback


def test_a_refused_object_is_not_gradable(ns) -> None:
    report = checks.run(ns, PART, answer=SERVICE.replace("port: 80,", "port: 80, nodePort: 80,"))
    assert report.score == 0 and "nodePort" in report.results[0].feedback


def test_a_check_that_raises_writes_to_stderr_or_warns_fails_quietly(ns, capsys) -> None:
    def noisy(_ns):
        print("library noise", file=sys.stderr)
        warnings.warn("deprecated thing", stacklevel=2)
        raise RuntimeError("boom\nsecond line")
    report = checks.run(ns, [checks.Check("noisy", noisy)])
    assert report.results[0].feedback == "could not be checked: RuntimeError: boom"
    assert capsys.readouterr().err == ""


def test_a_looping_check_fails_alone_within_its_time_limit(ns) -> None:
    def loop(_ns):
        while True:
            time.sleep(0.01)
    slow = checks.Check("loops", loop, time_limit=0.2)
    start = time.perf_counter()
    report = checks.run(ns, [slow, PART[2]], answer=SERVICE)
    assert time.perf_counter() - start < 5
    assert report.results[0].feedback == "took longer than 0.2 s, so it was stopped"
    assert report.results[1].passed


def test_a_check_returning_garbage_is_a_failed_result(ns) -> None:
    report = checks.run(ns, [checks.Check("bad", lambda _ns: True)])
    assert not report.results[0].passed and "not a Verdict" in report.results[0].feedback


def test_self_check_says_how_many_hidden_checks_remain(ns) -> None:
    report = checks.run(ns, PART, answer=SERVICE, hidden_pending=2)
    assert "every visible check passed; 2 hidden checks will also run" in report.summary()
    assert "every check passed" not in report.summary()


def test_no_endpoints_for_a_service_without_ready_pods(ns) -> None:
    ns.apply(SERVICE)
    ns.set_ready("app=backend", False)
    fb = checks.run(ns, [PART[0]]).results[0].feedback
    assert "none of them is Ready" in fb


def test_missing_service_is_named(ns) -> None:
    fb = checks.run(ns, [PART[0]]).results[0].feedback
    assert fb == "there is no Service named 'backend' in namespace checks"


def test_spreads_over_sees_every_replica(ns) -> None:
    ns.apply(SERVICE)
    report = checks.run(ns, [checks.spreads_over("backend:80/hostname", "app=frontend", "app=backend")])
    assert report.passed and "3 of 3 pods answered" in report.results[0].feedback


def test_matrix_partial_credit_is_the_share_of_right_cells(ns) -> None:
    rule = checks.rule({("app=frontend", "app=backend"): [8080]})
    open_report = checks.run(ns, [checks.matrix_matches(rule, ports=[8080])])
    # 4 pods = 16 cells; with no policy everything is allowed, and the rule allows
    # the 4 self cells + frontend -> 3 backends = 7
    assert open_report.score == pytest.approx(7 / 16)
    deny_ingress = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend-from-frontend}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
    ports: [{port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-closed}
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Ingress]
"""
    ns.apply(deny_ingress)
    report = checks.run(ns, [checks.matrix_matches(rule, ports=[8080])])
    assert report.score == 1 and "all 16 cells" in report.results[0].feedback


def test_matrix_feedback_names_a_wrong_cell_with_the_engine_reason(ns) -> None:
    rule = checks.rule({})            # expect everything denied between different pods
    report = checks.run(ns, [checks.matrix_matches(rule, ports=[8080])])
    fb = report.results[0].feedback
    assert fb.startswith("4 of 16 cells right; wrong: backend-")
    assert " -> frontend on 8080/TCP: should be denied, is allowed" in fb or "... and 6 more" in fb
    assert "no NetworkPolicy in checks selects" in fb


def test_prediction_compares_and_explains() -> None:
    right = checks.prediction("replicas", "3", 3 if False else "3", why="the Deployment says so")
    assert right.score == 1 and "the Deployment says so" in str(right)
    wrong = checks.prediction("status", "TIMEOUT", "REFUSED")
    assert wrong.score == 0 and "you predicted 'TIMEOUT'" in str(wrong)
    blank = checks.prediction("status", ..., "OK")
    assert blank.score == 0 and "write your prediction first" in str(blank)


def test_predict_matrix_by_deployment_prefix(ns) -> None:
    m = ns.matrix(ports=[8080])
    rep = checks.predict_matrix({("frontend", "backend"): "allowed", ("backend", "frontend"): "denied",
                                 ("nobody", "backend"): "allowed"}, m, 8080)
    marks = [r.passed for r in rep.results]
    assert marks == [True, False, False]
    assert "no pod called 'nobody'" in rep.results[2].feedback


def test_report_renders_html_with_escaped_feedback(ns) -> None:
    report = checks.run(ns, [checks.Check("<b>x</b>", lambda _ns: checks.failed("a < b"))])
    html = report._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "a &lt; b" in html
    assert report.to_dict()["results"][0] == {"name": "<b>x</b>", "earned": 0.0, "points": 1.0,
                                              "passed": False, "feedback": "a < b", "hidden": False}


def test_reason_body_keeps_what_explains_a_denied_cell() -> None:
    from grader.checks.policy import reason_body

    reason = ("Denied: a/x -> a/y on 80/TCP. a/x is not isolated for egress: no NetworkPolicy in a "
              "selects a/x. a/y is isolated for ingress by a/deny, and no rule of a/deny allows "
              "ingress from a/x on 80/TCP.")
    assert reason_body(reason) == ("a/y is isolated for ingress by a/deny, and no rule of a/deny "
                                   "allows ingress from a/x on 80/TCP.")


def test_a_dns_timeout_points_at_egress_policy(ns) -> None:
    ns.apply(SERVICE)
    ns.apply("""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-no-egress}
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Egress]
""")
    fb = checks.run(ns, [PART[2]]).results[0].feedback
    assert fb.startswith("A backend from app=frontend: expected NOERROR, got TIMEOUT")
    assert "allow UDP and TCP 53 to the kube-dns pods" in fb


PEERS = """
apiVersion: v1
kind: Service
metadata: {name: peers}
spec:
  clusterIP: None
  selector: {app: backend}
  publishNotReadyAddresses: true
  ports: [{port: 8080}]
"""


def _one_not_ready(ns) -> str:
    name = sorted(p.name for p in ns.pods() if p.labels.get("app") == "backend")[0]
    ns.set_ready(name, False)
    return name


def test_publishing_not_ready_pods_passes_the_include_not_ready_check(ns) -> None:
    _one_not_ready(ns)
    report = checks.run(ns, [checks.endpoints_match("peers", "app=backend", include_not_ready=True)],
                        answer=PEERS)
    assert report.passed, str(report)
    assert "exactly the 3 pods matching app=backend, ready or not" in report.results[0].feedback


def test_without_publish_not_ready_the_missing_pod_is_named_with_the_field_that_fixes_it(ns) -> None:
    down = _one_not_ready(ns)
    report = checks.run(ns, [checks.endpoints_match("peers", "app=backend", include_not_ready=True)],
                        answer=PEERS.replace("publishNotReadyAddresses: true", "publishNotReadyAddresses: false"))
    result = report.results[0]
    assert 0 < result.earned < 1
    assert f"misses {down}" in result.feedback
    assert f"{down} is not Ready, and only spec.publishNotReadyAddresses: true" in result.feedback


def test_the_ready_only_check_still_flags_a_published_not_ready_pod(ns) -> None:
    down = _one_not_ready(ns)
    report = checks.run(ns, [checks.endpoints_match("peers", "app=backend")], answer=PEERS)
    assert not report.passed
    assert f"also sends traffic to {down}" in report.results[0].feedback
    assert "publishNotReadyAddresses" not in report.results[0].feedback


def test_service_type_says_which_type_it_found(ns) -> None:
    ns.apply("apiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec:\n  type: ExternalName\n"
             "  externalName: db.example.com\n")
    right = checks.run(ns, [checks.service_type("db", "ExternalName")]).results[0]
    assert right.passed and right.name == "Service db is an ExternalName"
    wrong = checks.run(ns, [checks.service_type("db", "ClusterIP")]).results[0]
    assert wrong.feedback == "Service db is of type ExternalName, not ClusterIP"
