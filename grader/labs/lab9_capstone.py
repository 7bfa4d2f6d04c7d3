"""Lab 9, the capstone: a shop built from an empty namespace and graded end to end by what
it does. A database of stable identities (StatefulSet behind a headless Service), an api
in two versions kept out of rotation until ready, a default deny with an allow-list
(DNS, api -> db, the office's reports pod -> api, the Gateway's proxy -> api), and a
Gateway serving HTTPS with a certificate and a 90/10 canary.

One namespace per learner: the lab sandbox (grader.sandbox) lets a submission create
objects in its own namespace only, and this lab keeps that guardrail. The shop's other
namespaces are the lab's fixtures: `lab9-office` (a reports pod the policy must let in,
and one it must keep out), and `lab9-elsewhere`, where the hidden checks start
look-alikes of the shop's pods (grader.labs.lab9_access: every forbidden pair, not a
sample)."""
from __future__ import annotations

from collections import Counter
from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs import lab9_parts as text
from grader.labs.lab1_readiness import (
    LIVE_TIME_LIMIT,
    _answer_deployment,
    _copy_listening_on,
    _listed_as_ready_as_they_are,
    _settle,
)
from grader.labs.lab9_access import (
    ELSEWHERE,
    NAMESPACE,
    OFFICE,
    across_namespaces_match,
    inside_matrix_matches,
    office_reaches_api,
    pods_with,
)
from grader.labs.spec import Lab, Part
from grader.labs.strangers import dns_over_tcp, egress_only_to_dns
from grader.labs.tls_fixtures import tls_secret
from grader.labs.workloads import netexec_pod, pause_pod

#: The lab's own objects: the shop's certificate and a toolbox to look from. Nothing else:
#: the learner builds the shop.
WORKLOADS = tls_secret("shop-tls", "shop.example") + "---\n" + pause_pod("toolbox", {"app": "toolbox"})

OFFICE_PODS = netexec_pod("reports", {"app": "reports"}, (8080, 5432)) + "---\n" + netexec_pod(
    "intruder", {"app": "intruder"}, (8080, 5432))


# ---------------------------------------------------------------- part 1: the database
def pod_record(pod: str, service: str = "db") -> Check:
    """`<pod>.<service>` answers exactly that pod's address: a StatefulSet pod's stable name,
    which exists only when the Service is headless and is the StatefulSet's serviceName."""
    def fn(ns: Any) -> Verdict:
        target = next((p for p in ns.pods() if p.name == pod), None)
        if target is None:
            return failed(f"there is no pod named {pod}: a StatefulSet named {service} names its pods "
                          f"{service}-0, {service}-1, ...")
        ans = ns.lookup(f"{pod}.{service}", frm="app=toolbox")
        if ans.rcode != "NOERROR":
            return failed(f"{pod}.{service} does not resolve ({ans.rcode}): a StatefulSet's pods get per-pod "
                          f"names under the Service its serviceName names, when that Service selects them")
        if ans.addresses != [target.ip]:
            return failed(f"{pod}.{service} answers {', '.join(ans.addresses)}, not {pod}'s {target.ip}")
        return passed(f"{pod}.{service} answers {pod}'s address {target.ip}")
    return Check(f"{pod}.{service} names pod {pod}", fn)


def headless(service: str) -> Check:
    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None:
            return failed(f"there is no Service {service}")
        if not svc.headless:
            return failed(f"Service {service} has a virtual IP ({svc.cluster_ip}): a database's clients "
                          "address pods, so set clusterIP: None")
        return passed(f"Service {service} is headless")
    return Check(f"Service {service} is headless", fn)


def replicas(selector: dict[str, str], count: int, what: str) -> Check:
    def fn(ns: Any) -> Verdict:
        found = [p for p in pods_with(ns, selector) if p.ready]
        if len(found) != count:
            return failed(f"{len(found)} ready {what} pods, not {count}")
        return passed(f"{count} ready {what} pods")
    return Check(f"{count} {what} pods run", fn)


# ---------------------------------------------------------------- part 2: the api
def internal_service(service: str, port: int) -> Check:
    """Hidden: the api's Services are ClusterIP with a virtual IP, on `port`: a NodePort or
    LoadBalancer would open the api beside the Gateway, without TLS; a headless one would
    hand clients pod addresses, so the canary's Services could not be weighed."""
    def fn(ns: Any) -> Verdict:
        svc = ns.service(service)
        if svc is None:
            return failed(f"there is no Service {service}")
        if svc.type != "ClusterIP" or svc.headless:
            what = "headless" if svc.headless else svc.type
            return failed(f"Service {service} is {what}: keep it a ClusterIP Service with a virtual IP, so "
                          "the api is reached only inside the cluster and through the Gateway")
        if port not in {p.port for p in svc.ports}:
            return failed(f"Service {service} does not offer port {port}")
        return passed(f"Service {service} is internal (ClusterIP {svc.cluster_ip}) on port {port}")
    return Check(f"Service {service} is an internal ClusterIP on {port}", fn)


def broken_build_stays_out(answer: str, name: str) -> Check:
    """A copy of the learner's Deployment `name` whose server listens elsewhere (9090; it
    still declares port http, 8080) is selected by Service `name` but must not become a
    ready endpoint: the outcome of a readiness probe on what the api serves. Without a
    probe it is ready at once; with one on the wrong port the api's own pods never are
    (the part is then not gradable, and says which probe failed)."""
    def fn(ns: Any) -> Verdict:
        dep = _answer_deployment(answer, name)
        if dep is None:
            return failed(f"your answer has no Deployment {name}")
        try:
            add = _copy_listening_on(dep, "api-broken", 9090)
            ns.apply([add], source=f"a broken build of {name}")
            ns.wait_ready(timeout=60, unready="app=api")
            broken = {p.name for p in checks.pods_matching(ns, "app=api") if p.name.startswith("api-broken")}
            if not broken:
                return failed(f"a copy of your {name} Deployment made no pod labelled app=api")
            _settle(ns, "app=api", "api-broken", timeout=6.0)
            ready = _listed_as_ready_as_they_are(ns, name, "app=api", "api-broken")
        finally:
            ns.delete("Deployment", "api-broken")
        if broken & ready:
            return failed(f"a {name} pod that does not answer on its port http (8080) is a ready endpoint of "
                          f"{name} and gets traffic: give the container a readinessProbe, httpGet /healthz "
                          "on port http")
        return passed(f"a {name} pod that does not answer on 8080 stays out of rotation (not ready)")
    return Check(f"a broken {name} build stays out of rotation", fn, time_limit=LIVE_TIME_LIMIT)


# ---------------------------------------------------------------- part 4: the Gateway
def https_canary(requests: int = 200, low: float = 0.05, high: float = 0.15) -> Check:
    """About 10% of https://shop.example/ requests reach api-v2, the rest api-v1, every one
    with the shop's certificate (offline the split is exact; live Envoy draws)."""
    def fn(ns: Any) -> Verdict:
        addr = ns.gateway_address("shop")
        if not addr:
            return failed("Gateway shop has no address yet (does it exist, with gatewayClassName "
                          "cloud-provider-kind?)")
        v1 = {p.name for p in checks.pods_matching(ns, "app=api,version=v1")}
        v2 = {p.name for p in checks.pods_matching(ns, "app=api,version=v2")}
        seen: Counter[str] = Counter()
        for _ in range(requests):
            resp = ns.http(addr, "/hostname", host="shop.example", scheme="https")
            pod = (resp.pod or "").split("/", 1)[-1]
            seen["v1" if pod in v1 else "v2" if pod in v2 else f"{resp.code or resp.status.value}"] += 1
        other = sum(n for k, n in seen.items() if k not in ("v1", "v2"))
        if other:
            return failed(f"{other} of {requests} https requests reached neither api version: every request "
                          "to shop.example must reach api-v1 or api-v2")
        share = seen["v2"] / requests
        if not low <= share <= high:
            return failed(f"{seen['v2']} of {requests} https requests reached api-v2 ({share:.0%}); a 90/10 "
                          "canary sends about 10%: weights 90 and 10 on one rule's backendRefs")
        return passed(f"{seen['v2']} of {requests} https requests "
                      f"reached api-v2 ({share:.0%}), the rest api-v1")
    # live, 200 HTTPS requests through the Gateway take about 20 s, the default limit
    return Check("about 10% of https://shop.example requests reach api-v2", fn, points=3,
                 time_limit=LIVE_TIME_LIMIT)


def once_served(check: Check) -> Check:
    """`check`, earned only once https://shop.example/ reaches an api pod: a Gateway that
    serves nothing must not collect the points of what it fails to break."""
    def fn(ns: Any) -> Verdict:
        addr = ns.gateway_address("shop")
        resp = ns.http(addr, "/hostname", host="shop.example", scheme="https") if addr else None
        if resp is None or (resp.pod or "").split("/", 1)[-1] not in {
                p.name for p in checks.pods_matching(ns, "app=api")}:
            return failed("not earned yet: this counts once https://shop.example/ reaches the api")
        return check.fn(ns)
    return Check(check.name, fn, check.points, check.hidden, check.time_limit)


def not_plain_http() -> Check:
    """Hidden: the shop is HTTPS only; plain HTTP must not reach the api."""
    def fn(ns: Any) -> Verdict:
        addr = ns.gateway_address("shop")
        if not addr:
            return failed("not earned yet: Gateway shop has no address")
        resp = ns.http(addr, "/hostname", host="shop.example")
        if resp.pod:
            return failed(f"plain http://shop.example/ reaches {resp.pod.split('/', 1)[-1]}: the task asks "
                          "for HTTPS only, so the Gateway needs no HTTP listener")
        return passed(f"plain http://shop.example/ reaches no pod ({resp.code or resp.status.value})")
    return Check("plain HTTP does not reach the shop", fn)


def other_host_refused() -> Check:
    """Hidden: the listener serves shop.example, not every name."""
    def fn(ns: Any) -> Verdict:
        addr = ns.gateway_address("shop")
        if not addr:
            return failed("not earned yet: Gateway shop has no address")
        resp = ns.http(addr, "/hostname", host="admin.example", scheme="https")
        if resp.pod:
            return failed(f"https://admin.example/ reaches {resp.pod.split('/', 1)[-1]}: set the listener's "
                          "hostname (or the route's hostnames) to shop.example")
        return passed(f"https://admin.example/ reaches no pod ({resp.code or resp.status.value})")
    return Check("another host name does not reach the shop", fn)


PART1 = Part(
    id="part1", title="A database with stable names", points=4,
    task=text.PART1_TASK, reference=text.DATABASE,
    visible=[pod_record("db-0").worth(2), checks.resolves("db", frm="app=toolbox", to_pods="app=db")],
    hidden=[pod_record("db-1"), headless("db"), replicas({"app": "db"}, 2, "database"),
            checks.service_port("db", 5432), checks.endpoints_match("db", "app=db", port=5432)],
    explanation=text.PART1_WHY, wrong_answers=text.PART1_WRONG,
)

PART2 = Part(
    id="part2", title="The api, in two versions, ready before it serves", points=4, builds_on=("part1",),
    task=text.PART2_TASK, reference=text.API,
    visible=lambda answer: [
        checks.endpoints_match("api-v1", "app=api,version=v1", port=8080),
        checks.endpoints_match("api-v2", "app=api,version=v2", port=8080),
        checks.reachable("api-v1:80/hostname", frm="app=toolbox", answered_by="app=api,version=v1"),
        broken_build_stays_out(answer, "api-v1"),
        broken_build_stays_out(answer, "api-v2"),
    ],
    hidden=[replicas({"app": "api", "version": "v1"}, 2, "api-v1"),
            replicas({"app": "api", "version": "v2"}, 1, "api-v2"),
            checks.reachable("db-0.db:5432", frm="app=api", name="the api reaches db-0.db on 5432"),
            internal_service("api-v1", 80), internal_service("api-v2", 80),
            checks.reachable("api-v2:80/hostname", frm="app=toolbox", answered_by="app=api,version=v2")],
    explanation=text.PART2_WHY, wrong_answers=text.PART2_WRONG,
)

PART3 = Part(
    id="part3", title="Default deny, then the allow-list", points=6, builds_on=("part1", "part2"),
    needs_policy_enforcement=True, setup=text.CHECK_GATEWAY,
    task=text.PART3_TASK, reference=text.POLICIES,
    visible=[
        inside_matrix_matches(),
        checks.resolves("db-0.db", frm="app=api", check_name="the api resolves db-0.db"),
        checks.reachable("db-0.db:5432", frm="app=api", name="the api reaches db-0.db on 5432"),
        office_reaches_api(),
        checks.routes_to("gateway/check", "/hostname", answered_by="app=api,version=v1",
                         name="the Gateway's proxy reaches the api"),
    ],
    hidden=[across_namespaces_match().worth(5), egress_only_to_dns("toolbox", ELSEWHERE),
            dns_over_tcp("toolbox"),
            checks.resolves("db", frm="app=db", to_pods="app=db",
                            check_name="the database pods resolve names")],
    explanation=text.PART3_WHY, wrong_answers=text.PART3_WRONG,
)

PART4 = Part(
    id="part4", title="HTTPS through a Gateway, with a 90/10 canary", points=6,
    builds_on=("part1", "part2", "part3"), needs_policy_enforcement=True,
    task=text.PART4_TASK, reference=text.GATEWAY,
    visible=[
        checks.routes_to("gateway/shop", "/hostname", host="shop.example", scheme="https",
                         answered_by="app=api", certificate="shop-tls",
                         name="https://shop.example/ reaches the api with shop-tls",
                         points=2),
        https_canary(),
    ],
    hidden=[once_served(c) for c in (not_plain_http(), other_host_refused(), office_reaches_api(),
                                      across_namespaces_match(add_late_pod=False))],
    explanation=text.PART4_WHY, wrong_answers=text.PART4_WRONG,
)

LAB = Lab(
    name="lab9-capstone",
    title="Lab 9: capstone, a shop from an empty namespace",
    namespace=NAMESPACE,
    workloads=WORKLOADS,
    other_namespaces={OFFICE: OFFICE_PODS},
    parts=(PART1, PART2, PART3, PART4),
    goals=text.GOALS, concept=text.CONCEPT, whats_next=text.WHATS_NEXT,
)
