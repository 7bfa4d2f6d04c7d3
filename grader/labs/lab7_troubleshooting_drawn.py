"""Lab 7, troubleshooting with faults drawn per learner: a shop of a dozen small services,
of which 3-5 paths are broken, each by a fault drawn from a catalogue of 13 classes
(grader.labs.lab7_faults) with a seed derived from the learner's id (grader.labs.drawn).

Graded on outcomes only: one visible check per drawn fault (the path it broke works
again, with a feedback sentence saying why it did not), so each fault earns its share;
hidden checks, earned once every drawn fault is fixed, make sure the rest of the shop
still works and its protected paths stay protected, so deleting or opening the
NetworkPolicies, scaling workloads away, exposing Services outside the cluster or deleting
the database's readiness probe (instead of pointing it at the right port) does not pass.
`lab_for(learner)` is the lab as that learner (and the grader) sees it; LAB is the
self-paced learner's draw, which the source notebook and solutions/ show."""
from __future__ import annotations

import copy
import dataclasses
import functools
from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.drawn import SELF_PACED, draw
from grader.labs.lab1_readiness import (
    LIVE_TIME_LIMIT,
    _answer_deployment,
    _copy_listening_on,
    _listed_as_ready_as_they_are,
    _settle,
)
from grader.labs.lab7_faults import (
    CATALOGUE,
    DATA,
    DATA_APP,
    FAULTS,
    HEALTHY,
    NAMESPACE,
    OFFICE,
    OFFICE_PODS,
    UNREADY_ON_PURPOSE,
    Fault,
    db_deployment,
)
from grader.labs.spec import Lab, Part, WrongAnswer
from grader.labs.strangers import reached, stranger

NAME = "lab7-troubleshooting-drawn"
FEWEST, MOST = 3, 5
VISIBLE_POINTS, POINTS = 8.0, 12.0
OUTSIDE = "lab7-outside"       # a namespace without policies, for the hidden checks' strangers


def faults_for(learner: str) -> list[Fault]:
    """The faults drawn for `learner` (the same on every call, machine and Python)."""
    return draw(NAME, learner, CATALOGUE, fewest=FEWEST, most=MOST)


class _Gate:
    """Whether every drawn fault's outcome holds, asked once per graded namespace: each hidden
    check counts only then (so a blank answer earns nothing from them), and live every
    outcome costs probes. One gate per grading (the part's hidden checks are a function of
    the answer, built afresh each time); it keeps the namespace it answered for."""

    def __init__(self, drawn: list[Fault]) -> None:
        self.drawn = drawn
        self._seen: tuple[Any, str | None] | None = None

    def __call__(self, ns: Any) -> str | None:
        """None when every drawn fault is fixed; else why a hidden check is not earned yet."""
        if self._seen is None or self._seen[0] is not ns:
            broken = sum(1 for f in self.drawn if f.outcome().fn(ns).share < 1.0)
            why = (f"not earned yet: this counts once every fault is fixed ({broken} of the "
                   f"{len(self.drawn)} broken paths still fail)") if broken else None
            self._seen = (ns, why)
        return self._seen[1]


def _rest_of_shop(gate: _Gate) -> Check:
    others = [f for f in CATALOGUE if f not in gate.drawn]

    def fn(ns: Any) -> Verdict:
        if (why := gate(ns)) is not None:
            return failed(why)
        for f in others:
            v = f.outcome().fn(ns)
            if v.share < 1.0:
                return failed(f"a path that worked before your answer fails now: {v.feedback}")
        return passed(f"the {len(others)} other paths of the shop still work")
    return Check("the rest of the shop still works", fn)


def _closed(ns: Any, attempts: list[tuple[Any, str, str, str]]) -> str | None:
    """The first attempt (namespace, selector, target, what) that gets through, in words; a
    target ending in /udp is probed over UDP."""
    for where, frm, target, what in attempts:
        udp = target.endswith("/udp")
        if reached(where.probe(target.removesuffix("/udp"), frm=frm, protocol="UDP" if udp else "TCP")):
            return what
    return None


def _db_protected(gate: _Gate) -> Check:
    def fn(ns: Any) -> Verdict:
        if (why := gate(ns)) is not None:
            return failed(why)
        office = ns.cluster.namespace(OFFICE, fresh=False)
        stranger(ns, OUTSIDE, "reports", {"app": "reports"}, 8080)
        outside = ns.cluster.namespace(OUTSIDE, fresh=False)
        db = f"db.{ns.name}:5432"
        pod = next(iter(checks.pods_matching(ns, "app=db")), None)
        if pod is None:
            return failed("no db pod runs")
        opened = _closed(ns, [(ns, "app=user", "db:5432", "the user pod reaches the database on 5432"),
                              (ns, "app=web", "db:5432", "the web pods reach the database on 5432"),
                              (office, "app=intern", db,
                               f"the intern's pod in {OFFICE} reaches the database"),
                              (outside, "app=reports", db,
                               f"an app=reports pod in namespace {OUTSIDE} reaches the database"),
                              (office, "app=reports", f"{pod.ip}:8081/udp",
                               "the reports job reaches a db pod on 8081/UDP, a port the rule never opened")])
        if opened:
            return failed(f"{opened}: db-ingress must let in the reports job of {OFFICE} only (one peer with "
                          "both selectors), on port 5432 only")
        return passed(f"the database is closed to everyone but the reports job of {OFFICE}")
    return Check("the database stays closed to all but the office's reports job", fn)


def _payments_protected(gate: _Gate) -> Check:
    def fn(ns: Any) -> Verdict:
        if (why := gate(ns)) is not None:
            return failed(why)
        pay = next(iter(checks.pods_matching(ns, "app=payments")), None)
        if pay is None:
            return failed("no payments pod runs")
        stranger(ns, OUTSIDE, "web", {"app": "web"}, 8080)
        outside = ns.cluster.namespace(OUTSIDE, fresh=False)
        opened = _closed(ns, [(ns, "app=user", f"{pay.ip}:8080", "the user pod reaches them on 8080"),
                              (ns, "app=api", f"{pay.ip}:8080", "the api pods reach them on 8080"),
                              (outside, "app=web", f"{pay.ip}:8080",
                               f"an app=web pod in namespace {OUTSIDE} reaches them on 8080"),
                              (ns, "app=web", f"{pay.ip}:8081/udp",
                               "the web pods reach them on 8081/UDP, a port the rule never opened")])
        if opened:
            return failed(f"payments: {opened}; payments-ingress must let in this namespace's web pods only, "
                          "on the pods' port 8080 only")
        return passed("the payments pods are closed to everyone but the web pods")
    return Check("payments stays closed to all but the web pods", fn)


def _worker_limited(gate: _Gate) -> Check:
    def fn(ns: Any) -> Verdict:
        if (why := gate(ns)) is not None:
            return failed(why)
        web = next(iter(checks.pods_matching(ns, "app=web")), None)
        api = next(iter(checks.pods_matching(ns, "app=api")), None)
        other = stranger(ns, OUTSIDE, "stranger", {"app": "stranger"}, 8080, 53)
        twin = stranger(ns, OUTSIDE, "api", {"app": "api"}, 8080)
        attempts = [(ns, "app=worker", f"{other.ip}:8080", f"a pod in namespace {OUTSIDE} on 8080"),
                    (ns, "app=worker", f"{other.ip}:53/udp", f"a pod in namespace {OUTSIDE} on 53/UDP"),
                    (ns, "app=worker", f"{twin.ip}:8080", f"an app=api pod in namespace {OUTSIDE} on 8080")]
        if web is not None:
            attempts.insert(0, (ns, "app=worker", f"{web.ip}:8080", "a web pod on 8080"))
        if api is not None:
            attempts.append((ns, "app=worker", f"{api.ip}:8081/udp", "an api pod on 8081/UDP"))
        opened = _closed(ns, attempts)
        if opened:
            return failed(f"the worker reaches {opened}: worker-egress must allow the api and DNS only")
        return passed("the worker's egress is still limited to the api and DNS")
    return Check("the worker's egress stays limited to the api and DNS", fn)


def _services_inside(gate: _Gate) -> Check:
    names = ("web", "storefront", "api", "cart", "search", "reviews", "payments", "db", "shop-dns")

    def fn(ns: Any) -> Verdict:
        if (why := gate(ns)) is not None:
            return failed(why)
        opened = [f"{n} is a {svc.type}" for n in names if (svc := ns.service(n)) is not None
                  and svc.type != "ClusterIP"]
        if opened:
            return failed("; ".join(opened)
                          + ": a fix must not open the shop outside the cluster; keep ClusterIP")
        return passed("the shop's Services stay inside the cluster (ClusterIP)")
    return Check("the Services stay inside the cluster", fn)


def _hosts_exact(gate: _Gate) -> Check:
    """An Ingress rule without a host, or a route without hostnames, serves every host: the
    shop's paths work, and so does any name pointed at its address."""
    def fn(ns: Any) -> Verdict:
        if (why := gate(ns)) is not None:
            return failed(why)
        for kind, addr in (("Ingress shop", ns.ingress_address("shop")),
                           ("Gateway shop-gw", ns.gateway_address("shop-gw"))):
            resp = ns.http(addr, "/", host="admin.example") if addr else None
            if resp is not None and resp.code != 404:
                return failed(f"GET http://admin.example/ through {kind} got "
                              f"{resp.code or resp.status.value}, not 404: it serves hosts that are not the "
                              "shop's; keep the rule's host (shop.example) "
                              "and the route's hostnames (www.shop.example)")
        return passed("the Ingress and the Gateway answer only for the shop's hosts")
    return Check("the Ingress and the Gateway serve only the shop's hosts", fn)


def _probe_kept(gate: _Gate, db: dict[str, Any] | None) -> Check:
    """The task says the database keeps its readiness probe: judged by what the probe does.
    A copy of Deployment db as it stands after the answer (`db`), whose server listens on
    9090 while it still declares port http (5432), is selected by Service db but must stay
    out of rotation. Without a probe (or with one that does not ask the app, such as an exec
    of `true`) it is Ready at once and takes traffic."""
    def fn(ns: Any) -> Verdict:
        if (why := gate(ns)) is not None:
            return failed(why)
        if db is None:
            return failed("there is no Deployment db to try a broken build of")
        try:
            ns.apply([_copy_listening_on(copy.deepcopy(db), "db-broken", 9090)],
                     source="a broken build of db")
            ns.wait_ready(timeout=60, unready=UNREADY_ON_PURPOSE)
            broken = {p.name for p in checks.pods_matching(ns, UNREADY_ON_PURPOSE)
                      if p.name.startswith("db-broken")}
            if not broken:
                return failed("a copy of Deployment db made no pod labelled app=db")
            # live, a pod without a probe turns Ready a moment after it runs: give it that moment
            _settle(ns, UNREADY_ON_PURPOSE, "db-broken", timeout=6.0)
            ready = _listed_as_ready_as_they_are(ns, "db", UNREADY_ON_PURPOSE, "db-broken")
        finally:
            ns.delete("Deployment", "db-broken")
        if broken & ready:
            return failed("a db pod that does not answer on its port http (5432) is a ready endpoint of "
                          "Service db and gets traffic: the database must keep a readinessProbe that asks "
                          "the app (httpGet /healthz on port http)")
        return passed("a db pod that does not answer on 5432 stays out of rotation: the probe is kept")
    return Check("the database keeps a readiness probe that asks the app", fn, time_limit=LIVE_TIME_LIMIT)


def _db_after(answer: str, drawn: list[Fault]) -> dict[str, Any] | None:
    """Deployment db as it stands once the answer is applied: the answer's own (applied over
    the shop's, it replaces its pod template), else the broken shop's."""
    return _answer_deployment(answer, "db") or _answer_deployment(broken_app(drawn), "db")


def hidden_checks(drawn: list[Fault], answer: str = "") -> list[Check]:
    """Worth 4 of the 12 points together, whoever the learner is. Each may be the one that
    asks the gate (every drawn path, probed) and starts strangers' pods, so each gets the
    live time limit of a check that starts pods, not the default 20 s."""
    gate = _Gate(drawn)
    chosen = [_rest_of_shop(gate).worth(1.0), _hosts_exact(gate).worth(0.25), _db_protected(gate).worth(0.75),
              _payments_protected(gate).worth(0.75), _worker_limited(gate).worth(0.5),
              _services_inside(gate).worth(0.5), _probe_kept(gate, _db_after(answer, drawn)).worth(0.25)]
    return [dataclasses.replace(c, time_limit=LIVE_TIME_LIMIT) for c in chosen]


def broken_app(drawn: list[Fault]) -> str:
    pieces: dict[str, str | None] = dict(HEALTHY)
    for f in drawn:
        pieces.update(f.broken)
    return "---\n".join(text for text in pieces.values() if text)


def reference(drawn: list[Fault]) -> str:
    return "---\n".join(f.fix() for f in drawn)


def _other_learner(learner: str, drawn: list[Fault]) -> tuple[str, list[Fault]]:
    """A classmate whose draw misses one of `learner`'s faults (their solution cannot fix it)."""
    for n in range(1, 200):
        other = f"{learner}-neighbour-{n}"
        theirs = faults_for(other)
        if any(f not in theirs for f in drawn):
            return other, theirs
    raise AssertionError("no classmate with another draw")       # pragma: no cover


def _probe_wrong_answers(drawn: list[Fault], share: float) -> tuple[WrongAnswer, ...]:
    """For a learner who drew the readiness fault: the two ways of getting it wrong."""
    if FAULTS["readiness-wrong-port"] not in drawn:
        return ()
    healthy = HEALTHY["deploy-db"]
    fixed = reference(drawn)
    assert healthy in fixed
    return (
        WrongAnswer("Deleting the database's readiness probe instead of pointing it at the port the database "
                    "serves: the path works, but the task says the probe stays, and without it a db pod that "
                    "stops answering would still get traffic.", fixed.replace(healthy, db_deployment(None)),
                    max_score=POINTS - 0.25),
        WrongAnswer("Moving the probe to port 80, the usual Service port: nothing listens there either, so "
                    "the db pod still never becomes Ready.", fixed.replace(healthy, db_deployment(80)),
                    max_score=VISIBLE_POINTS - share),
    )


def wrong_answers(learner: str, drawn: list[Fault]) -> tuple[WrongAnswer, ...]:
    share = VISIBLE_POINTS / len(drawn)
    most = POINTS - 0.75 - 0.75 - 0.5       # every policy opened: the protected paths fail
    other, theirs = _other_learner(learner, drawn)
    missed = [f for f in drawn if f not in theirs]
    opened = "\n---\n".join(text.split("spec:")[0] + f"spec:\n  podSelector: {{}}\n  policyTypes: [{kind}]\n"
                            f"  {kind.lower()}: [{{}}]\n" for text, kind in (
                                (HEALTHY["policy-db"], "Ingress"), (HEALTHY["policy-payments"], "Ingress"),
                                (HEALTHY["policy-worker"], "Egress")))
    return _probe_wrong_answers(drawn, share) + (
        WrongAnswer("Fixing every fault but one: that fault's path still fails, and the hidden checks wait "
                    "until every path works.", reference(drawn[:-1]), max_score=VISIBLE_POINTS - share),
        WrongAnswer("Opening every NetworkPolicy to everyone (`ingress: [{}]`, `egress: [{}]`) instead of "
                    "fixing the rule: the paths work, but the database, payments and the worker are no "
                    "longer protected.", reference(drawn) + "---\n" + opened, max_score=most),
        WrongAnswer("Exposing the database as a NodePort while "
                    "fixing: the shop is opened outside the cluster.",
                    reference(drawn) + "---\n"
                    + HEALTHY["svc-db"].replace("spec:\n", "spec:\n  type: NodePort\n"),
                    max_score=POINTS - 0.5),
        WrongAnswer(f"A classmate's solution (learner {other!r}): it fixes their faults, not "
                    f"{', '.join(f.key for f in missed)}.", reference(theirs),
                    max_score=POINTS - 4.0 - share * len(missed)),
    )


def _explanation(learner: str, drawn: list[Fault]) -> str:
    lines = [f"{n}. {f.explanation}" for n, f in enumerate(drawn, 1)]
    return (f"For learner {learner!r}, {len(drawn)} faults were drawn. " + " ".join(lines) +
            " Every fix is the healthy object, applied on top of the broken shop; nothing else changes, so "
            "the policies keep protecting the database, payments and the worker's egress. Another learner's "
            "solution: `python -m grader.labs.drawn_solution <learner id>` writes a solution notebook for "
            "that learner.")


TASK = """
`lab` (the output above) says for whom the faults were drawn and how many paths are broken:
between three and five, each by a different fault, and your neighbours' are not yours.
`lab.show()` prints the shop as it runs in namespace `lab7`: `web`, `api`, `cart`,
`search`, `reviews`, `payments` and `db` Deployments with their Services (the database's
pods carry a readiness probe), the shop's own
resolver (Deployment `coredns` behind Service `shop-dns`, UDP 53: your sandbox cannot
touch kube-system, so the shop brings its own), an ExternalName `ledger` for the ledger in
namespace `lab7-data` (`lab.show(namespace="lab7-data")`), three NetworkPolicies, an
Ingress and a Gateway with an HTTPRoute, all in front of the web pods (through Service
`storefront`), and two client pods, `user` and `worker`. The reports job runs in namespace
`lab7-office` (`lab.show(namespace="lab7-office")`).

When it works: the user reaches `web:80`; the web pods reach `api`, `cart`, `search`,
`reviews` and `payments` on port 80 and the resolver on `shop-dns:53/UDP`; the api
reaches `ledger:80`; the worker resolves `api` and reaches the api pods on 8080; the
reports job in `lab7-office` reaches `db.lab7:5432` (Service `db`, whose pod is Ready);
`http://shop.example/` through the
Ingress `shop` and `http://www.shop.example/` through the Gateway `shop-gw` (port 80)
reach the web pods. ConfigMap `shop-config` lists the addresses the shop uses.

Find the broken paths with `ns = lab.explore("fixes", with_answer=False)` (`ns.probe`,
`ns.endpoints`, `ns.lookup`, `ns.http(ns.ingress_address("shop"), host=...)`,
`ns.route_status("shop")`) and write **only the objects you change**, fixed, in the answer
cell (applied on top of the shop, as `kubectl apply` would). Keep what is protected
protected: the database is for the office's reports job only, payments for the web pods
only, and the worker's egress for the api and DNS only. The database keeps a readiness
probe that asks it (so a db pod that stops answering leaves rotation): fix a probe, do not
delete it.
"""


@functools.lru_cache(maxsize=256)
def lab_for(learner: str) -> Lab:
    """Lab 7 as `learner` sees it and as the grader grades it."""
    drawn = faults_for(learner)
    data = "---\n".join([DATA_APP, *(f.elsewhere for f in drawn if f.elsewhere)])
    part = Part(
        id="fixes", title="Find and fix the faults drawn for you", points=POINTS,
        needs_policy_enforcement=True, may_stay_unready=UNREADY_ON_PURPOSE, task=TASK,
        visible=[f.check(VISIBLE_POINTS / len(drawn)) for f in drawn],
        hidden=lambda answer: hidden_checks(drawn, answer), reference=reference(drawn),
        explanation=_explanation(learner, drawn), wrong_answers=wrong_answers(learner, drawn))
    return Lab(
        name=NAME, title="Lab 7: Troubleshooting faults drawn for you", namespace=NAMESPACE,
        workloads=broken_app(drawn), parts=(part,), other_namespaces={DATA: data, OFFICE: OFFICE_PODS},
        goals=GOALS, concept=CONCEPT, whats_next=WHATS_NEXT)


GOALS = """
- troubleshoot a shop whose faults nobody else has: follow each failing request to where it stops;
- fix each fault with the smallest change, across Services, readiness probes, DNS, NetworkPolicy,
  Ingress and Gateway;
- keep every protected path protected while you fix.
"""

CONCEPT = """
Every request crosses the same layers, and each layer has its classic faults: the name
(DNS: which namespace, an ExternalName's target, a resolver that is down, egress to DNS),
the Service (selector, port, targetPort, named ports, and only Ready pods: a readiness
probe on the wrong port keeps a running pod out for good), the NetworkPolicy (the pod's port,
peers that OR instead of AND) and, from outside, the Ingress class or the Gateway listener
a route attaches to. Troubleshooting is finding the first layer where the request stops.

```mermaid
flowchart LR
    user["user"] -->|"web:80"| web["web"]
    out["outside"] -->|"Ingress / Gateway"| sf["storefront"] --> web
    web -->|":80"| svc["api, cart, search,<br>reviews, payments"]
    web -->|"shop-dns:53/UDP"| dns["resolver"]
    api["api"] -->|"ledger (ExternalName)"| ledger["ledger in lab7-data"]
    worker["worker"] -->|"DNS, api:8080"| api
    reports["reports in lab7-office"] -->|"db.lab7:5432"| db["db (Ready?)"]
```
"""

WHATS_NEXT = """
The course's mock exam puts the same skills against a clock, answered with kubectl.
"""

LAB = lab_for(SELF_PACED)
FAULT_CLASSES = {f.outcome().name: f for f in CATALOGUE}
"""Check name -> fault class, for the instructor's report (each class has its own outcome)."""

__all__ = ["FAULTS", "FAULT_CLASSES", "LAB", "NAME", "faults_for", "lab_for"]
