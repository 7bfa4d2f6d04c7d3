"""Lab 2, traffic from outside the cluster: a NodePort on a fixed port that every node
answers, a LoadBalancer, one that keeps the client's address and admits one network,
`kubectl expose`, what each node does under externalTrafficPolicy Local, and a manually
graded explanation of when each type fits.

Parts 1 and 5 judge node by node, so the lab asks the offline model for two nodes (as the
local cluster has); both derive what each node must do from where the pods run when they
grade (part 1 first scales web to one pod, so a node without one exists wherever the
scheduler put them), never from a node's name."""
from __future__ import annotations

from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.facts import fact
from grader.labs.spec import COMMANDS, FACTS, Lab, ManualQuestion, Part, WrongAnswer
from grader.labs.workloads import netexec_workload

WEB_LABELS = {"app": "web", "tier": "frontend"}
WORKLOADS = "\n" + "---\n".join([
    netexec_workload("web", WEB_LABELS, replicas=2),
    netexec_workload("admin", {"app": "admin", "tier": "frontend"}),
])


def lb_serves_web(service: str) -> Check:
    """Hidden: every request to the LoadBalancer's own address is answered by a web pod
    (a selector on `tier: frontend` would also send some to the admin pod)."""
    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None or not svc.external_address or not svc.ports:
            return failed(f"Service {service} has no external address to send requests to")
        web = {p.name for p in checks.pods_matching(ns, "app=web")}
        for _ in range(20):
            out = ns.cluster.probe_external(svc.ports[0].port, host=svc.external_address, path="/hostname")
            pod = (out.pod or "").split("/", 1)[-1]
            if not out.ok:
                return failed(f"{svc.external_address}:{svc.ports[0].port} answered {out.status.value}")
            if pod not in web:
                return failed(f"a request to {svc.external_address}:{svc.ports[0].port} was answered by "
                              f"{pod}, which is not a web pod: select "
                              "`app: web`, not a label other apps share")
        return passed(f"20 requests to {svc.external_address}:{svc.ports[0].port} "
                      "were all answered by web pods")
    return Check(f"only web pods answer on {service}'s external address", fn)


def _node_port_service(selector: str, ports: str) -> str:
    """A NodePort Service `web`, for the wrong answers."""
    return (f"apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n  type: NodePort\n"
            f"  selector: {selector}\n  ports: {ports}\n")


PART1 = Part(
    id="part1", title="A NodePort on a fixed port", points=5,
    task="""
The `web` Deployment (two replicas, labels `app: web`, `tier: frontend`, netexec on
container port 8080 named `http`) must be reachable from **your own machine**. Write a
**Service `web` of type NodePort** with port 80 that opens **node port 30080**.

On the course's kind cluster, node ports 30080-30089 are mapped to `127.0.0.1`, so
`curl http://127.0.0.1:30080/hostname` works from your laptop; offline, the checks ask the
model the same question. Careful: an `admin` Deployment also carries `tier: frontend`.

Clients outside are given **every node's address**, so **every node** must answer on 30080,
also a node that runs no web pod. A hidden check scales `web` down to one replica (so one of
the two nodes runs none, wherever the scheduler put them) and sends a request to each node's
address on 30080.
""",
    visible=[
        checks.service_type("web", "NodePort"),
        checks.service_port("web", 80, node_port=30080),
        checks.external(30080, path="/hostname", answered_by="app=web",
                        name="127.0.0.1:30080 answers from a web pod"),
    ],
    hidden=[
        checks.endpoints_match("web", "app=web", port=8080, name="Service web selects the web pods only"),
        # last: it scales web down
        checks.every_node_answers(30080, service="web", selector="app=web",
                                  shrink=netexec_workload("web", WEB_LABELS, replicas=1),
                                  name="every node answers on 30080, also one that runs no web pod"),
    ],
    reference="""\
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: http
    nodePort: 30080
""",
    explanation=(
        "`type: NodePort` keeps the ClusterIP and additionally opens the same port on every node; "
        "`nodePort: 30080` pins it (otherwise one is allocated from 30000-32767). A connection to any "
        "node on 30080 is forwarded to a web pod's 8080, on whichever node it runs: under the default "
        "`externalTrafficPolicy: Cluster` kube-proxy may send it to another node (and rewrites the source to "
        "the node's address so the answer comes back the same way). kind maps 30080 on its node to "
        "127.0.0.1."),
    wrong_answers=(
        WrongAnswer("`port: 30080` without `nodePort`: the Service listens on 30080 inside the cluster and "
                    "gets a random node port, so 127.0.0.1:30080 does not answer.",
                    _node_port_service("{app: web}", "[{port: 30080, targetPort: 8080}]"), max_score=2),
        WrongAnswer("`nodePort: 8080`: refused, node ports must lie in 30000-32767.",
                    _node_port_service("{app: web}", "[{port: 80, targetPort: 8080, nodePort: 8080}]"),
                    max_score=0),
        WrongAnswer("`selector: {tier: frontend}`: the admin pod answers some requests.",
                    _node_port_service("{tier: frontend}", "[{port: 80, targetPort: 8080, nodePort: 30080}]"),
                    max_score=3.7),
        WrongAnswer("`externalTrafficPolicy: Local`: a node sends outside traffic only to its own web pods "
                    "and drops it when it has none, so a client that picks a node without a web pod waits "
                    "for a timeout (and which node that is depends on where the scheduler put the pods).",
                    _node_port_service("{app: web}", "[{port: 80, targetPort: 8080, nodePort: 30080}]")
                    + "  externalTrafficPolicy: Local\n", max_score=4),
    ),
)

PART2 = Part(
    id="part2", title="A LoadBalancer", points=3,
    task="""
Now give the web pods an address of their own: a **Service `web-public` of type
LoadBalancer** on **port 80**. On kind, cloud-provider-kind hands out the address
(`EXTERNAL-IP`); offline, the model plays that role. You do not choose the address or the
node port: the checks read them from the Service.
""",
    visible=[
        checks.service_type("web-public", "LoadBalancer"),
        checks.load_balancer_address("web-public"),
    ],
    hidden=[lb_serves_web("web-public"), checks.service_port("web-public", 80)],
    reference="""\
apiVersion: v1
kind: Service
metadata:
  name: web-public
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
""",
    explanation=(
        "A LoadBalancer is a NodePort Service plus an external load balancer that the cloud (here "
        "cloud-provider-kind) creates and writes into `status.loadBalancer.ingress`. Clients use that "
        "address on the Service's `port` (80), not the node port."),
    wrong_answers=(
        WrongAnswer("Reusing `nodePort: 30080` from part 1 in the same cluster: refused, the port is taken.",
                    _node_port_service("{app: web}",
                                       "[{port: 80, targetPort: 8080, nodePort: 30080}]") + """---
apiVersion: v1
kind: Service
metadata: {name: web-public}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
""", max_score=0),
        WrongAnswer("`targetPort: 80`: the balancer forwards to a port where nothing listens.", """\
apiVersion: v1
kind: Service
metadata: {name: web-public}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
""", max_score=2),
    ),
)

def _direct(policy: str, ranges: str) -> str:
    """The Service `web-direct` with one traffic policy and one source-range list, for the
    wrong answers."""
    lines = ["apiVersion: v1", "kind: Service", "metadata: {name: web-direct}", "spec:",
             "  type: LoadBalancer", "  selector: {app: web}", "  ports: [{port: 80, targetPort: 8080}]"]
    if policy:
        lines.append(f"  externalTrafficPolicy: {policy}")
    if ranges:
        lines.append(f"  loadBalancerSourceRanges: {ranges}")
    return "\n".join(lines) + "\n"


PART3 = Part(
    id="part3", title="Keep the client's address, admit one network", points=4,
    task="""
The web team's audit log must record where each connection came from, so the pods must
**not** see a node's address. And only the office network **172.18.0.0/24** may connect
(your machine, 172.18.0.1, is in it). Write a **Service `web-direct` of type LoadBalancer**
on **port 80** to the web pods that does both.

Hints: notebook 05's section "Source addresses and traffic policies". The checks send
requests to the load balancer from your machine and read `/clientip`, the address the pod
saw.
""",
    visible=[
        checks.service_type("web-direct", "LoadBalancer"),
        checks.load_balancer_address("web-direct"),
        checks.keeps_client_address("web-direct", points=2),
    ],
    hidden=[
        checks.source_ranges("web-direct", within="172.18.0.0/24",
                             name="only the office network 172.18.0.0/24 may connect"),
        checks.endpoints_match("web-direct", "app=web", port=8080,
                               name="Service web-direct selects the web pods only"),
        checks.service_port("web-direct", 80),
    ],
    reference="""\
apiVersion: v1
kind: Service
metadata:
  name: web-direct
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  loadBalancerSourceRanges:
  - 172.18.0.0/24
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: http
""",
    explanation=(
        "`externalTrafficPolicy: Local` makes each node send outside traffic only to its own pods, so "
        "kube-proxy has no reason to rewrite the source: the pod sees the address the connection came "
        "from (on kind, cloud-provider-kind's Envoy, which owns the LoadBalancer address; on a cloud with "
        "a pass-through balancer, the client itself). The load balancer learns which nodes have a pod from "
        "the healthCheckNodePort, which the API server allocates for a Local LoadBalancer. "
        "`loadBalancerSourceRanges` is the balancer's allow-list: Envoy (or the cloud's firewall, or "
        "kube-proxy for a VIP-mode address) closes connections from anywhere else."),
    wrong_answers=(
        WrongAnswer("No `externalTrafficPolicy` (Cluster, the default): the pods see a node's address, "
                    "so the audit log records nodes.", _direct("", "[172.18.0.0/24]"), max_score=2.9),
        WrongAnswer("`loadBalancerSourceRanges: [0.0.0.0/0]`: everybody may connect, not only the office.",
                    _direct("Local", "[0.0.0.0/0]"), max_score=3.5),
        WrongAnswer("`loadBalancerSourceRanges: [172.18.0.0/16]`: broader than the office network.",
                    _direct("Local", "[172.18.0.0/16]"), max_score=3.5),
        WrongAnswer("No `loadBalancerSourceRanges`: anyone who reaches the address may connect.",
                    _direct("Local", ""), max_score=3.5),
        WrongAnswer("`loadBalancerSourceRanges: [172.18.0.2/32]` (a node, not the office): your machine is "
                    "turned away, so nothing answers.", _direct("Local", "[172.18.0.2/32]"), max_score=1.8),
        WrongAnswer("`type: NodePort` with `externalTrafficPolicy: Local`: no load balancer, no address, and "
                    "source ranges are refused for a NodePort.",
                    _direct("Local", "").replace("LoadBalancer", "NodePort"), max_score=1.2),
    ),
)

PART4 = Part(
    id="part4", title="Expose with kubectl", points=4, kind=COMMANDS, namespace="lab2-expose",
    task="""
**Namespace `lab2-expose`, kubectl commands only** (one a line, as in a terminal; the cell
replays them on a fresh copy of the lab's workloads). Using `kubectl expose`:

- Deployment `admin` as **Service `admin-np` of type NodePort**, port 80 to the pods' port 8080;
- Deployment `web` as **Service `web-lb` of type LoadBalancer**, port 8080 to the pods' port 8080.
""",
    visible=[
        checks.service_type("admin-np", "NodePort"),
        checks.endpoints_match("admin-np", "app=admin", port=8080),
        checks.service_type("web-lb", "LoadBalancer"),
        checks.load_balancer_address("web-lb"),
    ],
    hidden=[
        checks.service_port("admin-np", 80),
        checks.endpoints_match("web-lb", "app=web", port=8080,
                               name="Service web-lb selects the web pods only"),
        checks.service_port("web-lb", 8080),
    ],
    reference="""\
kubectl expose deployment admin --name=admin-np --type=NodePort --port=80 --target-port=8080
kubectl expose deployment web --name=web-lb --type=LoadBalancer --port=8080 --target-port=8080
""",
    explanation=(
        "`kubectl expose` copies the Deployment's selector into the Service, `--type` chooses NodePort "
        "or LoadBalancer (the API server assigns the nodePort: there is no flag for it), `--port` is the "
        "Service's port and `--target-port` the pods'. A Service made by `kubectl create service nodeport` "
        "selects `app=<its name>` instead, which matches no pod here."),
    wrong_answers=(
        WrongAnswer("`--type` left out: both Services are ClusterIPs, unreachable from outside.",
                    "kubectl expose deployment admin --name=admin-np --port=80 --target-port=8080\n"
                    "kubectl expose deployment web --name=web-lb --port=8080 --target-port=8080\n",
                    max_score=2.3),
        WrongAnswer("`kubectl create service nodeport admin-np --tcp=80:8080`: its selector is "
                    "app=admin-np, which no pod carries.",
                    "kubectl create service nodeport admin-np --tcp=80:8080\n"
                    "kubectl expose deployment web --name=web-lb --type=LoadBalancer --port=8080 "
                    "--target-port=8080\n", max_score=3.5),
        WrongAnswer("`--port=80` on `web-lb` without `--target-port`: traffic goes to the pods' port 80, "
                    "where nothing listens, and the Service's port is not 8080.",
                    "kubectl expose deployment admin --name=admin-np --type=NodePort --port=80 "
                    "--target-port=8080\n"
                    "kubectl expose deployment web --name=web-lb --type=LoadBalancer --port=80\n",
                    max_score=3),
    ),
)


SOLO_SETUP = netexec_workload("solo", {"app": "solo"}) + """---
apiVersion: v1
kind: Service
metadata: {name: solo}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  healthCheckNodePort: 30086
  selector: {app: solo}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30085}]
"""
NODE_ROLES = ("node_with_the_pod", "node_without_the_pod")
#: How a learner may write what a connection did, by the outcome it names.
_SAID = {
    "answers": ("answers", "answer", "answered", "ok", "responds", "works"),
    "times out": ("times out", "timeout", "timed out", "time out", "drops", "dropped", "hangs", "no answer"),
    "refused": ("refused", "connection refused", "rejected", "reset"),
}


def _outcome_said(value: Any) -> str | None:
    said = str(value if value is not None else "").strip().lower()
    return next((k for k, words in _SAID.items() if said in words), None)


def local_node_facts(answer: str) -> list[Check]:
    """Part 5: what each node does for the Local Service solo, judged from where its one pod
    runs now (so the scheduler's choice never changes the grade): the node with the pod
    forwards to it and its health check answers 200; a node without one DROPs outside traffic
    to the node port (the client times out) and its health check answers 503
    (kube-proxy: pkg/proxy/topology.go, pkg/proxy/healthcheck/service_health.go)."""
    def judge(role: str) -> Check:
        def fn(ns: Any) -> Verdict:
            placed = {e.node for e in ns.endpoints("solo") if e.ready}
            nodes = list(ns.cluster.node_addresses())
            mine = [n for n in nodes if (n in placed) == (role == "node_with_the_pod")]
            if not mine:
                return passed("every node of this cluster runs a solo pod: there is no node without one")
            facts = fact(answer, role)
            if not isinstance(facts, dict):
                return failed(f"{role} is missing or not a mapping with node_port and health_check")
            want = ("answers", 200) if role == "node_with_the_pod" else ("times out", 503)
            said = (_outcome_said(facts.get("node_port")), facts.get("health_check"))
            where = (f"{', '.join(mine)} "
                     f"({'runs' if role == 'node_with_the_pod' else 'does not run'} solo's pod)")
            if said[0] != want[0]:
                return failed(f"{where}: you wrote that its node port {facts.get('node_port')!r}; "
                              + ("it forwards to its own ready pod, so it answers"
                                 if want[0] == "answers" else
                                 "it times out: under externalTrafficPolicy Local kube-proxy sends outside "
                                 "traffic only to this node's own endpoints and DROPs it when there are none "
                                 "(it does not forward to the other node, and it does not refuse: a refusal "
                                 "is for a Service with no ready endpoint anywhere)"))
            if said[1] != want[1]:
                return failed(f"{where}: you wrote health_check {facts.get('health_check')!r}; kube-proxy's "
                              f"health check on healthCheckNodePort 30086 answers {want[1]} there "
                              f"(200 with at least one local ready endpoint, 503 with none): that is how the "
                              "load balancer learns which nodes to send to")
            return passed(f"{where}: node port {want[0]}, health check {want[1]}")
        return Check(f"what the {role.replace('_', ' ')} does", fn)
    return [judge(role) for role in NODE_ROLES]


def _solo_answer(with_port: str, with_health: int, without_port: str, without_health: int) -> str:
    return (f"node_with_the_pod:\n  node_port: {with_port}\n  health_check: {with_health}\n"
            f"node_without_the_pod:\n  node_port: {without_port}\n  health_check: {without_health}\n")


PART5 = Part(
    id="part5", title="Local, node by node", points=2, kind=FACTS, setup=SOLO_SETUP,
    visible=local_node_facts,
    task="""
This part adds a **Service `solo`** of type LoadBalancer with `externalTrafficPolicy:
Local`, node port **30085** and `healthCheckNodePort` **30086**, in front of **one** pod.
The cluster has two nodes; the pod runs on one of them.

**Predict first**: a client sends a request to each node's address on 30085, and asks each
node's 30086. What does the node *with* the pod do, and the node *without* it?

Then look (offline, the model plays the cluster; live, these are real nodes):

```python
from grader.kubectl import use
ns = use(lab.explore("part5"))
for node, ip in ns.cluster.node_addresses().items():
    print(node, ns.cluster.probe_external(30085, host=ip, path="/hostname"))
    print(node, ns.cluster.probe_external(30086, host=ip, path="/healthz"))
```

and `%kubectl get pods -o wide` shows which node runs the pod. Record, for each kind of
node, what its node port did (`answers`, `times out` or `refused`) and the HTTP status of its
health check (YAML, not a manifest):

```yaml
node_with_the_pod:
  node_port: <answers | times out | refused>
  health_check: <HTTP status>
node_without_the_pod:
  node_port: <answers | times out | refused>
  health_check: <HTTP status>
```

The checks look up where the pod runs when they grade, so the answer does not depend on
which node the scheduler chose.
""",
    reference=_solo_answer("answers", 200, "times out", 503),
    explanation=(
        "Under `externalTrafficPolicy: Local` kube-proxy on each node sends traffic from outside only to "
        "that node's own ready endpoints. The node with the pod forwards to it, keeping the client's "
        "address; the node without one has nothing to send to and DROPs the packets (the client waits for "
        "a timeout: no forwarding to the other node, and no refusal, which kube-proxy keeps for a Service "
        "with no ready endpoint anywhere). kube-proxy's health-check server on `healthCheckNodePort` says "
        "so to the load balancer: 200 where there is a local endpoint, 503 where there is none, so the "
        "balancer sends only to the node with the pod."),
    wrong_answers=(
        WrongAnswer("The node without the pod answers (forwarding to the other node, as under Cluster): "
                    "Local never leaves the node, it drops.",
                    _solo_answer("answers", 200, "answers", 200), max_score=1),
        WrongAnswer("The node without the pod refuses: kube-proxy rejects only when no endpoint is ready "
                    "anywhere; here it drops.", _solo_answer("answers", 200, "refused", 503), max_score=1),
        WrongAnswer("Both health checks 200: the check counts local endpoints only, so the node without the "
                    "pod answers 503.", _solo_answer("answers", 200, "times out", 200), max_score=1),
        WrongAnswer("The roles swapped: the node with the pod times out and the other answers.",
                    _solo_answer("times out", 503, "answers", 200), max_score=0),
    ),
)

MANUAL = ManualQuestion(
    id="manual_when",
    after="part2",
    points=2,
    prompt="""
In three to five sentences: when is a **NodePort** the right way to let traffic in, and
when a **LoadBalancer**? Name one thing each costs or exposes that the other does not.
""",
    model_answer="""
A NodePort needs nothing beyond the cluster, so it suits development, on-premises clusters
with an external balancer already in front of the nodes, or a quick test; but clients must
know a node's address, every node opens the port (30000-32767, awkward numbers), and a node
going away breaks clients that used it. A LoadBalancer gives one stable address on a normal
port and health-checks the nodes, which is what production traffic wants; it costs a cloud
load balancer per Service (money, and a controller such as cloud-provider-kind locally), and it
still opens the node port underneath. For many HTTP services behind one address, Ingress or
Gateway is the better tool.
""",
)

LAB = Lab(
    name="lab2-external-access",
    title="Lab 2: Reaching Services from outside",
    namespace="lab2",
    workloads=WORKLOADS,
    parts=(PART1, PART2, PART3, PART4, PART5),
    manual=(MANUAL,),
    # parts 1 and 5 judge every node, and one must run no pod: two nodes, as the local cluster
    offline_nodes=2,
    goals="""
- open a Service to your own machine with a NodePort on a chosen port;
- give a Service an external address with a LoadBalancer;
- keep the client's address (externalTrafficPolicy) and admit one network only
  (loadBalancerSourceRanges);
- tell what each node does under `externalTrafficPolicy: Local`, with and without a pod of
  its own (the node port, the health-check node port);
- make NodePort and LoadBalancer Services with `kubectl expose --type`;
- explain when each is the right tool.
""",
    concept="""
Both types build on a ClusterIP Service. **NodePort** additionally listens on one port
(30000-32767) on every node and forwards to the endpoints; **LoadBalancer** additionally
asks the cloud for a load balancer whose address forwards to those node ports.

Two fields decide what the pods see and who gets in. `externalTrafficPolicy: Cluster` (the
default) lets a node forward to a pod on another node and so rewrites the source to the
node's address; `Local` keeps the source and sends only to pods on the receiving node (the
load balancer asks each node's `healthCheckNodePort` which ones have one).
`loadBalancerSourceRanges` is the load balancer's allow-list. `kubectl expose --type=NodePort`
or `--type=LoadBalancer` writes such a Service in one command.

```mermaid
flowchart LR
    you["your machine"] -->|"127.0.0.1:30080"| node["node port 30080"]
    you -->|"EXTERNAL-IP:80"| lb["load balancer"]
    lb --> node2["node port (allocated)"]
    node --> svc["Service web / web-public"]
    node2 --> svc
    svc --> pods["web pods :8080"]
```
""",
    whats_next="""
Lab 3 looks inward again: how pods find Services by name, across namespaces, and what
DNS answers for headless Services and named ports.
""",
)
