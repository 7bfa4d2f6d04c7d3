"""The mock exam on the local cluster: its reference commands, replayed by the real kubectl
against real nodes, leave a state every check of all 16 tasks passes, as offline; an answer
that changes nothing scores 0 there too; and the Ingress task's listed wrong answers lose
there too, exactly the checks they lose offline but for one known difference of Traefik's
(TRAEFIK_RULE_LENGTH).

q02's node port (30081) is one of those the local cluster forwards from 127.0.0.1 as kind
maps them (grader.localcluster.forward); q03's LoadBalancer address comes from MetalLB and is
published on its loopback alias (grader.localcluster.publish); q10's and q11's Ingresses are
served by Traefik (grader.localcluster.edge), and their backends run agnhost serve-hostname,
so the live backend can tell from each answer's body which pod gave it.

Two causes kept q02 and q11 out before, both found on the cluster, neither in the model:
- q11 (and, by luck not every time, q10): the answer's `kubectl create ingress` runs the real
  kubectl, which did not tell the LiveCluster that routing changed, so the first request went
  out before Traefik served the new Ingress (it writes the Ingress's address at once, and its
  routes after its 2 s throttle): HTTP 404 for every path, 1.4 s after the replay. Now
  grader.kubectl.live reports the kinds each command changed, and the request waits
  ROUTES_CATCH_UP as after the cluster's own changes.
- q02: the previous module's namespace (test_local_cluster_live, a Service on nodePort 30081)
  was still being deleted, so the answer's `kubectl patch` to 30081 failed and 127.0.0.1:30081
  led to that old Service. tests/localcluster/conftest.py now frees the course node ports
  held by terminating namespaces before each live module."""
from __future__ import annotations

import os

import pytest

from grader.checks.core import Report
from grader.localcluster.layout import CONTEXT

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]


#: The one place the local cluster answers otherwise than kind, per wrong answer: the checks
#: whose verdict differs. Traefik orders routers by the length of their rule text
#: (pkg/muxer/http GetRulePriority), so for GET /api the Exact `/api` router
#: (`Host("shop.example") && Path("/api")`, 36 characters) loses to the Prefix `/` one
#: (`... && PathPrefix("/")`, 39) and the web pods answer. The Ingress spec (kubernetes.io,
#: Ingress, "Multiple matches": the longest matching path first, then Exact over Prefix),
#: cloud-provider-kind's Envoy and the model send it to the api pods. The wrong answer still
#: loses live (one check more). README, "What differs from kind", has the row.
TRAEFIK_RULE_LENGTH = {"`/api` without `*` is Exact: /api/items falls to the web pods.":
                       {"GET /api (Host: shop.example) via ingress/shop"}}


#: Tasks graded side by side (grader.grading.live_parts), as `svclab grade live --jobs 4`.
JOBS = 4


def _differing(live: Report, offline: Report) -> set[str]:
    """The checks whose verdict (points earned) differs between the two gradings."""
    earned = {r.name: r.earned for r in offline.results}
    assert set(earned) == {r.name for r in live.results}
    return {r.name for r in live.results if r.earned != earned[r.name]}


def test_the_reference_commands_score_full_marks_live_and_a_no_op_scores_zero() -> None:
    from grader.cluster.live import LiveCluster
    from grader.cluster.offline import OfflineCluster
    from grader.grading.live_parts import grade_parts
    from grader.labs import get_lab
    from grader.labs.spec import grade_part

    lab = get_lab("lab8-mock-exam")
    assert {"q02", "q03", "q10", "q11"} <= {p.id for p in lab.parts}
    cluster = LiveCluster(context=CONTEXT)
    short, differing = [], []
    try:
        # the tasks side by side, as `svclab grade live --jobs` grades them
        reports = grade_parts(lab, {p.id: p.reference for p in lab.parts}, cluster, jobs=JOBS)
        short = [str(reports[p.id]) for p in lab.parts if reports[p.id].score != p.points]
        idle = grade_parts(lab, dict.fromkeys(("q06", "q10"), "kubectl get pods\n"), cluster, jobs=JOBS,
                           parts=("q06", "q10"))
        assert all(r.score == 0 for r in idle.values()), "\n".join(map(str, idle.values()))
        ingress = lab.part("q10")
        for wrong in ingress.wrong_answers:
            live = grade_part(lab, ingress, wrong.answer, cluster, include_hidden=True)
            offline = grade_part(lab, ingress, wrong.answer, OfflineCluster(), include_hidden=True)
            assert offline.score < ingress.points and live.score < ingress.points, wrong.text
            if _differing(live, offline) != TRAEFIK_RULE_LENGTH.get(wrong.text, set()):
                differing.append(f"{wrong.text}\nlive:\n{live}\noffline:\n{offline}")
    finally:
        for part in lab.parts:
            try:
                cluster.namespace(part.namespace, fresh=False).delete()
            except Exception:  # noqa: BLE001  -- a namespace that is already gone is fine
                pass
    assert short == [], "\n\n".join(short)
    assert differing == [], "\n\n".join(differing)
