"""Lab 7, faults drawn per learner: the draw (deterministic, varied, from the right id), every
learner's solution earns full marks and nobody else's, blanks and wrong answers score what
they should, tampering gains nothing, the self-check agrees with the autograder, and the
instructor's report counts fault classes. Grading goes through the clean grading job, as
the autograder's does."""
from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from lab_submissions import TAMPER

from grader.cluster.offline import OfflineCluster
from grader.grading.clean import grade_job
from grader.grading.extract import answers_from_cells
from grader.grading.jobs import job_key, make_job
from grader.labs import get_lab, open_lab
from grader.labs.drawn import SELF_PACED, draw, learner_id
from grader.labs.drawn_solution import file_name, solution_notebook
from grader.labs.lab7_faults import CATALOGUE, FAULTS, HEALTHY, UNREADY_ON_PURPOSE, db_deployment
from grader.labs.lab7_troubleshooting_drawn import FAULT_CLASSES, NAME, POINTS, faults_for, lab_for

IDS = [f"student{n:02d}" for n in range(1, 21)]
BLANK = "# YOUR ANSWER HERE\n"


def _score(learner: str, answer: str | None) -> tuple[float, dict]:
    job = make_job(f"{learner}/{NAME}", NAME, {} if answer is None else {"fixes": answer}, {}, learner=learner)
    report = grade_job(job)["parts"]["fixes"]
    return round(sum(r["earned"] for r in report["results"]), 4), report


def _why(report: dict) -> str:
    return "\n".join(f"{r['name']}: {r['feedback']}" for r in report["results"] if r["earned"] < r["points"])


def test_the_catalogue_has_the_issues_thirteen_classes_each_breaking_its_own_pieces() -> None:
    assert len(CATALOGUE) >= 13 and "readiness-wrong-port" in FAULTS
    broken = [key for f in CATALOGUE for key in f.broken]
    assert len(broken) == len(set(broken)), "two classes break the same piece: their fixes would collide"
    assert all(key in HEALTHY for key in broken)
    assert len(FAULT_CLASSES) == len(CATALOGUE)        # one outcome check per class, for the report


def test_twenty_learners_draw_at_least_ten_distinct_sets_of_three_to_five() -> None:
    sets = [frozenset(f.key for f in faults_for(i)) for i in IDS]
    assert all(3 <= len(s) <= 5 for s in sets)
    assert len(set(sets)) >= 10
    assert set().union(*sets) == set(FAULTS)    # every class is drawn for someone in a class of 20


def test_the_draw_is_the_same_in_a_fresh_interpreter() -> None:
    """hash() is salted per process; the draw must not be (the grader runs elsewhere)."""
    code = ("from grader.labs.lab7_troubleshooting_drawn import faults_for; "
            f"print([f.key for f in faults_for({IDS[0]!r})])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "random", "PATH": ""}).stdout
    assert out.strip() == str([f.key for f in faults_for(IDS[0])])
    assert draw(NAME, "x", CATALOGUE, fewest=3, most=5) == draw(NAME, " X ", CATALOGUE, fewest=3, most=5)


@pytest.mark.parametrize("learner", IDS)
def test_each_learners_generated_solution_earns_full_marks_and_the_blank_zero(learner: str) -> None:
    import nbformat
    cells = json.loads(nbformat.writes(solution_notebook(NAME, learner)))["cells"]
    answers, missing = answers_from_cells(cells, get_lab(NAME, learner))
    body = answers["fixes"].replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", "")   # YAML comments
    assert not missing and body.strip() == lab_for(learner).part("fixes").reference.strip()
    score, report = _score(learner, answers["fixes"])
    assert score == POINTS, _why(report)
    assert _score(learner, BLANK)[0] == 0
    assert _score(learner, None)[0] == 0


@pytest.mark.parametrize("n", range(len(IDS)))
def test_a_solution_does_not_pass_for_a_neighbour_with_another_fault(n: int) -> None:
    mine, neighbour = IDS[n], IDS[(n + 1) % len(IDS)]
    missed = [f for f in faults_for(neighbour) if f not in faults_for(mine)]
    assert missed, f"{neighbour}'s faults are all among {mine}'s: pick other ids"
    score, report = _score(neighbour, lab_for(mine).part("fixes").reference)
    assert score < POINTS
    for fault in missed:       # each fault the solution does not fix fails, with its sentence
        result = next(r for r in report["results"] if r["name"] == fault.outcome().name)
        assert result["earned"] == 0 and fault.why in result["feedback"]


@pytest.mark.parametrize("learner", IDS[:6])
def test_the_listed_wrong_answers_of_a_learner_score_below_full_and_at_most_their_maximum(learner: str) -> None:
    for wrong in get_lab(NAME, learner).part("fixes").wrong_answers:
        score, report = _score(learner, wrong.answer)
        assert score < POINTS and score <= wrong.max_score + 1e-6, (wrong.text, score, _why(report))


def test_each_fault_fixed_earns_its_share() -> None:
    learner = next(i for i in IDS if len(faults_for(i)) >= 4)
    drawn = faults_for(learner)
    share = 8.0 / len(drawn)
    for k in range(len(drawn) + 1):
        answer = "---\n".join(f.fix() for f in drawn[:k]) or BLANK
        score, _ = _score(learner, answer)
        assert score == pytest.approx(k * share + (4.0 if k == len(drawn) else 0.0), abs=1e-3), k


def _with(learner: str, extra: str) -> tuple[float, dict]:
    return _score(learner, lab_for(learner).part("fixes").reference + "---\n" + extra)


def test_deleting_a_policy_or_scaling_a_workload_away_loses_the_hidden_points() -> None:
    learner = IDS[0]
    no_match = "podSelector:\n    matchLabels:\n      app: nobody\n"
    for piece, label in (("policy-db", "db"), ("policy-payments", "payments"), ("policy-worker", "worker")):
        disabled = HEALTHY[piece].replace(f"podSelector:\n    matchLabels:\n      app: {label}\n", no_match, 1)
        assert disabled != HEALTHY[piece]
        score, report = _with(learner, disabled)
        assert score < POINTS, piece
        assert any(r["hidden"] and r["earned"] == 0 for r in report["results"]), piece
    other = next(k for k in ("deploy-cart", "deploy-search", "deploy-reviews", "deploy-web")
                 if not any(k in f.broken for f in faults_for(learner)))
    score, report = _with(learner, HEALTHY[other].replace("replicas: 1", "replicas: 0"))
    assert score <= POINTS - 1.0, _why(report)
    assert "a path that worked before your answer fails now" in _why(report)


def test_the_grader_redraws_from_the_job_learner_and_the_cache_keeps_learners_apart() -> None:
    a, b = IDS[0], IDS[1]
    job_a = make_job("x", NAME, {"fixes": "x: 1\n"}, {}, learner=a)
    job_b = make_job("x", NAME, {"fixes": "x: 1\n"}, {}, learner=b)
    assert job_key(job_a) != job_key(job_b)
    plain = make_job("x", "lab1-clusterip", {"part1": "x: 1\n"}, {})
    assert "learner" not in plain          # other labs' jobs (and their cache keys) are as before
    assert get_lab(NAME, a) is lab_for(a) and get_lab(NAME) is lab_for(SELF_PACED)
    assert get_lab("lab1-clusterip", a) is get_lab("lab1-clusterip")


def test_the_notebook_takes_the_id_from_jupyterhub_then_svclab_learner_then_self_paced() -> None:
    assert learner_id({"JUPYTERHUB_USER": "ana", "SVCLAB_LEARNER": "bo"}) == ("ana", "JUPYTERHUB_USER")
    assert learner_id({"JUPYTERHUB_USER": " ", "SVCLAB_LEARNER": "bo"}) == ("bo", "SVCLAB_LEARNER")
    assert learner_id({})[0] == SELF_PACED


def test_open_lab_draws_for_the_hub_user_and_says_so(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", IDS[3])
    session = open_lab(NAME, cluster=OfflineCluster())
    assert session.lab is lab_for(IDS[3])
    out = capsys.readouterr().out
    assert repr(IDS[3]) in out and f"{len(faults_for(IDS[3]))} paths are broken" in out
    assert open_lab(NAME, cluster=OfflineCluster(), learner=IDS[4]).lab is lab_for(IDS[4])


def test_the_self_check_gives_the_autograders_visible_verdicts(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.labs import magic
    learner = IDS[5]
    monkeypatch.setenv("JUPYTERHUB_USER", learner)
    session = open_lab(NAME, cluster=OfflineCluster())
    for wrong in [*lab_for(learner).part("fixes").wrong_answers, None]:
        answer = wrong.answer if wrong else lab_for(learner).part("fixes").reference
        magic.ANSWERS["fixes"] = answer
        try:
            mine = session.self_check("fixes", show=lambda r: None)
        finally:
            magic.ANSWERS.pop("fixes", None)
        _, graded = _score(learner, answer)
        visible = [(r["name"], r["earned"]) for r in graded["results"] if not r["hidden"]]
        assert [(r.name, r.earned) for r in mine.results] == visible


def _released(nb: dict) -> dict:
    """The student version: the answer cell's solution replaced by the stub, as nbgrader does."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if (cell["metadata"].get("nbgrader") or {}).get("grade_id") == "answer_fixes":
            cell["source"] = "%%answer fixes\n" + BLANK
    return nb


@pytest.mark.parametrize("name", sorted(TAMPER))
def test_tampering_gains_nothing(name: str) -> None:
    import nbformat
    learner = IDS[2]
    released = _released(json.loads(nbformat.writes(solution_notebook(NAME, learner))))
    tampered = TAMPER[name](released)
    answers, missing = answers_from_cells(tampered["cells"], lab_for(learner))
    job = make_job(f"{learner}/{NAME}", NAME, answers, missing, learner=learner)
    report = grade_job(job)["parts"]["fixes"]
    assert sum(r["earned"] for r in report["results"]) == 0


def test_the_solution_notebook_is_pinned_to_its_learner_and_holds_their_answer() -> None:
    nb = solution_notebook(NAME, "ana o'neil")
    setup = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "setup")
    assert 'open_lab("lab7-troubleshooting-drawn", learner="ana o\'neil")' in setup.source
    answer = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "answer_fixes")
    assert lab_for("ana o'neil").part("fixes").reference.rstrip() in answer.source
    assert file_name(NAME, "../etc/x") == "lab7-troubleshooting-drawn-.._etc_x.ipynb"
    with pytest.raises(ValueError, match="does not draw"):
        solution_notebook("lab1-clusterip", "ana")


def test_the_report_lists_the_fault_classes_the_class_failed(tmp_path) -> None:
    from grader.grading.report import collect_faults, write_report
    results = tmp_path / "svclab-results" / NAME
    results.mkdir(parents=True)
    fixed_by = {IDS[0]: "solution", IDS[1]: "blank", IDS[2]: "blank"}
    for learner, what in fixed_by.items():
        answer = (lab_for(learner).part("fixes").reference if what == "solution"
                  else "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n")
        job = make_job(f"{learner}/{NAME}", NAME, {"fixes": answer}, {}, learner=learner)
        (results / f"{learner}.json").write_text(json.dumps(grade_job(job)), encoding="utf-8")
    rows = {r["fault_class"]: r for r in collect_faults(tmp_path / "svclab-results")}
    for key in FAULTS:
        drawn = [i for i in fixed_by if FAULTS[key] in faults_for(i)]
        failed = [i for i in drawn if fixed_by[i] == "blank"]
        if not drawn:
            assert key not in rows
            continue
        assert (rows[key]["drawn"], rows[key]["failed"]) == (len(drawn), len(failed)), key
        if failed:      # what the learners who failed it were told (the report keeps 300 characters)
            assert rows[key]["top_feedback"] and rows[key]["title"] == FAULTS[key].title
    write_report(tmp_path)
    page = (tmp_path / "reports" / "item-analysis.html").read_text(encoding="utf-8")
    assert "Fault classes the class failed" in page
    assert (tmp_path / "reports" / "fault-classes.csv").read_text(encoding="utf-8").startswith("lab,fault_class")


@pytest.mark.slow
def test_the_solution_notebook_self_checks_full_marks_for_its_learner_whoever_runs_it(tmp_path) -> None:
    """Run a learner's solution notebook in a kernel whose hub user is someone else."""
    import os

    from nbclient import NotebookClient
    learner, runner = IDS[7], IDS[8]
    nb = solution_notebook(NAME, learner)
    env = {**os.environ, "SVCLAB_MODE": "offline", "JUPYTERHUB_USER": runner}
    saved = {k: os.environ.get(k) for k in ("SVCLAB_MODE", "JUPYTERHUB_USER")}
    os.environ.update({"SVCLAB_MODE": "offline", "JUPYTERHUB_USER": runner})
    try:
        NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                       allow_errors=False).execute(env=env)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    test = next(c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "test_fixes")
    score = float([o for o in test.outputs if o.output_type == "execute_result"][-1].data["text/plain"])
    assert score == test.metadata["nbgrader"]["points"]


def test_show_prints_what_the_lab_puts_in_each_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    learner = next(i for i in IDS if FAULTS["wrong-namespace"] in faults_for(i))
    session = open_lab(NAME, cluster=OfflineCluster(), learner=learner)
    capsys.readouterr()
    session.show(namespace="lab7-data")
    shown = capsys.readouterr().out
    assert "name: ledger" in shown and "name: reviews\n  namespace: lab7-data" in shown   # the misplaced Service
    session.show(namespace="lab7")
    assert "kind: Service\nmetadata:\n  name: reviews\n" not in capsys.readouterr().out
    with pytest.raises(KeyError, match="namespaces: lab7, lab7-data, lab7-office"):
        session.show(namespace="kube-system")


PROBED = [i for i in IDS if FAULTS["readiness-wrong-port"] in faults_for(i)]
PROBE = "readinessProbe: {httpGet: {path: /healthz, port: http}}"


def _with_db(learner: str, deployment: str) -> tuple[float, dict]:
    """The learner's reference answer, with Deployment db replaced by `deployment`."""
    reference = lab_for(learner).part("fixes").reference
    if HEALTHY["deploy-db"] in reference:
        return _score(learner, reference.replace(HEALTHY["deploy-db"], deployment))
    return _with(learner, deployment)


def _earned(report: dict, name: str) -> float:
    return next(r["earned"] for r in report["results"] if r["name"] == name)


def test_the_readiness_fault_keeps_the_db_pod_running_but_never_ready() -> None:
    """The broken shop as the grader prepares it: the db pod runs, is not Ready, and Service db
    has no ready endpoint; the fix makes it Ready (the model decides from the probe's port)."""
    from grader.labs.spec import prepare
    learner = PROBED[0]
    lab = lab_for(learner)
    ns = prepare(lab, lab.part("fixes"), OfflineCluster())      # waits for app=db to run only
    pods = [p for p in ns.pods() if p.labels.get("app") == "db"]
    assert pods and pods[0].ip and not pods[0].ready
    assert ns.endpoints("db") and not any(e.ready for e in ns.endpoints("db"))
    with pytest.raises(TimeoutError, match="readinessProbe of container db failed"):
        ns.wait_ready()                                          # without the excuse, it never settles
    ns.apply(HEALTHY["deploy-db"], source="the fix")
    ns.wait_ready()
    assert [e.ready for e in ns.endpoints("db")] == [True]
    assert UNREADY_ON_PURPOSE == lab.part("fixes").may_stay_unready == "app=db"


def test_the_readiness_fault_is_fixed_by_the_right_port_in_any_form() -> None:
    """Another correct probe (the port by number, or a tcpSocket on it) earns full marks too."""
    learner = PROBED[0]
    for probe in ("readinessProbe: {httpGet: {path: /healthz, port: 5432}}",
                  "readinessProbe: {tcpSocket: {port: http}}"):
        score, report = _with_db(learner, HEALTHY["deploy-db"].replace(PROBE, probe))
        assert score == POINTS, (probe, _why(report))


@pytest.mark.parametrize("learner", [PROBED[0], next(i for i in IDS if i not in PROBED)])
def test_deleting_the_db_probe_or_one_that_asks_nothing_loses_the_hidden_check(learner: str) -> None:
    """With or without the fault drawn: the path works without a probe, but the task says it
    stays, so the hidden check (a broken db build must stay out of rotation) fails."""
    exec_true = HEALTHY["deploy-db"].replace(PROBE, "readinessProbe: {exec: {command: [/bin/true]}}")
    for deployment in (db_deployment(None), exec_true):
        assert deployment != HEALTHY["deploy-db"]
        score, report = _with_db(learner, deployment)
        assert score == POINTS - 0.25, _why(report)
        assert _earned(report, "the database keeps a readiness probe that asks the app") == 0
        if learner in PROBED:
            assert _earned(report, FAULTS["readiness-wrong-port"].outcome().name) > 0     # the path works


def test_a_probe_moved_to_another_wrong_port_fails_the_path_with_its_sentence() -> None:
    learner = PROBED[0]
    for port in (80, 8081, "dns"):
        score, report = _with_db(learner, db_deployment(port))
        fault = FAULTS["readiness-wrong-port"]
        result = next(r for r in report["results"] if r["name"] == fault.outcome().name)
        assert result["earned"] == 0 and fault.why in result["feedback"], port
        assert score <= 8.0 - 8.0 / len(faults_for(learner)) + 1e-6, port


def test_the_listed_wrong_answers_of_a_learner_with_the_readiness_fault_score_below_full() -> None:
    learner = PROBED[0]
    texts = [w.text for w in lab_for(learner).part("fixes").wrong_answers]
    assert any("Deleting the database's readiness probe" in t for t in texts)
    for wrong in lab_for(learner).part("fixes").wrong_answers:
        score, report = _score(learner, wrong.answer)
        assert score < POINTS and score <= wrong.max_score + 1e-6, (wrong.text, score, _why(report))
