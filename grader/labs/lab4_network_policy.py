"""Lab 4, NetworkPolicy: default deny, one allowed path on one port, DNS egress. Graded by
the reachability matrix against the reference answer's matrix, cell by cell."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.spec import Lab, Part, prepare
from grader.observations import Matrix

AGNHOST = "registry.k8s.io/e2e-test-images/agnhost:2.53"
PORTS = (8080, 9090, 5432)
OUTSIDE = "lab4-outside"


def _server(name: str, app: str, *ports: int) -> str:
    """A pod with one netexec container per port. Only the first keeps netexec's default UDP
    server (8081): a second would fail to bind it and crash-loop on a real node."""
    containers = "\n".join(
        f"  - {{name: c{p}, image: {AGNHOST}, args: [netexec, --http-port={p}{'' if i == 0 else ', --udp-port=-1'}], "
        f"ports: [{{containerPort: {p}}}]}}"
        for i, p in enumerate(ports))
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  containers:
{containers}
"""


# Bare pods, so pod names are the same in every namespace and cluster: the learner's matrix
# and the reference's compare pod by pod.
WORKLOADS = "---\n".join([
    _server("frontend", "frontend", 8080),
    _server("backend-1", "backend", 8080, 9090),
    _server("backend-2", "backend", 8080, 9090),
    _server("db", "db", 5432),
    """apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {app: backend}
  ports: [{name: http, port: 80, targetPort: 8080}]
""",
])

OUTSIDER = _server("outsider", "outsider", 8080)

DEFAULT_DENY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
"""

FRONTEND_TO_BACKEND = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: backend-from-frontend
spec:
  podSelector:
    matchLabels:
      app: backend
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: frontend
    ports:
    - protocol: TCP
      port: 8080
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: frontend-to-backend
spec:
  podSelector:
    matchLabels:
      app: frontend
  policyTypes:
  - Egress
  egress:
  - to:
    - podSelector:
        matchLabels:
          app: backend
    ports:
    - protocol: TCP
      port: 8080
"""

DNS_EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-dns
spec:
  podSelector: {}
  policyTypes:
  - Egress
  egress:
  - to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: kube-system
      podSelector:
        matchLabels:
          k8s-app: kube-dns
    ports:
    - protocol: UDP
      port: 53
    - protocol: TCP
      port: 53
"""


@lru_cache(maxsize=None)
def reference_matrix(part_id: str) -> Matrix:
    """The matrix the reference answers produce (up to and including `part_id`), computed
    on the offline model, which is the engine the course trusts for NetworkPolicy."""
    from grader.cluster.offline import OfflineCluster
    part = LAB.part(part_id)
    ns = prepare(LAB, part, OfflineCluster())
    ns.apply(part.reference, source=f"{LAB.name} {part_id} reference")
    return ns.matrix(ports=PORTS)


def matrix_like_reference(part_id: str) -> Check:
    def fn(ns: Any) -> Verdict:
        inner = checks.matrix_matches(reference_matrix(part_id), ports=PORTS, expected_namespace=LAB.namespace)
        return inner.fn(ns)
    return Check("the reachability matrix matches the reference, cell by cell", fn, points=3)


def egress_denied() -> Check:
    """Egress isolation is invisible in the matrix when every destination denies ingress,
    so it is checked on its own: a DNS lookup must get no answer."""
    def fn(ns: Any) -> Verdict:
        ans = ns.lookup("backend", frm="frontend")
        if ans.rcode == "TIMEOUT":
            return passed("frontend's DNS query gets no answer: egress is denied too")
        return failed(f"frontend still resolves names ({ans.rcode}): its egress is not isolated; a default "
                      "deny needs policyTypes [Ingress, Egress]")
    return Check("egress is denied too", fn)


def new_pods_isolated() -> Check:
    """Hidden: a default deny must cover pods that do not exist yet (podSelector: {}), not
    only the apps it listed."""
    def fn(ns: Any) -> Verdict:
        ns.apply("---\n".join([_server("batch-a", "batch", 8080), _server("batch-b", "batch", 8080)]),
                 source="two new pods")
        ns.wait_ready(timeout=120)      # live: a pod has no IP until it is scheduled and started
        b = next(p for p in ns.pods() if p.name == "batch-b")
        out = ns.probe(f"{b.ip}:8080", frm="batch-a")
        if out.ok:
            return failed("two new pods (app=batch) reach each other: the deny policy covers only the pods it "
                          "names; use podSelector: {} to cover every pod, present and future")
        return passed("new pods are isolated as soon as they start")
    return Check("pods added later are denied too", fn)


def egress_only_to_backend() -> Check:
    """Hidden: frontend's egress must not be opened to everything. The matrix cannot tell,
    because every pod of the namespace denies ingress; a pod in a namespace without policies can."""
    def fn(ns: Any) -> Verdict:
        out_ns = ns.cluster.namespace(OUTSIDE)
        out_ns.apply(OUTSIDER, source="a pod outside the namespace")
        out_ns.wait_ready(timeout=120)  # live: a pod has no IP until it is scheduled and started
        ip = next(p.ip for p in out_ns.pods() if p.name == "outsider")
        backend = next(p.ip for p in ns.pods() if p.name == "backend-1")
        if not ns.probe(f"{backend}:8080", frm="frontend").ok:
            return failed("not earned yet: this counts once frontend reaches the backend on 8080")
        out = ns.probe(f"{ip}:8080", frm="frontend")
        if out.ok:
            return failed("frontend reaches a pod in another namespace on 8080: its egress rule allows every "
                          "destination; limit `to:` to the backend pods")
        return passed("frontend's egress reaches the backend only")
    return Check("frontend's egress is limited to the backend", fn)


def dns_over_tcp() -> Check:
    """Hidden: large DNS answers fall back to TCP, so DNS egress needs TCP 53 as well as UDP."""
    def fn(ns: Any) -> Verdict:
        out = ns.probe("kube-dns.kube-system.svc.cluster.local:53", frm="frontend", protocol="TCP")
        if not out.ok:
            return failed(f"frontend cannot reach kube-dns on TCP 53 ({out.status.value}): allow TCP as well as "
                          "UDP, since DNS falls back to TCP for large answers")
        return passed("DNS over TCP reaches kube-dns")
    return Check("DNS over TCP is allowed too", fn)


PART1 = Part(
    id="part1", title="Default deny", points=4, needs_policy_enforcement=True,
    task="""
The namespace runs `frontend`, `backend-1`, `backend-2` (each serving 8080, and metrics on
9090) and `db` (5432), all bare pods; the backends sit behind Service `backend`. Nothing is
isolated yet: every pod reaches every port. Write a **default-deny** for the namespace:
**no pod may receive or send any traffic** (a pod reaching itself is never blocked).
Look at the matrix first: `lab.explore("part1").matrix(ports=[8080, 9090, 5432])`.
""",
    visible=[matrix_like_reference("part1"), egress_denied()],
    hidden=[new_pods_isolated()],
    reference=DEFAULT_DENY,
    explanation=(
        "`podSelector: {}` selects every pod of the namespace, and listing both policy types with no "
        "rules isolates each pod in both directions with nothing allowed. It also covers pods created later."),
    wrong_answers=(
        "`policyTypes: [Ingress]` only: the matrix is all denied, but egress (DNS included) is still open.",
        "A podSelector listing today's apps: pods added later are not isolated.",
    ),
)

PART2 = Part(
    id="part2", title="frontend to backend, on 8080 only", points=4, builds_on=("part1",),
    needs_policy_enforcement=True,
    task="""
On top of the default deny (the reference one is applied for you), let **frontend reach the
backend pods on port 8080**, and nothing else: not 9090, not the database, not other pods.
Both ends are isolated now, so think about both directions.
""",
    visible=[matrix_like_reference("part2")],
    hidden=[egress_only_to_backend()],
    reference=FRONTEND_TO_BACKEND,
    explanation=(
        "A connection needs the source's egress and the destination's ingress. One policy on the "
        "backends allows ingress from frontend on 8080; one on frontend allows egress to the backends "
        "on 8080. Ports are the pods' ports after the Service's DNAT, so 8080, not the Service's 80."),
    wrong_answers=(
        "Only the ingress policy: frontend's egress is still denied, so nothing changes.",
        "`port: 80` (the Service port): policies see the pod port, 8080, so traffic stays denied.",
        "`egress: [{}]` on frontend: allowed to every destination, the backend included, and everywhere else.",
    ),
)

PART3 = Part(
    id="part3", title="Allow DNS", points=4, builds_on=("part1", "part2"),
    needs_policy_enforcement=True,
    task="""
frontend can reach the backend by IP, but not by name: DNS is egress too, and it is denied.
Allow **every pod of the namespace to query cluster DNS** (the `kube-dns` pods in
`kube-system`, port 53), and nothing more.
""",
    visible=[
        matrix_like_reference("part3").worth(2),
        checks.resolves("backend", frm="frontend", to_service="backend"),
        checks.reachable("backend:80/hostname", frm="frontend", answered_by="app=backend"),
    ],
    hidden=[dns_over_tcp()],
    reference=DNS_EGRESS,
    explanation=(
        "Egress to the CoreDNS pods (namespaceSelector and podSelector in one peer: both must match) on "
        "UDP and TCP 53. The pod-to-pod matrix is unchanged, but names now resolve, so frontend reaches "
        "`backend:80`."),
    wrong_answers=(
        "UDP 53 only: works until an answer is too large for UDP and the resolver retries over TCP.",
        "namespaceSelector and podSelector as two separate peers: allows all of kube-system and every "
        "kube-dns-labelled pod anywhere (an OR, not an AND).",
        "`egress: [{ports: [{port: 53}]}]`: DNS works, but port 53 of every destination is open.",
    ),
)

LAB = Lab(
    name="lab4-network-policy",
    title="Lab 4: NetworkPolicy",
    namespace="lab4",
    workloads=WORKLOADS,
    parts=(PART1, PART2, PART3),
    goals="""
- isolate every pod of a namespace with a default deny;
- open exactly one path, on exactly one port, in both directions;
- let pods use cluster DNS again;
- read the reachability matrix and the engine's reason for each cell.
""",
    concept="""
A pod is **isolated** for ingress (or egress) once any NetworkPolicy selects it for that
direction; then only what some policy's rules allow gets through. A connection must be
allowed twice: by the source's egress and by the destination's ingress, on the pod's port.
Grading compares your matrix (every pod to every pod, on 8080, 9090 and 5432) with the
reference's, cell by cell.

```mermaid
flowchart LR
    fe["frontend"] -->|"8080 allowed"| be["backend-1, backend-2"]
    fe -.->|"9090 denied"| be
    fe -.->|"5432 denied"| db["db"]
    fe -->|"53 (DNS)"| dns["kube-dns (kube-system)"]
```
""",
    whats_next="""
Lab 5 hands you a broken application and asks you to find and fix what is wrong, using
everything from labs 1 to 4.
""",
)
