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


def _rows(course: Path, out: str = "") -> list[dict[str, str]]:
    where = course.parent / out if out else course / "reports"
    with (where / "live-vs-offline.csv").open(encoding="utf-8") as fh:
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


class Siblings(LiveLike):
    """A live-like cluster that hands out clients of its own for side-by-side grading and
    records which thread graded in which namespace."""

    def __init__(self, made: list["Siblings"], seen: dict[str, set[str]]) -> None:
        super().__init__()
        self._made, self._seen = made, seen
        made.append(self)

    def sibling(self) -> "Siblings":
        return Siblings(self._made, self._seen)

    def namespace(self, name: str, *, fresh: bool = True):  # type: ignore[override]
        import threading

        self._seen.setdefault(name, set()).add(threading.current_thread().name)
        return super().namespace(name, fresh=fresh)


def test_labs_graded_side_by_side_report_exactly_what_one_at_a_time_does(tmp_path: Path) -> None:
    labs = ["lab1-clusterip", "lab4-network-policy", "lab5-troubleshooting"]
    course = _course(tmp_path, labs[0], {"ada": None})
    for lab in labs[1:]:
        _course(tmp_path, lab, {"ada": None})
    one = live.grade_live(course, labs, cluster=LiveLike(), out_dir=tmp_path / "one")
    made: list[Siblings] = []
    seen: dict[str, set[str]] = {}
    three = live.grade_live(course, labs, cluster=Siblings(made, seen), out_dir=tmp_path / "three", jobs=3)
    assert len(made) == 3, "each worker grades on a client of its own"
    workers = {thread for threads in seen.values() for thread in threads}
    assert len(workers) == 3, workers
    assert all(len(threads) == 1 for threads in seen.values()), "a lab's namespaces stay with one worker"
    # the same rows in the same order; the live sentences may name another backend pod, as
    # endpoint choice is random (seeded per client, and each worker has a client of its own)
    alike = [[v for k, v in row.items() if k != "live_feedback"] for row in _rows(course, "three")]
    assert alike == [[v for k, v in row.items() if k != "live_feedback"] for row in _rows(course, "one")]
    assert three.lines[-1].split(" -> ")[0] == one.lines[-1].split(" -> ")[0]


def test_labs_pinning_one_node_port_or_editing_the_corefile_share_a_lane() -> None:
    from dataclasses import replace

    from grader.grading.live_lanes import lanes, shared_resources
    from grader.labs import get_lab

    lab1, lab2, lab3, lab4 = (get_lab(n) for n in ("lab1-clusterip", "lab2-external-access",
                                                   "lab3-discovery", "lab4-network-policy"))
    assert "node port 30087" in shared_resources(lab1) and "node port 30080" in shared_resources(lab2)
    assert shared_resources(lab4) == set()
    # a lab whose part pins lab 2's node port in a kubectl command, one that edits the Corefile
    pins = replace(lab4, name="pins", parts=(replace(lab4.parts[0], kind=spec.COMMANDS,
                                                     reference="kubectl create service nodeport web "
                                                               "--tcp=80:8080 --node-port=30080\n"),))
    dns = replace(lab4, name="dns", parts=(replace(lab4.parts[0], kind=spec.COREFILE),))
    assert lanes([lab1, lab2, lab3, lab4, pins, dns]) == [
        ["lab2-external-access", "pins"], ["lab3-discovery", "dns"], ["lab1-clusterip"], ["lab4-network-policy"]]
    assert lanes([lab1, lab4], weights=[1, 5]) == [["lab4-network-policy"], ["lab1-clusterip"]]
