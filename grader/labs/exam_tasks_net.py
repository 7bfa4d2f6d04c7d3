"""The mock exam's NetworkPolicy, Ingress and DNS tasks (the Service tasks are in
grader/labs/exam_tasks.py, with the helpers both use): each a function of a variant, each
answered with kubectl commands in a namespace of its own, graded by the state they leave."""
from __future__ import annotations

from grader import checks
from grader.labs.exam_checks import (
    dns_only,
    from_elsewhere,
    newcomer,
    not_to_elsewhere,
    once_done,
    pods_still_reached,
    port_stays_closed,
)
from grader.labs.exam_tasks import CLIENT, V, docs, service_yaml, task_part, wrong
from grader.labs.spec import Part
from grader.labs.strangers import dns_over_tcp
from grader.labs.workloads import hostname_workload, netexec_workload

NETPOL = """kubectl apply -f - <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
spec:
  podSelector:
    matchLabels:
      app: {target}
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: {peer}
    ports:
    - protocol: TCP
      port: 8080
EOF
"""


def ingress_policy(v: V) -> Part:
    db, api, name = v["q8_db"], v["q8_api"], v["q8_policy"]
    return task_part(
        v,
        8,
        "Only one client may connect",
        8,
        f"""
Create a **NetworkPolicy `{name}`** so that the `{db}` pods accept connections **only from the
`{api}` pods of this namespace, on TCP 8080**. Nothing else may reach `{db}`; no other pod may
lose any traffic.
""",
        setup=docs(
            netexec_workload(db, {"app": db}),
            netexec_workload(api, {"app": api}),
            CLIENT,
            service_yaml(db, f"{{app: {db}}}", "[{port: 5432, targetPort: 8080}]"),
            service_yaml(api, f"{{app: {api}}}", "[{port: 80, targetPort: 8080}]"),
        ),
        needs_policy_enforcement=True,
        visible=[
            once_done(
                goal := checks.reachable(f"{db}:5432", "app=client", expect="TIMEOUT"),
                checks.reachable(f"{db}:5432", f"app={api}"),
            ),
            goal,
        ],
        hidden=[
            from_elsewhere(f"{db}:5432", {"app": api}, "TIMEOUT"),
            newcomer(f"{db}:5432", {"app": f"{api}-v2"}, "TIMEOUT"),
            once_done(goal, checks.reachable(f"{api}:80", "app=client", name=f"client still reaches {api}")),
            once_done(goal, port_stays_closed({"app": db}, f"app={api}")).worth(0.5),
        ],
        reference=NETPOL.format(name=name, target=db, peer=api),
        explanation=(
            "The policy selects the db pods (so they are isolated for ingress) and allows one peer: a "
            "podSelector alone means pods of this namespace. A `namespaceSelector: {}` beside it "
            "would let every namespace's pods with that label in."
        ),
        wrong_answers=(
            wrong(
                "Selecting every pod (`podSelector: {}`): the api itself becomes unreachable.",
                NETPOL.format(name=name, target=db, peer=api).replace(
                    f"  podSelector:\n    matchLabels:\n      app: {db}\n", "  podSelector: {}\n"
                ),
                7,
            ),
            wrong(
                "A peer with `namespaceSelector: {}` ANDed: api-labelled pods of every namespace get in.",
                NETPOL.format(name=name, target=db, peer=api).replace(
                    "    - podSelector:\n", "    - namespaceSelector: {}\n      podSelector:\n"
                ),
                7,
            ),
        ),
    )


EGRESS = """kubectl apply -f - <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
spec:
  podSelector:
    matchLabels:
      app: {src}
  policyTypes:
  - Egress
  egress:
  - to:
    - podSelector:
        matchLabels:
          app: {dst}
    ports:
    - protocol: TCP
      port: 8080
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
EOF
"""


def egress_policy(v: V) -> Part:
    src, dst, other, name = v["q9_src"], v["q9_dst"], v["q9_other"], v["q9_policy"]
    return task_part(
        v,
        9,
        "Lock down egress, keep DNS",
        8,
        f"""
Create a **NetworkPolicy `{name}`**: the `{src}` pods may open connections **only to the `{dst}`
pods on TCP 8080, and to cluster DNS** (the kube-dns pods in kube-system, UDP and TCP 53), so
that `{src}` still finds `{dst}` by its Service name. Other pods keep all their traffic.
""",
        setup=docs(
            netexec_workload(src, {"app": src}),
            netexec_workload(dst, {"app": dst}),
            netexec_workload(other, {"app": other}),
            CLIENT,
            service_yaml(dst, f"{{app: {dst}}}", "[{port: 80, targetPort: 8080}]"),
            service_yaml(other, f"{{app: {other}}}", "[{port: 80, targetPort: 8080}]"),
        ),
        needs_policy_enforcement=True,
        visible=[
            once_done(
                goal := checks.reachable(f"{other}:80", f"app={src}", expect="TIMEOUT"),
                checks.reachable(f"{dst}:80/hostname", f"app={src}", answered_by=f"app={dst}"),
            ),
            goal,
        ],
        hidden=[
            once_done(goal, checks.resolves(dst, f"app={src}", to_service=dst)),
            once_done(
                goal, checks.reachable(f"{other}:80", "app=client", name=f"client still reaches {other}")
            ),
            once_done(goal, pods_still_reached(f"app={src}", 8080, "app=client")).worth(0.5),
            once_done(goal, port_stays_closed({"app": dst}, f"app={src}")).worth(0.5),
            once_done(goal, not_to_elsewhere({"app": dst}, f"app={src}")).worth(0.5),
            once_done(goal, dns_only(f"app={src}", also=f" and the {dst} pods")).worth(0.5),
            once_done(goal, dns_over_tcp(f"app={src}")).worth(0.5),
        ],
        reference=EGRESS.format(name=name, src=src, dst=dst),
        explanation=(
            "Egress isolation blocks DNS too: the second rule allows the kube-dns pods on 53, over "
            "UDP and TCP. The namespaceSelector and podSelector sit in ONE peer (AND)."
        ),
        wrong_answers=(
            wrong(
                "No DNS rule: the Service name no longer resolves, so nothing works by name.",
                EGRESS.format(name=name, src=src, dst=dst).split("  - to:\n    - namespaceSelector")[0]
                + "EOF\n",
                4,
            ),
        ),
    )


def ingress_rules(v: V) -> Part:
    host, api, web, name = v["q10_host"], v["q10_api"], v["q10_web"], v["q10_ingress"]
    return task_part(
        v,
        10,
        "An Ingress with two paths",
        7,
        f"""
Services `{api}` and `{web}` (port 80) exist. Create an **Ingress `{name}`** for host
`{host}`: requests under **`/api`** (and `/api/...`) go to `{api}`, **every other path** to
`{web}`. Use `kubectl create ingress`.
""",
        setup=docs(
            hostname_workload(api, {"app": api}),
            hostname_workload(web, {"app": web}),
            service_yaml(api, f"{{app: {api}}}", "[{port: 80, targetPort: 8080}]"),
            service_yaml(web, f"{{app: {web}}}", "[{port: 80, targetPort: 8080}]"),
        ),
        visible=[
            checks.routes_to(f"ingress/{name}", "/api/items", host=host, answered_by=f"app={api}"),
            checks.routes_to(f"ingress/{name}", "/", host=host, answered_by=f"app={web}"),
        ],
        hidden=[
            checks.routes_to(f"ingress/{name}", "/api", host=host, answered_by=f"app={api}"),
            checks.routes_to(f"ingress/{name}", "/apiary", host=host, answered_by=f"app={web}"),
            checks.routes_to(f"ingress/{name}", "/cart/checkout", host=host, answered_by=f"app={web}"),
            checks.routes_to(
                f"ingress/{name}", "/", host=f"not-{host}", code=404, name="another host is not served"
            ).worth(0.5),
        ],
        reference=f"kubectl create ingress {name} --rule='{host}/api*={api}:80' --rule='{host}/*={web}:80'\n",
        explanation=(
            "A rule path ending in `*` is pathType Prefix (whole path elements: /api, /api/items, "
            "not /apiary); without `*` it is Exact, so `/` would match only `/`."
        ),
        wrong_answers=(
            wrong(
                "`/` without `*` is Exact: only the bare `/` reaches the web pods.",
                f"kubectl create ingress {name} --rule='{host}/api*={api}:80' --rule='{host}/={web}:80'\n",
                5.5,
            ),
            wrong(
                "`/api` without `*` is Exact: /api/items falls to the web pods.",
                f"kubectl create ingress {name} --rule='{host}/api={api}:80' --rule='{host}/*={web}:80'\n",
                5.75,
            ),
        ),
    )


def service_and_ingress(v: V) -> Part:
    app, host = v["q11_app"], v["q11_host"]
    return task_part(
        v,
        11,
        "From Deployment to URL",
        7,
        f"""
The Deployment `{app}` (container port named `http`, 8080) has no Service. Make
`http://{host}/` (every path) reach it through an **Ingress `{app}`**, with a **Service
`{app}` on port 80** in between.
""",
        setup=docs(hostname_workload(app, {"app": app}, replicas=2)),
        visible=[
            checks.routes_to(f"ingress/{app}", "/", host=host, answered_by=f"app={app}"),
            checks.service_port(app, 80),
        ],
        hidden=[
            checks.routes_to(f"ingress/{app}", "/deep/path", host=host, answered_by=f"app={app}"),
            checks.routes_to(
                f"ingress/{app}", "/", host=f"not-{host}", code=404, name="another host is not served"
            ),
        ],
        reference=(
            f"kubectl expose deployment {app} --port=80 --target-port=http\n"
            f"kubectl create ingress {app} --rule='{host}/*={app}:80'\n"
        ),
        explanation="The Ingress routes to a Service port; the Service to the pods' named port.",
        wrong_answers=(
            wrong(
                "An Ingress without its Service: the proxy answers 500.",
                f"kubectl create ingress {app} --rule='{host}/*={app}:80'\n",
                1.75,
            ),
            wrong(
                "No host in the rule: every host is served.",
                f"kubectl expose deployment {app} --port=80 --target-port=http\n"
                f"kubectl create ingress {app} --rule='/*={app}:80'\n",
                5.5,
            ),
        ),
    )


def external_name(v: V) -> Part:
    svc, target = v["q12_svc"], v["q12_target"]
    return task_part(
        v,
        12,
        "A DNS alias",
        5,
        f"""
Pods in this namespace must reach the managed database as `{svc}`. Create a **Service `{svc}`
of type ExternalName** that answers with a CNAME to **`{target}`**.
""",
        setup=docs(CLIENT),
        visible=[
            checks.service_type(svc, "ExternalName"),
            checks.resolves(svc, "app=client", rtype="CNAME", cname=target),
        ],
        reference=f"kubectl create service externalname {svc} --external-name={target}\n",
        explanation="An ExternalName Service has no ClusterIP, no endpoints: DNS answers with a CNAME.",
        wrong_answers=(
            wrong(
                "A typo in the target.",
                f"kubectl create service externalname {svc} --external-name={target.replace('.', '-', 1)}\n",
                2.5,
            ),
        ),
    )


def headless(v: V) -> Part:
    sts = v["q13_sts"]
    ns = f"{v['prefix']}13-{v['ns'][13]}"
    return task_part(
        v,
        13,
        "Stable names for a StatefulSet",
        7,
        f"""
The StatefulSet `{sts}` (3 replicas, serviceName `{sts}`, port 8080) needs stable DNS names
(`{sts}-0.{sts}`, ...). Create the **headless Service `{sts}`** on port 8080 that gives them.
""",
        setup=docs(
            netexec_workload(sts, {"app": sts}, kind="StatefulSet", service_name=sts, replicas=3), CLIENT
        ),
        visible=[
            checks.resolves(f"{sts}-0.{sts}", "app=client"),
            checks.resolves(f"{sts}.{ns}.svc.cluster.local", "app=client", to_pods=f"app={sts}"),
        ],
        hidden=[checks.service_port(sts, 8080, points=0.5)],
        reference=f"kubectl create service clusterip {sts} --clusterip=None --tcp=8080\n",
        explanation="`clusterIP: None` makes the Service headless: DNS answers with every pod's address, and "
        "each StatefulSet pod gets `<pod>.<service>`. `kubectl create service clusterip` selects app=<name>, "
        "the StatefulSet's label here; `kubectl expose` refuses a StatefulSet.",
        wrong_answers=(
            wrong(
                "A ClusterIP Service: one virtual address, no per-pod names.",
                f"kubectl create service clusterip {sts} --tcp=8080\n",
                4.2,
            ),
        ),
    )
