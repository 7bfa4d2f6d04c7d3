"""The semantic judge: what an answer DOES, computed over a universe larger than any check's,
and compared with what the reference answer does.

Checks sample the behaviour a task asks about (a few probes, the lab's own matrix). The judge
is the referee for those checks, written separately so a blind spot in one is caught by the
other: for one part it prepares a fresh offline cluster as the grader does, applies the
answer, adds what the learner never saw (a pod in a namespace of its own, a pod in
kube-system, a pod added afterwards with new labels, a rollout), and records a *behaviour*:
a mapping from an observation ("lab4/frontend -> other/outsider 53/UDP") to its outcome
("allow"). Two answers behave the same when their behaviours are equal.

The tests use it on every graded wrong answer and on the generated mutant corpus: an answer
whose behaviour differs from the reference's must score below full marks; one that behaves
the same must score full marks.

The observers read the offline model (grader/model) through the Cluster API plus, for
NetworkPolicy, the model's policy engine itself, which is the only place where traffic to
an address outside the cluster is decided (a probe stops earlier: nothing answers there).
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from grader.cluster.offline import OfflineCluster
from grader.kind.images import AGNHOST_IMAGE
from grader.labs.facts import parse_facts
from grader.labs.spec import apply_manifests_answer, prepare
from grader.model.objects import Address
from grader.safe_yaml import parse_documents

#: One observation -> its outcome, e.g. {"lab4/frontend -> lab4/db 5432/TCP": "deny"}.
Behaviour = dict[str, str]
Observer = Callable[[Any, Any], Behaviour]          # (lab, namespace) -> behaviour

#: Addresses outside the cluster (TEST-NET-3): egress to the internet, ingress from a client.
OUTSIDE_ADDRESS = "203.0.113.9"
#: A port no lab names: an answer that opens "every port" opens it.
UNNAMED_PORT = 7777
#: The namespace of the strangers: no policies there, so only the lab's own policies decide.
JUDGE_NAMESPACE = "judge-elsewhere"


@dataclass(frozen=True)
class JudgeVerdict:
    """Whether an answer behaves like the reference, and the first differences if not."""

    same: bool
    differences: tuple[str, ...] = ()
    observations: int = 0

    def __str__(self) -> str:
        if self.same:
            return f"behaves like the reference ({self.observations} observations)"
        return "differs from the reference: " + "; ".join(self.differences)


@dataclass(frozen=True)
class Judge:
    """How to observe one part's behaviour: observers run in order on one namespace."""

    observers: tuple[Observer, ...]

    def behaviour(self, lab: Any, part: Any, answer: str) -> Behaviour:
        """The behaviour of `answer` on a fresh offline cluster prepared for `part`."""
        ns = prepare(lab, part, OfflineCluster(say=lambda _: None))
        problem = apply_manifests_answer(part, ns, answer)
        if problem:
            return {"the answer applies": "no"}
        out: Behaviour = {"the answer applies": "yes"}
        for observe in self.observers:
            out.update(observe(lab, ns))
        return out


#: For answers that are facts: (lab, namespace, the facts) -> behaviour.
FactsObserver = Callable[[Any, Any, Mapping[str, Any]], Behaviour]


@dataclass(frozen=True)
class FactsJudge:
    """How to judge an answer made of facts: what each fact leads to in the prepared
    cluster (the name it resolves to, the number it claims against the one computed)."""

    observers: tuple[FactsObserver, ...]

    def behaviour(self, lab: Any, part: Any, answer: str) -> Behaviour:
        """What each fact of `answer` leads to on a fresh offline cluster prepared for `part`."""
        facts, problem = parse_facts(answer)
        if facts is None:
            return {"the facts parse": "no"}
        ns = prepare(lab, part, OfflineCluster(say=lambda _: None))
        out: Behaviour = {"the facts parse": "yes"}
        for observe in self.observers:
            out.update(observe(lab, ns, facts))
        return out


@dataclass(frozen=True)
class CommandsJudge:
    """How to judge an answer made of kubectl commands (the mock exam, lab 2 part 4, lab 6
    part 5): replayed as the grader replays them (grader.labs.replay; a refused command
    changes nothing), then observed like a manifests answer."""

    observers: tuple[Observer, ...]

    def behaviour(self, lab: Any, part: Any, answer: str) -> Behaviour:
        """The behaviour of the commands `answer` on a fresh offline cluster prepared for `part`."""
        from grader.labs.replay import replay

        ns = prepare(lab, part, OfflineCluster(say=lambda _: None))
        if replay(ns, answer).problem:
            return {"the commands replay": "no"}
        out: Behaviour = {"the commands replay": "yes"}
        for observe in self.observers:
            out.update(observe(lab, ns))
        return out


def compare(reference: Behaviour, answer: Behaviour, *, limit: int = 5) -> JudgeVerdict:
    keys = sorted(set(reference) | set(answer))
    diffs = [f"{k}: reference {reference.get(k, 'absent')}, answer {answer.get(k, 'absent')}"
             for k in keys if reference.get(k) != answer.get(k)]
    return JudgeVerdict(not diffs, tuple(diffs[:limit]), len(keys))


# ---------------------------------------------------------------- identities
def identity(pod: Any) -> str:
    """A pod as the judge names it: replicas of one Deployment are one identity (their names
    change with every rollout), bare pods and StatefulSet pods are themselves."""
    owner = getattr(pod, "owner", None) or ""
    if owner.startswith(("Deployment/", "ReplicaSet/")):
        return f"{pod.namespace}/{owner.split('/', 1)[1]}"
    return f"{pod.namespace}/{pod.name}"


def _all_pods(state: Any) -> list[Any]:
    return [p for name in sorted(state.namespaces) for p in state.pods_in(name) if not p.pending]


def _representatives(pods: Iterable[Any]) -> dict[str, Any]:
    """One pod per identity (replicas carry the same labels and ports)."""
    out: dict[str, Any] = {}
    for p in sorted(pods, key=lambda p: p.key):
        out.setdefault(identity(p), p)
    return out


# ---------------------------------------------------------------- strangers
def _pod(name: str, labels: Mapping[str, str], ports: Sequence[int] = (8080,)) -> dict[str, Any]:
    """A bare agnhost pod serving HTTP and UDP on each of `ports`."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": dict(labels)},
            "spec": {"containers": [
                {"name": f"c{p}", "image": AGNHOST_IMAGE,
                 "args": ["netexec", f"--http-port={p}", f"--udp-port={p}"],
                 "ports": [{"containerPort": p}, {"containerPort": p, "protocol": "UDP"}]}
                for p in ports]}}


def add_strangers(lab: Any, ns: Any) -> None:
    """Pods the learner never saw: one added later to the lab's namespace with new labels,
    one in a namespace of its own, a copy of every lab pod's labels in that namespace (a
    selector that forgot its namespace shows up), a kube-dns look-alike outside kube-system,
    and a pod in kube-system that is not DNS."""
    ns.apply([_pod("judge-newcomer", {"app": "judge-newcomer"})], source="judge: a pod added later")
    other = ns.cluster.namespace(JUDGE_NAMESPACE)
    strangers = [_pod("judge-outsider", {"app": "judge-outsider"}, (8080, 53)),
                 _pod("judge-dns-lookalike", {"k8s-app": "kube-dns"}, (53,))]
    for i, pod in enumerate(_representatives(ns.state.pods_in(ns.name)).values()):
        labels = {k: v for k, v in pod.labels.items() if k != "pod-template-hash"}
        twin = _pod(f"judge-twin-{i}", labels, (8080,))
        if pod.ports:       # the same named ports, so a named-port rule meets its twin too
            twin["spec"]["containers"][0]["ports"] = [
                {"containerPort": cp.port, "protocol": cp.protocol, **({"name": cp.name} if cp.name else {})}
                for cp in pod.ports]
        strangers.append(twin)
    other.apply(strangers, source="judge: pods in another namespace")
    ns.cluster.namespace("kube-system").apply([_pod("judge-system", {"app": "judge-system"}, (53, 8080))],
                                             source="judge: a kube-system pod that is not DNS")


# ---------------------------------------------------------------- observers
def reachability(lab: Any, ns: Any) -> Behaviour:
    """Every connection that has an end in the lab's namespace: pod to pod across all
    namespaces (strangers included), from and to an address outside the cluster, on every
    port any pod declares plus DNS's 53 and a port nobody names, over TCP and UDP."""
    add_strangers(lab, ns)
    state = ns.state
    engine = state.policy_engine()
    pods = _representatives(_all_pods(state))
    ports = sorted({cp.port for p in pods.values() for cp in p.ports} | {53, UNNAMED_PORT})
    outside = Address(OUTSIDE_ADDRESS)
    sources: dict[str, Any] = {**pods, "outside": outside}
    targets: dict[str, Any] = {**pods, "outside": outside}
    out: Behaviour = {}
    for sname, src in sources.items():
        for dname, dst in targets.items():
            if sname == dname or not (sname.startswith(ns.name + "/") or dname.startswith(ns.name + "/")):
                continue
            for port in ports:
                for proto in ("TCP", "UDP"):
                    allowed = engine.check(src, dst, port, proto).allowed
                    out[f"{sname} -> {dname} {port}/{proto}"] = "allow" if allowed else "deny"
    return out


def _deployments(text: str) -> list[dict[str, Any]]:
    docs, _ = parse_documents(text)
    return [obj for _, obj in docs if isinstance(obj, dict) and obj.get("kind") == "Deployment"]


def _rolled_out(dep: dict[str, Any]) -> dict[str, Any]:
    dep = copy.deepcopy(dep)
    meta = dep["spec"]["template"].setdefault("metadata", {})
    meta.setdefault("annotations", {})["judge/rollout"] = "2"
    return dep


def rollout_stages(deps: list[dict[str, Any]], *, shift_ports: int) -> list[tuple[str, list[dict[str, Any]]]]:
    """The three moments a Service is judged at, with what to apply to reach each: now; after
    a rollout of every Deployment `deps`; with each app's next version beside it."""
    return [("now", []), ("after a rollout", [_rolled_out(d) for d in deps]),
            ("with the next version beside it", [_next_version(d, shift_ports=shift_ports) for d in deps])]


def _next_version(dep: dict[str, Any], *, shift_ports: int) -> dict[str, Any]:
    """A bare pod of the app's next version: its labels with `version` changed, its
    container ports (and netexec's) moved by `shift_ports` if the task allows that."""
    template = copy.deepcopy(dep["spec"]["template"])
    old_labels = template["metadata"].get("labels") or {}
    labels = {k: ("judge-next" if k == "version" else v) for k, v in old_labels.items()}
    for c in template["spec"].get("containers", []):
        for cp in c.get("ports", []):
            cp["containerPort"] = int(cp["containerPort"]) + shift_ports
        c["args"] = [_shift_arg(a, shift_ports) for a in c.get("args", [])]
    name = f"{dep['metadata']['name']}-judge-next"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": template["spec"]}


def _shift_arg(arg: str, by: int) -> str:
    for flag in ("--http-port=", "--udp-port="):
        if arg.startswith(flag):
            return f"{flag}{int(arg[len(flag):]) + by}"
    return arg


def service_state(ns: Any, name: str, *, node_ports: bool) -> str:
    """A Service as a client meets it: type, ports, and which pods (by identity) answer on
    which pod port."""
    svc = ns.service(name)
    if svc is None:
        return "absent"
    ports = sorted(f"{p.port}/{p.protocol}" + (f" node {p.node_port}" if node_ports and p.node_port else "")
                   for p in svc.ports)
    pods = {p.key: p for p in _all_pods(ns.state)}
    eps = sorted({f"{identity(pods[e.pod]) if e.pod in pods else e.ip}:{e.port}/{e.protocol}"
                  + ("" if e.ready else " (not ready)") for e in ns.endpoints(name)})
    head = "headless" if svc.cluster_ip == "None" else svc.type
    if svc.type == "ExternalName":
        head += f" -> {svc.external_name}"
    return f"{head} ports [{', '.join(ports)}] endpoints [{', '.join(eps)}]"


def services(*names: str, node_ports: bool = False, shift_ports: int = 0) -> Observer:
    """The Services `names` now, after a rollout of every Deployment of the lab, and with a
    pod of each app's next version beside them (its ports moved by `shift_ports`)."""
    def observe(lab: Any, ns: Any) -> Behaviour:
        out: Behaviour = {}
        for stage, objs in rollout_stages(_deployments(lab.workloads), shift_ports=shift_ports):
            if objs:
                ns.apply(objs, source=f"judge: {stage}")
            for name in names:
                out[f"Service {name} {stage}"] = service_state(ns, name, node_ports=node_ports)
        return out
    return observe


def dns_value(ns: Any, answer: Any) -> str:
    """A DNS answer with pod and Service addresses named, so answers compare across clusters."""
    by_ip = {p.ip: identity(p) for p in _all_pods(ns.state)}
    by_ip.update({s.cluster_ip: f"ClusterIP of {s.namespace}/{s.name}"
                  for s in ns.state.services if s.cluster_ip})
    records = sorted(f"{r.rtype} {by_ip.get(r.value, r.value)}" for r in answer.records)
    return f"{answer.rcode} [{', '.join(records)}]"


def dns(*questions: tuple[str, str], frm: str = "client") -> Observer:
    """Cluster DNS's answers to `questions` ((name, rtype) pairs) from pod `frm`, with pod
    and Service addresses named, so answers compare across clusters."""
    def observe(lab: Any, ns: Any) -> Behaviour:
        return {f"DNS {rtype} {name} from {frm}": dns_value(ns, ns.lookup(name, frm=frm, rtype=rtype))
                for name, rtype in questions}
    return observe


def connections(*probes: tuple[str, str, str]) -> Observer:
    """Probes (target, from, protocol), recorded as the status and the identity of the
    answering pod."""
    def observe(lab: Any, ns: Any) -> Behaviour:
        pods = {p.key: p for p in _all_pods(ns.state)}
        out: Behaviour = {}
        for target, frm, proto in probes:
            try:
                o = ns.probe(target, frm=frm, protocol=proto)
            except LookupError:            # no pod to probe from (e.g. scaled to 0)
                out[f"probe {target} from {frm} over {proto}"] = "no such pod"
                continue
            who = identity(pods[o.pod]) if o.pod in pods else "-"
            out[f"probe {target} from {frm} over {proto}"] = f"{o.status.value} {who}"
        return out
    return observe


#: Requests for HTTP routing: hosts and paths the task names, and near misses.
HOSTS = ("shop.example", "blog.example", "admin.example", "api.shop.example", "SHOP.example")
PATHS = ("/", "/api", "/api/", "/api/items", "/apiary", "/API/items", "/blog", "/shop/api", "/x")


def http_routing(address: Callable[[Any], str | None], *, hosts: Sequence[str] = HOSTS,
                 paths: Sequence[str] = PATHS, methods: Sequence[str] = ("GET", "POST"),
                 headers: Sequence[Mapping[str, str]] = ({}, {"X-Canary": "1"}),
                 requests: int = 4) -> Observer:
    """Which app answers each request of a broad set (hosts x paths x methods x headers):
    each sent `requests` times and recorded as the share of each answer, to 0.05."""
    def observe(lab: Any, ns: Any) -> Behaviour:
        addr = address(ns)
        if not addr:
            return {"address": "none"}
        pods = {p.key: p for p in _all_pods(ns.state)}
        out: Behaviour = {"address": "assigned"}
        for host in hosts:
            for path in paths:
                for method in methods:
                    for hdrs in headers:
                        seen: Counter[str] = Counter()
                        for _ in range(requests):
                            r = ns.http(addr, path, host=host, method=method, headers=hdrs)
                            who = identity(pods[r.pod]) if r.pod in pods else "proxy"
                            seen[f"{r.code or r.status.value} {who}"] += 1
                        shares = ", ".join(f"{k} {round(n / requests * 20) / 20:g}"
                                           for k, n in sorted(seen.items()))
                        out[f"{method} {host}{path} {dict(hdrs) or ''}".rstrip()] = shares
        return out
    return observe


__all__ = ["Behaviour", "CommandsJudge", "FactsJudge", "FactsObserver", "Judge", "JudgeVerdict", "Observer",
           "compare", "connections", "dns", "dns_value",
           "http_routing", "identity", "reachability", "service_state", "services"]
