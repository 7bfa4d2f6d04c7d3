"""Which labs live grading may run side by side on one cluster.

Every submission of a lab is graded in the lab's own namespaces, so two submissions of the
same lab must take turns; two different labs need not, except where they reach past their
namespaces to something the whole cluster has only once:
- a fixed node port (`nodePort: 30087`, `healthCheckNodePort`, `--node-port`): a node port
  is cluster-wide, and a second lab asking for the same one would be refused;
- the cluster's Corefile (lab 3's Corefile part edits and restores it).

`lanes` groups labs that share any of those into one lane (graded one after the other);
lanes run side by side. It reads the resources from the labs' own YAML (workloads, part
fixtures, reference and listed wrong answers), so a new lab that pins a port another lab pins joins that
lab's lane without anyone having to remember it.
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

from grader.labs.spec import COREFILE, Lab

#: `nodePort: 30080` and `healthCheckNodePort: 30086` in YAML, `"nodePort":30084` in a
#: `kubectl patch`, `--node-port=30080` / `--node-port 30080` in kubectl commands.
_NODE_PORT = re.compile(r"(?:[nN]odePort\"?:\s*|--node-port[= ])(\d+)")

COREFILE_RESOURCE = "the cluster's Corefile"


def shared_resources(lab: Lab) -> set[str]:
    """What `lab` uses that every namespace of the cluster shares: node ports it pins, and
    the Corefile if a part edits it."""
    texts = [lab.workloads, *lab.other_namespaces.values()]
    for part in lab.parts:             # wrong answers too: the mutant corpus is graded live
        texts += [part.setup, part.reference, *(wrong.answer for wrong in part.wrong_answers)]
    found = {f"node port {port}" for text in texts for port in _NODE_PORT.findall(text or "")}
    if any(part.kind == COREFILE for part in lab.parts):
        found.add(COREFILE_RESOURCE)
    return found


def lanes(labs: Sequence[Lab], weights: Iterable[float] | None = None) -> list[list[str]]:
    """Lab names in lanes: labs sharing a resource (directly or through another lab) in one
    lane, in the order given; lanes heaviest first (by `weights`, default one per lab), so
    a pool that takes the next lane when a worker is free finishes soonest."""
    weight = list(weights) if weights is not None else [1.0] * len(labs)
    lane = list(range(len(labs)))          # union-find: each lab starts in a lane of its own

    def root(i: int) -> int:
        while lane[i] != i:
            i = lane[i]
        return i

    first_user: dict[str, int] = {}
    for i, lab in enumerate(labs):
        for resource in shared_resources(lab):
            if resource in first_user:
                lane[root(i)] = root(first_user[resource])
            else:
                first_user[resource] = i
    grouped: dict[int, list[int]] = {}
    for i in range(len(labs)):
        grouped.setdefault(root(i), []).append(i)
    ordered = sorted(grouped.values(), key=lambda members: -sum(weight[i] for i in members))
    return [[labs[i].name for i in members] for members in ordered]
