"""Lab 1, ClusterIP Services: expose a Deployment, fix a selector, name a targetPort,
serve two ports, and observe load balancing through /hostname."""
from __future__ import annotations

from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, listing, partial, passed
from grader.kind.images import AGNHOST_IMAGE
from grader.labs.facts import fact
from grader.labs.lab1_affinity import PART7
from grader.labs.lab1_kube_proxy import PART8
from grader.labs.lab1_readiness import PART6
from grader.labs.spec import FACTS, Lab, Part, WrongAnswer, add_pods
from grader.labs.workloads import Port, netexec_workload, pause_pod

WORKLOADS = "\n" + "---\n".join([
    netexec_workload("backend", {"app": "backend", "tier": "api"}, replicas=3, container="api",
                     udp_port=8081, ports=[Port(8080, "http"), Port(8081, "udp-echo", "UDP")]),
    netexec_workload("catalog", {"app": "catalog", "tier": "api"}, replicas=2),
    netexec_workload("shop-v1", {"app": "shop", "version": "v1"}, replicas=2, container="shop",
                     selector={"app": "shop", "version": "v1"}, ports=[Port(8080, "web")]),
    pause_pod("client", {"app": "client"}),
])

BROKEN_CATALOG = """
apiVersion: v1
kind: Service
metadata: {name: catalog}
spec:
  selector: {app: catalogue}
  ports: [{port: 80, targetPort: 8080}]
"""

#: The second version of the shop: its port named `web` is 9090, not 8080.
SHOP_V2 = "\n" + netexec_workload("shop-v2", {"app": "shop", "version": "v2"}, container="shop",
                                  selector={"app": "shop", "version": "v2"}, http_port=9090,
                                  ports=[Port(9090, "web")])

#: The backend after a rollout: a new pod template, so new pods with a new pod-template-hash.
BACKEND_ROLLED_OUT = "\n" + netexec_workload(
    "backend", {"app": "backend", "tier": "api"}, replicas=3, container="api", udp_port=8081,
    ports=[Port(8080, "http"), Port(8081, "udp-echo", "UDP")], template_annotations={"rollout": "second"})


def survives_rollout() -> Check:
    """Hidden: a Service that picked pods by a label only today's pods carry (their
    pod-template-hash) works until the next rollout; a selector on the app's own labels
    keeps working."""
    def fn(ns: Any) -> Verdict:
        add_pods(ns, BACKEND_ROLLED_OUT, source="a rollout of the backend")
        return checks.endpoints_match("backend", "app=backend", port=8080).fn(ns)
    return Check("Service backend still selects the backend after a rollout", fn)


def follows_named_port() -> Check:
    """Hidden: with shop-v2 (port `web` = 9090) beside shop-v1 (port `web` = 8080), a
    targetPort by name reaches each pod on its own port; a number reaches only one version."""
    def fn(ns: Any) -> Verdict:
        add_pods(ns, SHOP_V2, source="shop version 2")
        want = {p.name: (9090 if p.labels.get("version") == "v2" else 8080)
                for p in checks.pods_matching(ns, "app=shop") if p.ready}
        got = {e.pod.split("/", 1)[-1]: e.port for e in ns.endpoints("shop") if e.ready and e.pod}
        wrong = sorted(f"{pod} on {got.get(pod, 'no port')} (it listens on {port})"
                       for pod, port in want.items() if got.get(pod) != port)
        if wrong:
            return partial((len(want) - len(wrong)) / max(len(want), 1),
                           "with shop-v2 added (its port `web` is 9090), Service shop sends traffic to "
                           + listing(wrong) + "; a targetPort by name follows each pod's own port")
        return passed("Service shop reaches shop-v1 on 8080 and "
                      "shop-v2 on 9090: the named port follows the pods")
    return Check("targetPort follows the port name across versions", fn)


def serves_next_version() -> Check:
    """Hidden: the next version must get traffic on the port it listens on. A selector pinned
    to `version: v1` leaves it out; a numeric targetPort sends it requests where nothing
    listens. Either breaks the task's whole point, so this check fails outright."""
    def fn(ns: Any) -> Verdict:
        add_pods(ns, SHOP_V2, source="shop version 2")
        v2 = [p for p in checks.pods_matching(ns, "app=shop,version=v2") if p.ready]
        eps = {e.pod.split("/", 1)[-1]: e.port for e in ns.endpoints("shop") if e.ready and e.pod}
        missing = [p.name for p in v2 if p.name not in eps]
        if not v2 or missing:
            return failed("Service shop has no endpoint for shop-v2's pod"
                          + (f" {missing[0]}" if missing else "")
                          + ": its selector leaves the next version out; select `app: shop` only")
        wrong = [p.name for p in v2 if eps[p.name] != 9090]
        if wrong:
            return failed(f"shop-v2's pod {wrong[0]} gets requests on {eps[wrong[0]]}, where nothing listens "
                          "(its port `web` is 9090): use `targetPort: web`")
        return passed("shop-v2's pods get requests on their own port `web` (9090)")
    return Check("the next version of the shop gets traffic", fn, points=2)


def _service(name: str, selector: str, ports: str) -> str:
    """A one-line-per-field Service, for the wrong answers."""
    return (f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n"
            f"  selector: {selector}\n  ports: {ports}\n")


def distinct_answers(answer: str) -> list[Check]:
    def count(ns: Any) -> Verdict:
        claimed = fact(answer, "distinct_answers")
        seen = set()
        for _ in range(60):
            out = ns.probe("backend:80/hostname", frm="client")
            if out.ok and out.body:
                seen.add(out.body.strip())
        if not isinstance(claimed, int) or isinstance(claimed, bool):
            return failed(f"distinct_answers should be a whole number, not {claimed!r}")
        if claimed != len(seen):
            return failed(f"you recorded {claimed} distinct answers; 60 requests to backend:80/hostname "
                          f"got {len(seen)}: one per backend pod, because the Service spreads requests over "
                          "all of its ready endpoints")
        return passed(f"{len(seen)} distinct answers, one per backend pod")

    def meaning(ns: Any) -> Verdict:
        said = str(fact(answer, "each_answer_is") or "").strip().lower()
        if not said:
            return failed("each_answer_is is missing: say what each /hostname answer names")
        if "pod" in said:
            return passed("each answer is the name of the pod that served the request")
        return failed(f"each_answer_is is {said!r}, but /hostname answers with the name of the pod that "
                      "served the request (a pod's hostname is its name), not the Service, node or IP")
    return [Check("you counted the pods that answer", count), Check("you said what /hostname names", meaning)]


PART1 = Part(
    id="part1", title="Expose the backend", points=3,
    visible=[
        checks.service_type("backend", "ClusterIP"),
        checks.endpoints_match("backend", "app=backend", port=8080),
        checks.reachable("backend:80/hostname", frm="client", answered_by="app=backend"),
        checks.spreads_over("backend:80/hostname", "client", "app=backend"),
    ],
    hidden=[survives_rollout()],
    task="""
The lab runs a Deployment called `backend`: three replicas of agnhost's `netexec`, serving
HTTP on container port 8080 (named `http`). Its pods carry `app: backend` and `tier: api`.
A pod called `client` stands in for the callers.

Write a **ClusterIP Service named `backend`** that clients reach on **port 80** and that
forwards to the backend pods' port 8080. The checks look at what it does: its endpoints,
a request from `client` to `backend:80/hostname`, and whether every replica answers.
""",
    reference="""\
apiVersion: v1
kind: Service
metadata:
  name: backend
spec:
  selector:
    app: backend
  ports:
  - name: http
    port: 80
    targetPort: 8080
""",
    explanation=(
        "A ClusterIP Service (the default type) gets a stable virtual IP and DNS name; its selector "
        "`app: backend` matches the labels of the Deployment's pod template, so every backend replica "
        "becomes an endpoint. Clients connect to port 80; targetPort 8080 is where netexec listens."),
    wrong_answers=(
        WrongAnswer("`targetPort` left out: it defaults to `port` (80), where nothing listens, so requests "
                    "are refused.", _service("backend", "{app: backend}", "[{port: 80}]"), max_score=1.5),
        WrongAnswer("`selector: {tier: api}`: also matches the catalog "
                    "pods, so some requests reach the wrong app.",
                    _service("backend", "{tier: api}", "[{port: 80, targetPort: 8080}]"), max_score=2.6),
        # the hash the model gives today's backend pod template
        WrongAnswer("A selector on `pod-template-hash`: it works until the next rollout replaces the pods.",
                    _service("backend", "{pod-template-hash: whx9hjh5vv}", "[{port: 80, targetPort: 8080}]"),
                    max_score=2.5),
    ),
)

PART2 = Part(
    id="part2", title="Fix the catalog Service", points=2,
    setup=BROKEN_CATALOG,
    visible=[
        checks.endpoints_match("catalog", "app=catalog", port=8080),
        checks.reachable("catalog:80/hostname", frm="client", answered_by="app=catalog"),
    ],
    hidden=[checks.service_type("catalog", "ClusterIP")],
    task="""
A colleague applied a Service for the `catalog` Deployment (two replicas, labels
`app: catalog`, `tier: api`, netexec on 8080), but requests to it fail. Inspect it with
`lab.show("part2")` and `lab.explore("part2", with_answer=False)` (try
`ns.endpoints("catalog")` and `ns.probe("catalog:80/hostname", frm="client")`), find the
mistake, and write the **corrected Service `catalog`** (same name, port 80). Applying it
replaces the broken one.
""",
    reference="""\
apiVersion: v1
kind: Service
metadata:
  name: catalog
spec:
  selector:
    app: catalog
  ports:
  - port: 80
    targetPort: 8080
""",
    explanation=(
        "The broken Service selected `app: catalogue`, a label no pod carries, so it had no endpoints "
        "(`kubectl get endpoints catalog` is empty). Selectors match labels exactly; re-applying the "
        "Service with `app: catalog` fixes it without touching the Deployment."),
    wrong_answers=(
        WrongAnswer("Re-applying the Deployment with `app: catalogue`: a Deployment's selector is immutable, "
                    "so the API server refuses it.", f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: catalog}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: catalogue}}}}
  template:
    metadata: {{labels: {{app: catalogue, tier: api}}}}
    spec:
      containers: [{{name: catalog, image: {AGNHOST_IMAGE}, args: [netexec, --http-port=8080]}}]
""", max_score=0),
        WrongAnswer("`selector: {tier: api}`: matches the backend pods too.",
                    _service("catalog", "{tier: api}", "[{port: 80, targetPort: 8080}]"), max_score=1.5),
    ),
)

PART3 = Part(
    id="part3", title="A named targetPort", points=2,
    visible=[
        checks.endpoints_match("shop", "app=shop", port=8080),
        checks.reachable("shop:80/hostname", frm="client", answered_by="app=shop"),
    ],
    hidden=[follows_named_port(), serves_next_version(), checks.service_type("shop", "ClusterIP")],
    task="""
The `shop-v1` Deployment (labels `app: shop`, `version: v1`) names its container port
`web`. A second version will soon run beside it, and its `web` port may be a different
number. Write a **Service `shop`** on **port 80** that reaches every `app: shop` pod on
the port **named `web`**, whatever its number.
""",
    reference="""\
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector:
    app: shop
  ports:
  - name: http
    port: 80
    targetPort: web
""",
    explanation=(
        "`targetPort: web` names the container port instead of its number, and is resolved per pod: "
        "shop-v1 pods listen on 8080, a later shop-v2 on 9090, and the same Service reaches both "
        "while they run side by side."),
    wrong_answers=(
        WrongAnswer("`targetPort: 8080`: passes today, but when shop-v2 (port `web` = 9090) arrives, its "
                    "pods get requests on a port where nothing listens.",
                    _service("shop", "{app: shop}", "[{port: 80, targetPort: 8080}]"), max_score=1.25),
        WrongAnswer("`selector: {app: shop, version: v1}`: never sends traffic to the next version.",
                    _service("shop", "{app: shop, version: v1}", "[{port: 80, targetPort: web}]"),
                    max_score=1.25),
        WrongAnswer("Both at once, pinned to `version: v1` with `targetPort: 8080`: right today, wrong for "
                    "every later version.",
                    _service("shop", "{app: shop, version: v1}", "[{port: 80, targetPort: 8080}]"),
                    max_score=1.25),
    ),
)

PART4 = Part(
    id="part4", title="One Service, two ports", points=2,
    visible=[
        checks.service_port("echo", 80),
        checks.service_port("echo", 8081, protocol="UDP"),
        checks.reachable("echo:80/hostname", frm="client", answered_by="app=backend"),
        checks.reachable("echo:8081", frm="client", protocol="UDP", answered_by="app=backend"),
    ],
    hidden=[checks.endpoints_match("echo", "app=backend", name="Service echo selects the backend pods only"),
            checks.service_type("echo", "ClusterIP")],
    task="""
The backend pods also answer a UDP echo on container port 8081 (named `udp-echo`). Write
a **Service `echo`** for the backend pods with **two ports**: HTTP on port 80 (to the
`http` container port) and the UDP echo on port 8081.
""",
    reference="""\
apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  selector:
    app: backend
  ports:
  - name: http
    port: 80
    targetPort: http
  - name: udp-echo
    port: 8081
    protocol: UDP
    targetPort: udp-echo
""",
    explanation=(
        "A Service with more than one port must name every port (the API server refuses it otherwise). "
        "Each port has its own protocol: the UDP echo needs `protocol: UDP`, since the default is TCP."),
    wrong_answers=(
        WrongAnswer("Ports without names: refused, `spec.ports[0].name: Required value`.",
                    _service("echo", "{app: backend}",
                             "[{port: 80, targetPort: http}, "
                             "{port: 8081, protocol: UDP, targetPort: udp-echo}]"),
                    max_score=0),
        WrongAnswer("The second port without `protocol: UDP`: a TCP port 8081 where only UDP is served.",
                    _service("echo", "{app: backend}",
                             "[{name: http, port: 80, targetPort: http}, {name: udp-echo, port: 8081, "
                             "targetPort: 8081}]"), max_score=1.5),
    ),
)

PART5 = Part(
    id="part5", title="What does /hostname return?", points=2, kind=FACTS,
    builds_on=("part1",),
    visible=distinct_answers,
    task="""
With your `backend` Service from part 1 in place, send a dozen requests and look at the
answers:

```python
ns = lab.explore("part5")
for _ in range(12):
    print(ns.probe("backend:80/hostname", frm="client").body)
```

Record what you saw as two facts (YAML, not a manifest):

```yaml
distinct_answers: <how many different answers you got>
each_answer_is: <what each answer names: the Service, a node, a pod, an IP?>
```
""",
    reference="""\
distinct_answers: 3
each_answer_is: the name of the pod that served the request
""",
    explanation=(
        "Each request through the ClusterIP is sent to one ready endpoint, chosen at random per "
        "connection (kube-proxy's iptables mode), so repeated requests are answered by all three "
        "replicas, and netexec's /hostname reports the pod's hostname, which is the pod's name."),
    wrong_answers=(
        WrongAnswer("`distinct_answers: 1`: expecting the Service itself to answer; it is only a virtual IP.",
                    "distinct_answers: 1\neach_answer_is: the name of the pod that served the request\n",
                    max_score=1),
        WrongAnswer("`each_answer_is: the service name`: the Service never answers; a pod does.",
                    "distinct_answers: 3\neach_answer_is: the service name\n", max_score=1),
    ),
)

LAB = Lab(
    name="lab1-clusterip",
    title="Lab 1: ClusterIP Services",
    namespace="lab1",
    workloads=WORKLOADS,
    parts=(PART1, PART2, PART3, PART4, PART5, PART6, PART7, PART8),
    goals="""
- expose a Deployment inside the cluster with a ClusterIP Service;
- find and fix a Service that selects no pods;
- point a Service at a container port by name, so it survives a port change;
- serve two ports (TCP and UDP) from one Service;
- see how a Service spreads requests over its endpoints;
- keep a pod that cannot serve out of rotation with a readiness probe;
- keep each client on one pod with session affinity, for as long as the task says.
- shape the rules kube-proxy writes for a Service: which pods a ClusterIP is DNATed to, a
  node port, clients kept on their pod.
""",
    concept="""
A Service gives a changing set of pods one stable address. Its **selector** picks pods by
label; the EndpointSlice controller lists every selected pod that has an IP as an
**endpoint** and records whether it is Ready in `conditions.ready` (a failing readiness
probe makes it `false`); kube-proxy rewrites a connection to the Service's ClusterIP and
`port` into the IP and `targetPort` of one *ready* endpoint. `targetPort` may be a number
or the *name* of a container port, resolved pod by pod.

```mermaid
flowchart LR
    client["pod client"] -->|"backend:80"| svc["Service backend<br/>ClusterIP, port 80"]
    svc -->|"targetPort 8080"| p1["backend pod 1"]
    svc --> p2["backend pod 2"]
    svc --> p3["backend pod 3"]
```
""",
    whats_next="""
Lab 2 takes the same backend out of the cluster: a NodePort you can reach from your own
machine, and a LoadBalancer with an address of its own.
""",
)
