"""Which labs live grading may run side by side on one cluster.

Every submission of a lab is graded in the lab's own namespaces, so two submissions of the
same lab must take turns; two different labs need not, except where they reach past their
namespaces to something the whole cluster has only once:
- a fixed node port (`nodePort: 30087`, `healthCheckNodePort`, `--node-port`): a node port
  is cluster-wide, and a second lab asking for the same one would be refused;
- the cluster's Corefile (lab 3's Corefile part edits and restores it);
- the Ingress controller and the Gateway: one proxy serves every namespace's routes, so a
  rule without a host in one lab answers another lab's "another host is not served" check
  (the two mock exams, graded side by side, each failed it live).

`lanes` groups labs that share any of those into one lane (graded one after the other);
lanes run side by side. It reads the resources from the labs' own YAML (workloads, part
fixtures, reference and listed wrong answers), so a new lab that pins a port another lab
pins joins that lab's lane without anyone having to remember it. `part_lanes` does the same
for one submission's parts (a part's namespace counts too, and the learner's answer is
read as well), and `run_in_lanes` runs lanes side by side, each on a client of its own.
"""
from __future__ import annotations

import queue
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from grader.labs.spec import COREFILE, Lab, Part

#: `nodePort: 30080` and `healthCheckNodePort: 30086` in YAML, `"nodePort":30084` in a
#: `kubectl patch`, `--node-port=30080` / `--node-port 30080` in kubectl commands.
_NODE_PORT = re.compile(r"(?:[nN]odePort\"?:\s*|--node-port[= ])(\d+)")

T = TypeVar("T")
COREFILE_RESOURCE = "the cluster's Corefile"
EDGE_RESOURCE = "the Ingress controller and the Gateway"
#: An Ingress, Gateway or route in YAML, or made by `kubectl create ingress`.
_EDGE = re.compile(r"kind:\s*(?:Ingress|Gateway|HTTPRoute|GRPCRoute|TLSRoute)\b|create\s+ingress\b")


def resources_in(texts: Iterable[str | None]) -> set[str]:
    """The cluster-wide things YAML or kubectl commands reach: node ports they pin, the
    Ingress/Gateway proxy if they route HTTP."""
    plain = [text or "" for text in texts]
    found = {f"node port {port}" for text in plain for port in _NODE_PORT.findall(text)}
    if any(_EDGE.search(text) for text in plain):
        found.add(EDGE_RESOURCE)
    return found


def part_resources(lab: Lab, part: Part, answer: str | None = None) -> set[str]:
    """What grading `part` (with `answer`, the learner's, where known) uses that another
    part could use at the same time: its namespace and the lab's other namespaces (prepare
    re-creates them), and the cluster-wide things of `shared_resources`."""
    found = {f"namespace {part.namespace or lab.namespace}"}
    found |= {f"namespace {name}" for name in lab.other_namespaces}
    texts = [lab.workloads, *lab.other_namespaces.values(), part.setup, part.reference,
             *(wrong.answer for wrong in part.wrong_answers), answer]
    texts += [lab.part(dep).reference for dep in part.builds_on]
    found |= resources_in(texts)
    if part.kind == COREFILE:
        found.add(COREFILE_RESOURCE)
    return found


def shared_resources(lab: Lab) -> set[str]:
    """What `lab` uses that every namespace of the cluster shares: node ports it pins, the
    Corefile if a part edits it, the Ingress/Gateway proxy if it routes HTTP."""
    texts = [lab.workloads, *lab.other_namespaces.values()]
    for part in lab.parts:             # wrong answers too: the mutant corpus is graded live
        texts += [part.setup, part.reference, *(wrong.answer for wrong in part.wrong_answers)]
    found = resources_in(texts)
    if any(part.kind == COREFILE for part in lab.parts):
        found.add(COREFILE_RESOURCE)
    return found


def grouped(names: Sequence[str], uses: Sequence[set[str]],
            weights: Iterable[float] | None = None) -> list[list[str]]:
    """`names` in lanes: those sharing a resource (directly or through another) in one lane,
    in the order given; lanes heaviest first (by `weights`, default one each), so a pool
    that takes the next lane when a worker is free finishes soonest."""
    weight = list(weights) if weights is not None else [1.0] * len(names)
    lane = list(range(len(names)))         # union-find: each starts in a lane of its own

    def root(i: int) -> int:
        while lane[i] != i:
            i = lane[i]
        return i

    first_user: dict[str, int] = {}
    for i, used in enumerate(uses):
        for resource in sorted(used):
            if resource in first_user:
                lane[root(i)] = root(first_user[resource])
            else:
                first_user[resource] = i
    members: dict[int, list[int]] = {}
    for i in range(len(names)):
        members.setdefault(root(i), []).append(i)
    ordered = sorted(members.values(), key=lambda group: -sum(weight[i] for i in group))
    return [[names[i] for i in group] for group in ordered]


def lanes(labs: Sequence[Lab], weights: Iterable[float] | None = None) -> list[list[str]]:
    """Lab names in lanes: labs sharing a resource in one lane (`grouped`), weighted by `weights`."""
    return grouped([lab.name for lab in labs], [shared_resources(lab) for lab in labs], weights)


def part_lanes(lab: Lab, answers: Mapping[str, str | None] | None = None) -> list[list[str]]:
    """Part ids of `lab` in lanes: parts graded side by side only when each has a namespace
    of its own and they share nothing cluster-wide, the learner's answers included (an
    answer that adds an Ingress joins the proxy's lane). Only the mock exams' tasks, each
    in its own namespace, spread over several lanes; a lab's parts sharing its namespace
    form one."""
    answers = answers or {}
    ids = [part.id for part in lab.parts]
    return grouped(ids, [part_resources(lab, part, answers.get(part.id)) for part in lab.parts],
                   [part.points for part in lab.parts])


def side_by_side_clients(cluster: Any, jobs: int, lanes: int) -> list[Any]:
    """`cluster` and the siblings for up to `jobs` of `lanes` at once; only `cluster` when
    one would do (one job, one lane, or a cluster without siblings: then work takes turns)."""
    jobs = min(jobs, lanes) if hasattr(cluster, "sibling") else 1
    return [cluster, *(cluster.sibling() for _ in range(jobs - 1))]


def run_in_lanes(groups: Sequence[Sequence[str]], clients: Sequence[Any],
                 work: Callable[[str, Any], T]) -> dict[str, T]:
    """`work(name, client)` for every name of `groups`, a lane's names one after the other on
    one client; as many lanes at once as there are `clients` (a cluster and its
    `sibling()`s), each worker taking the next lane when it is free."""
    free: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for client in clients:
        free.put(client)

    def run_lane(lane: Sequence[str]) -> dict[str, T]:
        client = free.get()
        try:
            return {name: work(name, client) for name in lane}
        finally:
            free.put(client)

    done: dict[str, T] = {}
    with ThreadPoolExecutor(max_workers=len(clients), thread_name_prefix="grade-live") as pool:
        for outcome in pool.map(run_lane, groups):
            done.update(outcome)
    return done
