"""Live grading (grader.grading.live): the same checks on a live cluster, every verdict
compared with the offline grade, disagreements reported with both sentences.

No real cluster here: the "live" cluster is the offline model under mode "live" (so the
enforcement canary really runs), and a cluster that ignores NetworkPolicy is simulated at
the canary's boundary."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from grader.cluster.offline import OfflineCluster
from grader.grading import live
from grader.labs import canary, spec

ROOT = Path(__file__).resolve().parents[2]


class LiveLike(OfflineCluster):
    """The model, reporting itself as live: probes, DNS and policy as the model has them."""

    mode = "live"


def _course(tmp_path: Path, lab: str, students: dict[str, Path | None]) -> Path:
    course = tmp_path / "labs"
    for student, notebook in students.items():
        dest = course / "submitted" / student / lab
        dest.mkdir(parents=True)
        shutil.copy(notebook or ROOT / "labs" / "source" / lab / f"{lab}.ipynb", dest / f"{lab}.ipynb")
    return course


def _rows(course: Path) -> list[dict[str, str]]:
    with (course / "reports" / "live-vs-offline.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_faithful_live_cluster_agrees_on_every_check(tmp_path: Path) -> None:
    course = _course(tmp_path, "lab1-clusterip", {"ada": None})
    result = live.grade_live(course, ["lab1-clusterip"], cluster=LiveLike())
    rows = _rows(course)
    assert rows and all(r["agree"] == "True" for r in rows)
    assert all(r["offline_earned"] == r["live_earned"] for r in rows)
    assert result.lines[-1].startswith(f"live vs offline: {len(rows)} check verdicts, 0 disagreements")


def test_a_cluster_that_ignores_policy_shows_up_as_disagreements_not_as_zeros(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec, "enforcement_problem",
                        lambda cluster: canary.NOT_ENFORCED if cluster.mode == "live" else None)
    course = _course(tmp_path, "lab4-network-policy", {"bob": None})
    result = live.grade_live(course, ["lab4-network-policy"], cluster=LiveLike())
    rows = _rows(course)
    policy_rows = [r for r in rows if r["agree"] == "False"]
    assert policy_rows, "a non-enforcing cluster must disagree with the offline grade"
    assert all(float(r["offline_earned"]) > 0 and float(r["live_earned"]) == 0 for r in policy_rows)
    assert all("does not enforce NetworkPolicy" in r["live_feedback"] for r in policy_rows)
    said = "\n".join(result.lines)
    assert "bob/lab4-network-policy part" in said and "live failed 0/" in said


def test_live_grading_needs_a_live_cluster(tmp_path: Path) -> None:
    course = _course(tmp_path, "lab1-clusterip", {})
    with pytest.raises(ValueError, match="needs a live cluster"):
        live.grade_live(course, ["lab1-clusterip"], cluster=OfflineCluster())


def test_compare_names_the_check_and_both_sentences() -> None:
    from grader.checks.core import Report, Result

    off = {"part1": Report("t", [Result("backend reachable", 1, 1, "OK"), Result("dns", 1, 1, "ok")])}
    liv = {"part1": Report("t", [Result("backend reachable", 0, 1, "TIMEOUT (dropped)"), Result("dns", 1, 1, "ok")])}
    (d,) = live.compare("ada", "lab1", off, liv)
    assert str(d) == ("ada/lab1 part1 'backend reachable': offline passed 1/1: OK | "
                      "live failed 0/1: TIMEOUT (dropped)")


def test_the_cli_says_plainly_when_no_live_cluster_answers(tmp_path: Path, monkeypatch, capsys) -> None:
    from grader import cli

    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("SVCLAB_CONTEXT", raising=False)
    assert cli.main(["grade", "live", "--lab", "lab1-clusterip"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("svclab grade live: live mode was requested but no kubeconfig context 'kind-svclab'")
