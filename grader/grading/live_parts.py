"""Grade one submission's parts side by side on a live cluster, where they share nothing.

Live, a part costs what its namespace, its pods and its probes take to come up (tens of
seconds); the mock exams have 16 tasks, each in a namespace of its own, so one submission
took four minutes one task after another. Parts in different lanes (live_lanes.part_lanes:
own namespace, no common node port, Corefile or Ingress/Gateway proxy, the learner's answer
included) are graded at once, each lane on a client of its own (`cluster.sibling()`). A
lab whose parts share its namespace is one lane, graded as before.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from grader.checks.core import Report
from grader.grading.live_lanes import part_lanes, run_in_lanes, side_by_side_clients
from grader.labs.spec import Lab, grade_part


def grade_parts(lab: Lab, answers: Mapping[str, str | None], cluster: Any, *, jobs: int = 1,
                missing: Mapping[str, str] | None = None, parts: Iterable[str] | None = None,
                include_hidden: bool = True) -> dict[str, Report]:
    """Every part of `lab` (or those named in `parts`), in the lab's order: with `jobs` > 1
    and a cluster that has siblings, up to `jobs` lanes of parts at once. The namespaces the
    siblings made are deleted before returning (the caller cleans up `cluster`'s own)."""
    missing = missing or {}
    chosen = [p.id for p in lab.parts] if parts is None else list(parts)

    def grade(client: Any, part_id: str) -> Report:
        return grade_part(lab, lab.part(part_id), answers.get(part_id), client,
                          include_hidden=include_hidden, not_gradable=missing.get(part_id))

    lanes = [[p for p in lane if p in chosen] for lane in part_lanes(lab, answers)]
    lanes = [lane for lane in lanes if lane]
    clients = side_by_side_clients(cluster, jobs, len(lanes))
    if len(clients) == 1:
        return {part_id: grade(cluster, part_id) for part_id in chosen}
    try:
        reports = run_in_lanes(lanes, clients, lambda part_id, client: grade(client, part_id))
    finally:
        for sibling in clients[1:]:
            delete_namespaces(sibling, getattr(sibling, "namespaces_created", ()))
    return {part_id: reports[part_id] for part_id in chosen}


def delete_namespaces(client: Any, names: Iterable[str]) -> None:
    """Delete these namespaces through `client`; one already gone is fine."""
    for name in list(names):
        try:
            client.namespace(name, fresh=False).delete()
        except Exception:  # noqa: BLE001  -- a namespace that is already gone is fine
            pass
