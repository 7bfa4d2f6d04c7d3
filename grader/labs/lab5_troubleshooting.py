"""Lab 5, troubleshooting: a three-tier app with four planted faults (a label mismatch, a
wrong targetPort, a policy that blocks DNS, a wrong namespace in a DNS name). The api reads
DB_HOST from its environment, filled from the ConfigMap `api-config` when its container
starts. The learner applies fixed objects on top of the broken app; grading is by what the
running app sees and reaches (the api pods' own environment, not the ConfigMap's text), so
any fix that makes the app work scores, a ConfigMap edited without replacing the pods does
not, and a "fix" that opens everything does not either."""
from __future__ import annotations

from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.kind.images import AGNHOST_IMAGE
from grader.labs.spec import Lab, Part, WrongAnswer
from grader.labs.strangers import dns_over_tcp, egress_only_to_dns, reached, stranger
from grader.labs.workloads import Port, netexec_workload, pause_pod


def _deployment(name: str, port: int, env_from: tuple[str, ...] = ()) -> str:
    return netexec_workload(name, {"app": name}, replicas=2, http_port=port, ports=[Port(port, "main")],
                            env_from=env_from)


# The broken app. Each fault is one realistic slip; the lab never says which is where.
BROKEN_APP = "---\n".join([
    _deployment("frontend", 8080),
    _deployment("api", 8080, env_from=("api-config",)),
    _deployment("db", 5432),
    pause_pod("user", {"app": "user"}),
    # fault: wrong targetPort (the frontend listens on 8080)
    """apiVersion: v1
kind: Service
metadata: {name: frontend}
spec:
  selector: {app: frontend}
  ports: [{port: 80, targetPort: 80}]
""",
    # fault: label mismatch (the pods carry app: api)
    """apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: api-server}
  ports: [{port: 80, targetPort: 8080}]
""",
    """apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  selector: {app: db}
  ports: [{port: 5432, targetPort: 5432}]
""",
    # fault: wrong namespace in a DNS name (the db Service is in this namespace, lab5)
    """apiVersion: v1
kind: ConfigMap
metadata: {name: api-config}
data:
  DB_HOST: db.database.svc.cluster.local
  DB_PORT: "5432"
""",
    # fault: api's egress is isolated and only the database is allowed, so DNS is blocked
    """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-egress}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: db}}}]
    ports: [{port: 5432}]
""",
    """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-ingress}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress]
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 5432}]
""",
])


def api_db_host(ns: Any) -> tuple[str, str | None]:
    """(DB_HOST as every api pod's environment has it, None) or ("", why not): what the app
    reads, from the running pods, so a ConfigMap changed after they started does not count."""
    pods = checks.pods_matching(ns, "app=api")
    if not pods:
        return "", "no api pod runs"
    seen = {p.name: ns.env(p.name).get("DB_HOST", "").strip() for p in pods}
    values = set(seen.values())
    if len(values) > 1:
        return "", ("the api pods disagree on DB_HOST (" + ", ".join(f"{k}: {v or 'unset'}" for k, v in
                                                              sorted(seen.items())) + ")")
    host = values.pop()
    if not host:
        return "", ("the api's pods have no DB_HOST in their environment: they read it from the ConfigMap "
                    "api-config (envFrom) when they start")
    return host, None


#: What to say when the api still sees the DB_HOST the broken app started it with.
STALE = ("if you changed api-config, the running pods still see the old value: a container reads its "
         "environment once, when it starts; replace the pods (`kubectl rollout restart deployment/api` "
         "changes the pod template's restartedAt annotation; in YAML, change the template)")

BROKEN_DB_HOST = "db.database.svc.cluster.local"


def connectivity(answer: str) -> list[Check]:
    def api_resolves_db(ns: Any) -> Verdict:
        host, why = api_db_host(ns)
        if why:
            return failed(why)
        ans = ns.lookup(host, frm="app=api")
        svc = ns.service("db")
        if ans.rcode == "TIMEOUT":
            return failed(f"the api's DNS query for {host} gets no answer: a NetworkPolicy isolates the "
                          "api's egress and allows no DNS (UDP and TCP 53 to kube-dns in kube-system)")
        if ans.rcode == "NXDOMAIN":
            return failed(f"the api looks up DB_HOST={host} and gets NXDOMAIN: no Service of that name "
                          f"exists there; the db Service is in namespace {ns.name}"
                          + (f" ({STALE})" if host == BROKEN_DB_HOST else ""))
        if svc is None or ans.addresses != [svc.cluster_ip]:
            return failed(f"DB_HOST={host} resolves to {ans.addresses}, not the db Service's ClusterIP")
        return passed(f"the api resolves DB_HOST={host} to the db Service")

    def api_reaches_db(ns: Any) -> Verdict:
        host, why = api_db_host(ns)
        if why:
            return failed(why)
        return checks.reachable(f"{host}:5432", frm="app=api", answered_by="app=db").fn(ns)

    return [
        checks.reachable("frontend:80/hostname", frm="user", answered_by="app=frontend",
                         name="the user reaches the frontend"),
        checks.reachable("api:80/hostname", frm="app=frontend", answered_by="app=api",
                         name="the frontend reaches the api"),
        Check("the api resolves its DB_HOST", api_resolves_db),
        Check("the api reaches the database through DB_HOST", api_reaches_db),
    ]


def db_still_protected() -> Check:
    def fn(ns: Any) -> Verdict:
        # Counts only once the app works: doing nothing must not earn "still protected".
        if not ns.probe("db:5432", frm="app=api").ok:
            return failed("not earned yet: this counts once the api reaches the database")
        out = ns.probe("db:5432", frm="app=frontend")
        if out.ok:
            return failed("the frontend reaches the database: the fix opened db-ingress to everyone; only "
                          "the api may reach the database")
        return passed("only the api reaches the database")
    return Check("the database is still closed to the frontend", fn)


def api_egress_still_limited() -> Check:
    def fn(ns: Any) -> Verdict:
        fe = next((p for p in checks.pods_matching(ns, "app=frontend")), None)
        if fe is None:
            return failed("no frontend pod to test with")
        if ns.lookup("db", frm="app=api").rcode != "NOERROR":
            return failed("not earned yet: this counts once the api's DNS queries are answered")
        out = ns.probe(f"{fe.ip}:8080", frm="app=api")
        if out.ok:
            return failed("the api can now open connections to any pod (here the frontend): the DNS fix "
                          "should add port 53, not allow all egress")
        return passed("the api's egress is still limited to the database and DNS")
    return Check("the api's egress is still limited", fn)


#: A namespace without policies, for the pods the hidden checks meet the api with.
OUTSIDE = "lab5-outside"


def db_rule_exact() -> Check:
    """Hidden: the database rule of api-egress must still lead to this namespace's db pods
    only. Every other pod denies the api's 5432 anyway, so the app cannot tell; pods the
    learner never saw can: another pod here, an app=db pod and a stranger elsewhere."""
    def fn(ns: Any) -> Verdict:
        if not ns.probe("db:5432", frm="app=api").ok:
            return failed("not earned yet: this counts once the api reaches the database")
        fe = next(p for p in checks.pods_matching(ns, "app=frontend"))
        twin = stranger(ns, OUTSIDE, "db-twin", {"app": "db"}, 5432)
        other = stranger(ns, OUTSIDE, "stranger", {"app": "stranger"}, 8080, 53)
        for ip, what, fix in ((fe.ip, f"{fe.name} (a frontend pod) on 5432", "keep `to:` the db pods"),
                              (twin.ip, f"an app=db pod in namespace {OUTSIDE} on 5432",
                               "a podSelector alone (no namespaceSelector) means this namespace"),
                              (other.ip, f"a pod in namespace {OUTSIDE} on 5432", "keep `to:` the db pods")):
            if reached(ns.probe(f"{ip}:5432", frm="app=api")):
                return failed(f"the api reaches {what}: the database rule of api-egress lets it out to more "
                              f"than the database; {fix}")
        return passed("the api's database rule leads to this namespace's db pods only")
    return Check("the api's database rule is still exact", fn)


def services_stay_inside() -> Check:
    """Hidden: a fix must not open the app outside the cluster (a NodePort or LoadBalancer
    makes every node, or an external address, a way in)."""
    def fn(ns: Any) -> Verdict:
        opened = [f"{name} is a {svc.type}" for name in ("frontend", "api", "db")
                  if (svc := ns.service(name)) is not None and svc.type != "ClusterIP"]
        if opened:
            return failed("; ".join(opened)
                          + ": the fix opens the Service outside the cluster; keep type ClusterIP")
        return passed("frontend, api and db stay ClusterIP Services")
    return Check("the Services stay inside the cluster", fn)


FIXES = """\
apiVersion: v1
kind: Service
metadata:
  name: frontend
spec:
  selector:
    app: frontend
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  selector:
    app: api
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-config
data:
  DB_HOST: db
  DB_PORT: "5432"
---
# what `kubectl rollout restart deployment/api` does: a new pod template, so new pods
# that read the fixed api-config when they start
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
      annotations: {kubectl.kubernetes.io/restartedAt: "2026-01-01T00:00:00Z"}
    spec:
      containers:
      - name: api
        image: IMAGE
        args: [netexec, --http-port=8080]
        ports: [{name: main, containerPort: 8080}]
        envFrom: [{configMapRef: {name: api-config}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-egress
spec:
  podSelector:
    matchLabels:
      app: api
  policyTypes:
  - Egress
  egress:
  - to:
    - podSelector:
        matchLabels:
          app: db
    ports:
    - port: 5432
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

FIXES = FIXES.replace("IMAGE", AGNHOST_IMAGE)
#: The fixes with api-config changed but the api's pods left running.
WITHOUT_RESTART = FIXES.replace(FIXES[FIXES.index("# what `kubectl rollout"):FIXES.index(
    "---\napiVersion: networking.k8s.io/v1")], "")

PART1 = Part(
    id="fixes", title="Find and fix the four faults", points=12, needs_policy_enforcement=True,
    task="""
`lab.show()` prints the whole app: a `frontend`, an `api` and a `db` Deployment, their
Services, the api's ConfigMap `api-config` (the api's pods load it into their environment
with `envFrom` and connect to `DB_HOST`), two NetworkPolicies, and a `user` pod standing in
for a visitor. It should work like this:
the user reaches `frontend:80`, the frontend reaches `api:80`, and the api reaches the
database at `DB_HOST`, port 5432. **Four** things are broken.

Explore with `ns = lab.explore("fixes", with_answer=False)`: `ns.probe(...)`,
`ns.endpoints(...)`, `ns.lookup(..., frm="app=api")`, `ns.matrix(...)`. Then write **only
the objects you change**, fixed, in the answer cell: they are applied on top of the broken
app, as `kubectl apply` would. Keep the database closed to everyone but the api.

The checks read what the app sees: `ns.env("app=api")` is the environment of a running api
pod (live, `env` run in it). A container reads its environment once, when it starts, so a
changed ConfigMap reaches the api only through new pods: on a cluster you would run
`kubectl rollout restart deployment/api`; in YAML, re-apply the Deployment with a changed pod
template (the restart sets the annotation `kubectl.kubernetes.io/restartedAt`).
""",
    visible=connectivity,
    # the four checks added with the judge are worth half each, so a missed fault still
    # weighs what it did (each visible check is 1.5 of the 12 points)
    hidden=[db_still_protected(), api_egress_still_limited(), dns_over_tcp("app=api").worth(0.5),
            egress_only_to_dns("app=api", OUTSIDE, also=" and the database").worth(0.5),
            db_rule_exact().worth(0.5), services_stay_inside().worth(0.5)],
    reference=FIXES,
    explanation=(
        "1. Service frontend sent traffic to port 80 of its pods, where nothing listens: targetPort 8080. "
        "2. Service api selected `app: api-server`, which no pod carries, so it had no endpoints: select "
        "`app: api`. 3. DB_HOST named namespace `database`, but the db Service is in this namespace: `db` "
        "(or `db.lab5.svc.cluster.local`); the api's pods read api-config into their environment when they "
        "start, so the fix needs new pods too: `kubectl rollout restart deployment/api`, which is a changed "
        "pod template (the annotation `kubectl.kubernetes.io/restartedAt`), as the reference re-applies it. "
        "4. api-egress isolated the api's egress and allowed only the database, so its DNS queries were "
        "dropped: add UDP and TCP 53 to kube-dns."),
    wrong_answers=(
        WrongAnswer("Fixing the Service api by relabelling the Deployment: its selector is immutable, so the "
                    "API server refuses it.",
                    WITHOUT_RESTART.replace("""  selector:
    app: api
""", """  selector:
    app: api-server
""") + f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: api-server}}}}
  template:
    metadata: {{labels: {{app: api-server}}}}
    spec:
      containers: [{{name: api, image: {AGNHOST_IMAGE}, args: [netexec, --http-port=8080]}}]
""", max_score=0),
        WrongAnswer("Deleting the policies' rules (`egress: [{}]`): DNS works, but the api may now connect "
                    "anywhere.", FIXES.split("---\napiVersion: networking.k8s.io/v1")[0] + """---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-egress}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  egress: [{}]
""", max_score=11),
        WrongAnswer("api-config fixed but the api's pods not replaced: they keep the DB_HOST they started "
                    "with, so the api still looks up the old name.",
                    WITHOUT_RESTART, max_score=9),
        WrongAnswer("DB_HOST `db.lab5` is fine; `db.default` is not: the namespace must be the db Service's.",
                    FIXES.replace("DB_HOST: db\n", "DB_HOST: db.default\n"), max_score=9),
    ),
)

LAB = Lab(
    name="lab5-troubleshooting",
    title="Lab 5: Troubleshooting a broken application",
    namespace="lab5",
    workloads=BROKEN_APP,
    parts=(PART1,),
    goals="""
- follow a request through Service, endpoints, DNS and NetworkPolicy to find where it stops;
- fix each fault with the smallest change;
- keep the security the application had.
""",
    concept="""
Troubleshooting a Service follows the request: does the name resolve (DNS, and which
namespace)? Does the Service have endpoints (selector vs labels, readiness)? Do the
endpoints listen on the targetPort? Does a NetworkPolicy drop it (egress of the source,
ingress of the destination, DNS is egress too)?

```mermaid
flowchart LR
    user["user"] -->|"frontend:80"| fe["frontend"]
    fe -->|"api:80"| api["api"]
    api -->|"DNS: DB_HOST?"| dns["kube-dns"]
    api -->|"DB_HOST:5432"| db["db"]
```
""",
    whats_next="""
Lab 6 moves up to HTTP: one address for several hosts and paths, with an Ingress and then
the Gateway API, and a canary release.
""",
)
