"""The mock exam's Service tasks (grader/labs/lab8_mock_exam.py; the NetworkPolicy, Ingress
and DNS ones are in exam_tasks_net.py), and the helpers both use. One builder per task, each a
function of a variant: the same competency with other names, ports, hosts and namespaces,
so a retake is not a replay of the first attempt.

Every task is answered with kubectl commands (Part.kind COMMANDS), works in a namespace of
its own, and is graded by the state those commands leave, observed through the Cluster API
(endpoints, probes, DNS answers, HTTP through the Ingress): never by the words typed, so
`kubectl expose` and an `apply -f -` of the same Service score the same.
"""

from __future__ import annotations

from typing import Any, Mapping

from grader import checks
from grader.labs.exam_checks import (
    once_done,
    pod_count,
    selector_is,
    sticky,
    target_port_named,
    whole,
)
from grader.labs.spec import COMMANDS, Part, WrongAnswer
from grader.labs.workloads import Port, netexec_pod, netexec_workload, pause_pod

V = Mapping[str, Any]
CLIENT = pause_pod("client", {"app": "client"})


def docs(*docs: str) -> str:
    return "---\n".join(d if d.endswith("\n") else d + "\n" for d in docs)


def task_part(v: V, n: int, title: str, points: float, task: str, **kw: Any) -> Part:
    ns = f"{v['prefix']}{n:02d}-{v['ns'][n]}"
    head = f"**Namespace `{ns}`.** "
    return Part(
        id=f"q{n:02d}",
        title=title,
        points=points,
        kind=COMMANDS,
        namespace=ns,
        task=head + task.strip(),
        **kw,
    )


def service_yaml(name: str, selector: str, ports: str, extra: str = "") -> str:
    return (
        f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\n"
        f"spec: {{selector: {selector}, ports: {ports}{extra}}}\n"
    )


def wrong(text: str, answer: str, max_score: float = 0.0) -> WrongAnswer:
    return WrongAnswer(text, answer, max_score)


# ------------------------------------------------------------------ tasks
def expose_clusterip(v: V) -> Part:
    app, svc, port = v["q1_app"], v["q1_svc"], v["q1_port"]
    return task_part(
        v,
        1,
        "Expose a Deployment",
        6,
        f"""
The Deployment `{app}` serves HTTP on container port 8080. Expose it inside the cluster as a
ClusterIP **Service `{svc}` on port {port}**, sending traffic to the pods' port 8080.
""",
        setup=docs(netexec_workload(app, {"app": app}, replicas=2), CLIENT),
        visible=[
            checks.service_type(svc, "ClusterIP"),
            checks.service_port(svc, port),
            checks.reachable(f"{svc}:{port}/hostname", "app=client", answered_by=f"app={app}"),
        ],
        hidden=[checks.endpoints_match(svc, f"app={app}", port=8080)],
        reference=f"kubectl expose deployment {app} --name={svc} --port={port} --target-port=8080\n",
        explanation=(
            f"`kubectl expose` copies the Deployment's selector (app={app}); `--port` is what clients "
            "connect to and `--target-port` the pods' port. Without `--target-port` it defaults to "
            "`--port`, where nothing listens."
        ),
        wrong_answers=(
            wrong(
                "`--target-port` left out: targetPort defaults to the Service port, where the pods do not "
                "listen.",
                f"kubectl expose deployment {app} --name={svc} --port={port}\n",
                3,
            ),
            wrong(
                "`kubectl create service clusterip`: its selector is app=<service name>, which matches "
                "no pod.",
                f"kubectl create service clusterip {svc} --tcp={port}:8080\n",
                3,
            ),
        ),
    )


def nodeport_fixed(v: V) -> Part:
    app, svc, node_port = v["q2_app"], v["q2_svc"], v["q2_node_port"]
    return task_part(
        v,
        2,
        "A NodePort on a fixed port",
        6,
        f"""
Make the Deployment `{app}` (container port 8080) reachable from outside the cluster through
a **Service `{svc}` of type NodePort**, port 80, on **node port {node_port}**.
""",
        setup=docs(netexec_workload(app, {"app": app}, replicas=2)),
        visible=[
            checks.service_type(svc, "NodePort"),
            checks.service_port(svc, 80, node_port=node_port),
            checks.external(
                node_port,
                path="/hostname",
                answered_by=f"app={app}",
                name=f"127.0.0.1:{node_port} answers from a {app} pod",
            ),
        ],
        reference=(
            f"kubectl expose deployment {app} --name={svc} --type=NodePort --port=80 --target-port=8080\n"
            f"kubectl patch service {svc} -p "
            f"'{{\"spec\":{{\"ports\":[{{\"port\":80,\"nodePort\":{node_port}}}]}}}}'\n"
        ),
        explanation=(
            "`expose --type=NodePort` gets a random node port; a strategic merge patch on the port "
            "(ports merge by their `port`) pins `nodePort`. `kubectl create service nodeport "
            "--node-port` would pin it too, but selects app=<service name>."
        ),
        wrong_answers=(
            wrong(
                "No patch: the node port is allocated at random.",
                f"kubectl expose deployment {app} --name={svc} --type=NodePort --port=80 "
                "--target-port=8080\n",
                4,
            ),
            wrong(
                "`create service nodeport`: right port, but its selector app=<name> matches no pod.",
                f"kubectl create service nodeport {svc} --tcp=80:8080 --node-port={node_port}\n",
                4,
            ),
        ),
    )


def load_balancer(v: V) -> Part:
    app, svc, port = v["q3_app"], v["q3_svc"], v["q3_port"]
    return task_part(
        v,
        3,
        "A LoadBalancer",
        6,
        f"""
Give the Deployment `{app}` (container port named `http`, 8080) an external address: a
**Service `{svc}` of type LoadBalancer on port {port}**.
""",
        setup=docs(netexec_workload(app, {"app": app})),
        visible=[
            checks.service_type(svc, "LoadBalancer"),
            checks.load_balancer_address(svc),
            checks.service_port(svc, port),
        ],
        hidden=[checks.endpoints_match(svc, f"app={app}", port=8080)],
        reference=f"kubectl expose deployment {app} --name={svc} --type=LoadBalancer --port={port} "
        "--target-port=http\n",
        explanation="A LoadBalancer is a NodePort plus an address the cloud (cloud-provider-kind) assigns.",
        wrong_answers=(
            wrong(
                "Type NodePort: no external address.",
                f"kubectl expose deployment {app} --name={svc} --type=NodePort --port={port} "
                "--target-port=http\n",
                3.5,
            ),
        ),
    )


def fix_selector(v: V) -> Part:
    app, typo = v["q4_app"], v["q4_app"][:-1]
    return task_part(
        v,
        4,
        "Repair a Service's selector",
        6,
        f"""
The Service `{app}` has no endpoints. Repair **the Service** (not the Deployment) so that it
sends traffic to the `{app}` pods.
""",
        setup=docs(
            netexec_workload(app, {"app": app, "tier": "backend"}, replicas=2),
            netexec_workload(f"{app}-admin", {"app": f"{app}-admin", "tier": "backend"}),
            service_yaml(app, f"{{app: {typo}}}", "[{port: 80, targetPort: 8080}]"),
            CLIENT,
        ),
        visible=[checks.reachable(f"{app}:80/hostname", "app=client", answered_by=f"app={app}")],
        hidden=[checks.endpoints_match(app, f"app={app}", port=8080)],
        reference=f"kubectl patch service {app} -p '{{\"spec\":{{\"selector\":{{\"app\":\"{app}\"}}}}}}'\n",
        explanation=(
            f"The selector said app={typo}; no pod carries it. Patching the selector's `app` key "
            "replaces the value. Selecting `tier: backend` instead would also pick the admin pods."
        ),
        wrong_answers=(
            wrong(
                "Selecting tier=backend: the admin pod answers some requests.",
                f"kubectl patch service {app} --type=merge -p '{{\"spec\":{{\"selector\":{{\"app\":null,"
                f"\"tier\":\"backend\"}}}}}}'\n",
                5,
            ),
        ),
    )


def label_pod(v: V) -> Part:
    svc, sel = v["q5_svc"], v["q5_label"]
    key, val = sel.split("=")
    return task_part(
        v,
        5,
        "Add a pod to a Service with a label",
        6,
        f"""
The Service `{svc}` selects `{sel}`. The pod `{svc}-2` runs the same server but is not an
endpoint. Make it one **without changing the Service**, and without adding any other pod.
""",
        setup=docs(
            netexec_pod(f"{svc}-1", {"app": svc, key: val}, [8080]),
            netexec_pod(f"{svc}-2", {"app": svc}, [8080]),
            netexec_pod(f"{svc}-old", {"app": f"{svc}-old"}, [8080]),
            service_yaml(svc, f"{{{key}: {val}}}", "[{port: 80, targetPort: 8080}]"),
        ),
        visible=[goal := whole(checks.endpoints_match(svc, f"app={svc}", port=8080))],
        hidden=[
            once_done(
                goal, selector_is(svc, {key: val}, "the task was to label the pod, not to change the Service")
            )
        ],
        reference=f"kubectl label pod {svc}-2 {sel}\n",
        explanation="A Service selects pods by label: labelling the pod makes it match; the Service stays.",
        wrong_answers=(
            wrong(
                "Changing the Service's selector to app: it selects both pods, but the task said not to.",
                f"kubectl patch service {svc} --type=merge -p '{{\"spec\":{{\"selector\":{{\"{key}\":null,"
                f"\"app\":\"{svc}\"}}}}}}'\n",
                4,
            ),
            wrong(
                "Labelling the old pod too: it becomes an endpoint.",
                f"kubectl label pod {svc}-2 {sel}\nkubectl label pod {svc}-old {sel}\n",
                5,
            ),
        ),
    )


def scale(v: V) -> Part:
    app, n = v["q6_app"], v["q6_replicas"]
    return task_part(
        v,
        6,
        "Scale behind a Service",
        5,
        f"""
The Service `{app}` balances over the Deployment `{app}`. Scale it to **{n} replicas** so that
all {n} pods are endpoints of the Service.
""",
        setup=docs(
            netexec_workload(app, {"app": app}),
            service_yaml(app, f"{{app: {app}}}", "[{port: 80, targetPort: 8080}]"),
        ),
        visible=[
            goal := pod_count(f"app={app}", n),
            once_done(goal, checks.endpoints_match(app, f"app={app}", port=8080)),
        ],
        reference=f"kubectl scale deployment {app} --replicas={n}\n",
        explanation="`kubectl scale` sets spec.replicas; the EndpointSlice controller adds each ready pod.",
        wrong_answers=(
            wrong("One replica too many.", f"kubectl scale deployment {app} --replicas={n + 1}\n", 2.5),
        ),
    )


def named_target_port(v: V) -> Part:
    app, name, number = v["q7_app"], v["q7_port_name"], v["q7_number"]
    return task_part(
        v,
        7,
        "Target a port by name",
        6,
        f"""
The Deployment `{app}` names its container port `{name}` ({number}); the next version will
move it to another number under the same name. Create a **Service `{app}` on port 80** that
keeps working when that happens.
""",
        setup=docs(
            netexec_workload(app, {"app": app}, http_port=number, ports=[Port(number, name)]), CLIENT
        ),
        visible=[checks.reachable(f"{app}:80/hostname", "app=client", answered_by=f"app={app}")],
        hidden=[target_port_named(app, 80, name)],
        reference=f"kubectl expose deployment {app} --port=80 --target-port={name}\n",
        explanation="A named targetPort is resolved per pod: the Service follows the port when it moves.",
        wrong_answers=(
            wrong(
                "The number instead of the name: works today, breaks with the next version.",
                f"kubectl expose deployment {app} --port=80 --target-port={number}\n",
                3.5,
            ),
        ),
    )


def drop_selector_key(v: V) -> Part:
    app = v["q14_app"]
    return task_part(
        v,
        14,
        "Endpoints after a release",
        6,
        f"""
After a release the Service `{app}` lost its endpoints: its selector asks for `version: v2`,
but the running pods are `version: v1` and will stay so for now. Change **the Service** so
it selects the `{app}` pods of every version (not the `{app}-admin` pods).
""",
        setup=docs(
            netexec_workload(app, {"app": app, "version": "v1"}, replicas=2),
            netexec_workload(f"{app}-admin", {"app": f"{app}-admin", "version": "v1"}),
            service_yaml(app, f"{{app: {app}, version: v2}}", "[{port: 80, targetPort: 8080}]"),
            CLIENT,
        ),
        visible=[checks.reachable(f"{app}:80/hostname", "app=client", answered_by=f"app={app}")],
        hidden=[
            checks.endpoints_match(app, f"app={app}", port=8080),
            selector_is(app, {"app": app}, "select the app only, so every version matches"),
        ],
        reference=f"kubectl patch service {app} --type=json "
        f"-p '[{{\"op\":\"remove\",\"path\":\"/spec/selector/version\"}}]'\n",
        explanation="Removing the `version` key leaves `app` alone in the selector; a strategic merge patch "
        "with `version: null` does the same.",
        wrong_answers=(
            wrong(
                "Selecting version v1 as well: works today, loses every pod of the next release.",
                f"kubectl patch service {app} -p '{{\"spec\":{{\"selector\":{{\"version\":\"v1\"}}}}}}'\n",
                4,
            ),
        ),
    )


def fix_target_port(v: V) -> Part:
    app, port = v["q15_app"], v["q15_port"]
    return task_part(
        v,
        15,
        "Connection refused",
        6,
        f"""
Clients of the Service `{app}` (port {port}) get *connection refused*. The pods listen on
8080. Repair the Service.
""",
        setup=docs(
            netexec_workload(app, {"app": app}, replicas=2),
            service_yaml(app, f"{{app: {app}}}", f"[{{port: {port}, targetPort: {port}}}]"),
            CLIENT,
        ),
        visible=[goal := checks.reachable(f"{app}:{port}/hostname", "app=client", answered_by=f"app={app}")],
        hidden=[once_done(goal, checks.service_port(app, port))],
        reference=f"kubectl patch service {app} "
        f"-p '{{\"spec\":{{\"ports\":[{{\"port\":{port},\"targetPort\":8080}}]}}}}'\n",
        explanation="The endpoints were there, on the wrong port: targetPort must be the container's port.",
        wrong_answers=(
            wrong(
                "Changing the Service port to 8080: clients still use the old port.",
                f"kubectl delete service {app}\nkubectl expose deployment {app} --port=8080\n",
                2.5,
            ),
        ),
    )


def session_affinity(v: V) -> Part:
    app = v["q16_app"]
    return task_part(
        v,
        16,
        "Sticky sessions",
        5,
        f"""
The Service `{app}` balances over three pods. Clients must stay on **one pod each**: make
the Service keep every client on the pod it reached first.
""",
        setup=docs(
            netexec_workload(app, {"app": app}, replicas=3),
            service_yaml(app, f"{{app: {app}}}", "[{port: 80, targetPort: 8080}]"),
            CLIENT,
        ),
        visible=[goal := sticky(f"{app}:80/hostname", "app=client")],
        hidden=[
            once_done(goal, checks.endpoints_match(app, f"app={app}", port=8080)),
            once_done(goal, pod_count(f"app={app}", 3)),
        ],
        reference=f"kubectl patch service {app} -p '{{\"spec\":{{\"sessionAffinity\":\"ClientIP\"}}}}'\n",
        explanation="`sessionAffinity: ClientIP` sends each client address to the same endpoint.",
        wrong_answers=(
            wrong(
                "Scaling to one pod: sticky, but no longer balanced.",
                f"kubectl scale deployment {app} --replicas=1\n",
                3.4,
            ),
        ),
    )
