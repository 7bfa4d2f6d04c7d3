"""A generated corpus per lab part: mutants (the reference answer with one thing changed, as
a learner's slip would change it) and equivalence rewrites (the reference written another
way that must behave the same). Each is judged by grader.labs.judges and graded by the
clean grading path; test_corpus.py asserts: behaviour differs => below full marks, behaviour
equal => full marks, and every rewrite behaves like the reference.

`python tests/labs/corpus.py [lab]` prints the corpus size and the results per part.

Operators work on the parsed documents of the reference answer, generically (no lab's
names are spelt here), so a new part gets its corpus for free.
"""
from __future__ import annotations

import copy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from grader.labs import all_labs  # noqa: E402
from grader.labs.judges import judge_for  # noqa: E402
from grader.labs.spec import COMMANDS, FACTS, Lab, Part  # noqa: E402

Docs = list[dict[str, Any]]
MUTANT, REWRITE = "mutant", "rewrite"


@dataclass(frozen=True)
class Variant:
    lab: str
    part: str
    kind: str           # MUTANT or REWRITE
    name: str
    answer: str

    @property
    def id(self) -> str:
        return f"{self.lab}/{self.part}/{self.kind}/{self.name}"


def dump(docs: Docs, *, flow: bool = False) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=flow, width=1000)


def parse(text: str) -> Docs:
    return [d for d in yaml.safe_load_all(text) if d]


# ---------------------------------------------------------------- helpers
def _label_sets(lab: Lab) -> list[tuple[dict[str, str], list[dict[str, Any]]]]:
    """(pod labels, containers) of every pod template the lab's workloads create."""
    out = []
    for d in parse(lab.workloads):
        if d.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet"):
            t = d["spec"]["template"]
            out.append((dict(t["metadata"].get("labels") or {}), t["spec"].get("containers", [])))
        elif d.get("kind") == "Pod":
            out.append((dict(d["metadata"].get("labels") or {}), d["spec"].get("containers", [])))
    return out


def _selected(lab: Lab, selector: dict[str, str]) -> list[tuple[dict[str, str], list[dict[str, Any]]]]:
    return [(labels, cs) for labels, cs in _label_sets(lab)
            if selector and all(labels.get(k) == v for k, v in selector.items())]


def _port_name(lab: Lab, selector: dict[str, str], number: int, protocol: str) -> str | None:
    """The container port name every selected pod gives `number`, if they all agree."""
    names = set()
    for _, containers in _selected(lab, selector):
        found = [p.get("name") for c in containers for p in c.get("ports", [])
                 if int(p["containerPort"]) == number and p.get("protocol", "TCP") == protocol]
        names.add(found[0] if found else None)
    return names.pop() if len(names) == 1 else None


def _port_number(lab: Lab, selector: dict[str, str], name: str) -> int | None:
    numbers = {int(p["containerPort"]) for _, cs in _selected(lab, selector) for c in cs
               for p in c.get("ports", []) if p.get("name") == name}
    return numbers.pop() if len(numbers) == 1 else None


def _variants_of(docs: Docs, edit: Callable[[Docs], Iterator[tuple[str, Docs]]]) -> Iterator[tuple[str, Docs]]:
    yield from edit(copy.deepcopy(docs))


# ---------------------------------------------------------------- mutation operators
def _netpol_mutants(docs: Docs, i: int) -> Iterator[tuple[str, Docs]]:
    spec = docs[i]["spec"]
    name = docs[i]["metadata"]["name"]

    def fresh() -> tuple[Docs, dict[str, Any]]:
        d = copy.deepcopy(docs)
        return d, d[i]["spec"]

    for t in spec.get("policyTypes", []):
        d, s = fresh()
        s["policyTypes"] = [x for x in s["policyTypes"] if x != t]
        if not s["policyTypes"]:
            del s["policyTypes"]
        yield f"{name}: policyTypes without {t}", d
    if spec.get("podSelector"):
        d, s = fresh()
        s["podSelector"] = {}
        yield f"{name}: podSelector widened to every pod", d
    d, s = fresh()
    s["podSelector"] = {"matchLabels": {**(s["podSelector"].get("matchLabels") or {}), "track": "canary"}}
    yield f"{name}: podSelector narrowed", d
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        if direction in spec:
            d, s = fresh()
            s[direction] = [{}]
            yield f"{name}: {direction} [{{}}] (everything)", d
        for r, rule in enumerate(spec.get(direction) or []):
            where = f"{name}: {direction}[{r}]"
            d, s = fresh()
            del s[direction][r]
            yield f"{where} removed", d
            if peers_key in rule:
                d, s = fresh()
                del s[direction][r][peers_key]
                yield f"{where} without {peers_key} (every peer)", d
            if "ports" in rule:
                d, s = fresh()
                del s[direction][r]["ports"]
                yield f"{where} without ports (every port)", d
            for p, port in enumerate(rule.get("ports") or []):
                d, s = fresh()
                sp = s[direction][r]["ports"][p]
                if isinstance(sp.get("port"), int):
                    sp["port"] += 1
                    yield f"{where} port {port.get('port')}/{port.get('protocol', 'TCP')} -> {sp['port']}", d
                d, s = fresh()
                sp = s[direction][r]["ports"][p]
                sp["protocol"] = "UDP" if sp.get("protocol", "TCP") == "TCP" else "TCP"
                yield f"{where} port {port.get('port')} protocol -> {sp['protocol']}", d
                if len(rule["ports"]) > 1:
                    d, s = fresh()
                    del s[direction][r]["ports"][p]
                    yield f"{where} without port {port.get('port')}/{port.get('protocol', 'TCP')}", d
            for k, peer in enumerate(rule.get(peers_key) or []):
                pw = f"{where}.{peers_key}[{k}]"
                if "namespaceSelector" in peer and "podSelector" in peer:
                    d, s = fresh()
                    peers = s[direction][r][peers_key]
                    peers[k:k + 1] = [{"namespaceSelector": peer["namespaceSelector"]},
                                      {"podSelector": peer["podSelector"]}]
                    yield f"{pw} split into two peers (OR, not AND)", d
                if peer.get("podSelector"):
                    d, s = fresh()
                    s[direction][r][peers_key][k]["podSelector"] = {}
                    yield f"{pw} podSelector widened", d
                    for key in (peer["podSelector"].get("matchLabels") or {}):
                        d, s = fresh()
                        ml = s[direction][r][peers_key][k]["podSelector"]["matchLabels"]
                        ml[key] = f"{ml[key]}x"
                        yield f"{pw} podSelector {key} changed", d
                if "namespaceSelector" in peer:
                    if peer["namespaceSelector"]:
                        d, s = fresh()
                        s[direction][r][peers_key][k]["namespaceSelector"] = {}
                        yield f"{pw} namespaceSelector widened to every namespace", d
                        d, s = fresh()
                        s[direction][r][peers_key][k]["namespaceSelector"] = {
                            "matchLabels": {"kubernetes.io/metadata.name": "default"}}
                        yield f"{pw} namespace changed to default", d
                    if "podSelector" in peer:
                        d, s = fresh()
                        del s[direction][r][peers_key][k]["namespaceSelector"]
                        yield f"{pw} without namespaceSelector (own namespace)", d
                elif "podSelector" in peer:
                    d, s = fresh()
                    s[direction][r][peers_key][k]["namespaceSelector"] = {}
                    yield f"{pw} in every namespace", d
                if "ipBlock" not in peer:
                    d, s = fresh()
                    s[direction][r][peers_key][k] = {"ipBlock": {"cidr": "0.0.0.0/0"}}
                    yield f"{pw} -> ipBlock 0.0.0.0/0", d


def _service_mutants(lab: Lab, docs: Docs, i: int) -> Iterator[tuple[str, Docs]]:
    spec = docs[i]["spec"]
    name = docs[i]["metadata"]["name"]

    def fresh() -> tuple[Docs, dict[str, Any]]:
        d = copy.deepcopy(docs)
        return d, d[i]["spec"]

    kind = spec.get("type", "ClusterIP")
    if kind == "ExternalName":
        d, s = fresh()
        s["externalName"] = "orders.db.example.org"
        yield f"{name}: externalName changed", d
        d, s = fresh()
        del s["type"]
        yield f"{name}: type ExternalName dropped", d
        return
    for other in ("ClusterIP", "NodePort", "LoadBalancer"):
        if other != kind and not (other == "ClusterIP" and any("nodePort" in p for p in spec.get("ports", []))):
            d, s = fresh()
            s["type"] = other
            if spec.get("clusterIP") == "None" and other != "ClusterIP":
                continue
            yield f"{name}: type {kind} -> {other}", d
    if spec.get("clusterIP") == "None":
        d, s = fresh()
        del s["clusterIP"]
        yield f"{name}: not headless", d
    elif kind == "ClusterIP":
        d, s = fresh()
        s["clusterIP"] = "None"
        yield f"{name}: headless", d
    d = copy.deepcopy(docs)
    d[i]["metadata"]["name"] = f"{name}-svc"
    yield f"{name}: renamed {name}-svc", d
    selector = dict(spec.get("selector") or {})
    for key in selector:
        d, s = fresh()
        s["selector"][key] = f"{selector[key]}e"
        yield f"{name}: selector {key} misspelt", d
        if len(selector) > 1:
            d, s = fresh()
            del s["selector"][key]
            yield f"{name}: selector without {key}", d
    chosen = _selected(lab, selector)
    if chosen:
        shared = set.intersection(*(set(labels.items()) for labels, _ in chosen))
        for k, v in sorted(shared - set(selector.items())):
            d, s = fresh()
            s["selector"][k] = v
            yield f"{name}: selector narrowed with {k}={v}", d
        others = [labels for labels, _ in _label_sets(lab) if (labels, _) not in chosen]
        for k, v in sorted(shared):
            if any(o.get(k) == v for o in others) and (k, v) not in selector.items():
                d, s = fresh()
                s["selector"] = {k: v}
                yield f"{name}: selector widened to {k}={v}", d
    for p, port in enumerate(spec.get("ports") or []):
        pw = f"{name}: ports[{p}]"
        d, s = fresh()
        s["ports"][p]["port"] = port["port"] + 1
        yield f"{pw} port {port['port']} -> {port['port'] + 1}", d
        d, s = fresh()
        s["ports"][p]["protocol"] = "UDP" if port.get("protocol", "TCP") == "TCP" else "TCP"
        yield f"{pw} protocol flipped", d
        tp = port.get("targetPort")
        d, s = fresh()
        if tp is None:
            s["ports"][p]["targetPort"] = port["port"] + 1
            yield f"{pw} targetPort {port['port'] + 1}", d
        elif isinstance(tp, int):
            s["ports"][p]["targetPort"] = tp + 1
            yield f"{pw} targetPort {tp} -> {tp + 1}", d
            d, s = fresh()
            del s["ports"][p]["targetPort"]
            yield f"{pw} targetPort left out", d
        else:
            number = _port_number(lab, selector, tp)
            if number is not None:
                s["ports"][p]["targetPort"] = number
                yield f"{pw} targetPort {tp} -> {number} (a number)", d
            d, s = fresh()
            s["ports"][p]["targetPort"] = f"{tp}s"
            yield f"{pw} targetPort name misspelt", d
        if "nodePort" in port:
            d, s = fresh()
            del s["ports"][p]["nodePort"]
            yield f"{pw} nodePort left to allocation", d
            d, s = fresh()
            s["ports"][p]["nodePort"] = port["nodePort"] + 1
            yield f"{pw} nodePort {port['nodePort'] + 1}", d


def _ingress_mutants(docs: Docs, i: int) -> Iterator[tuple[str, Docs]]:
    name = docs[i]["metadata"]["name"]
    d = copy.deepcopy(docs)
    d[i]["spec"]["ingressClassName"] = "nginx"
    yield f"{name}: another ingress class", d
    for r, rule in enumerate(docs[i]["spec"].get("rules", [])):
        where = f"{name}: rules[{r}]"
        if "host" in rule:
            d = copy.deepcopy(docs)
            del d[i]["spec"]["rules"][r]["host"]
            yield f"{where} without host", d
            d = copy.deepcopy(docs)
            d[i]["spec"]["rules"][r]["host"] = "*." + rule["host"]
            yield f"{where} host -> *.{rule['host']}", d
        for p, path in enumerate(rule["http"]["paths"]):
            pw = f"{where} path {path['path']}"
            d = copy.deepcopy(docs)
            dp = d[i]["spec"]["rules"][r]["http"]["paths"][p]
            dp["pathType"] = "Exact" if path["pathType"] == "Prefix" else "Prefix"
            yield f"{pw} pathType -> {dp['pathType']}", d
            if path["path"] != "/":
                d = copy.deepcopy(docs)
                d[i]["spec"]["rules"][r]["http"]["paths"][p]["path"] = path["path"][:-1]
                yield f"{pw} -> {path['path'][:-1]}", d
            d = copy.deepcopy(docs)
            d[i]["spec"]["rules"][r]["http"]["paths"][p]["backend"]["service"]["port"]["number"] = 8080
            yield f"{pw} backend port 8080", d
            d = copy.deepcopy(docs)
            svc = d[i]["spec"]["rules"][r]["http"]["paths"][p]["backend"]["service"]
            svc["name"] = "api-v2" if svc["name"] != "api-v2" else "api-v1"
            yield f"{pw} backend -> {svc['name']}", d
            if len(rule["http"]["paths"]) > 1:
                d = copy.deepcopy(docs)
                del d[i]["spec"]["rules"][r]["http"]["paths"][p]
                yield f"{pw} removed", d


def _route_mutants(docs: Docs, i: int) -> Iterator[tuple[str, Docs]]:
    spec = docs[i]["spec"]
    name = docs[i]["metadata"]["name"]
    if "hostnames" in spec:
        d = copy.deepcopy(docs)
        del d[i]["spec"]["hostnames"]
        yield f"{name}: without hostnames", d
        d = copy.deepcopy(docs)
        d[i]["spec"]["hostnames"] = ["*." + h for h in spec["hostnames"]]
        yield f"{name}: hostnames -> wildcards", d
    d = copy.deepcopy(docs)
    d[i]["spec"]["parentRefs"] = [{"name": "web-gateway"}]
    yield f"{name}: parentRef to another gateway", d
    for r, rule in enumerate(spec.get("rules", [])):
        where = f"{name}: rules[{r}]"
        if len(spec["rules"]) > 1:
            d = copy.deepcopy(docs)
            del d[i]["spec"]["rules"][r]
            yield f"{where} removed", d
        for m, match in enumerate(rule.get("matches", [])):
            if "path" in match:
                d = copy.deepcopy(docs)
                d[i]["spec"]["rules"][r]["matches"][m]["path"]["type"] = "Exact"
                yield f"{where} match {match['path']['value']} Exact", d
                d = copy.deepcopy(docs)
                d[i]["spec"]["rules"][r]["matches"][m]["path"]["value"] += "/v1"
                yield f"{where} match value changed", d
        for b, ref in enumerate(rule.get("backendRefs", [])):
            d = copy.deepcopy(docs)
            d[i]["spec"]["rules"][r]["backendRefs"][b]["port"] = 8080
            yield f"{where} backendRef {ref['name']} port 8080", d
            d = copy.deepcopy(docs)
            d[i]["spec"]["rules"][r]["backendRefs"][b]["name"] = "blog" if ref["name"] != "blog" else "shop"
            yield f"{where} backendRef {ref['name']} -> another Service", d
            if "weight" in ref:
                d = copy.deepcopy(docs)
                d[i]["spec"]["rules"][r]["backendRefs"][b]["weight"] = ref["weight"] * 3
                yield f"{where} backendRef {ref['name']} weight x3", d
                d = copy.deepcopy(docs)
                del d[i]["spec"]["rules"][r]["backendRefs"][b]["weight"]
                yield f"{where} backendRef {ref['name']} without weight", d


def _configmap_mutants(docs: Docs, i: int) -> Iterator[tuple[str, Docs]]:
    for key, value in (docs[i].get("data") or {}).items():
        for new in (f"{value}.default", f"{value}x"):
            d = copy.deepcopy(docs)
            d[i]["data"][key] = new
            yield f"{docs[i]['metadata']['name']}: {key} {value} -> {new}", d


def _probe_port_number(container: dict[str, Any], port: Any) -> int | None:
    if isinstance(port, int):
        return port
    return next((int(p["containerPort"]) for p in container.get("ports", []) if p.get("name") == port), None)


def _deployment_mutants(docs: Docs, i: int) -> Iterator[tuple[str, Docs]]:
    """A readiness probe slipped: gone, turned into a liveness probe, on another port (the
    next one, a Service's usual 80), on another path, another handler; no replicas."""
    name = docs[i]["metadata"]["name"]
    for j, c in enumerate(docs[i]["spec"]["template"]["spec"].get("containers", [])):
        probe = c.get("readinessProbe")
        if not probe:
            continue

        def edited(change: Callable[[dict[str, Any]], None], j: int = j) -> Docs:
            d = copy.deepcopy(docs)
            change(d[i]["spec"]["template"]["spec"]["containers"][j])
            return d
        yield f"{name}: no readinessProbe", edited(lambda c: c.pop("readinessProbe"))
        yield f"{name}: livenessProbe instead", edited(lambda c: c.update(livenessProbe=c.pop("readinessProbe")))
        handler = probe.get("httpGet") or probe.get("tcpSocket")
        if handler:
            number = _probe_port_number(c, handler.get("port"))
            for new in ([number + 1] if number else []) + [80, "nope"]:
                def port(c: dict[str, Any], new: Any = new) -> None:
                    (c["readinessProbe"].get("httpGet") or c["readinessProbe"]["tcpSocket"])["port"] = new
                yield f"{name}: probe port {new}", edited(port)
        if probe.get("httpGet"):
            yield f"{name}: probe path /", edited(lambda c: c["readinessProbe"]["httpGet"].update(path="/"))
            yield f"{name}: tcpSocket probe", edited(lambda c: c["readinessProbe"].update(
                tcpSocket={"port": c["readinessProbe"].pop("httpGet")["port"]}))
            yield f"{name}: HTTPS probe", edited(lambda c: c["readinessProbe"]["httpGet"].update(scheme="HTTPS"))
    if docs[i]["spec"].get("replicas"):
        d = copy.deepcopy(docs)
        d[i]["spec"]["replicas"] = 0
        yield f"{name}: replicas 0", d


def mutants(lab: Lab, part: Part) -> Iterator[tuple[str, str]]:
    docs = parse(part.reference)
    if len(docs) > 1:
        for i, doc in enumerate(docs):
            yield f"without {doc['kind']} {doc['metadata']['name']}", dump(docs[:i] + docs[i + 1:])
    for i, doc in enumerate(docs):
        moved = copy.deepcopy(docs)
        moved[i]["metadata"]["namespace"] = "default"
        yield f"{doc['kind']} {doc['metadata']['name']} in namespace default", dump(moved)
    for i, doc in enumerate(docs):
        kind = doc.get("kind")
        if kind == "NetworkPolicy":
            found = _netpol_mutants(docs, i)
        elif kind == "Service":
            found = _service_mutants(lab, docs, i)
        elif kind == "Ingress":
            found = _ingress_mutants(docs, i)
        elif kind == "HTTPRoute":
            found = _route_mutants(docs, i)
        elif kind == "ConfigMap":
            found = _configmap_mutants(docs, i)
        elif kind == "Deployment":
            found = _deployment_mutants(docs, i)
        else:
            continue
        for name, d in found:
            yield name, dump(d)


# ---------------------------------------------------------------- equivalence rewrites
def _expressions(selector: dict[str, Any]) -> dict[str, Any]:
    labels = selector.get("matchLabels") or {}
    if not labels:
        return selector
    exprs = [{"key": k, "operator": "In", "values": [v]} for k, v in labels.items()]
    return {"matchExpressions": exprs + list(selector.get("matchExpressions") or [])}


def _match_expressions(docs: Docs) -> Docs:
    for d in docs:
        if d.get("kind") != "NetworkPolicy":
            continue
        s = d["spec"]
        s["podSelector"] = _expressions(s["podSelector"])
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in s.get(direction) or []:
                for peer in rule.get(key) or []:
                    for sel in ("podSelector", "namespaceSelector"):
                        if sel in peer:
                            peer[sel] = _expressions(peer[sel])
    return docs


def _piece_name(doc: dict[str, Any], n: int) -> str:
    """The first piece keeps the name, so it still replaces an object of that name that an
    earlier part's reference created (re-applying a name replaces it)."""
    return doc["metadata"]["name"] if n == 0 else f"{doc['metadata']['name']}-{n}"


def _split_policies(docs: Docs) -> Docs | None:
    """Every NetworkPolicy as one policy per (direction, rule), or per direction when it
    has no rules: the union of what they allow is the same."""
    out: Docs = []
    split = False
    for d in docs:
        if d.get("kind") != "NetworkPolicy":
            out.append(d)
            continue
        s = d["spec"]
        types = s.get("policyTypes") or (["Ingress"] + (["Egress"] if "egress" in s else []))
        pieces = []
        for t in types:
            rules = s.get(t.lower()) or []
            if not rules:
                pieces.append((t, None))
            for rule in rules:
                ports = rule.get("ports")
                if ports and len(ports) > 1:
                    pieces += [(t, {**rule, "ports": [p]}) for p in ports]
                else:
                    pieces.append((t, rule))
        if len(pieces) < 2:
            out.append(d)
            continue
        split = True
        for n, (t, rule) in enumerate(pieces):
            spec: dict[str, Any] = {"podSelector": s["podSelector"], "policyTypes": [t]}
            if rule is not None:
                spec[t.lower()] = [rule]
            out.append({"apiVersion": d["apiVersion"], "kind": "NetworkPolicy",
                        "metadata": {"name": _piece_name(d, n)}, "spec": spec})
    return out if split else None


def _explicit_defaults(docs: Docs) -> Docs:
    for d in docs:
        s = d.get("spec") or {}
        if d.get("kind") == "Service":
            s.setdefault("type", "ClusterIP") if "clusterIP" not in s else None
            for p in s.get("ports", []):
                p.setdefault("protocol", "TCP")
                p.setdefault("targetPort", p["port"])
        if d.get("kind") == "NetworkPolicy":
            s.setdefault("policyTypes", ["Ingress"] + (["Egress"] if "egress" in s else []))
            for direction in ("ingress", "egress"):
                for rule in s.get(direction) or []:
                    for p in rule.get("ports") or []:
                        p.setdefault("protocol", "TCP")
    return docs


def _named_target_ports(lab: Lab, docs: Docs) -> Docs | None:
    changed = False
    for d in docs:
        if d.get("kind") != "Service" or d["spec"].get("type") == "ExternalName":
            continue
        for p in d["spec"].get("ports", []):
            tp = p.get("targetPort", p["port"])
            if isinstance(tp, int):
                name = _port_name(lab, d["spec"].get("selector") or {}, tp, p.get("protocol", "TCP"))
                if name:
                    p["targetPort"] = name
                    changed = True
    return docs if changed else None


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """matchLabels only (the references use nothing else); an empty selector matches all."""
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items()) and \
        not selector.get("matchExpressions")


def _named_policy_ports(lab: Lab, docs: Docs) -> Docs | None:
    """A NetworkPolicy port number as the container port name, where every pod of the lab
    it can apply to (the destinations: the policy's pods for ingress, the peers' pods for
    egress with a podSelector of this namespace) gives that number that name."""
    changed = False
    templates = _label_sets(lab)
    for d in docs:
        if d.get("kind") != "NetworkPolicy":
            continue
        s = d["spec"]
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in s.get(direction) or []:
                if direction == "ingress":
                    targets = [cs for labels, cs in templates if _matches(s["podSelector"], labels)]
                else:
                    peers = rule.get(key) or []
                    if not peers or any(set(p) != {"podSelector"} for p in peers):
                        continue
                    targets = [cs for labels, cs in templates if any(_matches(p["podSelector"], labels) for p in peers)]
                for port in rule.get("ports") or []:
                    if not isinstance(port.get("port"), int) or not targets:
                        continue
                    names = {next((cp.get("name") for c in cs for cp in c.get("ports", [])
                                   if int(cp["containerPort"]) == port["port"]
                                   and cp.get("protocol", "TCP") == port.get("protocol", "TCP")), None)
                             for cs in targets}
                    if len(names) == 1 and None not in names:
                        port["port"] = names.pop()
                        changed = True
    return docs if changed else None


def _numeric_target_ports_where_fixed(lab: Lab, docs: Docs) -> Docs | None:
    """A named targetPort as its number, where the task does not ask for the name to follow
    the pods (every selected pod has that number today)."""
    changed = False
    for d in docs:
        if d.get("kind") != "Service":
            continue
        for p in d["spec"].get("ports", []):
            if isinstance(p.get("targetPort"), str):
                number = _port_number(lab, d["spec"].get("selector") or {}, p["targetPort"])
                if number is not None:
                    p["targetPort"] = number
                    changed = True
    return docs if changed else None


def _reordered_rules(docs: Docs) -> Docs | None:
    changed = False
    for d in docs:
        s = d.get("spec") or {}
        if d.get("kind") in ("Ingress", "HTTPRoute") and len(s.get("rules", [])) > 1:
            s["rules"].reverse()
            changed = True
        if d.get("kind") == "Ingress":
            for rule in s.get("rules", []):
                if len(rule["http"]["paths"]) > 1:
                    rule["http"]["paths"].reverse()
                    changed = True
    return docs if changed else None


def _routes_split(docs: Docs) -> Docs | None:
    """Each HTTPRoute rule in a route of its own, with the same parents and hostnames."""
    out: Docs = []
    split = False
    for d in docs:
        rules = (d.get("spec") or {}).get("rules", [])
        if d.get("kind") != "HTTPRoute" or len(rules) < 2:
            out.append(d)
            continue
        split = True
        for n, rule in enumerate(rules):
            nd = copy.deepcopy(d)
            nd["metadata"]["name"] = _piece_name(d, n)
            nd["spec"]["rules"] = [rule]
            out.append(nd)
    return out if split else None


def _scaled_weights(docs: Docs) -> Docs | None:
    changed = False
    for d in docs:
        for rule in (d.get("spec") or {}).get("rules", []) if d.get("kind") == "HTTPRoute" else []:
            refs = rule.get("backendRefs", [])
            if any("weight" in r for r in refs) and all(r.get("weight", 1) % 10 == 0 for r in refs):
                for r in refs:
                    r["weight"] = r.get("weight", 1) // 10
                changed = True
    return docs if changed else None


def _numeric_probe_ports(docs: Docs) -> Docs | None:
    """Readiness probe ports by name written as the container port's number."""
    changed = False
    for doc in docs:
        if doc.get("kind") != "Deployment":
            continue
        for c in doc["spec"]["template"]["spec"].get("containers", []):
            handler = (c.get("readinessProbe") or {}).get("httpGet")
            if handler and isinstance(handler.get("port"), str):
                handler["port"] = _probe_port_number(c, handler["port"])
                changed = True
    return docs if changed else None


def rewrites(lab: Lab, part: Part) -> Iterator[tuple[str, str]]:
    docs = parse(part.reference)
    yield "flow style", dump(docs, flow=True)
    yield "comments, blank lines, explicit document start", "---\n# my answer\n\n" + dump(docs).replace(
        "\n---\n", "\n\n---\n# next object\n")
    if len(docs) > 1:
        yield "documents in reverse order", dump(docs[::-1])
    edits: list[tuple[str, Callable[[Docs], Docs | None]]] = [
        ("matchLabels as matchExpressions", _match_expressions),
        ("each policy split into one per rule and port", _split_policies),
        ("defaults written out", _explicit_defaults),
        ("numeric targetPort by its container port name", lambda d: _named_target_ports(lab, d)),
        ("policy port numbers by their container port names", lambda d: _named_policy_ports(lab, d)),
        ("rules and paths in reverse order", _reordered_rules),
        ("one HTTPRoute per rule", _routes_split),
        ("weights divided by 10", _scaled_weights),
        ("readiness probe ports by number", _numeric_probe_ports),
    ]
    if (lab.name, part.id) != ("lab1-clusterip", "part3"):     # that task asks for the name itself
        edits.append(("named targetPort by its number", lambda d: _numeric_target_ports_where_fixed(lab, d)))
    seen = {dump(docs)}
    for name, edit in edits:
        out = edit(copy.deepcopy(docs))
        if out is not None and dump(out) not in seen:
            seen.add(dump(out))
            yield name, dump(out)


# ---------------------------------------------------------------- facts
_KIND_WORDS = ("service", "node", "IP")


def fact_mutants(part: Part) -> Iterator[tuple[str, str]]:
    """Each fact dropped or changed as a slip would change it: numbers off by one or quoted,
    a DNS label dropped, a trailing dot, another protocol, no underscores, another noun."""
    facts = yaml.safe_load(part.reference)
    for key, value in facts.items():
        def with_(new: Any, k: str = key) -> str:
            return yaml.safe_dump({**facts, k: new}, sort_keys=False)
        yield f"{key} missing", yaml.safe_dump({k: v for k, v in facts.items() if k != key}, sort_keys=False)
        if isinstance(value, int):
            yield f"{key} {value + 1}", with_(value + 1)
            yield f"{key} {value - 1}", with_(value - 1)
            yield f"{key} as a string", with_(str(value))
        elif "." in str(value) and " " not in str(value):
            labels = str(value).split(".")
            for i in range(len(labels)):
                yield f"{key} without label {labels[i]}", with_(".".join(labels[:i] + labels[i + 1:]))
            yield f"{key} with a trailing dot", with_(f"{value}.")
            if "._tcp." in value:
                yield f"{key} over udp", with_(value.replace("._tcp.", "._udp."))
            if value.startswith("_"):
                yield f"{key} without underscores", with_(value.replace("_", ""))
            if not value.endswith(".svc.cluster.local"):
                yield f"{key} fully qualified", with_(f"{value}.svc.cluster.local")
                yield f"{key} with svc", with_(f"{value}.svc")
        else:
            for noun in _KIND_WORDS:
                if "pod" in str(value):
                    yield f"{key} says {noun}", with_(str(value).replace("pod", noun))


def fact_rewrites(part: Part) -> Iterator[tuple[str, str]]:
    facts = yaml.safe_load(part.reference)
    yield "flow style", yaml.safe_dump(facts, default_flow_style=True)
    yield "keys in reverse order", yaml.safe_dump(dict(reversed(list(facts.items()))), sort_keys=False)
    yield "strings quoted, a comment", "# my answer\n" + "".join(
        f"{k}: {v!r}\n".replace("'", '"') if isinstance(v, str) else f"{k}: {v}\n" for k, v in facts.items())
    sentences = {k: v for k, v in facts.items() if isinstance(v, str) and " " in v}
    if sentences:
        yield "sentences capitalised, with a full stop", yaml.safe_dump(
            {k: (v[0].upper() + v[1:] + "." if k in sentences else v) for k, v in facts.items()}, sort_keys=False)


def corpus(lab_name: str | None = None) -> list[Variant]:
    """Every variant of every part that has a judge."""
    out: list[Variant] = []
    for lab in all_labs():
        if lab_name and lab.name != lab_name:
            continue
        for part in lab.parts:
            if judge_for(lab.name, part.id) is None:
                continue
            if part.kind == COMMANDS:
                from corpus_commands import command_mutants, command_rewrites
                seen = {part.reference}
                sources = ((MUTANT, command_mutants(lab, part)), (REWRITE, command_rewrites(lab, part)))
            else:
                seen = {dump(parse(part.reference)), part.reference}
                sources = (((MUTANT, fact_mutants(part)), (REWRITE, fact_rewrites(part))) if part.kind == FACTS else
                           ((MUTANT, mutants(lab, part)), (REWRITE, rewrites(lab, part))))
            for kind, found in sources:
                for name, answer in found:
                    if kind == MUTANT and answer in seen:
                        continue
                    seen.add(answer)
                    out.append(Variant(lab.name, part.id, kind, name, answer))
    return out


@dataclass
class Outcome:
    variant: Variant
    same: bool
    score: float
    full: float
    differences: tuple[str, ...]

    @property
    def agrees(self) -> bool:
        """The grade agrees with the judge (and a rewrite behaves like the reference)."""
        if self.variant.kind == REWRITE and not self.same:
            return False
        return (self.score == self.full) if self.same else (self.score < self.full)


def evaluate(variant: Variant) -> Outcome:
    from grader.cluster.offline import OfflineCluster
    from grader.labs import get_lab
    from grader.labs.judges import judge
    from grader.labs.spec import grade_part

    lab = get_lab(variant.lab)
    part = lab.part(variant.part)
    verdict = judge(lab, part, variant.answer)
    report = grade_part(lab, part, variant.answer, OfflineCluster(say=lambda _: None), include_hidden=True)
    return Outcome(variant, verdict.same, report.score, part.points, verdict.differences)


def summary(outcomes: list[Outcome]) -> str:
    rows = ["part                              mutants killed equivalent(full) rewrites(full) disagree"]
    keys = sorted({(o.variant.lab, o.variant.part) for o in outcomes})
    total = [0, 0, 0, 0, 0, 0]
    for key in keys:
        mine = [o for o in outcomes if (o.variant.lab, o.variant.part) == key]
        mut = [o for o in mine if o.variant.kind == MUTANT]
        killed = sum(1 for o in mut if not o.same and o.score < o.full)
        equiv = [o for o in mut if o.same]
        rew = [o for o in mine if o.variant.kind == REWRITE]
        bad = sum(1 for o in mine if not o.agrees)
        row = [len(mut), killed, len(equiv), sum(1 for o in equiv if o.score == o.full), len(rew),
               sum(1 for o in rew if o.same and o.score == o.full)]
        total = [a + b for a, b in zip(total, row, strict=True)]
        rows.append(f"{key[0] + ' ' + key[1]:34}{row[0]:7} {row[1]:6} {row[2]:6}({row[3]})"
                    f"{'':8}{row[4]:4}({row[5]}){'':8}{bad}")
    rows.append(f"{'total':34}{total[0]:7} {total[1]:6} {total[2]:6}({total[3]}){'':8}{total[4]:4}({total[5]})")
    return "\n".join(rows)


def main(argv: list[str]) -> int:
    outcomes = [evaluate(v) for v in corpus(argv[0] if argv else None)]
    for o in outcomes:
        if not o.agrees:
            print(f"DISAGREE {o.variant.id}: judge {'same' if o.same else 'differs'}, "
                  f"score {o.score}/{o.full}; {'; '.join(o.differences[:2])}")
    print(summary(outcomes))
    return 0 if all(o.agrees for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
