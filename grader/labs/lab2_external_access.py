"""Lab 2, traffic from outside the cluster: a NodePort on a fixed port, a LoadBalancer,
and a manually graded explanation of when each fits."""
from __future__ import annotations

from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.spec import Lab, ManualQuestion, Part, WrongAnswer
from grader.labs.workloads import netexec_workload

WORKLOADS = "\n" + "---\n".join([
    netexec_workload("web", {"app": "web", "tier": "frontend"}, replicas=2),
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
                return failed(f"a request to {svc.external_address}:{svc.ports[0].port} was answered by {pod}, "
                              "which is not a web pod: select `app: web`, not a label other apps share")
        return passed(f"20 requests to {svc.external_address}:{svc.ports[0].port} were all answered by web pods")
    return Check(f"only web pods answer on {service}'s external address", fn)


def _node_port_service(selector: str, ports: str) -> str:
    """A NodePort Service `web`, for the wrong answers."""
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: web}}\nspec:\n  type: NodePort\n  selector: {selector}\n  ports: {ports}\n"


PART1 = Part(
    id="part1", title="A NodePort on a fixed port", points=4,
    task="""
The `web` Deployment (two replicas, labels `app: web`, `tier: frontend`, netexec on
container port 8080 named `http`) must be reachable from **your own machine**. Write a
**Service `web` of type NodePort** with port 80 that opens **node port 30080**.

On the course's kind cluster, node ports 30080-30089 are mapped to `127.0.0.1`, so
`curl http://127.0.0.1:30080/hostname` works from your laptop; offline, the checks ask the
model the same question. Careful: an `admin` Deployment also carries `tier: frontend`.
""",
    visible=[
        checks.service_type("web", "NodePort"),
        checks.service_port("web", 80, node_port=30080),
        checks.external(30080, path="/hostname", answered_by="app=web", name="127.0.0.1:30080 answers from a web pod"),
    ],
    hidden=[checks.endpoints_match("web", "app=web", port=8080, name="Service web selects the web pods only")],
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
        "node on 30080 is forwarded to a web pod's 8080. kind maps 30080 on its node to 127.0.0.1."),
    wrong_answers=(
        WrongAnswer("`port: 30080` without `nodePort`: the Service listens on 30080 inside the cluster and gets a "
                    "random node port, so 127.0.0.1:30080 does not answer.",
                    _node_port_service("{app: web}", "[{port: 30080, targetPort: 8080}]"), max_score=2),
        WrongAnswer("`nodePort: 8080`: refused, node ports must lie in 30000-32767.",
                    _node_port_service("{app: web}", "[{port: 80, targetPort: 8080, nodePort: 8080}]"), max_score=0),
        WrongAnswer("`selector: {tier: frontend}`: the admin pod answers some requests.",
                    _node_port_service("{tier: frontend}", "[{port: 80, targetPort: 8080, nodePort: 30080}]"),
                    max_score=3.7),
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
                    _node_port_service("{app: web}", "[{port: 80, targetPort: 8080, nodePort: 30080}]") + """---
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
    parts=(PART1, PART2),
    manual=(MANUAL,),
    goals="""
- open a Service to your own machine with a NodePort on a chosen port;
- give a Service an external address with a LoadBalancer;
- explain when each is the right tool.
""",
    concept="""
Both types build on a ClusterIP Service. **NodePort** additionally listens on one port
(30000-32767) on every node and forwards to the endpoints; **LoadBalancer** additionally
asks the cloud for a load balancer whose address forwards to those node ports.

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
