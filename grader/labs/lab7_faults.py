"""Lab 7's catalogue: the healthy shop, piece by piece, and the faults that can be drawn.

Why pieces: every fault class breaks its own pieces of the shop and its own path through
it, so any 3-5 of them combine without interfering, the fix of a fault is exactly the
healthy version of the pieces it broke, and each fault is graded on the one outcome it
breaks (partial credit per fault). A learner never sees a fault's name: the broken app,
the paths that fail and the feedback sentence (which says why the path fails) are what
there is to go on; the instructor's report groups results by fault class.

The learner's sandbox is the namespace lab7 (live: other learners share the cluster, and
kube-system is off limits). "CoreDNS scaled to zero" is therefore modelled inside it: the
shop runs its own resolver, a Deployment named coredns behind Service shop-dns on UDP 53
(the agnhost stand-in answers on UDP 53 as netexec), and the fault scales it to zero. The
mechanics are the real ones (no replicas, no endpoints, every query to the resolver times
out); only the answers are netexec's, not DNS records.

The database's pods carry a readiness probe (httpGet /healthz on their port http, 5432),
and the task says it stays: its fault points the probe at 8080 (the port the shop's other
apps serve, where the database listens on nothing), so the pod runs but never becomes
Ready and Service db has no ready endpoint. The fault owns the path through the Service
(db.lab7:5432); the AND/OR fault's outcome is asked of the db pod's own address, which
readiness does not touch, so the two stay apart. Grading waits for the pods labelled app=db
(UNREADY_ON_PURPOSE) to run, not to be Ready, or a broken shop could never be graded. Why
the database rather than a new app: the namespace's quota allows 10 Services, all in use.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from grader import checks
from grader.checks.core import Check, Verdict, failed, passed
from grader.labs.workloads import Port, netexec_workload, pause_pod

NAMESPACE, DATA, OFFICE = "lab7", "lab7-data", "lab7-office"
CLASS = "cloud-provider-kind"          # the course's IngressClass and GatewayClass (lab 6)
#: Pods a learner's answer may leave NotReady (the readiness fault, unfixed): grading waits
#: for them to run only, so the path they break is graded instead of the wait timing out.
UNREADY_ON_PURPOSE = "app=db"


def _app(name: str, port: int = 8080, *, replicas: int = 1, labels: Mapping[str, str] | None = None,
         udp: int | None = None, probe: int | str | None = None) -> str:
    """A netexec Deployment serving HTTP on `port` (named http); `probe`, when given, is the
    port its readinessProbe (httpGet /healthz) asks."""
    chosen = dict(labels or {"app": name})
    return netexec_workload(name, chosen, selector=chosen, replicas=replicas, http_port=port, udp_port=udp,
                            ports=[Port(port, "http")] + ([Port(udp, "dns", "UDP")] if udp else []),
                            readiness_probe=probe is not None, probe_port=probe)


def db_deployment(probe: int | str | None) -> str:
    """Deployment db (netexec on 5432, port http) with its readiness probe on `probe`, or
    none: the healthy one probes "http"; the fault, and the wrong answers, others."""
    return _app("db", 5432, probe=probe)


def _service(name: str, selector: str, port: int = 80, target: int | str = 8080, *, extra: str = "") -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}{extra}
spec:
  selector:
    {selector}
  ports:
  - port: {port}
    targetPort: {target}
"""


def _egress(dns: bool) -> str:
    text = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: worker-egress
spec:
  podSelector:
    matchLabels:
      app: worker
  policyTypes:
  - Egress
  egress:
  - to:
    - podSelector:
        matchLabels:
          app: api
    ports:
    - port: 8080
"""
    return text + ("""  - to:
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
""" if dns else "")


def _db_ingress(one_peer: bool) -> str:
    peer = "      podSelector:" if one_peer else "    - podSelector:"
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: db-ingress
spec:
  podSelector:
    matchLabels:
      app: db
  policyTypes:
  - Ingress
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {OFFICE}
{peer}
        matchLabels:
          app: reports
    ports:
    - port: 5432
"""


def _payments_ingress(port: int) -> str:
    return f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: payments-ingress
spec:
  podSelector:
    matchLabels:
      app: payments
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: web
    ports:
    - port: {port}
"""


def _ingress(cls: str) -> str:
    return f"""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
spec:
  ingressClassName: {cls}
  rules:
  - host: shop.example
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: storefront
            port:
              number: 80
"""


def _route(listener: str) -> str:
    return f"""apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
spec:
  parentRefs:
  - name: shop-gw
    sectionName: {listener}
  hostnames:
  - www.shop.example
  rules:
  - backendRefs:
    - name: storefront
      port: 80
"""


def _ledger(target: str) -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: ledger
spec:
  type: ExternalName
  externalName: {target}
"""


GATEWAY = f"""apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: shop-gw}}
spec:
  gatewayClassName: {CLASS}
  listeners:
  - {{name: http, protocol: HTTP, port: 80}}
  - {{name: admin, protocol: HTTP, port: 8080}}
"""

CONFIG = f"""apiVersion: v1
kind: ConfigMap
metadata: {{name: shop-config}}
data:
  WEB: http://web:80
  API: http://api:80
  CART: http://cart:80
  SEARCH: http://search:80
  REVIEWS: http://reviews:80
  PAYMENTS: http://payments:80
  LEDGER: http://ledger:80
  RESOLVER: shop-dns:53/UDP
  DB: db.{NAMESPACE}:5432
"""

#: The healthy shop in namespace lab7, piece by piece (name -> YAML), in apply order.
HEALTHY: dict[str, str] = {
    "config": CONFIG,
    "user": pause_pod("user", {"app": "user"}),
    "worker": pause_pod("worker", {"app": "worker"}),
    **{f"deploy-{n}": _app(n) for n in ("web", "api", "cart", "search", "reviews", "payments")},
    "deploy-db": db_deployment("http"),
    "deploy-coredns": _app("coredns", 8080, labels={"k8s-app": "shop-dns"}, udp=53),
    "svc-web": _service("web", "app: web"),
    "svc-storefront": _service("storefront", "app: web", target="http"),
    "svc-api": _service("api", "app: api"),
    "svc-cart": _service("cart", "app: cart", target="http"),
    "svc-search": _service("search", "app: search"),
    "svc-reviews": _service("reviews", "app: reviews"),
    "svc-payments": _service("payments", "app: payments"),
    "svc-db": _service("db", "app: db", 5432, 5432),
    "svc-shop-dns": """apiVersion: v1
kind: Service
metadata:
  name: shop-dns
spec:
  selector:
    k8s-app: shop-dns
  ports:
  - protocol: UDP
    port: 53
    targetPort: 53
""",
    "svc-ledger": _ledger(f"ledger.{DATA}.svc.cluster.local"),
    "policy-worker": _egress(dns=True),
    "policy-db": _db_ingress(one_peer=True),
    "policy-payments": _payments_ingress(8080),
    "ingress": _ingress(CLASS),
    "gateway": GATEWAY,
    "route": _route("http"),
}

#: The other namespaces: the ledger lives in lab7-data, the office's reports job in lab7-office.
DATA_APP = _app("ledger") + "---\n" + _service("ledger", "app: ledger")
OFFICE_PODS = pause_pod("reports", {"app": "reports"}) + "---\n" + pause_pod("intern", {"app": "intern"})


@dataclass(frozen=True)
class Fault:
    """One fault class: what it breaks (`broken`: piece -> its broken YAML, or None when the
    piece is missing from lab7; `elsewhere`: YAML added to lab7-data instead), the outcome
    that shows it (`outcome`), why that outcome fails (`why`, the feedback sentence) and
    the fix in words (`explanation`)."""

    key: str
    title: str
    broken: Mapping[str, str | None]
    outcome: Callable[[], Check]
    why: str
    explanation: str
    elsewhere: str = ""

    def fix(self) -> str:
        """The objects to apply: the healthy version of every piece this fault broke."""
        return "---\n".join(HEALTHY[k] for k in self.broken)

    def check(self, weight: float) -> Check:
        """The outcome check, its failure feedback ending with why this path fails."""
        base = self.outcome()

        def fn(ns: Any) -> Verdict:
            v = base.fn(ns)
            return v if v.share >= 1.0 else failed(f"{v.feedback.rstrip('.')}. Why: {self.why}")
        return Check(base.name, fn, weight)


def _http(target: str, frm: str, selector: str, name: str) -> Callable[[], Check]:
    return lambda: checks.reachable(target, frm=frm, answered_by=selector, name=name)


def _ledger_reached() -> Check:
    def fn(ns: Any) -> Verdict:
        out = ns.probe("ledger:80/hostname", frm="app=api")
        pods = {p.name for p in ns.cluster.namespace(DATA, fresh=False).pods()
                if p.labels.get("app") == "ledger"}
        who = (out.pod or "").split("/", 1)[-1] or (out.body or "").strip()
        if not out.ok:
            return failed(f"ledger:80 from app=api: {out.status.value}"
                          + (f" ({out.reason})" if out.reason else ""))
        if who not in pods:
            return failed("ledger:80 from app=api was answered by "
                          f"{who or 'nobody'}, not the ledger in {DATA}")
        return passed(f"ledger:80 from app=api answered by {who} in {DATA}")
    return Check("the api reaches the ledger in lab7-data (ledger:80)", fn)


def _worker_dns() -> Check:
    def fn(ns: Any) -> Verdict:
        ans = ns.lookup("api", frm="app=worker")
        svc = ns.service("api")
        if ans.rcode != "NOERROR" or svc is None or ans.addresses != [svc.cluster_ip]:
            return failed(f"the worker's DNS query for api: {ans.rcode} {ans.addresses or ''}".rstrip())
        api = next(iter(checks.pods_matching(ns, "app=api")), None)
        if api is None or not ns.probe(f"{api.ip}:8080", frm="app=worker").ok:
            return failed("the worker resolves api but cannot open a connection to an api pod on 8080")
        return passed("the worker resolves api and reaches the api pods on 8080")
    return Check("the worker resolves api and reaches the api pods", fn)


def _reports_only() -> Check:
    """Asked of a db pod's own address: NetworkPolicy decides it, whether or not the pod is
    Ready (readiness is the other fault's path, through Service db)."""
    def fn(ns: Any) -> Verdict:
        office = ns.cluster.namespace(OFFICE, fresh=False)
        db = next(iter(checks.pods_matching(ns, "app=db")), None)
        if db is None:
            return failed("no db pod runs")
        target = f"{db.ip}:5432"
        what = f"db pod {db.name} on 5432 ({target})"
        if not office.probe(target, frm="app=reports").ok:
            return failed(f"the reports job in {OFFICE} does not reach {what}")
        if office.probe(target, frm="app=intern").status.value not in ("TIMEOUT", "DNS_ERROR"):
            return failed(f"the intern's pod in {OFFICE} also reaches {what}: the database is open to "
                          f"every pod in {OFFICE}, not only the reports job")
        return passed(f"only the reports job of {OFFICE} reaches {what}")
    return Check("only the office's reports job reaches the database", fn)


def _db_served() -> Check:
    def fn(ns: Any) -> Verdict:
        office = ns.cluster.namespace(OFFICE, fresh=False)
        target = f"db.{ns.name}:5432"
        out = office.probe(f"{target}/hostname", frm="app=reports")
        pods = {p.name for p in checks.pods_matching(ns, "app=db")}
        who = (out.pod or "").split("/", 1)[-1] or (out.body or "").strip()
        if not out.ok:
            return failed(f"{target} from the reports job: {out.status.value}"
                          + (f" ({out.reason})" if out.reason else ""))
        if who not in pods:
            return failed(f"{target} from the reports job was answered by {who or 'nobody'}, not a db pod")
        return passed(f"{target} from the reports job answered by {who}")
    return Check("the reports job reaches the database through Service db (db.lab7:5432)", fn)


def _resolver() -> Check:
    return checks.reachable("shop-dns:53", frm="app=web", protocol="UDP", answered_by="k8s-app=shop-dns",
                            name="the shop's resolver answers on shop-dns:53/UDP")


def _via(kind: str, name: str, host: str) -> Callable[[], Check]:
    def make() -> Check:
        def fn(ns: Any) -> Verdict:
            addr = ns.ingress_address(name) if kind == "Ingress" else ns.gateway_address(name)
            if not addr:
                return failed(f"{kind} {name} has no address: no controller serves it")
            resp = ns.http(addr, "/hostname", host=host)
            pod = (resp.pod or "").split("/", 1)[-1] or (resp.body or "").strip()
            if resp.code != 200 or pod not in {p.name for p in checks.pods_matching(ns, "app=web")}:
                return failed(f"GET http://{host}/ through {kind} {name} got {resp.code or resp.status.value}"
                              + (f" ({resp.reason})" if resp.reason else "") + ", not the web pods")
            return passed(f"GET http://{host}/ through {kind} {name}: 200 from {pod}")
        return Check(f"http://{host}/ reaches the web pods through {kind} {name}", fn)
    return make


CATALOGUE: tuple[Fault, ...] = (
    Fault("selector-mismatch", "Service selector does not match the pods' labels",
          {"svc-web": _service("web", "app: webshop")},
          _http("web:80/hostname", "app=user", "app=web", "the user reaches the web pods (web:80)"),
          "a Service sends traffic only to pods whose labels match its selector exactly, and a selector "
          "that matches no pod leaves the Service without endpoints.",
          "Service web selected `app: webshop`; the web pods carry `app: web`."),
    Fault("target-port", "targetPort is not the port the container listens on",
          {"svc-api": _service("api", "app: api", 80, 80)},
          _http("api:80/hostname", "app=web", "app=api", "the web pods reach the api (api:80)"),
          "the Service forwards to its targetPort on the pods, and nothing listens there: the api "
          "container listens on 8080 (its containerPort), whatever port the Service itself offers.",
          "Service api forwarded to targetPort 80; the api listens on 8080."),
    Fault("named-port-typo", "a named targetPort that no container port carries",
          {"svc-cart": _service("cart", "app: cart", target="htpp")},
          _http("cart:80/hostname", "app=web", "app=cart", "the web pods reach the cart (cart:80)"),
          "a named targetPort is looked up among the pod's containerPort names; a name no container "
          "declares gives the Service no endpoint for that port.",
          "Service cart's targetPort was `htpp`; the cart container names its port `http`."),
    Fault("service-port", "the Service offers another port than its clients use",
          {"svc-search": _service("search", "app: search", 8080, 8080)},
          _http("search:80/hostname", "app=web", "app=search", "the web pods reach search (search:80)"),
          "clients connect to the Service's port (shop-config says search:80), and a Service answers only "
          "on the ports it lists in spec.ports[].port.",
          "Service search offered port 8080; its clients call port 80 (targetPort stays 8080)."),
    Fault("wrong-namespace", "the Service was created in another namespace",
          {"svc-reviews": None},
          _http("reviews:80/hostname", "app=web", "app=reviews", "the web pods reach reviews (reviews:80)"),
          "a short name resolves in the client's own namespace, and a Service selects pods of its own "
          "namespace only, so a Service in another namespace serves neither the name nor these pods.",
          f"Service reviews had been created in {DATA}; it belongs in {NAMESPACE}, beside its pods.",
          elsewhere=_service("reviews", "app: reviews", extra=f"\n  namespace: {DATA}")),
    Fault("externalname-relative", "ExternalName target that is not a fully qualified name",
          {"svc-ledger": _ledger(f"ledger.{DATA}")},
          _ledger_reached,
          "an ExternalName Service is a CNAME, and a CNAME target is an absolute name: the resolver never "
          f"appends the search list to it, so ledger.{DATA} is looked up as a top-level name and fails. "
          "Write the full name (a trailing dot is optional: the target is absolute either way).",
          f"Service ledger pointed at `ledger.{DATA}`; the full name is `ledger.{DATA}.svc.cluster.local`."),
    Fault("resolver-scaled-to-zero", "the cluster resolver (CoreDNS) scaled to zero",
          {"deploy-coredns": _app("coredns", 8080, replicas=0, labels={"k8s-app": "shop-dns"}, udp=53)},
          _resolver,
          "a Deployment scaled to zero runs no pod, so the resolver's Service has no endpoint and every "
          "query to it times out (what happens to a cluster when CoreDNS is scaled to zero).",
          "Deployment coredns (the shop's resolver) had replicas: 0; one replica or more brings DNS back."),
    Fault("deny-without-dns", "egress isolation without a DNS rule",
          {"policy-worker": _egress(dns=False)},
          _worker_dns,
          "once a NetworkPolicy isolates a pod's egress, only what it lists may leave, and DNS queries "
          "(UDP and TCP 53 to kube-dns in kube-system) are egress too.",
          "NetworkPolicy worker-egress allowed the api but not DNS: add UDP and TCP 53 to kube-dns."),
    Fault("peers-or-instead-of-and", "two peers (OR) where one peer with both selectors (AND) was meant",
          {"policy-db": _db_ingress(one_peer=False)},
          _reports_only,
          "in `from:`, each dash starts a peer and any peer may match (OR); namespaceSelector and "
          "podSelector in one peer must both match (AND).",
          f"NetworkPolicy db-ingress listed namespaceSelector ({OFFICE}) and podSelector (app: reports) as "
          "two peers; one peer with both lets in only the reports job."),
    Fault("readiness-wrong-port", "a readiness probe on a port the container does not serve",
          {"deploy-db": db_deployment(8080)},
          _db_served,
          "a Service sends traffic only to Ready pods, and a pod with a readiness probe is Ready only while "
          "the probe succeeds: a probe on a port the container does not serve (8080, where the shop's other "
          "apps listen; the database listens on 5432) fails forever, so the db pod never becomes Ready and "
          "Service db has no ready endpoint.",
          "Deployment db's readinessProbe asked port 8080; the database serves 5432 (its port `http`): probe "
          "that port, and keep the probe (without one, a db "
          "pod that stops answering would still get traffic)."),
    Fault("wrong-ingressclass", "an IngressClass no controller implements",
          {"ingress": _ingress("nginx")},
          _via("Ingress", "shop", "shop.example"),
          "an Ingress is served only by the controller of the class it names; for a class nobody "
          f"implements it gets no address and routes nothing (the course's class is {CLASS}).",
          f"Ingress shop named ingressClassName `nginx`; the cluster's controller serves `{CLASS}`."),
    Fault("parentref-wrong-listener", "an HTTPRoute attached to the wrong Gateway listener",
          {"route": _route("admin")},
          _via("Gateway", "shop-gw", "www.shop.example"),
          "parentRefs[].sectionName attaches a route to that listener only: the route serves port 8080 "
          "(admin), and requests on port 80 (the http listener) find no route.",
          "HTTPRoute shop attached to listener `admin` (port 8080); attach it to `http` (port 80)."),
    Fault("policy-service-port", "a NetworkPolicy port that is the Service port, not the pod's",
          {"policy-payments": _payments_ingress(80)},
          _http("payments:80/hostname", "app=web", "app=payments",
                "the web pods reach payments (payments:80)"),
          "NetworkPolicy sees the packet after the Service has translated it, so its ports are the pods' "
          "ports (the targetPort, here 8080), never the Service's port.",
          "NetworkPolicy payments-ingress allowed port 80 (the "
          "Service port); the payments pods listen on 8080."),
)

FAULTS = {f.key: f for f in CATALOGUE}
assert len(FAULTS) == len(CATALOGUE)
