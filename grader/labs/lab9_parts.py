"""Lab 9's words and YAML: each part's task, its reference answer, why it is right, and the
wrong answers CI grades (grader.labs.lab9_capstone holds the checks). Apart from the
checks so that each file stays readable and small."""
from __future__ import annotations

from grader.labs.spec import WrongAnswer
from grader.labs.workloads import AGNHOST_IMAGE

DATABASE = f"""\
apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  clusterIP: None
  selector:
    app: db
  ports:
  - name: sql
    port: 5432
    targetPort: sql
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  replicas: 2
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: db
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port=5432]
        ports:
        - name: sql
          containerPort: 5432
"""


def _api(version: str, replicas: int) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api-{version}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: api
      version: {version}
  template:
    metadata:
      labels:
        app: api
        version: {version}
    spec:
      containers:
      - name: api
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port=8080]
        ports:
        - name: http
          containerPort: 8080
        readinessProbe:
          httpGet:
            path: /healthz
            port: http
---
apiVersion: v1
kind: Service
metadata:
  name: api-{version}
spec:
  selector:
    app: api
    version: {version}
  ports:
  - name: http
    port: 80
    targetPort: http
"""


API = _api("v1", 2) + "---\n" + _api("v2", 1)

POLICIES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
---
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
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-in
spec:
  podSelector:
    matchLabels:
      app: api
  policyTypes:
  - Ingress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: lab9-office
      podSelector:
        matchLabels:
          app: reports
    ports:
    - protocol: TCP
      port: 8080
  - from:
    - ipBlock:
        cidr: 172.18.0.0/16
    ports:
    - protocol: TCP
      port: 8080
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-to-db
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
    - protocol: TCP
      port: 5432
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-from-api
spec:
  podSelector:
    matchLabels:
      app: db
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: api
    ports:
    - protocol: TCP
      port: 5432
"""

#: Part 3's fixture: a plain-HTTP Gateway to api-v1, so the proxy's path can be checked
#: before part 4 builds the real one.
CHECK_GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: check}
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - {name: http, protocol: HTTP, port: 80}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: check}
spec:
  parentRefs: [{name: check}]
  rules:
  - backendRefs: [{name: api-v1, port: 80}]
"""

GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: shop
spec:
  gatewayClassName: cloud-provider-kind
  listeners:
  - name: https
    protocol: HTTPS
    port: 443
    hostname: shop.example
    tls:
      mode: Terminate
      certificateRefs:
      - name: shop-tls
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: api
spec:
  parentRefs:
  - name: shop
  hostnames:
  - shop.example
  rules:
  - backendRefs:
    - name: api-v1
      port: 80
      weight: 90
    - name: api-v2
      port: 80
      weight: 10
"""

_OPEN_API = """---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-open}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Ingress]
  ingress: [{ports: [{port: 8080}]}]
"""

PART1_TASK = f"""
The namespace is empty but for a `toolbox` pod to look from and a TLS Secret for later.
Build the shop's **database**: a **StatefulSet `db`** of **2** agnhost netexec pods
(image `{AGNHOST_IMAGE}`, `args: [netexec, --http-port=5432]`; \
pods labelled `app: db`, container port 5432 named `sql`) behind a
**headless Service `db`** on port 5432. Each database pod must have a stable name of its own:
`db-0.db` is always pod db-0. Check with `ns.lookup("db-0.db", frm="app=toolbox")`.
"""

PART1_WHY = (
    "A StatefulSet names its pods db-0, db-1 and, with `serviceName: db`, gives each the DNS name "
    "`<pod>.db` (Service db must select them). Headless (`clusterIP: None`), `db` itself answers every "
    "ready pod's address instead of one virtual IP, which is what a database's clients need to find "
    "and pick its members.")

PART1_WRONG = (
    WrongAnswer("A Service with a ClusterIP: `db-0.db` still names db-0, but `db` answers one virtual IP, so "
                "clients cannot see or pick the database pods.",
                DATABASE.replace("  clusterIP: None\n", ""), max_score=3),
    WrongAnswer("A Deployment instead of a StatefulSet: the pods get random names, so there is no db-0.",
                DATABASE.replace("kind: StatefulSet", "kind: Deployment").replace("  serviceName: db\n", ""),
                max_score=2.5),
    WrongAnswer("`serviceName` naming another Service: the pods get no per-pod DNS names under `db`.",
                DATABASE.replace("serviceName: db", "serviceName: database"), max_score=2.5),
)

PART2_TASK = """
Now the **api**, in two versions: Deployment **`api-v1`** (2 replicas, labels `app: api,
version: v1`) and **`api-v2`** (1 replica, `app: api, version: v2`), each running netexec on
8080 (container port named `http`), each behind a **ClusterIP** Service of its own name on
**port 80**.
An api pod must get traffic only once it answers: give it a **readiness probe**, `httpGet`
on `/healthz`, port `http`. The database from part 1 is applied for you.
"""

PART2_WHY = (
    "Each Service selects one version (both labels), so the canary in part 4 can weigh them. The "
    "readiness probe keeps a pod out of its Service's endpoints until /healthz answers on the port the "
    "pod serves; a probe on a port nothing listens on keeps it out for ever.")

PART2_WRONG = (
    WrongAnswer("A readiness probe on a port the api does not serve (9090): the pods never become ready.",
                API.replace("            port: http\n", "            port: 9090\n"), max_score=3.3),
    WrongAnswer("No readiness probe: pods get traffic before they can answer.",
                API.replace("""        readinessProbe:
          httpGet:
            path: /healthz
            port: http
""", ""), max_score=3.3),
    WrongAnswer("Service api-v1 selecting `app: api` only: it sends traffic to api-v2's pod too.",
                API.replace("""  selector:
    app: api
    version: v1
  ports:""", """  selector:
    app: api
  ports:"""), max_score=3.9),
)

PART3_TASK = """
Lock the shop down. The reference parts 1 and 2 are applied, and a plain-HTTP Gateway
`check` routing to api-v1 (to test the proxy's path). Write NetworkPolicies so that
**only** these connections work, besides a pod reaching itself:

| from | to | port |
|---|---|---|
| every pod of the namespace | cluster DNS (the `kube-dns` pods in `kube-system`) | 53 UDP and TCP |
| the api pods | the database pods | 5432 |
| pods labelled `app: reports` in namespace `lab9-office` | the api pods | 8080 |
| the Gateway's proxy, which connects from kind's network `172.18.0.0/16` | the api pods | 8080 |

Nothing else, in either direction, from or to any namespace, including pods started later
(`lab9-office` also runs an `intruder`, which must stay out). Look with
`ns.matrix(ports=[8080, 5432])`; the hidden checks try every forbidden pair, not a sample.
"""

PART3_WHY = (
    "A default deny for every pod in both directions, then one policy per allowed path: DNS egress to "
    "the kube-dns pods of kube-system (namespaceSelector and podSelector in one peer: both must match), "
    "the api's egress and the database's ingress on 5432 (a connection needs both ends), and the api's "
    "ingress on 8080 from the office's reports pods (one peer again) and from the proxy's network "
    "(ipBlock), since NetworkPolicy sees the Gateway's address, not a pod.")

PART3_WRONG = (
    WrongAnswer("No DNS egress: the api cannot resolve db-0.db, so it cannot use the database by name.",
                POLICIES.split("---\n", 2)[0] + "---\n" + POLICIES.split("---\n", 2)[2], max_score=4.65),
    WrongAnswer("The office peer as two peers (namespaceSelector, then podSelector): every pod of "
                "lab9-office gets in, the intruder too.",
                POLICIES.replace("""          kubernetes.io/metadata.name: lab9-office
      podSelector:""", """          kubernetes.io/metadata.name: lab9-office
    - podSelector:"""), max_score=4.65),
    WrongAnswer("`namespaceSelector: {}` with podSelector "
                "app=reports: a reports pod of any namespace gets in.",
                POLICIES.replace("""        matchLabels:
          kubernetes.io/metadata.name: lab9-office""", """        {}"""), max_score=4.65),
    WrongAnswer("`ipBlock: 0.0.0.0/0` for the proxy: every pod of every namespace reaches the api.",
                POLICIES.replace("172.18.0.0/16", "0.0.0.0/0"), max_score=4.65),
    WrongAnswer("The database open to every source on 5432: inside the namespace it looks right, since "
                "every other pod's egress is denied, but pods of other namespaces get in.",
                POLICIES.replace("""  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: api
    ports:""", """  ingress:
  - ports:"""), max_score=4.65),
    WrongAnswer("The database's ingress without the api's egress: the api still cannot reach it.",
                "---\n".join(d for d in POLICIES.split("---\n") if "name: api-to-db" not in d),
                max_score=4.65),
)

PART4_TASK = """
Open the shop to the world, over **HTTPS only**: a **Gateway `shop`** (class
`cloud-provider-kind`) with an **HTTPS listener on 443** for **`shop.example`** that
terminates TLS with the lab's Secret **`shop-tls`**, and an HTTPRoute that sends **90%** of
the requests to `api-v1` and **10%** to `api-v2` (a canary). Parts 1-3 are applied, policies
included: the api already lets the proxy in. Try it with
`ns.http(ns.gateway_address("shop"), "/hostname", host="shop.example", scheme="https")`.
"""

PART4_WHY = (
    "An HTTPS listener with `tls.mode: Terminate` and a certificateRef to the Secret: the proxy presents "
    "shop-tls to clients asking for shop.example and forwards plain HTTP to the Services. One rule with "
    "two weighted backendRefs splits requests 90/10. Without an HTTP listener, plain HTTP reaches nothing.")

PART4_WRONG = (
    WrongAnswer("Weights 50 and 50: half the traffic goes to the canary.",
                GATEWAY.replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50"),
                max_score=4.65),
    WrongAnswer("An HTTP listener on port 80 instead of HTTPS: no TLS, and the shop answers plain HTTP.",
                GATEWAY.replace("""  - name: https
    protocol: HTTPS
    port: 443
    hostname: shop.example
    tls:
      mode: Terminate
      certificateRefs:
      - name: shop-tls
""", """  - name: http
    protocol: HTTP
    port: 80
    hostname: shop.example
"""), max_score=2),
    WrongAnswer("A certificateRef to a Secret that does not exist: the listener is not programmed.",
                GATEWAY.replace("- name: shop-tls", "- name: shop-cert"), max_score=2),
    WrongAnswer("No hostname on the listener or the route: every name is served, admin.example included.",
                GATEWAY.replace("    hostname: shop.example\n", "")
                .replace("  hostnames:\n  - shop.example\n", ""),
                max_score=5.5),
    WrongAnswer("A NetworkPolicy opening the api's 8080 to everyone, to be safe: the shop works, and every "
                "pod of every namespace reaches the api.", GATEWAY + _OPEN_API, max_score=5.5),
)

GOALS = """
- build a stateful backend whose pods have stable DNS names (StatefulSet, headless Service);
- run two versions of an api, each kept out of rotation until its readiness probe passes;
- isolate everything, then open an exact allow-list (DNS, pod to pod, namespace to pod, proxy to pod);
- serve HTTPS through a Gateway with a certificate, and split traffic 90/10 for a canary;
- know that the grader tries every forbidden connection, not a few.
"""

CONCEPT = """
This lab puts labs 1 to 6 together. Each part builds on the reference answers of the
parts before it, so a slip early on costs points once. Everything you create lives in
namespace `lab9`; the office (`lab9-office`) and the world reach it only where you allow.

```mermaid
flowchart LR
    you["browser, https://shop.example"] -->|"TLS, shop-tls"| gw["Gateway shop (HTTPS 443)"]
    gw -->|"90%"| v1["Service api-v1 -> 2 pods"]
    gw -.->|"10%"| v2["Service api-v2 -> 1 pod"]
    reports["lab9-office: reports"] -->|"8080"| v1
    v1 -->|"5432, db-0.db"| db["headless Service db -> db-0, db-1"]
    v2 -->|"5432"| db
    v1 -->|"53"| dns["kube-dns (kube-system)"]
    intruder["lab9-office: intruder"] -.-x|"denied"| v1
```
"""

WHATS_NEXT = """
Run the lab again live (`make cluster`), where every check sends real traffic: the hidden
access check alone tries about 140 connections per part. Then try the timed mock exam.
"""
