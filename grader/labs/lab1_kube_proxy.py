"""Lab 1, part 8: a Service whose kube-proxy rules have a given shape.

The part's fixture is the pay app: two `track: stable` pods and one `track: canary` pod,
all `app: pay`, netexec on 8080 (named `http`). The learner writes Service `pay` so that
kube-proxy writes: the ClusterIP on port 80 DNATed at random to exactly the stable pods on
8080, node port 30087 in its service-nodeports map, and affinity sets that keep a client on
its pod. Graded on the rules kube-proxy writes (grader.checks.kube_proxy), not on the YAML;
hidden, a stable pod added later must appear in the rules (a selector that only today's
pods match loses it).
"""
from __future__ import annotations

from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict
from grader.labs.spec import Part, WrongAnswer, add_pods
from grader.labs.workloads import Port, netexec_workload

NODE_PORT = 30087
STABLE, CANARY = "app=pay,track=stable", "app=pay,track=canary"

SETUP = "\n" + "---\n".join([
    netexec_workload("pay", {"app": "pay", "track": "stable"}, replicas=2,
                     selector={"app": "pay", "track": "stable"}, ports=[Port(8080, "http")]),
    netexec_workload("pay-canary", {"app": "pay", "track": "canary"}, container="pay",
                     selector={"app": "pay", "track": "canary"}, ports=[Port(8080, "http")]),
])

#: A third stable pod, from another Deployment, that a hidden check adds.
EXTRA = "\n" + netexec_workload("pay-extra", {"app": "pay", "track": "stable"}, container="pay",
                                selector={"app": "pay", "track": "stable", "batch": "extra"},
                                ports=[Port(8080, "http")]).replace(
    "labels: {app: pay, track: stable}", "labels: {app: pay, track: stable, batch: extra}")


def new_stable_pod_gets_in() -> Check:
    """Hidden: a stable pod that starts later (another Deployment, same labels) is in the
    rules at once; a selector on today's pods' pod-template-hash leaves it out."""
    inner = checks.dnats_to("pay", 80, STABLE, 8080)

    def fn(ns: Any) -> Verdict:
        add_pods(ns, EXTRA, source="another stable pay pod")
        return inner.fn(ns)
    return Check("a stable pod started later is in the rules too", fn)


def _service(spec: str) -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: pay}}\nspec:\n{spec}"


REFERENCE = """\
apiVersion: v1
kind: Service
metadata:
  name: pay
spec:
  type: NodePort
  selector:
    app: pay
    track: stable
  sessionAffinity: ClientIP
  ports:
  - name: http
    port: 80
    targetPort: http
    nodePort: 30087
"""

PART8 = Part(
    id="part8", title="The rules kube-proxy writes", points=5, setup=SETUP,
    visible=[checks.dnats_to("pay", 80, STABLE, 8080, points=2),
             checks.node_port_leads_in("pay", NODE_PORT),
             checks.keeps_clients_on_one_pod("pay", 80, "client")],
    hidden=[new_stable_pod_gets_in()],
    task=f"""
The pay app runs three pods: `pay` (two pods, labels `app: pay`, `track: stable`) and
`pay-canary` (one pod, `app: pay`, `track: canary`), all netexec serving HTTP on container
port 8080, named `http`. Write **Service `pay`** so that kube-proxy, on every node, writes
rules of this shape:

- a connection to the Service's ClusterIP on **port 80** is DNATed, at random, to one of the
  **stable** pods on port 8080, never to the canary;
- **node port {NODE_PORT}** is an entry of the `service-nodeports` map;
- a client that connected once goes back to the same pod (the rules hold an `affinity-...`
  set per endpoint).

Look at the rules as you go: `ns = lab.explore("part8")`, then
`display(kube_proxy_table(ns.kube_proxy_rules("pay")))` and `print(ns.kube_proxy_rules("pay"))`
(`from grader.display import kube_proxy_table`). Offline they are rendered from the model as
kube-proxy v1.37 in nftables mode writes them; live they are read from the node where svclab
can (the local cluster), and elsewhere the checks judge the same facts from the API.
""",
    reference=REFERENCE,
    explanation=(
        "kube-proxy writes what the Service and its EndpointSlices say: the selector `app: pay, track: "
        "stable` leaves the canary out of the slice, so the ClusterIP's chain DNATs to the two stable pods "
        "only (`numgen random mod 2`); `type: NodePort` with `nodePort: 30087` adds `tcp . 30087` to the "
        "service-nodeports map, through the external chain (masquerade, then the same Service chain); "
        "`sessionAffinity: ClientIP` turns the random pick into per-endpoint chains that record the client "
        "in an `affinity-...` set, checked before the pick."),
    wrong_answers=(
        WrongAnswer("`selector: {app: pay}`: the canary is an endpoint "
                    "too, so one connection in three reaches it.",
                    _service("  type: NodePort\n  selector: {app: pay}\n  sessionAffinity: ClientIP\n"
                             "  ports: [{port: 80, targetPort: http, nodePort: 30087}]\n"), max_score=3),
        WrongAnswer("No `sessionAffinity`: every new connection picks a pod at random.",
                    _service("  type: NodePort\n  selector: {app: pay, track: stable}\n"
                             "  ports: [{port: 80, targetPort: http, nodePort: 30087}]\n"), max_score=4),
        WrongAnswer("A ClusterIP Service: no node port at all.",
                    _service("  selector: {app: pay, track: stable}\n  sessionAffinity: ClientIP\n"
                             "  ports: [{port: 80, targetPort: http}]\n"), max_score=4),
        WrongAnswer("`targetPort` left out: the DNAT goes to port 80 of the pods, where nothing listens.",
                    _service("  type: NodePort\n  selector: {app: pay, track: stable}\n"
                             "  sessionAffinity: ClientIP\n  ports: [{port: 80, nodePort: 30087}]\n"),
                    max_score=2),
        WrongAnswer("`nodePort: 30088`: the rules open another port than the one asked for.",
                    _service("  type: NodePort\n  selector: {app: pay, track: stable}\n"
                             "  sessionAffinity: ClientIP\n"
                             "  ports: [{port: 80, targetPort: http, nodePort: 30088}]\n"), max_score=4),
    ),
)
