"""One submission's parts side by side on a live cluster (grader.grading.live_parts): only
parts that share nothing (each its own namespace, no common node port, Corefile or HTTP
proxy, the learner's answer included), each lane on a client of its own, with the same
reports as one part after the other and nothing left behind by the extra clients.

The "live" clients are the offline model, each with a state of its own, as siblings are."""
from __future__ import annotations

import threading
from dataclasses import replace

from grader.cluster.offline import OfflineCluster
from grader.grading.live_lanes import EDGE_RESOURCE, part_lanes, part_resources
from grader.grading.live_parts import grade_parts
from grader.labs import get_lab
from grader.labs.spec import grade_lab

EXAM = get_lab("lab8-mock-exam")


class Clients(OfflineCluster):
    """A live-like model that hands out clients of its own, and records per client which
    threads graded in which namespace and the namespaces it made and has not deleted. Its
    mode stays "offline": live, a commands answer would be replayed by the real kubectl."""

    def __init__(self, made: list["Clients"]) -> None:
        super().__init__()
        self.made = made
        self.threads: dict[str, set[str]] = {}
        made.append(self)

    def sibling(self) -> "Clients":
        return Clients(self.made)

    @property
    def namespaces_created(self) -> tuple[str, ...]:
        """As live: what it made (never kube-system, which was there) and still has."""
        return tuple(n for n in self.threads if n in self.state.namespaces and n not in self.system)

    def namespace(self, name: str, *, fresh: bool = True):  # type: ignore[override]
        if fresh:                                  # grading makes it; a clean-up only deletes it
            self.threads.setdefault(name, set()).add(threading.current_thread().name)
        return super().namespace(name, fresh=fresh)

    @property
    def system(self) -> set[str]:
        return {"kube-system", "default", "kube-public", "kube-node-lease"}


def test_only_the_exam_tasks_that_share_the_http_proxy_take_turns() -> None:
    lanes = part_lanes(EXAM)
    assert sorted(map(sorted, lanes)) == sorted([["q10", "q11"]] + [[p.id] for p in EXAM.parts
                                                                    if p.id not in ("q10", "q11")])
    # a lab whose parts all work in its one namespace is one lane
    lab1 = get_lab("lab1-clusterip")
    assert part_lanes(lab1) == [[p.id for p in lab1.parts]]


def test_a_learners_answer_joins_the_lane_of_what_it_reaches() -> None:
    ingress = "kubectl create ingress cache --rule=/=cache:80\n"
    pinned = "kubectl create service nodeport cache --tcp=80:6379 --node-port=30081\n"   # q02's port
    assert EDGE_RESOURCE in part_resources(EXAM, EXAM.part("q05"), ingress)
    lanes = part_lanes(EXAM, {"q05": ingress, "q06": pinned})
    assert {"q05", "q10", "q11"} <= next(set(lane) for lane in lanes if "q10" in lane)
    assert {"q02", "q06"} <= next(set(lane) for lane in lanes if "q02" in lane)


def test_parts_graded_side_by_side_report_what_one_after_the_other_does() -> None:
    answers = {p.id: p.reference for p in EXAM.parts}
    answers["q04"] = "kubectl get pods\n"                       # one that loses, to compare too
    one = grade_lab(EXAM, answers, lambda: Clients([]))
    made: list[Clients] = []
    four = grade_parts(EXAM, answers, Clients(made), jobs=4)
    assert list(four) == [p.id for p in EXAM.parts]             # the lab's order, whatever finished first
    assert {k: (r.score, [(x.name, x.earned) for x in r.results]) for k, r in four.items()} == \
           {k: (r.score, [(x.name, x.earned) for x in r.results]) for k, r in one.items()}
    assert four["q04"].score < EXAM.part("q04").points
    assert all(four[p.id].score == p.points for p in EXAM.parts if p.id != "q04")
    assert len(made) == 4, "each worker grades on a client of its own"
    workers = {t for client in made for threads in client.threads.values() for t in threads}
    assert len(workers) == 4, workers
    assert all(len(ts) == 1 for client in made for ts in client.threads.values()), \
        "a part's namespace stays with one worker"
    assert all(client.namespaces_created == () for client in made[1:]), "the extra clients clean up"
    assert made[0].namespaces_created, "the caller's own client is cleaned up by the caller"


def test_a_chosen_subset_is_graded_in_the_order_given() -> None:
    answers = {"q10": "kubectl get pods\n", "q06": "kubectl get pods\n"}
    reports = grade_parts(EXAM, answers, Clients([]), jobs=3, parts=["q10", "q06"])
    assert list(reports) == ["q10", "q06"] and all(r.score == 0 for r in reports.values())


def test_without_siblings_or_with_one_job_parts_take_turns_on_the_one_client() -> None:
    class NoSiblings(OfflineCluster):
        pass

    answers = {p.id: p.reference for p in EXAM.parts[:3]}
    lab = replace(EXAM, parts=EXAM.parts[:3])
    made: list[Clients] = []
    assert grade_parts(lab, answers, Clients(made), jobs=1).keys() == answers.keys()
    assert len(made) == 1
    reports = grade_parts(lab, answers, NoSiblings(), jobs=3)
    assert [r.score for r in reports.values()] == [p.points for p in lab.parts]
