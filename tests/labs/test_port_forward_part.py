"""Lab 6 part 6: `kubectl port-forward` run, then what was seen recorded as facts. The
generic tests grade its reference, blanks and wrong answers; these pin that doing what
the task says earns full marks (the act, end to end offline: the forward, five requests,
the facts written from what came back), that every right way to write the forward is
accepted, and that the pod names it accepts are exactly the Service's backends."""
from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator

import pytest

from grader import kubectl
from grader.cluster.offline import OfflineCluster
from grader.kubectl.portforward import stop_all
from grader.labs import get_lab
from grader.labs.spec import grade_part, prepare

LAB = get_lab("lab6-ingress")
PART = LAB.part("part6")


@pytest.fixture(autouse=True)
def _no_forward_left() -> Iterator[None]:
    yield
    stop_all()


def _score(answer: str) -> float:
    report = grade_part(LAB, PART, answer, OfflineCluster(say=lambda _: None), include_hidden=True)
    assert report.not_gradable is None, report.not_gradable
    return round(report.score, 4)


def test_doing_the_task_offline_earns_every_point() -> None:
    ns = prepare(LAB, PART, OfflineCluster(say=lambda _: None))
    started = kubectl.run(ns, "port-forward svc/cache :80")
    local = int(re.search(r"127\.0\.0\.1:(\d+)", started.stdout).group(1))  # type: ignore[union-attr]
    bodies = []
    for _ in range(5):
        with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=5) as reply:
            bodies.append(reply.read().decode().strip())
    assert len(set(bodies)) == 1 and bodies[0].startswith("cache-")
    answer = f"command: kubectl port-forward svc/cache :80\nanswered_by: {bodies[0]}\ndistinct_pods: {len(set(bodies))}\n"
    assert _score(answer) == PART.points


@pytest.mark.parametrize(("command", "pod"), [
    ("kubectl port-forward svc/cache 8089:80", "cache-1"),          # kubectl may pick either pod
    ('"%kubectl port-forward service/cache :80"', "cache-0"),   # quoted: YAML can't start with %
    ("k -n lab6 port-forward services/cache 18080:80", "cache-0"),
    ("kubectl port-forward pod/cache-1 8089:8080", "cache-1"),      # a pod: the container's port
    ("kubectl port-forward cache-0 9000:8080 --address 127.0.0.1", "cache-0"),
    ("kubectl port-forward sts/cache 8089:8080", "cache-0"),
    # local port 80: root, or a container where ip_unprivileged_port_start is 0 (Docker's
    # default since 20.10, so many JupyterHub images), listens there; it worked if they saw it
    ("kubectl port-forward svc/cache 80", "cache-0"),
])
def test_every_right_way_to_forward_is_accepted(command: str, pod: str) -> None:
    assert _score(f"command: {command}\nanswered_by: {pod}\ndistinct_pods: 1\n") == PART.points


@pytest.mark.parametrize(("command", "why"), [
    ("kubectl port-forward svc/queue 8089:80", "not the Service cache"),
    ("kubectl port-forward pod/queue-0 8089:8080", "not one of Service cache's pods"),
    ("kubectl -n lab2 port-forward svc/cache 8089:80", "namespace lab6"),
    ("kubectl -nlab2 port-forward svc/cache 8089:80", "namespace lab6"),
    ("kubectl port-forward svc/cache 8089:80 --namespace=lab2", "namespace lab6"),
    ("kubectl port-forward deploy/shop 8089:8080", "forward to the Service"),
    ("kubectl get svc cache", "not `kubectl port-forward"),
    ("kubectl port-forward svc/cache", "at least one LOCAL:REMOTE"),
    ("kubectl port-forward 'svc/cache 8089:80", "does not parse as a shell line (No closing quotation)"),
    ("kubectl port-forward pod/cache-0 8089:metrics", "the pods have no port named metrics"),
    ("kubectl port-forward ds/cache 8089:8080", "ds/cache: forward to the Service"),
])
def test_a_forward_that_would_not_reach_cache_loses_the_command_check(command: str, why: str) -> None:
    report = grade_part(LAB, PART, f"command: {command}\nanswered_by: cache-0\ndistinct_pods: 1\n",
                        OfflineCluster(say=lambda _: None), include_hidden=True)
    (command_check, *_) = report.results
    assert command_check.earned == 0 and why in command_check.feedback, report
    assert report.score < PART.points


def test_the_names_accepted_are_exactly_the_services_backends() -> None:
    ns = prepare(LAB, PART, OfflineCluster(say=lambda _: None))
    backends = {e.pod.split("/", 1)[-1] for e in ns.endpoints("cache") if e.pod}
    assert backends == {"cache-0", "cache-1"}
    for pod in sorted(p.name for p in ns.pods()):
        score = _score(f"command: kubectl port-forward svc/cache 8089:80\nanswered_by: {pod}\ndistinct_pods: 1\n")
        assert (score == PART.points) is (pod in backends), pod


# The lab reads a recorded command with the code offline `%kubectl port-forward` runs it
# with (grader.kubectl.argv, grader.kubectl.forward_args): every spelling the notebook
# accepts is graded as the forward it started, and what kubectl refuses loses the point
# with kubectl's own error.
@pytest.mark.parametrize("command", [
    "port-forward -nlab6 svc/cache :80",
    "port-forward --namespace=lab6 service/cache :80",
    "-n=lab6 port-forward services/cache :80",
    "port-forward svc/cache :http",                              # the Service port's name
    "port-forward svc/cache :80 --address 127.0.0.1",
    "port-forward --address=localhost,127.0.0.1 svc/cache :80",
    "port-forward svc/cache :80 --pod-running-timeout=1m",
    "port-forward --pod-running-timeout 90s pod/cache-1 :8080",
    "port-forward cache-1 :http",                                # a bare name is a pod; its port's name
    "port-forward statefulset.apps/cache :8080",
    "port-forward sts/cache :8080 --request-timeout=5s -v=6 --context kind-svclab",
])
def test_a_forward_the_notebook_started_earns_every_point(command: str) -> None:
    ns = prepare(LAB, PART, OfflineCluster(say=lambda _: None))
    started = kubectl.run(ns, command)
    assert started.ok, started.output
    local = int(re.search(r"127\.0\.0\.1:(\d+)", started.stdout).group(1))  # type: ignore[union-attr]
    with urllib.request.urlopen(f"http://127.0.0.1:{local}/", timeout=5) as reply:
        pod = reply.read().decode().strip()
    assert _score(f'command: "%kubectl {command}"\nanswered_by: {pod}\ndistinct_pods: 1\n') == PART.points


@pytest.mark.parametrize("command", [
    "port-forward svc/cache 8089:8080",                 # the Service has port 80 only
    "port-forward svc/cache 8089:https",                # and no port of that name
    "port-forward svc/cache abc:80",
    "port-forward svc/cache 8089:70000",
    "port-forward svc/cache 8089:0",
    "port-forward --adress 0.0.0.0 svc/cache 8089:80",  # misspelt: kubectl does not know it
    "port-forward --address my-laptop svc/cache 8089:80",
    "port-forward svc/cache 8089:80 --pod-running-timeout=0",
    "port-forward svc/cache 8089:80 --pod-running-timeout=60",
    "port-forward widget/cache 8089:80",
])
def test_a_forward_kubectl_refuses_loses_the_command_check_with_its_error(command: str) -> None:
    ns = prepare(LAB, PART, OfflineCluster(say=lambda _: None))
    refused = kubectl.run(ns, command)
    assert refused.code == 1 and refused.stdout == ""
    report = grade_part(LAB, PART, f'command: "kubectl {command}"\nanswered_by: cache-0\ndistinct_pods: 1\n',
                        OfflineCluster(say=lambda _: None), include_hidden=True)
    (command_check, *_) = report.results
    assert command_check.earned == 0, report
    assert refused.stderr.splitlines()[0] in command_check.feedback


def test_listening_on_every_address_is_a_right_forward_too() -> None:
    # offline forwards listen on loopback only (kubectl says so), but the learner's real
    # kubectl listens on 0.0.0.0 and the forward reaches cache all the same
    assert _score("command: kubectl port-forward --address 0.0.0.0 svc/cache 8089:80\n"
                  "answered_by: cache-0\ndistinct_pods: 1\n") == PART.points
