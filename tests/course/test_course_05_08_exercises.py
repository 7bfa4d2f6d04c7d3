"""The exercises of course notebooks 05-08 work as a learner meets them: each starter
answer fails with feedback that names the planted mistake, the fixed answer passes, a blank
prediction asks for one, and the right prediction is the value the cluster shows.

The notebooks' code cells run in-process (offline), with a cell's text edited the way a
learner would edit it; IPython magics (%kubectl) are left out, the Python API is what is
checked. This keeps the taught values (4 queries for api.example.com, 8080 in a headless
SRV record...) under test even though notebooks are stored without outputs."""
from __future__ import annotations

import ast
import contextlib
import io
import json
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[2] / "course"


def run_notebook(name: str, edits: dict[str, str] | None = None) -> dict[str, object]:
    """Execute the notebook's code cells; return {report title: Report} for every cell
    whose last expression is a grader.checks Report."""
    reports: dict[str, object] = {}
    from IPython.display import display

    scope: dict[str, object] = {"display": display}      # a kernel's builtin, as in Jupyter
    unused = set(edits or {})
    for cell in json.loads((COURSE / name).read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        for old, new in (edits or {}).items():
            if old in src:
                unused.discard(old)
                src = src.replace(old, new)
        src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith("%"))
        tree = ast.parse(src)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(tree, name, "exec"), scope)  # noqa: S102 (the course's own cells)
            value = eval(compile(ast.Expression(last.value), name, "eval"), scope) if last else None
        if type(value).__name__ == "Report":
            reports[value.title] = value
    assert not unused, f"{name}: the notebook no longer contains {sorted(unused)}"
    return reports


def feedback(report) -> str:
    return " | ".join(r.feedback for r in report.results)


def failed_names(report) -> list[str]:
    return [r.name for r in report.failures]


# ------------------------------------------------------------------ 05 LoadBalancer
def test_05_starter_fails_on_type_port_and_address() -> None:
    report = run_notebook("05-loadbalancer.ipynb")["A LoadBalancer for store"]
    assert report.score == 0
    text = feedback(report)
    assert "of type NodePort, not LoadBalancer" in text
    assert "they listen on 8080" in text
    assert "only a LoadBalancer gets an external address" in text


def test_05_fixed_service_and_right_prediction_pass() -> None:
    reports = run_notebook("05-loadbalancer.ipynb", {
        "my_prediction = ...": "my_prediction = True",
        "  type: NodePort\n": "  type: LoadBalancer\n",
        "    targetPort: 80\n": "    targetPort: http\n",
    })
    assert reports["A LoadBalancer for store"].passed, reports["A LoadBalancer for store"]
    assert reports["Prediction: a LoadBalancer Service also gets a nodePort"].passed


def test_05_blank_prediction_asks_for_one() -> None:
    report = run_notebook("05-loadbalancer.ipynb")["Prediction: a LoadBalancer Service also gets a nodePort"]
    assert "write your prediction first" in feedback(report)


# ------------------------------------------------------------------ 06 ExternalName
def test_06_short_target_is_named_in_the_feedback() -> None:
    report = run_notebook("06-externalname.ipynb")["db for staging"]
    assert failed_names(report) == ["db resolves from app=shop", "app=shop reaches db:5432"]
    assert "CNAME to postgres.ext-data)" in feedback(report)


def test_06_fully_qualified_target_passes_and_there_are_no_endpoints() -> None:
    reports = run_notebook("06-externalname.ipynb", {
        "my_prediction = ...": "my_prediction = 0",
        "externalName: postgres.ext-data\n": "externalName: postgres.ext-data.svc.cluster.local\n",
    })
    assert reports["db for staging"].passed, reports["db for staging"]
    assert reports["Prediction: endpoints of an ExternalName Service"].passed


# ------------------------------------------------------------------ 07 headless + StatefulSet
FIXED_07 = {
    "  selector: {app: db}\n  ports:\n  - port: 5432\n":
        "  clusterIP: None\n  selector: {app: db}\n  ports:\n  - {name: postgres, port: 5432}\n",
    "serviceName: database": "serviceName: db",
}


def test_07_each_planted_mistake_fails_one_check() -> None:
    report = run_notebook("07-headless-and-statefulsets.ipynb")["A headless database"]
    assert report.score == 0
    assert "a headless Service answers with its pods' IPs" in feedback(report)
    only_service_name = run_notebook("07-headless-and-statefulsets.ipynb",
                                     {"serviceName: database": "serviceName: db"})["A headless database"]
    assert failed_names(only_service_name) == ["db resolves from app=client",
                                               "_postgres._tcp.db resolves from app=client"]


def test_07_fixed_answer_and_predictions_pass() -> None:
    reports = run_notebook("07-headless-and-statefulsets.ipynb", {
        **FIXED_07,
        "my_prediction = ...": "my_prediction = 3",
        "my_srv_prediction = ...": "my_srv_prediction = 8080",
    })
    assert reports["A headless database"].passed, reports["A headless database"]
    assert reports["Prediction: A records for a headless Service with 3 ready pods"].passed
    assert reports["Prediction: the port in a headless Service's SRV records"].passed


# ------------------------------------------------------------------ 08 DNS
def test_08_starter_misses_the_port_name_and_the_target_port() -> None:
    report = run_notebook("08-dns-deep-dive.ipynb")["checkout, found by name"]
    assert failed_names(report) == ["_https._tcp.checkout.dns-other resolves from app=client",
                                    "app=client reaches checkout.dns-other:443/hostname"]
    assert "listens on" in feedback(report) and "8443/TCP" in feedback(report)


def test_08_fixed_service_and_predictions_pass() -> None:
    reports = run_notebook("08-dns-deep-dive.ipynb", {
        "my_prediction = ...": "my_prediction = 4",
        'my_rcode_prediction = ...': 'my_rcode_prediction = "NOERROR"',
        "  - port: 443\n    targetPort: 8080\n": "  - name: https\n    port: 443\n    targetPort: https\n",
    })
    assert reports["checkout, found by name"].passed, reports["checkout, found by name"]
    assert reports["Prediction: queries for api.example.com"].passed
    assert reports["Prediction: rcode of AAAA web"].passed


@pytest.mark.parametrize("wrong", ["3", "1"])
def test_08_a_wrong_query_count_is_explained(wrong: str) -> None:
    reports = run_notebook("08-dns-deep-dive.ipynb", {"my_prediction = ...": f"my_prediction = {wrong}"})
    report = reports["Prediction: queries for api.example.com"]
    assert not report.passed and "the cluster says 4" in feedback(report)


# 08 · the Corefile (sources: coredns.io/plugins/rewrite "answers for rewrites of type exact
# are always rewritten"; coredns.io/plugins/hosts and plugin/hosts/hosts.go: no fallthrough,
# no such name -> SERVFAIL)
REGEX_DRAFT = r"rewrite name regex ^orders\.shop\.internal\.$ api.dns-other.svc.cluster.local"


def test_08_corefile_draft_fails_on_the_answer_name_and_so_cannot_connect() -> None:
    report = run_notebook("08-dns-deep-dive.ipynb")["orders.shop.internal, rewritten"]
    assert failed_names(report) == ["orders.shop.internal is answered under its own name",
                                    "app=api reaches orders.shop.internal:80/hostname"]
    assert "answer auto" in feedback(report) and "api.dns-other.svc.cluster.local" in feedback(report)


@pytest.mark.parametrize("fixed", [
    REGEX_DRAFT + " answer auto",
    "rewrite name exact orders.shop.internal api.dns-other.svc.cluster.local",
])
def test_08_corefile_fixed_rules_and_the_stub_prediction_pass(fixed: str) -> None:
    reports = run_notebook("08-dns-deep-dive.ipynb", {
        'my_stub_prediction = ...': 'my_stub_prediction = "SERVFAIL"', REGEX_DRAFT: fixed})
    assert reports["orders.shop.internal, rewritten"].passed, reports["orders.shop.internal, rewritten"]
    assert reports["Prediction: rcode of api.corp.example"].passed


@pytest.mark.parametrize("wrong", [
    "rewrite name suffix .shop.internal .dns-other.svc.cluster.local answer auto",   # orders.dns-other: no such Service
    "rewrite name exact orders.shop.internal api.svc.cluster.local",                 # not a Service name
])
def test_08_corefile_wrong_rules_fail(wrong: str) -> None:
    report = run_notebook("08-dns-deep-dive.ipynb", {REGEX_DRAFT: wrong})["orders.shop.internal, rewritten"]
    assert not report.passed
    assert "orders.shop.internal resolves from app=api" in failed_names(report)


def test_08_an_unmodelled_plugin_is_named_not_applied() -> None:
    report = run_notebook("08-dns-deep-dive.ipynb", {REGEX_DRAFT: "autopath @kubernetes"})[
        "orders.shop.internal, rewritten"]
    assert report.not_gradable and "autopath" in report.not_gradable and "line" in report.not_gradable
