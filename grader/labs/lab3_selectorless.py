"""Lab 3 part 6, a Service without a selector: two of three look-alike pods published behind
Service `inventory` by an EndpointSlice the learner writes.

The pods all carry `app: inventory` and the learner may not relabel them, so no selector
can pick the two current backends and leave the retired one out. The part opts in to
hand-written EndpointSlices (`Part.endpoint_slices`: grader.sandbox admits a slice only for
a selectorless Service of the namespace, with this namespace's pod IPs) and reads
`${<POD>_IP}` in the answer as the pod's IP now (grader.labs.pod_ips), since the grader
creates the pods afresh. Graded by what kube-proxy and a client see: the name resolves, a
client gets an answer, the port's ready endpoints are exactly the two backends on 8080
(kube-proxy joins a slice's ports to the Service's by name), and repeated requests reach
both and never the retired pod."""
from __future__ import annotations

from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, listing, passed
from grader.labs.spec import Part, WrongAnswer
from grader.labs.workloads import netexec_pod

SERVICE = "inventory"
BACKENDS = ("inventory-a", "inventory-b")
RETIRED = "inventory-old"
TARGET = f"{SERVICE}:80/hostname"

SETUP = "\n" + "---\n".join(netexec_pod(name, {"app": "inventory"}, [8080])
                            for name in (*BACKENDS, RETIRED))


def _port_80(ns: Any) -> tuple[Any, str | None]:
    """(Service inventory's port 80, None) or (None, why there is none)."""
    svc = ns.service(SERVICE)
    if svc is None:
        return None, f"there is no Service {SERVICE}"
    port = next((p for p in svc.ports if p.port == 80 and p.protocol == "TCP"), None)
    if port is None:
        return None, (f"Service {SERVICE} has no TCP port 80 "
                      f"(its ports: {listing([str(p.port) for p in svc.ports])})")
    return port, None


def endpoints_are_the_backends(ns: Any) -> Verdict:
    """The ready endpoints kube-proxy gives port 80: slice ports joined to it by name."""
    port, why = _port_80(ns)
    if port is None:
        return failed(str(why))
    by_ip = {p.ip: p.name for p in ns.pods() if p.ip}
    joined = [e for e in ns.endpoints(SERVICE) if (e.port_name or None) == (port.name or None)]
    got = sorted(f"{by_ip.get(e.ip, e.ip)}:{e.port}" for e in joined if e.ready)
    want = sorted(f"{b}:8080" for b in BACKENDS)
    if got == want:
        return passed(f"port 80 of {SERVICE} leads to {listing(got)}")
    hints = []
    if not joined:
        hints.append("no slice port joins it: kube-proxy matches a slice's ports[].name to the Service "
                     f"port's name ({port.name or 'unnamed'} here), and the slice needs the label "
                     f"kubernetes.io/service-name: {SERVICE}")
    if any(not e.ready for e in joined):
        hints.append("an endpoint with conditions.ready false gets no traffic (leave ready out or true)")
    if any(not g.endswith(":8080") for g in got):
        hints.append("a slice's port is the one the pods listen on (8080), not the Service's 80")
    if any(g.startswith(f"{RETIRED}:") for g in got):
        hints.append(f"{RETIRED} is retired and must get no traffic")
    if any(b not in " ".join(got) for b in BACKENDS):
        hints.append("both current backends must be endpoints")
    return failed(f"port 80 of {SERVICE} has the ready endpoints {listing(got) if got else 'none'}, not "
                  f"{listing(want)}" + (": " + "; ".join(hints) if hints else ""))


def reaches_both_backends(ns: Any, tries: int = 24) -> Verdict:
    """Repeated requests through the Service: both backends answer, nobody else does."""
    seen: set[str] = set()
    for i in range(tries):
        out = ns.probe(TARGET, frm="client")
        if not out.ok:
            return failed(f"{TARGET} from client: {out.status.value}"
                          + (f" ({out.reason})" if out.reason else ""))
        seen.add((out.pod or "").split("/", 1)[-1] or "an unknown pod")
        if set(BACKENDS) <= seen and i >= 9:
            break
    stray = sorted(seen - set(BACKENDS))
    if stray:
        return failed(f"{TARGET} was answered by {listing(stray)}: only {listing(list(BACKENDS))} may answer")
    if seen != set(BACKENDS):
        return failed(f"in {tries} requests only {listing(sorted(seen))} answered; never "
                      f"{listing(sorted(set(BACKENDS) - seen))}")
    return passed(f"{TARGET} was answered by both {listing(list(BACKENDS))} and nobody else")


SLICE = """\
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: inventory-manual
  labels:
    kubernetes.io/service-name: {service}
addressType: IPv4
ports:
- name: {port_name}
  port: {port}
  protocol: TCP
endpoints:
{endpoints}"""

SERVICE_YAML = """\
apiVersion: v1
kind: Service
metadata:
  name: inventory
spec:
{selector}  ports:
  - name: http
    port: {port}
    targetPort: 8080
"""


def answer(*, endpoints: str = "- addresses: [\"${INVENTORY_A_IP}\"]\n- addresses: [\"${INVENTORY_B_IP}\"]\n",
           port_name: str = "http", slice_port: int = 8080, service_port: int = 80, selector: str = "",
           service_label: str = SERVICE) -> str:
    """The reference answer, or one of its wrong variants (one thing changed)."""
    return (SERVICE_YAML.format(selector=selector, port=service_port) + "---\n"
            + SLICE.format(service=service_label, port_name=port_name, port=slice_port, endpoints=endpoints))


REFERENCE = answer()

PART6 = Part(
    id="part6", title="A Service without a selector", points=3, setup=SETUP, endpoint_slices=True,
    task=f"""
The inventory team runs its backends as three bare pods that all carry `app: inventory`:
`inventory-a` and `inventory-b` serve the current API on port 8080; `inventory-old`, the
retired version, still runs for an audit and **must get no traffic**. The team's tooling
owns the pods' labels (it puts back whatever you change), so no selector can pick the two
current pods and leave the old one out.

Publish the two current backends inside the cluster as **ClusterIP Service `{SERVICE}`,
port 80**, forwarding to their port 8080: a Service **without a selector** \
and an **EndpointSlice you write** for it.

This part's sandbox admits your EndpointSlice when every address is the IP of a pod of the
lab's namespace and it belongs (label `kubernetes.io/service-name`) to a Service of yours
without a selector. Pod IPs change every time the grader creates the namespace, so do as a
deployment script would and write each address as a variable: **`${{INVENTORY_A_IP}}`**
stands for pod `inventory-a`'s IP at the time your answer is applied (every pod has one:
its name in capitals, `-` as `_`, then `_IP`). See the pods with
`lab.explore("part6").pods()`.
""",
    visible=[
        checks.service_type(SERVICE, "ClusterIP",
                            name=f"{SERVICE} is a ClusterIP Service (inside the cluster only)"),
        checks.resolves(SERVICE, frm="client", to_service=SERVICE,
                        check_name=f"{SERVICE} resolves to its ClusterIP from client"),
        checks.reachable(TARGET, frm="client", name=f"client gets an answer from {SERVICE}:80"),
    ],
    hidden=[
        Check(f"port 80 of {SERVICE} leads to exactly {' and '.join(BACKENDS)} on 8080",
              endpoints_are_the_backends, 1.5),
        Check(f"requests to {SERVICE}:80 reach both current backends and never {RETIRED}",
              reaches_both_backends, 1.5),
    ],
    reference=REFERENCE,
    explanation=(
        "A Service without a selector gets a ClusterIP and a DNS name, but the EndpointSlice controller "
        "writes nothing for it: its endpoints are the slices labelled `kubernetes.io/service-name: "
        "inventory`. kube-proxy joins a slice's port to the Service's port **by name** (both `http` here) "
        "and sends the Service's port 80 to the slice's port, 8080, on each ready address; without a "
        "selector the Service's `targetPort` plays no part. An endpoint without `conditions` counts as "
        "ready. A Service *with* a selector would take every "
        "pod carrying `app: inventory`, the retired one too."),
    wrong_answers=(
        WrongAnswer("A slice without the label `kubernetes.io/service-name`: it belongs to no Service "
                    "(refused here with that reason; on a cluster, the Service would have no endpoints).",
                    answer().replace("  labels:\n    kubernetes.io/service-name: inventory\n", ""),
                    max_score=0),
        WrongAnswer("The slice's port named `web` while the Service's is `http`: kube-proxy joins ports by "
                    "name, so port 80 has no endpoint.", answer(port_name="web"), max_score=1),
        WrongAnswer("The slice's port is 80, the Service's: the pods listen on 8080, so the connection is "
                    "refused.", answer(slice_port=80), max_score=1),
        WrongAnswer("`inventory-old`'s IP instead of `inventory-b`'s: the retired pod gets traffic.",
                    answer(endpoints="- addresses: [\"${INVENTORY_A_IP}\"]\n"
                                     "- addresses: [\"${INVENTORY_OLD_IP}\"]\n"),
                    max_score=1.5),
        WrongAnswer("Only `inventory-a`: the second backend never gets traffic.",
                    answer(endpoints="- addresses: [\"${INVENTORY_A_IP}\"]\n"), max_score=1.5),
        WrongAnswer("`inventory-b` with `conditions: {ready: false}`: kube-proxy sends nothing to it.",
                    answer(endpoints="- addresses: [\"${INVENTORY_A_IP}\"]\n"
                                     "- addresses: [\"${INVENTORY_B_IP}\"]\n"
                           "  conditions: {ready: false}\n"), max_score=1.5),
        WrongAnswer("Both IPs in one endpoint's `addresses`: they are meant as one backend's addresses, and "
                    "kube-proxy uses only the first.",
                    answer(endpoints="- addresses: [\"${INVENTORY_A_IP}\", \"${INVENTORY_B_IP}\"]\n"),
                    max_score=1.5),
        WrongAnswer("A Service with `selector: {app: inventory}` "
                    "and no slice: the retired pod is selected too.",
                    SERVICE_YAML.format(selector="  selector: {app: inventory}\n", port=80), max_score=1.5),
        WrongAnswer("A Service with a selector plus the slice: the EndpointSlice controller owns that "
                    "Service's slices, so the sandbox refuses a hand-written one.",
                    answer(selector="  selector: {app: inventory}\n"), max_score=0),
        WrongAnswer("The Service on port 8080 instead of 80: kube-proxy has no rule for `inventory:80`, so a "
                    "client's connection goes nowhere.", answer(service_port=8080), max_score=1),
    ),
)
