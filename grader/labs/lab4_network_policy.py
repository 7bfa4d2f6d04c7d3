"""Lab 4, NetworkPolicy: default deny, one allowed path on one port, DNS egress. Graded by
the reachability matrix against the reference answer's matrix, cell by cell."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.spec import Lab, Part, WrongAnswer, add_pods, prepare
from grader.labs.strangers import egress_only_to_dns, reached, stranger
from grader.labs.workloads import netexec_pod
from grader.observations import Matrix

PORTS = (8080, 9090, 5432)
OUTSIDE = "lab4-outside"


def _server(name: str, app: str, *ports: int) -> str:
    return netexec_pod(name, {"app": app}, ports)


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


def _deny(types: str, selector: str = "{}") -> str:
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: default-deny}}
spec:
  podSelector: {selector}
  policyTypes: {types}
"""


def _dns_policy(egress: str) -> str:
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-dns}}
spec:
  podSelector: {{}}
  policyTypes: [Egress]
  egress: {egress}
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
        inner = checks.matrix_matches(reference_matrix(part_id), ports=PORTS,
                                      expected_namespace=LAB.namespace)
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
        add_pods(ns, "---\n".join([_server("batch-a", "batch", 8080), _server("batch-b", "batch", 8080)]),
                 source="two new pods")
        b = next(p for p in ns.pods() if p.name == "batch-b")
        out = ns.probe(f"{b.ip}:8080", frm="batch-a")
        if out.ok:
            return failed("two new pods (app=batch) reach each other: the deny policy covers only the pods "
                          "it names; use podSelector: {} to cover every pod, present and future")
        return passed("new pods are isolated as soon as they start")
    return Check("pods added later are denied too", fn)


def egress_only_to_backend() -> Check:
    """Hidden: frontend's egress must not be opened to everything. The matrix cannot tell,
    because every pod of the namespace denies ingress; a pod in a namespace without policies can."""
    def fn(ns: Any) -> Verdict:
        out_ns = ns.cluster.namespace(OUTSIDE)
        add_pods(out_ns, OUTSIDER, source="a pod outside the namespace")
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
            return failed(f"frontend cannot reach kube-dns on TCP 53 ({out.status.value}): allow TCP as well "
                          "as UDP, since DNS falls back to TCP for large answers")
        return passed("DNS over TCP reaches kube-dns")
    return Check("DNS over TCP is allowed too", fn)


def ingress_denied_from_outside() -> Check:
    """Hidden: the namespace's matrix cannot see traffic from other namespaces, and an
    egress-only deny still looks all-denied inside; a pod in another namespace can tell."""
    def fn(ns: Any) -> Verdict:
        outsider = stranger(ns, OUTSIDE, "stranger", {"app": "stranger"})
        open_to = []
        for pod in sorted(ns.pods(), key=lambda p: p.name):
            port = 5432 if pod.name == "db" else 8080
            if reached(ns.cluster.namespace(OUTSIDE, fresh=False).probe(f"{pod.ip}:{port}", frm="stranger")):
                open_to.append(f"{pod.name} on {port}")
        if open_to:
            return failed(f"a pod in namespace {OUTSIDE} ({outsider.name}) reaches " + ", ".join(open_to)
                          + ": incoming traffic is not isolated; a default deny lists both policyTypes, "
                          "Ingress and Egress")
        return passed(f"a pod in namespace {OUTSIDE} reaches none of the namespace's pods")
    return Check("traffic from other namespaces is denied too", fn)


def backend_only_from_frontend() -> Check:
    """Hidden: inside the namespace every other pod's egress is denied, so the matrix cannot
    see a backend that accepts 8080 from anyone, nor a frontend allowed to every pod
    labelled app=backend in any namespace; pods in another namespace can."""
    def fn(ns: Any) -> Verdict:
        if not ns.probe(f"{_ip(ns, 'backend-1')}:8080", frm="frontend").ok:
            return failed("not earned yet: this counts once frontend reaches the backend on 8080")
        stranger(ns, OUTSIDE, "stranger", {"app": "stranger"})
        twin = stranger(ns, OUTSIDE, "backend-twin", {"app": "backend"})
        stranger(ns, OUTSIDE, "frontend-twin", {"app": "frontend"})
        out_ns = ns.cluster.namespace(OUTSIDE, fresh=False)
        if reached(out_ns.probe(f"{_ip(ns, 'backend-1')}:8080", frm="stranger")):
            return failed(f"a pod in namespace {OUTSIDE} (app=stranger) reaches backend-1 on 8080: the "
                          "backend's ingress rule allows every source; limit `from:` to the frontend pods")
        if reached(out_ns.probe(f"{_ip(ns, 'backend-1')}:8080", frm="frontend-twin")):
            return failed(f"an app=frontend pod in namespace {OUTSIDE} reaches backend-1 on 8080: the "
                          "backend's rule matches frontends of every namespace; a podSelector alone (no "
                          "namespaceSelector) means this namespace")
        if reached(ns.probe(f"{twin.ip}:8080", frm="frontend")):
            return failed(f"frontend reaches an app=backend pod in namespace {OUTSIDE} on 8080: its egress "
                          "rule matches backends in every namespace; a podSelector alone (no "
                          "namespaceSelector) means this namespace")
        return passed("only frontend reaches the backend, and only this namespace's backend")
    return Check("the path is open between these pods only", fn)


def every_pod_resolves() -> Check:
    """Hidden: the task says every pod of the namespace, not only frontend."""
    def fn(ns: Any) -> Verdict:
        failing = []
        for pod in sorted(ns.pods(), key=lambda p: p.name):
            ans = ns.lookup("backend", frm=pod.name)
            if ans.rcode != "NOERROR":
                failing.append(f"{pod.name} ({ans.rcode})")
        if failing:
            return failed("these pods cannot resolve names: " + ", ".join(failing)
                          + "; select every pod of the namespace (podSelector: {}) in the DNS policy")
        return passed("every pod of the namespace resolves names")
    return Check("every pod can use DNS", fn)


def _ip(ns: Any, pod: str) -> str:
    return next(p.ip for p in ns.pods() if p.name == pod)


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
    hidden=[new_pods_isolated(), ingress_denied_from_outside()],
    reference=DEFAULT_DENY,
    explanation=(
        "`podSelector: {}` selects every pod of the namespace, and listing both policy types with no "
        "rules isolates each pod in both directions with nothing allowed. It also covers pods created "
        "later."),
    wrong_answers=(
        WrongAnswer("`policyTypes: [Ingress]` only: the matrix is all denied, but egress (DNS included) is "
                    "still open.", _deny("[Ingress]"), max_score=3.4),
        WrongAnswer("`policyTypes: [Egress]` only: the matrix is all denied too (every source's egress is), "
                    "but nothing stops incoming traffic from other namespaces.",
                    _deny("[Egress]"), max_score=3.4),
        WrongAnswer("A podSelector listing today's apps: pods added later are not isolated.",
                    _deny("[Ingress, Egress]", "{matchExpressions: [{key: app, operator: In, "
                          "values: [frontend, backend, db]}]}"), max_score=3.4),
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
    hidden=[egress_only_to_backend(), backend_only_from_frontend()],
    reference=FRONTEND_TO_BACKEND,
    explanation=(
        "A connection needs the source's egress and the destination's ingress. One policy on the "
        "backends allows ingress from frontend on 8080; one on frontend allows egress to the backends "
        "on 8080. Ports are the pods' ports after the Service's DNAT, so 8080, not the Service's 80."),
    wrong_answers=(
        WrongAnswer("Only the ingress policy: frontend's egress is still denied, so nothing changes.",
                    FRONTEND_TO_BACKEND.split("---")[0], max_score=3),
        WrongAnswer("`port: 80` (the Service port): policies see the pod port, 8080, so traffic stays "
                    "denied.",
                    FRONTEND_TO_BACKEND.replace("port: 8080", "port: 80"), max_score=3),
        WrongAnswer("`egress: [{}]` on frontend: allowed to every destination, the backend included, and "
                    "everywhere else.", FRONTEND_TO_BACKEND.split("---")[0] + """---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: frontend-out}
spec:
  podSelector: {matchLabels: {app: frontend}}
  policyTypes: [Egress]
  egress: [{}]
""", max_score=3.4),
        WrongAnswer("No `from:` on the backend's rule: frontend gets through, and so does every pod of every "
                    "other namespace.", FRONTEND_TO_BACKEND.replace("""  - from:
    - podSelector:
        matchLabels:
          app: frontend
    ports:""", """  - ports:"""), max_score=3.4),
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
    hidden=[dns_over_tcp(), every_pod_resolves(), egress_only_to_dns("frontend", OUTSIDE)],
    reference=DNS_EGRESS,
    explanation=(
        "Egress to the CoreDNS pods (namespaceSelector and podSelector in one peer: both must match) on "
        "UDP and TCP 53. The pod-to-pod matrix is unchanged, but names now resolve, so frontend reaches "
        "`backend:80`."),
    wrong_answers=(
        WrongAnswer("UDP 53 only: works until an answer is too "
                    "large for UDP and the resolver retries over TCP.",
                    DNS_EGRESS.replace("    - protocol: TCP\n      port: 53\n", ""), max_score=3.5),
        WrongAnswer("namespaceSelector and podSelector as two separate peers: allows every pod of "
                    "kube-system and every kube-dns-labelled pod of this namespace (an OR, not an AND).",
                    DNS_EGRESS.replace("      podSelector:", "    - podSelector:"), max_score=3.5),
        WrongAnswer("`egress: [{ports: [{port: 53}]}]`: DNS works, but port 53 of every destination is open.",
                    _dns_policy("[{ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]}]"),
                    max_score=3.5),
        WrongAnswer("`egress: [{}]`: DNS works, and so does every other connection out of every pod.",
                    _dns_policy("[{}]"), max_score=3.5),
        WrongAnswer("A DNS policy for frontend only: the task asks for every pod of the namespace.",
                    DNS_EGRESS.replace("  podSelector: {}", "  podSelector: {matchLabels: {app: frontend}}"),
                    max_score=3.5),
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
