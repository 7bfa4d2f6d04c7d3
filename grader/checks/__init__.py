"""Verdicts with feedback, for lab test cells and the course's "check yourself" cells.

One library behind both, so a learner's self-check gives exactly the verdicts the
autograder gives. Checks observe what manifests *do* (endpoints, DNS answers, probe
outcomes, the reachability matrix) through the Cluster API, so they work in offline and
live mode alike, and any correct answer scores, however it is written.

    from grader import checks
    report = checks.run(ns, [
        checks.endpoints_match("backend", "app=backend", port=8080),
        checks.reachable("backend:80/hostname", frm="app=frontend", answered_by="app=backend"),
        checks.resolves("backend", frm="app=frontend", to_service="backend"),
    ], title="Part 1", answer=my_yaml)
    report          # a table: one line per check with its feedback sentence
    report.score    # a test cell's last expression: nbgrader's partial credit
"""
from __future__ import annotations

from grader.checks.core import (
    DEFAULT_TIME_LIMIT,
    Check,
    NotGradable,
    Report,
    Result,
    Verdict,
    apply_answer,
    check,
    failed,
    partial,
    passed,
    run,
)
from grader.checks.dns import answered_as_asked, resolver_queries, resolves
from grader.checks.http import redirects, route_accepted, routes_to, splits
from grader.checks.kube_proxy import dnats_to, keeps_clients_on_one_pod, node_port_leads_in
from grader.checks.policy import compare_matrix, matrix_matches, rule
from grader.checks.predict import predict_matrix, prediction
from grader.checks.services import (
    diagnose_service,
    endpoints_match,
    external,
    load_balancer_address,
    pods_matching,
    reachable,
    service_port,
    service_type,
    spreads_over,
)
from grader.checks.traffic import every_node_answers, keeps_client_address, source_ranges

__all__ = [
    "DEFAULT_TIME_LIMIT", "Check", "NotGradable", "Report", "Result", "Verdict",
    "answered_as_asked", "apply_answer", "check", "compare_matrix", "diagnose_service", "dnats_to",
    "endpoints_match", "every_node_answers", "external", "keeps_client_address",
    "keeps_clients_on_one_pod", "node_port_leads_in",
    "source_ranges",
    "failed", "load_balancer_address", "matrix_matches", "partial", "passed", "pods_matching",
    "predict_matrix", "prediction", "reachable", "resolver_queries", "resolves", "route_accepted",
    "redirects", "routes_to", "rule", "run", "service_port", "service_type", "splits", "spreads_over",
]
