"""The semantic judge of every lab part (grader.labs.judge): what a correct answer must DO,
observed over more than the part's checks look at; for an answer made of facts, what each
fact leads to in the cluster (the name resolves to what, the number against the one the
judge computes from the endpoints).

Kept apart from the lab specs on purpose: the judge audits the checks, so it must not share
their code or their choice of probes."""
from __future__ import annotations

import copy
import re
from collections import Counter
from typing import Any, Mapping

from grader.kind.images import AGNHOST_IMAGE
from grader.labs.judge import (
    HOSTS,
    PATHS,
    Behaviour,
    CommandsJudge,
    FactsJudge,
    Judge,
    JudgeVerdict,
    _deployments,
    _pod,
    _rolled_out,
    compare,
    connections,
    dns,
    dns_value,
    http_routing,
    identity,
    reachability,
    rollout_stages,
    service_state,
    services,
)

#: Sources a load balancer's allow-list is judged on: the learner's machine, a node, the
#: office network's far end, the kind network beyond it, a pod, the internet.
_SOURCES = ("172.18.0.1", "172.18.0.2", "172.18.0.254", "172.18.1.7", "10.244.1.9", "203.0.113.9")


def _front_door(name: str):  # type: ignore[no-untyped-def]
    """Lab 2 part 3: whether the pods behind LoadBalancer `name` see a node's address or the
    connection's own, and which sources its load balancer admits."""
    from grader.model.traffic_policy import source_allowed

    def observe(lab: Any, ns: Any) -> Behaviour:
        svc = ns.state.service(ns.name, name)
        if svc is None or svc.type != "LoadBalancer" or not svc.load_balancer_ip:
            return {f"{name} front door": "none"}
        nodes = {n.ip for n in ns.state.nodes}
        out: Behaviour = {}
        for src in _SOURCES:
            out[f"{name} admits {src}"] = "yes" if source_allowed(svc, src) else "no"
        seen = set()
        for _ in range(6):
            got = ns.cluster.probe_external(svc.ports[0].port, host=svc.load_balancer_ip, path="/clientip")
            body = (got.body or "").rsplit(":", 1)[0]
            seen.add("a node" if body in nodes else ("the connection's own" if got.ok else got.status.value))
        out[f"{name} pods see"] = ", ".join(sorted(seen))
        return out
    return observe


def _every_node_port(port: int):  # type: ignore[no-untyped-def]
    """Lab 2 part 1: what each node's address answers on node port `port` from outside, and
    which app answered. The lab runs on two model nodes whose control plane holds no lab pod
    (kind's taint), so a policy that drops traffic on a node without a pod shows there."""
    def observe(lab: Any, ns: Any) -> Behaviour:
        pods = {p.key: p for p in ns.state.pods_in(ns.name)}
        out: Behaviour = {}
        for node in ns.state.nodes:
            got = ns.cluster.probe_external(port, host=node.ip, path="/hostname")
            pod = pods.get(got.pod or "")
            app = pod.labels.get("app", "?") if pod is not None else "-"
            out[f"node {node.name} port {port}"] = f"{got.status.value} {app}"
        return out
    return observe


def _db_host(lab: Any, ns: Any) -> Behaviour:
    """Lab 5: where the api's DB_HOST leads, as the api's resolver and a connection see it;
    DB_HOST as the running api pods have it in their environment (what the app reads)."""
    hosts = {str(env.get("DB_HOST") or "").strip() for p in ns.state.pods_in(ns.name)
             if p.labels.get("app") == "api" for env in list(p.env.values())[:1]}
    if len(hosts) != 1 or not next(iter(hosts)):
        return {"DB_HOST": "missing" if not hosts - {""} else "differs between pods"}
    host = hosts.pop()
    out = dns((host, "A"), frm="app=api")(lab, ns)
    out.update(connections((f"{host}:5432", "app=api", "TCP"))(lab, ns))
    return {k.replace(host, "DB_HOST"): v for k, v in out.items()}


def _readiness(lab: Any, ns: Any) -> Behaviour:
    """Lab 1 part 6: which web pods are Ready now, and which would be if each Deployment's
    stored pod template ran a build serving HTTP on 8080 (working) or on 9090 (broken)."""
    out: Behaviour = {}
    for track in ("stable", "next"):
        pods = _pods_of(ns, track)
        out[f"track {track}"] = f"{sum(p.ready for p in pods)}/{len(pods)} ready"
    for name in ("web", "web-next"):
        dep = ns.state.get("Deployment", name, ns.name)
        if dep is None:
            out[f"{name} template"] = "absent"
            continue
        for port in (8080, 9090):
            judged = copy.deepcopy(dep)
            judged["metadata"] = {"name": f"judge-{name}-{port}"}
            judged["spec"]["replicas"] = 1
            for c in judged["spec"]["template"]["spec"].get("containers") or []:
                c["args"] = ["netexec", f"--http-port={port}"]
            ns.apply([judged], source="judge: another build")
            pod = next(p for p in ns.pods() if p.name.startswith(f"judge-{name}-{port}-"))
            out[f"{name}'s template, a build serving on {port}"] = "Ready" if pod.ready else "not Ready"
    return out


def _stickiness(lab: Any, ns: Any) -> Behaviour:
    """Lab 1 part 7: how many backend pods answer each client's 20 requests to the cart (a
    newcomer pod included), before and after a rollout, and for how long the Service keeps a
    client on its pod (the stored timeout: no judge can wait 30 minutes)."""
    out: Behaviour = {}
    svc = ns.service("cart")
    out["Service cart keeps a client"] = "absent" if svc is None else (
        f"{svc.session_affinity} for {svc.session_affinity_timeout} s")
    ns.apply([_pod("judge-newcomer", {"app": "judge"})], source="judge: a client added later")
    clients = ("client", "caller-2", "judge-newcomer")
    rollout = [_rolled_out(d) for d in _deployments(lab.workloads)]
    for stage, objs in (("now", []), ("after a rollout", rollout)):
        if objs:
            ns.apply(objs, source=f"judge: {stage}")
        for frm in clients:
            answers = [ns.probe("cart:80/hostname", frm=frm) for _ in range(20)]
            pods = {a.body.strip() for a in answers if a.ok and a.body}
            failures = sum(not a.ok for a in answers)
            out[f"cart from {frm} {stage}"] = f"{len(pods)} pod(s), {failures} failed"
    return out


def _judge_pay_pod(track: str) -> dict[str, Any]:
    """A bare pay pod of `track` that starts after the answer (the judge's own, not a check's)."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"judge-pay-{track}", "labels": {"app": "pay", "track": track}},
            "spec": {"containers": [{"name": "pay", "image": AGNHOST_IMAGE,
                                     "args": ["netexec", "--http-port=8080"],
                                     "ports": [{"name": "http", "containerPort": 8080}]}]}}


def _kube_proxy_shape(lab: Any, ns: Any) -> Behaviour:
    """Lab 1 part 8: what kube-proxy writes on every node for Service pay: where a new
    connection to its ClusterIP on port 80 and to node port 30087 ends (the pods by
    identity and port, how many of each) and whether clients are remembered; now, with a
    stable pod started later, and with another canary."""
    out: Behaviour = {}
    stages = (("now", None), ("with a later stable pod", "stable"), ("with another canary", "canary"))
    for stage, track in stages:
        if track:
            ns.apply([_judge_pay_pod(track)], source=f"judge: {stage}")
        svc = ns.service("pay")
        if svc is None:
            out[stage] = "no Service pay"
            continue
        names = {p.ip: identity(p) for p in ns.state.pods if p.ip}
        for node in ns.state.nodes:
            for path in ns.kube_proxy_rules("pay", node=node.name).paths():
                entry = path.entry.replace(f"{svc.cluster_ip} ", "ClusterIP ")
                if entry not in ("ClusterIP tcp/80", "node IP tcp/30087") or path.map == "firewall-ips":
                    continue
                where = Counter(f"{names.get(t.rpartition(':')[0], 'elsewhere')}:{t.rpartition(':')[2]}"
                                for t in path.targets)
                out[f"{stage}, {node.name}, {entry}"] = (
                    f"{path.verdict} {sorted(where.items())} clients remembered: {'affinity' in path.steps}")
    return out


def _pods_of(ns: Any, track: str) -> list[Any]:
    return [p for p in ns.pods() if p.labels.get("app") == "web" and p.labels.get("track") == track
            and not p.name.startswith("judge-")]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


#: What a sentence can say a /hostname answer is.
_KINDS = {"pod": "pod", "pods": "pod", "service": "service", "svc": "service", "node": "node",
          "ip": "address", "address": "address", "clusterip": "address", "container": "container"}


def _hostname_facts(lab: Any, ns: Any, facts: Mapping[str, Any]) -> Behaviour:
    """Lab 1 part 5: the number of distinct /hostname answers is the number of pods behind
    the backend Service's ready endpoints; the answer names a pod."""
    pods = {e.pod for e in ns.endpoints("backend") if e.ready and e.pod}
    claimed = facts.get("distinct_answers")
    words = re.findall(r"[a-z]+", str(facts.get("each_answer_is") or "").lower())
    named = sorted({_KINDS[w] for w in words if w in _KINDS})
    counted = _is_int(claimed) and claimed == len(pods)
    return {"distinct_answers is the number of answering pods": str(counted),
            "each_answer_is names": ", ".join(named) or "nothing"}


def _cross_namespace_facts(lab: Any, ns: Any, facts: Mapping[str, Any]) -> Behaviour:
    """Lab 3 part 3: what `name` resolves to from the other namespace; whether `fqdn` is a
    fully qualified name (nothing appended by the search list) and what it resolves to."""
    other = ns.cluster.namespace("storefront", fresh=False)
    out: Behaviour = {}
    name = str(facts.get("name") or "").strip()
    out["name from storefront"] = dns_value(ns, other.lookup(name, frm="app=shopper")) if name else "missing"
    fqdn = str(facts.get("fqdn") or "").strip()
    if fqdn:
        ans = other.lookup(fqdn, frm="app=shopper")
        complete = (ans.name or "").rstrip(".").lower() == fqdn.rstrip(".").lower()
        out["fqdn"] = f"{'complete' if complete else 'completed by the search list'} {dns_value(ns, ans)}"
    else:
        out["fqdn"] = "missing"
    return out


def _srv_facts(lab: Any, ns: Any, facts: Mapping[str, Any]) -> Behaviour:
    """Lab 3 part 4: what the SRV query answers; whether `port` is the Service port named http."""
    query = str(facts.get("query") or "").strip()
    svc = ns.service("catalog")
    http = next((p.port for p in (svc.ports if svc else ()) if p.name == "http"), None)
    claimed = facts.get("port")
    return {"SRV query": dns_value(ns, ns.lookup(query, frm="client", rtype="SRV")) if query else "missing",
            "port is the Service's http port": str(_is_int(claimed) and claimed == http)}


def _tls_routing(lab: Any, ns: Any) -> Behaviour:
    """Lab 6 part 4: for each host and path, over http and https (SNI = host): the status,
    which app answered, the certificate presented and where a redirect points."""
    addr = ns.gateway_address("web")
    if not addr:
        return {"address": "none"}
    pods = {p.key: p for name in sorted(ns.state.namespaces) for p in ns.state.pods_in(name)}
    out: Behaviour = {"address": "assigned"}
    for scheme in ("http", "https"):
        for host in ("shop.example", "blog.example", "admin.example"):
            for path in ("/", "/api/items", "/apiary"):
                r = ns.http(addr, path, host=host, scheme=scheme)
                who = identity(pods[r.pod]) if r.pod in pods else "proxy"
                out[f"{scheme}://{host}{path}"] = (f"{r.code or r.status.value} {who} "
                                                   f"cert={r.certificate} location={r.header('location')}")
    return out
#: Lab 7's paths: (target, from, protocol).
_LAB7_PATHS = (("web:80/hostname", "app=user", "TCP"), ("api:80/hostname", "app=web", "TCP"),
               ("cart:80/hostname", "app=web", "TCP"), ("search:80/hostname", "app=web", "TCP"),
               ("reviews:80/hostname", "app=web", "TCP"), ("payments:80/hostname", "app=web", "TCP"),
               ("shop-dns:53", "app=web", "UDP"), ("ledger:80/hostname", "app=api", "TCP"),
               ("api:80", "app=worker", "TCP"), ("db:5432", "app=web", "TCP"))


_LAB7_HOSTS = ("shop.example", "www.shop.example", "admin.example")


def _labelled(label: str, observe: Any) -> Any:
    """An observer whose observations start with `label`, so two of one kind (an Ingress's
    routing and a Gateway's) do not overwrite each other."""
    return lambda lab, ns: {f"{label}: {k}": v for k, v in observe(lab, ns).items()}


def _lab7_routing(address: Any) -> Any:
    return http_routing(address, hosts=_LAB7_HOSTS, paths=("/", "/hostname"), methods=("GET",), headers=({},),
                        requests=1)


def _capstone_readiness(lab: Any, ns: Any) -> Behaviour:
    """Lab 9 part 2: how many api pods are Ready, and whether each api Deployment's stored
    template, running a build serving on 8080 (working) or on 9090 (broken), gets Ready."""
    out: Behaviour = {}
    for name in ("api-v1", "api-v2"):
        dep = ns.state.get("Deployment", name, ns.name)
        if dep is None:
            out[f"{name} template"] = "absent"
            continue
        mine = [p for p in ns.pods() if p.name.startswith(f"{name}-")]
        out[f"{name} pods"] = f"{sum(p.ready for p in mine)}/{len(mine)} ready"
        for port in (8080, 9090):
            judged = copy.deepcopy(dep)
            judged["metadata"] = {"name": f"judge-{name}-{port}"}
            judged["spec"]["replicas"] = 1
            for c in judged["spec"]["template"]["spec"].get("containers") or []:
                c["args"] = ["netexec", f"--http-port={port}"]
            ns.apply([judged], source="judge: another build")
            pod = next(p for p in ns.pods() if p.name.startswith(f"judge-{name}-{port}-"))
            out[f"{name}'s template, a build serving on {port}"] = "Ready" if pod.ready else "not Ready"
    return out


def _capstone_gateways(lab: Any, ns: Any) -> Behaviour:
    """Lab 9 parts 3 and 4: what Gateways `check` (plain HTTP) and `shop` answer, over
    http and https, for the shop's host and another, with the share of each answering app
    over 100 requests and the certificate presented."""
    pods = {p.key: p for name in sorted(ns.state.namespaces) for p in ns.state.pods_in(name)}
    out: Behaviour = {}
    for gw in ("check", "shop"):
        try:
            addr = ns.gateway_address(gw)
        except LookupError:             # no such Gateway
            addr = None
        out[f"Gateway {gw}"] = "assigned" if addr else "none"
        if not addr:
            continue
        for scheme in ("http", "https"):
            for host in ("shop.example", "admin.example"):
                seen: Counter[str] = Counter()
                for _ in range(100):
                    r = ns.http(addr, "/hostname", host=host, scheme=scheme)
                    who = identity(pods[r.pod]) if r.pod in pods else "proxy"
                    seen[f"{r.code or r.status.value} {who} cert={r.certificate}"] += 1
                out[f"{gw} {scheme}://{host}/"] = ", ".join(f"{k} x{n}" for k, n in sorted(seen.items()))
    return out


def _office_twins(lab: Any, ns: Any) -> Behaviour:
    """Lab 9: copies of the office's pods in a namespace of their own, before `reachability`
    looks (its strangers copy the lab namespace's pods only): a rule that lets in app=reports
    of every namespace meets one."""
    office = ns.cluster.namespace("lab9-office", fresh=False)
    server = {"name": "c", "image": AGNHOST_IMAGE, "args": ["netexec", "--http-port=8080"],
              "ports": [{"containerPort": 8080}]}
    twins = [{"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": f"judge-{p.name}", "labels": dict(p.labels)},
              "spec": {"containers": [dict(server)]}} for p in office.pods()]
    ns.cluster.namespace("judge-office-twins").apply(twins, source="judge: the office's pods elsewhere")
    return {}


def _answering(target: str, tries: int = 24):  # type: ignore[no-untyped-def]
    """Which pods answer `target` from the client over `tries` requests (kube-proxy picks at
    random live; the set, not the order, is the behaviour)."""
    def observe(lab: Any, ns: Any) -> Behaviour:
        seen = set()
        for _ in range(tries):
            out = ns.probe(target, frm="client")
            seen.add(f"{out.status.value} {(out.pod or '-').split('/', 1)[-1]}")
        return {f"who answers {target} from client": ", ".join(sorted(seen))}
    return observe


def _ingress(name: str):  # type: ignore[no-untyped-def]
    return lambda ns: ns.ingress_address(name)


def _gateway(name: str):  # type: ignore[no-untyped-def]
    return lambda ns: ns.gateway_address(name)


def _as_applied(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as stored, back to what a client applies (no namespace: the judge applies it
    in the task's own)."""
    meta = {k: v for k, v in obj["metadata"].items() if k in ("name", "labels", "annotations")}
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": meta, "spec": obj["spec"]}


def _services_through_changes(ns: Any, shift_ports: int) -> Behaviour:
    """Every Service of the namespace (type, ports, which pods answer, how many endpoints are
    ready, session affinity, and its selector: which pods it will take in later, where a task
    says to leave it alone) now, after a rollout of every Deployment as the answer left it,
    and with each app's next version beside it (its port numbers moved by `shift_ports`)."""
    out: Behaviour = {}
    names = sorted(s.name for s in ns.state.services if s.namespace == ns.name)
    deps = [_as_applied(d) for d in ns.state.objects("Deployment", ns.name)]
    for stage, objs in rollout_stages(deps, shift_ports=shift_ports):
        if objs:
            ns.apply(objs, source=f"judge: {stage}")
        for name in names:
            svc = ns.service(name)
            ready = sum(1 for e in ns.endpoints(name) if e.ready)
            out[f"Service {name} {stage}"] = (f"{service_state(ns, name, node_ports=True)}, {ready} ready, "
                                             f"affinity {svc.session_affinity}, selects {dict(svc.selector)}")
    return out


def _ingress_routing(lab: Any, ns: Any) -> Behaviour:
    """What every Ingress of the namespace routes: the usual hosts and paths plus the ones its
    rules name, each path also one element deeper and with a letter added."""
    ingresses = ns.state.objects("Ingress", ns.name)
    rules = [r for o in ingresses for r in o["spec"].get("rules") or []]
    hosts = tuple(sorted(set(HOSTS) | {r["host"] for r in rules if r.get("host")}))
    named = {p.get("path") or "/" for r in rules for p in (r.get("http") or {}).get("paths") or []}
    paths = tuple(sorted(set(PATHS) | named | {f"{p.rstrip('/')}/deeper" for p in named}
                         | {f"{p.rstrip('/')}x" for p in named}))
    out: Behaviour = {}
    for name in sorted(o["metadata"]["name"] for o in ingresses):
        routing = http_routing(_ingress(name), hosts=hosts, paths=paths, methods=("GET",), headers=({},),
                               requests=2)
        out.update({f"Ingress {name}: {k}": v for k, v in routing(lab, ns).items()})
    return out


def _task_namespace(*, shift_ports: int = 0):  # type: ignore[no-untyped-def]
    """A commands task's namespace as its clients meet it: its Services through a rollout
    and a next version (`shift_ports` where the task asks for a port by name: a name follows
    the new number, a number does not), what its Ingresses route, and, wherever a
    NetworkPolicy is left, the reachability of every pod and stranger."""
    def observe(lab: Any, ns: Any) -> Behaviour:
        out = _services_through_changes(ns, shift_ports)
        out.update(_ingress_routing(lab, ns))
        if ns.state.objects("NetworkPolicy", ns.name):
            out.update(reachability(lab, ns))
        return out
    return observe


#: Parts answered with kubectl commands: judged by what the replayed commands leave behind.
_COMMANDS_PARTS = [("lab2-external-access", "part4"), ("lab6-ingress", "part5")] + [
    (exam, f"q{n:02d}") for exam in ("lab8-mock-exam", "lab8-mock-exam-b") for n in range(1, 17)]
#: Question 7 of each exam asks for the target port by its name.
_BY_PORT_NAME = {("lab8-mock-exam", "q07"), ("lab8-mock-exam-b", "q07")}


JUDGES: dict[tuple[str, str], Judge | FactsJudge | CommandsJudge] = {
    ("lab1-clusterip", "part1"): Judge((services("backend"),)),
    ("lab1-clusterip", "part2"): Judge((services("catalog"),)),
    # the task: the port named `web`, "whatever its number": the next version moves it
    ("lab1-clusterip", "part3"): Judge((services("shop", shift_ports=1000),)),
    ("lab1-clusterip", "part4"): Judge((services("echo"),)),
    ("lab1-clusterip", "part5"): FactsJudge((_hostname_facts,)),
    ("lab1-clusterip", "part6"): Judge((_readiness,)),
    ("lab1-clusterip", "part7"): Judge((services("cart"), _stickiness)),
    ("lab1-clusterip", "part8"): Judge((_kube_proxy_shape,)),
    ("lab3-discovery", "part3"): FactsJudge((_cross_namespace_facts,)),
    ("lab3-discovery", "part4"): FactsJudge((_srv_facts,)),
    ("lab2-external-access", "part1"): Judge((services("web", node_ports=True), _every_node_port(30080))),
    ("lab2-external-access", "part2"): Judge((services("web-public"),)),
    ("lab2-external-access", "part3"): Judge((services("web-direct"), _front_door("web-direct"))),
    ("lab3-discovery", "part1"): Judge((dns(("orders-db", "A"), ("orders-db", "CNAME"),
                                            ("orders-db.lab3.svc.cluster.local", "A")),)),
    ("lab3-discovery", "part2"): Judge((dns(("kv", "A"), ("kv-0.kv", "A"), ("kv-1.kv", "A"), ("kv-2.kv", "A"),
                                            ("kv.lab3.svc.cluster.local", "A")),)),
    ("lab3-discovery", "part6"): Judge((services("inventory"), _answering("inventory:80/hostname"),
                                        dns(("inventory", "A")))),
    ("lab4-network-policy", "part1"): Judge((reachability,)),
    ("lab4-network-policy", "part2"): Judge((reachability,)),
    ("lab4-network-policy", "part3"): Judge((reachability,)),
    ("lab5-troubleshooting", "fixes"): Judge((
        reachability,
        connections(("frontend:80/hostname", "user", "TCP"), ("api:80/hostname", "app=frontend", "TCP"),
                    ("db:5432", "app=api", "TCP"), ("db:5432", "app=frontend", "TCP")),
        _db_host,
        services("frontend", "api", "db"),
    )),
    ("lab6-ingress", "part1"): Judge((http_routing(_ingress("site")),)),
    ("lab6-ingress", "part2"): Judge((http_routing(_gateway("web")),)),
    ("lab6-ingress", "part3"): Judge((http_routing(_gateway("web"), hosts=("shop.example", "blog.example",
                                                                            "admin.example"),
                                                   paths=("/", "/api", "/api/items", "/apiary", "/x"),
                                                   methods=("GET",), headers=({},), requests=100),)),
    ("lab6-ingress", "part4"): Judge((_tls_routing,)),
    ("lab9-capstone", "part1"): Judge((services("db"), dns(("db-0.db", "A"), ("db-1.db", "A"), ("db", "A"),
                                                          frm="toolbox"))),
    ("lab9-capstone", "part2"): Judge((services("api-v1", "api-v2"),
                                       connections(("db-0.db:5432", "app=api", "TCP")), _capstone_readiness)),
    ("lab9-capstone", "part3"): Judge((_office_twins, reachability, _capstone_gateways)),
    ("lab9-capstone", "part4"): Judge((_capstone_gateways, _office_twins, reachability)),
    # lab 7 (the self-paced draw): every pair of pods and strangers, each of the shop's paths,
    # its Services, and what the Ingress and the Gateway route
    ("lab7-troubleshooting-drawn", "fixes"): Judge((
        reachability,
        connections(*_LAB7_PATHS),
        services("web", "storefront", "api", "cart", "search", "reviews", "payments", "db", "shop-dns"),
        _labelled("Ingress shop", _lab7_routing(_ingress("shop"))),
        _labelled("Gateway shop-gw", _lab7_routing(_gateway("shop-gw"))),
    )),
}
JUDGES.update({key: CommandsJudge((_task_namespace(shift_ports=1000 if key in _BY_PORT_NAME else 0),))
               for key in _COMMANDS_PARTS})

_REFERENCE: dict[tuple[str, str], Behaviour] = {}


def judge_for(lab_name: str, part_id: str) -> Judge | FactsJudge | CommandsJudge | None:
    return JUDGES.get((lab_name, part_id))


def reference_behaviour(lab: Any, part: Any) -> Behaviour:
    key = (lab.name, part.id)
    if key not in _REFERENCE:
        _REFERENCE[key] = JUDGES[key].behaviour(lab, part, part.reference)
    return _REFERENCE[key]


def judge(lab: Any, part: Any, answer: str) -> JudgeVerdict:
    """Does `answer` behave like the reference answer of `part`? (KeyError for a part with
    no judge.)"""
    j = JUDGES[(lab.name, part.id)]
    return compare(reference_behaviour(lab, part), j.behaviour(lab, part, answer))


__all__ = ["JUDGES", "judge", "judge_for", "reference_behaviour"]
