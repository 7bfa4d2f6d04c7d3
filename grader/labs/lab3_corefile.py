"""Lab 3 part 5, the cluster's Corefile: every `<service>.shop.internal` name, the names an old
app was written with, leads from any pod to Service `<service>` of the lab's namespace,
answered under the name the app asked; every other name answers as before.

The answer is the whole Corefile (what `kubectl -n kube-system edit configmap coredns`
shows); grader.labs.corefile_answer says what it may change, how it is applied and how the
original comes back, and why the part is "not gradable" on a shared cluster. Graded by
what pods' lookups answer: the visible name, a Service created after the Corefile (a rule
per name does not do), a pod in another namespace, and names outside the zone."""
from __future__ import annotations

from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.spec import COREFILE, Part, WrongAnswer
from grader.model.corefile import DEFAULT_COREFILE

OTHER = "storefront"     # lab 3's other namespace (its pod `shopper`)

#: A Service the hidden check creates after the Corefile is in place.
LATER = """
apiVersion: v1
kind: Service
metadata: {name: orders}
spec:
  selector: {app: catalog}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def _with_rules(*lines: str) -> str:
    """kind's Corefile with `lines` just above the kubernetes plugin."""
    added = "".join(f"    {line}\n" for line in lines)
    return DEFAULT_COREFILE.replace("    kubernetes cluster.local", added + "    kubernetes cluster.local", 1)


REFERENCE = _with_rules("rewrite name suffix .shop.internal. .lab3.svc.cluster.local. answer auto")


def a_later_service() -> Check:
    """Hidden: a Service created after the Corefile gets its shop.internal name too."""
    def fn(ns: Any) -> Verdict:
        ns.apply(LATER, source="a Service created later")
        return checks.resolves("orders.shop.internal", frm="client", to_service="orders").fn(ns)
    return Check("a Service created later is found as <service>.shop.internal", fn)


def from_another_namespace() -> Check:
    """Hidden: the rule holds for every pod, not only for pods of the lab's namespace."""
    def fn(ns: Any) -> Verdict:
        svc = ns.service("catalog")
        other = ns.cluster.namespace(OTHER, fresh=False)
        ans = other.lookup("catalog.shop.internal", frm="app=shopper")
        if svc is None or ans.rcode != "NOERROR" or ans.addresses != [svc.cluster_ip]:
            return failed(f"catalog.shop.internal from a pod in {OTHER}: {ans.rcode} {ans.addresses}, not "
                          f"the ClusterIP of catalog in {ns.name}: the "
                          "rewrite must name the Service's full name")
        return passed(f"catalog.shop.internal from {OTHER}: {svc.cluster_ip}, Service catalog in {ns.name}")
    return Check("catalog.shop.internal works from another namespace", fn)


def others_unchanged() -> Check:
    """Hidden: names outside shop.internal answer as with kind's Corefile."""
    def fn(ns: Any) -> Verdict:
        for name, service in (("catalog", "catalog"), (f"catalog.{ns.name}.svc.cluster.local", "catalog")):
            verdict = checks.resolves(name, frm="client", to_service=service).fn(ns)
            if verdict.share < 1:
                return failed(f"{verdict.feedback}: names outside shop.internal must answer as before")
        api = ns.lookup("kubernetes.default.svc.cluster.local", frm="client")
        if api.rcode != "NOERROR" or not api.addresses:
            return failed(f"kubernetes.default.svc.cluster.local: {api.rcode}: the cluster's own names must "
                          "still resolve (keep the kubernetes plugin as kind has it)")
        return passed("catalog, its full name and kubernetes.default answer as before")
    return Check("other names answer as before", fn)


PART5 = Part(
    id="part5", title="A stub zone in the Corefile", points=3, kind=COREFILE,
    visible=[
        checks.resolves("catalog.shop.internal", frm="client", to_service="catalog",
                        check_name="catalog.shop.internal resolves to Service catalog"),
        checks.answered_as_asked("catalog.shop.internal", frm="client"),
        checks.reachable("catalog.shop.internal:80/hostname", frm="client", answered_by="app=catalog"),
    ],
    hidden=[a_later_service(), from_another_namespace(), others_unchanged()],
    task="""
An old app, moved into the cluster, calls its services by names of the company's former
zone: `catalog.shop.internal`, `orders.shop.internal`, and more to come. Nobody can change
its code. Make the cluster's DNS answer **every `<service>.shop.internal` name with Service
`<service>` of namespace `lab3`**, from any pod, **answered under the name the app asked**
(so glibc accepts the answer), while every other name answers as before.

Answer with the **whole Corefile** (what `kubectl -n kube-system edit configmap coredns`
would show). kind's, to start from:

```
""" + DEFAULT_COREFILE + """```

The grader applies your file, checks what pods' lookups answer, then puts kind's back. It
accepts changes for the `shop.internal` zone only: a rewrite must stay inside the zone and
lead to `<service>.lab3.svc.cluster.local`, a `forward` may only go to `/etc/resolv.conf`,
and a `hosts` line only to addresses inside the cluster. Offline, `ns = lab.explore("part5")`
puts your last-run answer cell into a prepared cluster; then try
`ns.lookup("catalog.shop.internal", frm="client")`. \
Live, only the course's own clusters let svclab edit CoreDNS: on a shared cluster the
check says "not gradable on this cluster", and your submitted notebook is graded offline.
""",
    reference=REFERENCE,
    explanation=(
        "`rewrite name suffix .shop.internal. .lab3.svc.cluster.local. answer auto` turns the question "
        "`catalog.shop.internal.` into `catalog.lab3.svc.cluster.local.` before the kubernetes plugin "
        "answers it, for any Service, now or later; `answer auto` writes the answer back under the name "
        "asked, which glibc's resolver requires (an `exact` rule does that by itself; suffix, prefix and "
        "regex rules need the option). The rewrite runs before the plugins that answer whatever its place in "
        "the block, because CoreDNS orders plugins by its own plugin.cfg. A regex rule, "
        "`rewrite name regex (.+)\\.shop\\.internal\\.$ {1}.lab3.svc.cluster.local. answer auto`, "
        "does the same."),
    wrong_answers=(
        WrongAnswer("An exact rule for catalog only: right today, but orders.shop.internal, and every later "
                    "Service, gets NXDOMAIN.",
                    _with_rules("rewrite name exact catalog.shop.internal catalog.lab3.svc.cluster.local"),
                    max_score=2.5),
        WrongAnswer("A suffix rule without `answer auto`: dig shows the ClusterIP, but under "
                    "catalog.lab3.svc.cluster.local, which glibc throws away.",
                    _with_rules("rewrite name suffix .shop.internal. .lab3.svc.cluster.local."),
                    max_score=2.5),
        WrongAnswer("A rule into another namespace (`.default.svc.cluster.local.`): refused, a lab answer "
                    "may not lead outside the lab.",
                    _with_rules("rewrite name suffix .shop.internal. .default.svc.cluster.local. "
                                "answer auto"),
                    max_score=0),
        WrongAnswer("A stub zone forwarded to a public resolver (`forward . 8.8.8.8`): refused, it would "
                    "send every pod's shop.internal queries out of the cluster (and they would fail there).",
                    DEFAULT_COREFILE + "shop.internal:53 {\n    forward . 8.8.8.8\n}\n", max_score=0),
        WrongAnswer("A Corefile without the kubernetes plugin (the rewrite, the forward and the lines "
                    "CoreDNS needs): shop.internal is rewritten to names nothing answers any more, and the "
                    "cluster's own names fail too.",
                    ".:53 {\n    errors\n    health\n    ready\n    reload\n"
                    "    rewrite name suffix .shop.internal. .lab3.svc.cluster.local. answer auto\n"
                    "    forward . /etc/resolv.conf\n}\n", max_score=0),
        WrongAnswer("Only the rewrite and the forward: refused, the root block drops `health`, `ready` and "
                    "`reload`, which CoreDNS's probes and the restore after grading need.",
                    ".:53 {\n    rewrite name suffix .shop.internal. .lab3.svc.cluster.local. answer auto\n"
                    "    forward . /etc/resolv.conf\n}\n", max_score=0),
    ),
)
