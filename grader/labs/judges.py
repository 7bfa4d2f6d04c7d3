"""The semantic judge of every lab part (grader.labs.judge): what a correct answer must DO,
observed over more than the part's checks look at. Parts whose answer is a few facts (FACTS)
have no judge here: their checks compare the facts with the cluster directly.

Kept apart from the lab specs on purpose: the judge audits the checks, so it must not share
their code or their choice of probes."""
from __future__ import annotations

from typing import Any

from grader.labs.judge import (Behaviour, Judge, JudgeVerdict, compare, connections, dns, http_routing,
                               reachability, services)


def _db_host(lab: Any, ns: Any) -> Behaviour:
    """Lab 5: where the api's DB_HOST leads, as the api's resolver and a connection see it."""
    cm = ns.state.get("ConfigMap", "api-config", ns.name) or {}
    host = str((cm.get("data") or {}).get("DB_HOST") or "").strip()
    if not host:
        return {"DB_HOST": "missing"}
    out = dns((host, "A"), frm="app=api")(lab, ns)
    out.update(connections((f"{host}:5432", "app=api", "TCP"))(lab, ns))
    return {k.replace(host, "DB_HOST"): v for k, v in out.items()}


def _ingress(name: str):  # type: ignore[no-untyped-def]
    return lambda ns: ns.ingress_address(name)


def _gateway(name: str):  # type: ignore[no-untyped-def]
    return lambda ns: ns.gateway_address(name)


JUDGES: dict[tuple[str, str], Judge] = {
    ("lab1-clusterip", "part1"): Judge((services("backend"),)),
    ("lab1-clusterip", "part2"): Judge((services("catalog"),)),
    # the task: the port named `web`, "whatever its number": the next version moves it
    ("lab1-clusterip", "part3"): Judge((services("shop", shift_ports=1000),)),
    ("lab1-clusterip", "part4"): Judge((services("echo"),)),
    ("lab2-external-access", "part1"): Judge((services("web", node_ports=True),)),
    ("lab2-external-access", "part2"): Judge((services("web-public"),)),
    ("lab3-discovery", "part1"): Judge((dns(("orders-db", "A"), ("orders-db", "CNAME"),
                                            ("orders-db.lab3.svc.cluster.local", "A")),)),
    ("lab3-discovery", "part2"): Judge((dns(("kv", "A"), ("kv-0.kv", "A"), ("kv-1.kv", "A"), ("kv-2.kv", "A"),
                                            ("kv.lab3.svc.cluster.local", "A")),)),
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
}

_REFERENCE: dict[tuple[str, str], Behaviour] = {}


def judge_for(lab_name: str, part_id: str) -> Judge | None:
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
