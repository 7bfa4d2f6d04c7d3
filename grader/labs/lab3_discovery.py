"""Lab 3, service discovery: an ExternalName, a headless Service for a StatefulSet, names
across namespaces, an SRV lookup for a named port, the cluster's Corefile (lab3_corefile)
and a Service without a selector fed by a hand-written EndpointSlice (lab3_selectorless)."""
from __future__ import annotations

from typing import Any

from grader import checks
from grader.checks.core import Check, Verdict, failed, listing, passed
from grader.labs.facts import fact
from grader.labs.lab3_corefile import PART5
from grader.labs.lab3_selectorless import PART6
from grader.labs.spec import FACTS, Lab, Part, WrongAnswer
from grader.labs.workloads import netexec_workload, pause_pod

OTHER = "storefront"

WORKLOADS = "\n" + "---\n".join([
    netexec_workload("kv", {"app": "kv"}, kind="StatefulSet", service_name="kv", replicas=3),
    netexec_workload("catalog", {"app": "catalog"}, replicas=2),
    """apiVersion: v1
kind: Service
metadata: {name: catalog}
spec:
  selector: {app: catalog}
  ports: [{name: http, port: 80, targetPort: http}]
""",
    pause_pod("client", {"app": "client"}),
])

STOREFRONT = "\n" + pause_pod("shopper", {"app": "shopper"})


def pod_record(pod: str) -> Check:
    def fn(ns: Any) -> Verdict:
        return checks.resolves(f"{pod}.kv", frm="client",
                               to_pods=f"statefulset.kubernetes.io/pod-name={pod}").fn(ns)
    return Check(f"{pod}.kv resolves to pod {pod}", fn)


def cross_namespace(answer: str) -> list[Check]:
    def short(ns: Any) -> Verdict:
        name = str(fact(answer, "name") or "").strip()
        if not name:
            return failed("`name` is missing: write the name a storefront pod uses for Service catalog")
        svc = ns.service("catalog")
        other = ns.cluster.namespace(OTHER, fresh=False)
        ans = other.lookup(name, frm="app=shopper")
        if ans.rcode != "NOERROR" or svc is None or ans.addresses != [svc.cluster_ip]:
            why = ("a bare Service name is searched in the asking pod's own namespace first"
                   if "." not in name else f"it answered {ans.rcode} {listing(ans.addresses)}")
            return failed(f"from namespace {OTHER}, {name!r} does not lead to Service catalog in {ns.name} "
                          f"({why}); add the Service's namespace: <service>.<namespace>")
        if name.rstrip(".") != f"catalog.{ns.name}":
            return passed(f"{name!r} resolves to catalog's ClusterIP from {OTHER}; the shortest form is "
                          f"catalog.{ns.name}")
        return passed(f"catalog.{ns.name} from {OTHER}: {svc.cluster_ip}, the ClusterIP of Service catalog")

    def fqdn(ns: Any) -> Verdict:
        name = str(fact(answer, "fqdn") or "").strip().rstrip(".")
        want = f"catalog.{ns.name}.svc.cluster.local"
        if name != want:
            return failed(f"fqdn is {name or 'missing'!r}; a Service's full name is "
                          "<service>.<namespace>.svc.<cluster domain>, "
                          "the cluster domain here being cluster.local")
        return passed(f"{want} is the fully qualified name")
    return [Check("the name works from another namespace", short), Check("the fully qualified name", fqdn)]


def srv(answer: str) -> list[Check]:
    def query(ns: Any) -> Verdict:
        name = str(fact(answer, "query") or "").strip()
        if not name:
            return failed("`query` is missing: write the SRV name for catalog's port named http")
        ans = ns.lookup(name, frm="client", rtype="SRV")
        records = [r for r in ans.records if r.rtype == "SRV"]
        if ans.rcode != "NOERROR" or not records:
            return failed(f"SRV {name} from client: {ans.rcode}, no SRV record; the form is "
                          "_<port name>._<protocol>.<service>... (both parts start with an underscore)")
        return passed(f"SRV {name}: {listing([r.value for r in records])}")

    def port(ns: Any) -> Verdict:
        claimed = fact(answer, "port")
        ans = ns.lookup(f"_http._tcp.catalog.{ns.name}.svc.cluster.local", frm="client", rtype="SRV")
        ports = sorted({int(r.value.split()[2]) for r in ans.records if r.rtype == "SRV"})
        if [claimed] != ports:
            return failed(f"you wrote port {claimed!r}; the SRV record says "
                          f"{listing([str(p) for p in ports])}: it carries "
                          "the Service's port, not the pods' targetPort")
        return passed(f"the SRV record carries port {claimed}, the Service's port")
    return [Check("the SRV query name answers", query), Check("the port the SRV record carries", port)]


PART1 = Part(
    id="part1", title="An ExternalName for an outside database", points=2,
    task="""
The orders database is not in the cluster: it lives at `orders.db.example.net`. Give pods a
cluster name for it: a **Service `orders-db` of type ExternalName** for that host, so that
code can use `orders-db` today and a real in-cluster Service later without a change.
""",
    visible=[
        checks.service_type("orders-db", "ExternalName"),
        checks.resolves("orders-db", frm="client", cname="orders.db.example.net",
                        check_name="orders-db is a CNAME to orders.db.example.net"),
    ],
    reference="""\
apiVersion: v1
kind: Service
metadata:
  name: orders-db
spec:
  type: ExternalName
  externalName: orders.db.example.net
""",
    explanation=(
        "An ExternalName Service has no selector, no ClusterIP and no endpoints: cluster DNS answers "
        "its name with a CNAME to `externalName`, and the client resolves that name itself."),
    wrong_answers=(
        WrongAnswer("`externalName: https://orders.db.example.net`: "
                    "refused, it must be a DNS name, not a URL.",
                    "apiVersion: v1\nkind: Service\nmetadata: {name: orders-db}\nspec:\n"
                    "  type: ExternalName\n  externalName: https://orders.db.example.net\n", max_score=0),
        WrongAnswer("`externalName` without `type: ExternalName`: a ClusterIP Service with no endpoints; "
                    "`orders-db` answers with a virtual IP that leads nowhere, not with a CNAME. (A selector "
                    "or ports on an ExternalName Service, by contrast, "
                    "change nothing: DNS still only aliases the name.)",
                    "apiVersion: v1\nkind: Service\nmetadata: {name: orders-db}\nspec:\n"
                    "  externalName: orders.db.example.net\n  ports: [{port: 5432}]\n", max_score=0),
    ),
)

PART2 = Part(
    id="part2", title="A headless Service for a StatefulSet", points=3,
    task="""
The StatefulSet `kv` (three replicas, `serviceName: kv`, labels `app: kv`, port 8080 named
`http`) needs its governing Service, so each replica gets a stable DNS name (`kv-0.kv`,
`kv-1.kv`, ...) and a lookup of `kv` returns every replica. Write that **headless Service**.
""",
    visible=[
        checks.resolves("kv", frm="client", to_pods="app=kv",
                        check_name="kv answers with every replica's IP"),
        pod_record("kv-0"),
        pod_record("kv-2"),
    ],
    reference="""\
apiVersion: v1
kind: Service
metadata:
  name: kv
spec:
  clusterIP: None
  selector:
    app: kv
  ports:
  - name: http
    port: 8080
    targetPort: http
""",
    explanation=(
        "`clusterIP: None` makes the Service headless: DNS answers with the ready pods' own IPs instead "
        "of one virtual IP. Its name must equal the StatefulSet's `serviceName`, which is what gives each "
        "pod its record `<pod>.<service>.<namespace>.svc.cluster.local`."),
    wrong_answers=(
        WrongAnswer("A normal ClusterIP Service named `kv`: `kv` answers with one virtual IP, so a client "
                    "cannot see or pick the replicas (CoreDNS still "
                    "answers `kv-0.kv`, from the endpoints' hostnames).",
                    "apiVersion: v1\nkind: Service\nmetadata: {name: kv}\nspec:\n  selector: {app: kv}\n"
                    "  ports: [{name: http, port: 8080, targetPort: http}]\n", max_score=2),
        WrongAnswer("A headless Service with another name: `kv-0.kv` does not exist, as the name must match "
                    "`serviceName`.",
                    "apiVersion: v1\nkind: Service\nmetadata: {name: kv-headless}\nspec:\n  clusterIP: None\n"
                    "  selector: {app: kv}\n  ports: [{name: http, port: 8080, targetPort: http}]\n",
                    max_score=1),
    ),
)

PART3 = Part(
    id="part3", title="Names across namespaces", points=2, kind=FACTS,
    task=f"""
A pod in namespace `{OTHER}` needs Service `catalog` of this lab's namespace (`lab3`).
Answer with two facts:

```yaml
name: <the shortest name that works from {OTHER}>
fqdn: <the fully qualified name of Service catalog>
```

Try your names first: `lab.explore("part3").cluster.namespace("{OTHER}", fresh=False).lookup("<name>", \
frm="app=shopper")`.
""",
    visible=cross_namespace,
    reference="""\
name: catalog.lab3
fqdn: catalog.lab3.svc.cluster.local
""",
    explanation=(
        "A pod's resolver tries its own namespace's search domain first, so a bare `catalog` from "
        "`storefront` asks for `catalog.storefront.svc.cluster.local`, which does not exist. "
        "`catalog.lab3` is completed by the `svc.cluster.local` search domain."),
    wrong_answers=(
        WrongAnswer("`name: catalog`: NXDOMAIN from another namespace.",
                    "name: catalog\nfqdn: catalog.lab3.svc.cluster.local\n", max_score=1),
        WrongAnswer("`fqdn: catalog.lab3.cluster.local`: the `svc` label is missing.",
                    "name: catalog.lab3\nfqdn: catalog.lab3.cluster.local\n", max_score=1),
    ),
)

PART4 = Part(
    id="part4", title="An SRV lookup", points=2, kind=FACTS,
    task="""
Service `catalog` names its port `http`. Cluster DNS publishes an **SRV record** for each
named port, which tells a client the port number as well as the host. Find it (try
`lab.explore("part4").lookup("<name>", frm="client", rtype="SRV")`) and answer:

```yaml
query: <the SRV name you looked up>
port: <the port number the SRV record carries>
```
""",
    visible=srv,
    reference="""\
query: _http._tcp.catalog.lab3.svc.cluster.local
port: 80
""",
    explanation=(
        "SRV names are `_<port name>._<protocol>.<service>.<namespace>.svc.cluster.local`. For a "
        "ClusterIP Service the record points at the Service's name and carries the Service's `port` "
        "(80), since that is what clients connect to; the pods' 8080 is behind the Service."),
    wrong_answers=(
        WrongAnswer("`port: 8080`: that is the targetPort, which only the pods know about.",
                    "query: _http._tcp.catalog.lab3.svc.cluster.local\nport: 8080\n", max_score=1),
        WrongAnswer("`query: _http._udp.catalog.lab3.svc.cluster.local`: the port is TCP, so no such record "
                    "exists. (SRV labels start with underscores; CoreDNS also answers `http.tcp.catalog`, "
                    "but the standard form has them.)",
                    "query: _http._udp.catalog.lab3.svc.cluster.local\nport: 80\n", max_score=1),
    ),
)

LAB = Lab(
    name="lab3-discovery",
    title="Lab 3: Service discovery with DNS",
    namespace="lab3",
    workloads=WORKLOADS,
    other_namespaces={OTHER: STOREFRONT},
    parts=(PART1, PART2, PART3, PART4, PART5, PART6),
    goals="""
- alias an outside host with an ExternalName Service;
- give a StatefulSet's pods stable names with a headless Service;
- name a Service from another namespace;
- find a port through an SRV record;
- give an old zone's names to the cluster's Services with a Corefile `rewrite`;
- publish chosen pods behind a Service without a selector and an EndpointSlice you write.
""",
    concept="""
CoreDNS answers for every Service: an A record with the ClusterIP, or with every ready
pod's IP when the Service is headless; a CNAME for an ExternalName; an SRV record per named
port. A pod's `/etc/resolv.conf` searches `<its namespace>.svc.cluster.local`,
`svc.cluster.local` and `cluster.local`, which is why short names work within a namespace.

```mermaid
flowchart LR
    pod["pod client (lab3)"] -->|"kv?"| dns["CoreDNS"]
    dns -->|"A: 3 pod IPs"| pod
    pod2["pod shopper (storefront)"] -->|"catalog.lab3?"| dns
    dns -->|"A: ClusterIP"| pod2
    pod -->|"orders-db?"| dns
    dns -->|"CNAME orders.db.example.net"| pod
```
""",
    whats_next="""
Lab 4 decides who may talk to whom: NetworkPolicy, graded by the whole reachability
matrix.
""",
)
