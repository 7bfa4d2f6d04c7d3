"""The NetworkPolicy enforcement canary for live grading.

A cluster whose network plugin ignores NetworkPolicy (kindnet before kind 0.24, some WSL2
kernels, many CNI defaults) allows everything, so a learner's policy would be graded
against a cluster that cannot show what it does. Before a policy part is graded live, a
throwaway deny-all policy must actually block a probe; if it does not, the part says
"this cluster does not enforce NetworkPolicy" instead of scoring. The offline model always
enforces (it is the engine), so the canary only runs live.
"""
from __future__ import annotations

import secrets
import time
from typing import Any

from grader.labs.workloads import netexec_pod, pause_pod

NOT_ENFORCED = ("this cluster does not enforce NetworkPolicy (a deny-all canary policy did not block "
                "traffic), so policy parts cannot be graded here; use a CNI that enforces it "
                "(kind >= 0.24, or Calico)")

#: The canary's namespace is this plus a random suffix: a name of its own each time, so that
#: labs graded side by side (`svclab grade live --jobs`) never share one, and no run waits
#: for the previous canary's namespace to finish terminating.
CANARY_NAMESPACE = "svclab-canary"
CANARY = "---\n".join([
    netexec_pod("canary-server", {"svclab-canary": "server"}, [8080], container_names=["c"]),
    pause_pod("canary-client", {"svclab-canary": "client"}, container="c"),
])

DENY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-deny}
spec:
  podSelector: {matchLabels: {svclab-canary: server}}
  policyTypes: [Ingress]
"""


def enforcement_problem(cluster: Any, *, timeout: float = 120) -> str | None:
    """None when NetworkPolicy is enforced (always offline), else the sentence to report."""
    if getattr(cluster, "mode", "offline") == "offline":
        return None
    ns = cluster.namespace(f"{CANARY_NAMESPACE}-{secrets.token_hex(3)}")
    try:
        ns.apply(CANARY, source="enforcement canary")
        ns.wait_ready(timeout=timeout)
        ip = next(p.ip for p in ns.pods() if p.name == "canary-server")
        ns.apply(DENY, source="enforcement canary")
        for _ in range(5):    # a CNI takes a moment to program a new policy
            if not ns.probe(f"{ip}:8080", frm="canary-client").ok:
                return None
            time.sleep(1)
        return NOT_ENFORCED
    except Exception as exc:  # noqa: BLE001  -- a failed canary is a sentence, not a crash
        return f"the NetworkPolicy enforcement canary could not run: {type(exc).__name__}: {exc}"
    finally:
        try:
            ns.delete()
        except Exception:  # noqa: BLE001
            pass
