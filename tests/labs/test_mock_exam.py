"""The mock exam (lab8, variants A and B): answers are kubectl commands, replayed in the
task's namespace; the grade comes from the state they leave. What a learner relies on:
the commands are read as a terminal reads them, what a grading process must not run is
refused with the reason, an answer that changes nothing earns nothing, only what the
commands do counts (not outputs pasted in), and a retake with the other variant is not a
replay of the first."""
from __future__ import annotations

import pytest

from grader.cluster.offline import OfflineCluster
from grader.grading.clean import grade_job
from grader.labs import get_lab
from grader.labs.clock import ExamClock
from grader.labs.replay import MAX_COMMANDS, parse_commands, refusal, replay
from grader.labs.spec import COMMANDS, grade_lab, grade_part, prepare

EXAMS = ["lab8-mock-exam", "lab8-mock-exam-b"]
A, B = (get_lab(n) for n in EXAMS)
END = "EOF"


def _ns(lab, part_id: str):
    return prepare(lab, lab.part(part_id), OfflineCluster(say=lambda _: None))


def test_commands_are_read_as_a_terminal_reads_them() -> None:
    text = "\n".join([
        "# a comment, then the exam's alias and a prompt",
        "k get svc",
        "$ kubectl expose deployment web \\",
        "    --port=80 --target-port=8080",
        f"cat <<'{END}' | kubectl apply -f -",
        "kind: ConfigMap",
        END,
        f"kubectl apply -f - <<{END}",
        "a: b",
        END,
    ]) + "\n"
    cmds = parse_commands(text)
    assert [c.words for c in cmds] == [("get", "svc"),
                                       ("expose", "deployment", "web", "--port=80", "--target-port=8080"),
                                       ("apply", "-f", "-"), ("apply", "-f", "-")]
    assert [c.line for c in cmds] == [2, 3, 5, 8]
    assert cmds[2].stdin == "kind: ConfigMap\n" and cmds[3].stdin == "a: b\n"


@pytest.mark.parametrize("line, why", [
    ("kubectl apply -f /etc/passwd", "files are not graded"),
    ("kubectl get svc --kubeconfig=/root/.kube/config", "--kubeconfig"),
    ("kubectl -n kube-system delete deploy coredns", "works in namespace a01-web only"),
    ("kubectl delete namespace a01-web", "changing a namespace itself"),
    ("kubectl edit svc web", "opens an editor"),
    ("kubectl exec web -- sh", "is for looking around: run it in a `%kubectl` cell"),
    ("kubectl run tmp --rm -i --image=busybox:1.36 -- wget -qO- web-svc", "for looking around"),
    ("kubectl config set-context --current --namespace=a01-web", "already works in its task's namespace"),
    ("kubectl certificate approve x", "not replayed in an answer"),
    ("kubectl get svc > out.txt", "without pipes, lists or redirections"),
    ("kubectl get svc && kubectl delete svc web", "without pipes"),
    ("kubectl delete svc -A --all", "-A"),
    ("""kubectl patch svc web -p '{"spec":{"externalIPs":["10.0.0.1"]}}'""", "sandbox refuses"),
    ("kubectl expose deploy web --port=80 --external-ip=10.0.0.1", "unknown flag"),
])
def test_what_a_grading_process_must_not_run_is_refused_with_the_reason(line: str, why: str) -> None:
    (cmd,) = parse_commands(line)
    assert why in (refusal(cmd, "a01-web") or "")


def test_yaml_in_a_heredoc_meets_the_sandbox_before_anything_runs() -> None:
    text = "\n".join([f"kubectl apply -f - <<{END}", "apiVersion: v1", "kind: Pod", "metadata: {name: p}",
                      "spec:", "  hostNetwork: true", "  containers: [{name: c, image: busybox:1.36}]", END])
    (cmd,) = parse_commands(text)
    assert "hostNetwork" in (refusal(cmd, "a01-web") or "")


def test_a_refused_command_changes_nothing_and_the_replay_goes_on() -> None:
    ns = _ns(A, "q01")
    done = replay(ns, "kubectl -n default expose deployment web --name=web-svc --port=80\n"
                      "kubectl expose deployment web --name=other --port=80 --target-port=8080\n")
    assert ns.service("web-svc") is None and ns.service("other") is not None
    assert [code for _, code, _ in done.ran] == [1, 0]
    assert "1 failed; line 1" in done.summary() and "refused" in done.summary()


def test_too_many_commands_or_too_long_an_answer_is_not_replayed() -> None:
    ns = _ns(A, "q01")
    assert "at most" in (replay(ns, "kubectl get svc\n" * (MAX_COMMANDS + 1)).problem or "")
    assert "characters long" in (replay(ns, "# " + "x" * 70_000).problem or "")
    assert ns.services() == []


@pytest.mark.parametrize("lab", [A, B], ids=EXAMS)
def test_an_answer_that_changes_nothing_scores_zero_on_every_task(lab) -> None:
    reports = grade_lab(lab, {p.id: "kubectl get all\nkubectl describe svc\n" for p in lab.parts}, OfflineCluster)
    assert {pid: r.score for pid, r in reports.items()} == {p.id: 0 for p in lab.parts}


@pytest.mark.parametrize("lab", [A, B], ids=EXAMS)
def test_pasted_outputs_and_claimed_commands_gain_nothing(lab) -> None:
    """What the commands would have printed, pasted as the answer, and a transcript claiming
    them as comments: replayed, these are not commands, so nothing changes and nothing is earned."""
    fake = {}
    for part in lab.parts:
        out = replay(_ns(lab, part.id), part.reference).transcript()
        printed = [ln for ln in out.splitlines() if not ln.startswith("$ ")]
        claimed = ["# ran: " + ln for ln in part.reference.splitlines()]
        fake[part.id] = "\n".join(printed + claimed) + "\n"
    graded = grade_job({"id": "fake", "lab": lab.name, "answers": fake})
    assert {pid: round(sum(r["earned"] for r in rep["results"]), 4) for pid, rep in graded["parts"].items()} == \
        {p.id: 0 for p in lab.parts}


def test_the_same_state_scores_the_same_whatever_the_commands() -> None:
    """Graded by state: an `apply -f -` of the Service that `expose` would create scores the same."""
    yaml_way = "\n".join([
        f"kubectl apply -f - <<{END}", "apiVersion: v1", "kind: Service", "metadata: {name: web-svc}",
        "spec:", "  selector: {app: web}", "  ports: [{port: 80, targetPort: 8080}]", END]) + "\n"
    report = grade_part(A, A.part("q01"), yaml_way, OfflineCluster(), include_hidden=True)
    assert report.score == A.part("q01").points, str(report)


def test_the_variants_differ_so_a_retake_is_not_a_replay() -> None:
    assert len({p.namespace for p in A.parts}) == len(A.parts)       # each task its own namespace
    assert not {p.namespace for p in A.parts} & {p.namespace for p in B.parts}
    assert all(p.kind == COMMANDS for p in A.parts + B.parts) and 15 <= len(A.parts) <= 20
    assert all(a.reference != b.reference for a, b in zip(A.parts, B.parts, strict=True))
    replayed = grade_lab(B, A.references(), OfflineCluster)
    assert sum(r.score for r in replayed.values()) < 0.2 * B.points


def test_the_clock_counts_from_the_first_start_and_says_when_time_is_up(tmp_path) -> None:
    now = [1_000_000.0]
    first = ExamClock.start("lab8-mock-exam", 60, folder=tmp_path, now=lambda: now[0])
    now[0] += 25 * 60
    again = ExamClock.start("lab8-mock-exam", 60, folder=tmp_path, now=lambda: now[0])   # a restarted kernel
    assert again.started == first.started
    assert "25 min used, 35 min left of 60" in again.line()
    now[0] += 50 * 60
    assert "time is up, 15 min over the 60-minute limit" in again.line()
    assert ExamClock.start("lab8-mock-exam", 60, folder=tmp_path, restart=True, now=lambda: now[0]).started == now[0]


def test_the_answer_cell_shows_the_terminal_and_leaves_kubectl_in_the_task_namespace(capsys) -> None:
    from grader.kubectl import current, reset
    from grader.labs import magic
    from grader.labs.session import LabSession
    LabSession(A, OfflineCluster(say=lambda _: None))
    try:
        magic.AFTER_RECORD[0]("q06", "kubectl scale deployment worker --replicas=4\n")
        out = capsys.readouterr().out
        assert "$ kubectl scale deployment worker --replicas=4\ndeployment.apps/worker scaled" in out
        assert "1 command replayed, all succeeded" in out
        assert current().name == "a06-worker" and len(current().pods()) == 4
    finally:
        magic.AFTER_RECORD.clear()
        reset()


def test_the_clock_prints_after_every_answer_and_every_kubectl_run(capsys, monkeypatch, tmp_path) -> None:
    from grader.kubectl import magic as kubectl_magic
    from grader.kubectl import reset
    from grader.labs import magic
    from grader.labs.session import LabSession
    monkeypatch.setenv("SVCLAB_CLOCK_DIR", str(tmp_path))
    session = LabSession(A, OfflineCluster(say=lambda _: None))
    try:
        session.start_clock(minutes=60)
        assert "0 min used, 60 min left of 60" in capsys.readouterr().out
        magic.AFTER_RECORD[0]("q01", "kubectl get svc\n")
        assert "min left of 60" in capsys.readouterr().out
        kubectl_magic.run_magic("get pods", None)
        out = capsys.readouterr().out
        assert "web-" in out and out.rstrip().splitlines()[-1].startswith("exam clock: 0 min used, 60 min left")
        assert list(tmp_path.glob("*/clock-lab8-mock-exam.json"))       # kept outside the notebook's folder
    finally:
        magic.AFTER_RECORD.clear()
        kubectl_magic.AFTER_RUN.clear()
        reset()
