"""The lab parts that practise what the notebooks only showed: session affinity (lab 1 part
7), `kubectl create ingress --rule` (lab 6 part 5) and the cluster's Corefile (lab 3 part 5).
The generic tests (test_lab_specs, test_wrong_answers, the nbgrader run) grade their
references, blanks, wrong answers and tampering; these pin what is particular to them: what
the Corefile policy refuses and why, that grading always puts the original Corefile back,
that a shared cluster makes the part "not gradable" (in the learner's report and in the
instructor's live-vs-offline report) rather than a zero, and that both backends report a
Service's affinity the same way."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.checks.core import Report
from grader.cluster.live_pods import service_info
from grader.cluster.offline import OfflineCluster
from grader.grading import live
from grader.labs import corefile_answer, get_lab
from grader.labs.lab3_corefile import REFERENCE, _with_rules
from grader.labs.spec import grade_part, prepare
from grader.model.corefile import DEFAULT_COREFILE

ROOT = Path(__file__).resolve().parents[2]
LAB3 = get_lab("lab3-discovery")
PART5 = LAB3.part("part5")


@pytest.mark.parametrize(("corefile", "why"), [
    (_with_rules("rewrite name suffix .shop.internal. .default.svc.cluster.local. answer auto"),
     "leads outside the lab"),
    (_with_rules("rewrite name exact catalog.shop.internal kubernetes.default.svc.cluster.local"),
     "leads outside the lab"),
    (_with_rules("rewrite name exact www.example.com catalog.lab3.svc.cluster.local"), "outside the lab's zone"),
    (_with_rules("rewrite name suffix shop.internal. lab3.svc.cluster.local. answer auto"),
     "must start with a dot"),                          # it would also catch myshop.internal
    (_with_rules("rewrite name substring shop lab3.svc.cluster.local"), "can catch any name"),
    (_with_rules("rewrite name prefix catalog. catalog.lab3.svc.cluster.local."), "can catch any name"),
    (_with_rules(r"rewrite name regex (.+)\.internal\.$ {1}.lab3.svc.cluster.local. answer auto"),
     "must end with the lab's zone"),
    (_with_rules(r"rewrite name regex ^www\.example\.com\.$|(.+)\.shop\.internal\.$ {1}.lab3.svc.cluster.local."),
     "alternation"),
    (DEFAULT_COREFILE + "shop.internal:53 {\n    forward . 8.8.8.8\n}\n", "forward only to /etc/resolv.conf"),
    (DEFAULT_COREFILE + "example.com:53 {\n    hosts {\n        10.96.0.10 www.example.com\n    }\n}\n",
     "outside the lab's zone"),
    (DEFAULT_COREFILE + "shop.internal:53 {\n    hosts {\n        203.0.113.7 db.shop.internal\n    }\n}\n",
     "outside the cluster"),
    (DEFAULT_COREFILE + "shop.internal:5353 {\n    hosts {\n        10.96.0.10 db.shop.internal\n    }\n}\n",
     "port 5353"),
    (_with_rules("template IN A shop.internal {\n      answer \"{{ .Name }} 60 IN A 10.96.0.1\"\n    }"),
     "is not modelled"),
    # without reload, CoreDNS would never load kind's file back after grading
    (DEFAULT_COREFILE.replace("    reload\n", ""), "drops reload"),
    (DEFAULT_COREFILE.replace("    ready\n", ""), "drops ready"),
    # reload checking once an hour would keep the original from coming back after grading
    (DEFAULT_COREFILE.replace("    reload\n", "    reload 1h\n"), "only every 3600 s"),
    (DEFAULT_COREFILE + "shop.internal:53 {\n    reload 31s\n    forward . /etc/resolv.conf\n}\n",
     "only every 31 s"),
    (DEFAULT_COREFILE.replace("    reload\n", "    reload 1s\n"), "at most every 2s"),   # CoreDNS refuses it
    ("shop.internal:53 {\n    reload\n    health\n    ready\n    hosts {\n        10.96.0.10 a.shop.internal\n"
     "    }\n}\n", "no root block"),
])
def test_the_policy_refuses_a_corefile_that_reaches_outside_the_lab(corefile: str, why: str) -> None:
    problem = corefile_answer.policy_problem(corefile, "lab3")
    assert problem is not None and why in problem, problem


@pytest.mark.parametrize("corefile", [
    REFERENCE,
    _with_rules(r"rewrite name regex (.+)\.shop\.internal\.$ {1}.lab3.svc.cluster.local. answer auto"),
    _with_rules("rewrite name exact catalog.shop.internal catalog.lab3.svc.cluster.local"),
    DEFAULT_COREFILE + "shop.internal:53 {\n    hosts {\n        10.96.0.10 dns.shop.internal\n    }\n}\n",
    DEFAULT_COREFILE + "shop.internal:53 {\n    forward . /etc/resolv.conf\n}\n",
    DEFAULT_COREFILE.replace("    reload\n", "    reload 2s\n"),          # the local cluster's own line
    DEFAULT_COREFILE.replace("    reload\n", "    reload 30s 15s\n"),     # kind's, written out
])
def test_the_policy_accepts_changes_to_the_lab_zone(corefile: str) -> None:
    assert corefile_answer.policy_problem(corefile, "lab3") is None


def test_the_reference_regex_form_scores_full_marks_too() -> None:
    answer = _with_rules(r"rewrite name regex (.+)\.shop\.internal\.$ {1}.lab3.svc.cluster.local. answer auto")
    report = grade_part(LAB3, PART5, answer, OfflineCluster(), include_hidden=True)
    assert report.score == PART5.points, str(report)


@pytest.mark.parametrize("answer", [REFERENCE, PART5.wrong_answers[0].answer, PART5.wrong_answers[2].answer,
                                    PART5.wrong_answers[4].answer])
def test_grading_puts_the_original_corefile_back(answer: str) -> None:
    cluster = OfflineCluster()
    before = cluster.corefile()
    grade_part(LAB3, PART5, answer, cluster, include_hidden=True)
    assert cluster.corefile() == before
    ns = cluster.namespace("lab3", fresh=False)
    assert ns.lookup("catalog.shop.internal", frm="client").rcode == "NXDOMAIN"     # the rewrite is gone


def test_the_original_comes_back_even_when_the_checks_blow_up() -> None:
    cluster = OfflineCluster()
    before = cluster.corefile()
    ns = prepare(LAB3, PART5, cluster)

    def report(why: str | None) -> Report:
        assert why is None and "shop.internal" in cluster.corefile()     # applied while the checks run
        raise RuntimeError("a check crashed")

    with pytest.raises(RuntimeError):
        corefile_answer.graded_with(ns, REFERENCE, report)
    assert cluster.corefile() == before


class LiveLike(OfflineCluster):
    """The model, reporting itself as live (so grading takes its live path)."""

    mode = "live"


class SharedCluster(LiveLike):
    """A live cluster that is not the course's own: the Corefile edit goes through the real
    LiveCluster.edit_corefile on a class context, which refuses before any API call."""

    def edit_corefile(self, text: str) -> str:
        from grader.cluster.live import LiveCluster
        return LiveCluster(context="class-cluster", api=object(), progress=False).edit_corefile(text)  # type: ignore[arg-type]


class StuckCoreDNS(LiveLike):
    """An edit that returns without error while CoreDNS goes on serving the old file: the
    marker lookup must catch it, so no check ever runs against the wrong Corefile."""

    def edit_corefile(self, text: str) -> str:
        return self.corefile()


def test_live_grading_scores_the_reference_and_restores_the_corefile() -> None:
    cluster = LiveLike()
    before = cluster.corefile()
    report = grade_part(LAB3, PART5, REFERENCE, cluster, include_hidden=True)
    assert report.score == PART5.points, str(report)
    assert cluster.corefile() == before


def test_coredns_that_never_serves_the_file_is_not_gradable_not_wrong() -> None:
    report = grade_part(LAB3, PART5, REFERENCE, StuckCoreDNS(), include_hidden=True)
    assert report.score == 0 and str(report.not_gradable).startswith("CoreDNS did not load the Corefile")


def test_on_a_shared_cluster_the_part_is_not_gradable_and_dns_is_untouched() -> None:
    cluster = SharedCluster()
    before = cluster.corefile()
    report = grade_part(LAB3, PART5, REFERENCE, cluster, include_hidden=True)
    assert report.score == 0 and cluster.corefile() == before
    assert str(report.not_gradable).startswith(corefile_answer.NOT_HERE)
    assert all(r.feedback.startswith("not gradable: not gradable on this cluster: edit_corefile changes DNS")
               and "graded offline" in r.feedback for r in report.results)


def test_the_instructors_live_report_lists_it_as_not_gradable_not_as_disagreements(tmp_path: Path) -> None:
    lab = LAB3.name
    dest = tmp_path / "labs" / "submitted" / "cleo" / lab
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "labs" / "source" / lab / f"{lab}.ipynb", dest / f"{lab}.ipynb")
    result = live.grade_live(tmp_path / "labs", [lab], cluster=SharedCluster())
    said = "\n".join(result.lines)
    assert f"cleo/{lab} part5: not gradable live, the offline grade stands (not gradable on this cluster" in said
    assert "'catalog.shop.internal" not in said                      # no disagreement line for its checks
    assert result.lines[-1].startswith("live vs offline: ") and ", 0 disagreements, 1 parts not gradable live" \
        in result.lines[-1]
    import csv
    with (tmp_path / "labs" / "reports" / "live-vs-offline.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["part"] == "part5"]
    assert rows and all(r["agree"] == "not gradable live" and r["live_earned"] == "" for r in rows)
    assert all(float(r["offline_earned"]) == float(r["points"]) for r in rows)      # the solution, offline


def test_both_backends_report_session_affinity_and_its_timeout() -> None:
    def stored(spec_extra: dict) -> dict:
        return {"metadata": {"name": "cart", "namespace": "lab1"},
                "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.20", "ports": [{"port": 80}], **spec_extra}}

    assert service_info(stored({"sessionAffinity": "None"})).session_affinity_timeout is None
    sticky = service_info(stored({"sessionAffinity": "ClientIP",
                                  "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 1800}}}))
    assert (sticky.session_affinity, sticky.session_affinity_timeout) == ("ClientIP", 1800)
    ns = OfflineCluster().namespace("lab1")
    ns.apply("apiVersion: v1\nkind: Service\nmetadata: {name: cart}\nspec:\n  selector: {app: x}\n"
             "  ports: [{port: 80}]\n  sessionAffinity: ClientIP\n")
    svc = ns.service("cart")
    assert svc is not None and (svc.session_affinity, svc.session_affinity_timeout) == ("ClientIP", 10800)


def test_a_client_without_affinity_is_told_why_it_moved() -> None:
    lab1 = get_lab("lab1-clusterip")
    part7 = lab1.part("part7")
    report = grade_part(lab1, part7, part7.wrong_answers[0].answer, OfflineCluster(), include_hidden=False)
    sticky = next(r for r in report.results if r.name == "requests from one client stay on one pod")
    assert not sticky.passed and "kube-proxy picks an endpoint for every connection" in sticky.feedback
