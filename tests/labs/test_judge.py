"""The semantic judge itself: its universe reaches past what the learner sees, its
observations mean what the task says, and it tells equal behaviour from different."""
from __future__ import annotations

from grader.labs import get_lab
from grader.labs.judge import compare
from grader.labs.judges import judge, reference_behaviour

LAB4 = get_lab("lab4-network-policy")


def test_compare_lists_the_first_differences_and_counts_every_observation() -> None:
    same = compare({"a": "allow", "b": "deny"}, {"b": "deny", "a": "allow"})
    assert same.same and same.observations == 2 and "behaves like the reference" in str(same)
    diff = compare({"a": "allow", "b": "deny"}, {"a": "deny", "c": "allow"})
    assert not diff.same
    assert diff.differences == ("a: reference allow, answer deny", "b: reference deny, answer absent",
                                "c: reference absent, answer allow")


def test_reachability_covers_strangers_system_pods_the_outside_an_unnamed_port_and_udp() -> None:
    ref = reference_behaviour(LAB4, LAB4.part("part3"))     # deny all, frontend -> backend 8080, DNS
    want = {
        "lab4/frontend -> lab4/backend-1 8080/TCP": "allow",
        "lab4/frontend -> lab4/backend-1 9090/TCP": "deny",
        "lab4/frontend -> kube-system/coredns 53/UDP": "allow",
        "lab4/db -> kube-system/coredns 53/TCP": "allow",
        "lab4/judge-newcomer -> kube-system/coredns 53/UDP": "allow",       # a pod added later
        "lab4/frontend -> kube-system/coredns 9153/TCP": "deny",           # CoreDNS's other port
        "lab4/frontend -> kube-system/judge-system 53/UDP": "deny",        # kube-system, not DNS
        "lab4/frontend -> judge-elsewhere/judge-dns-lookalike 53/UDP": "deny",
        "lab4/frontend -> outside 53/UDP": "deny",                         # an address outside
        "outside -> lab4/frontend 8080/TCP": "deny",
        "judge-elsewhere/judge-outsider -> lab4/db 5432/TCP": "deny",
        "judge-elsewhere/judge-twin-0 -> lab4/backend-1 8080/TCP": "deny",  # a frontend look-alike
        "lab4/frontend -> lab4/backend-1 7777/UDP": "deny",                # a port no one names
    }
    assert {k: ref.get(k) for k in want} == want


def test_the_known_wrong_policies_behave_differently_where_the_task_forbids() -> None:
    egress_only = judge(LAB4, LAB4.part("part1"), LAB4.part("part1").reference.replace("  - Ingress\n", ""))
    assert not egress_only.same
    assert any(d.startswith("judge-elsewhere/") and "lab4/" in d and "answer allow" in d
               for d in egress_only.differences)
    dns = LAB4.part("part3").reference
    or_peers = judge(LAB4, LAB4.part("part3"), dns.replace("      podSelector:", "    - podSelector:"))
    assert any("kube-system/judge-system 53/" in d for d in or_peers.differences), or_peers


def test_a_rewrite_and_a_selector_only_todays_pods_carry() -> None:
    lab1 = get_lab("lab1-clusterip")
    part1 = lab1.part("part1")
    flow = "{apiVersion: v1, kind: Service, metadata: {name: backend}, spec: {selector: {app: backend}, " \
           "ports: [{port: 80, targetPort: http}]}}"
    assert judge(lab1, part1, flow).same
    pinned = next(w.answer for w in part1.wrong_answers if "pod-template-hash" in w.text)
    verdict = judge(lab1, part1, pinned)
    stages = [d.split(":")[0] for d in verdict.differences]
    assert "Service backend after a rollout" in stages and "Service backend now" not in stages   # right today


def test_http_routing_records_the_canary_share_and_facts_what_names_resolve_to() -> None:
    lab6 = get_lab("lab6-ingress")
    ref = reference_behaviour(lab6, lab6.part("part3"))
    assert ref["GET shop.example/api/items"] == "200 lab6/api-v1 0.9, 200 lab6/api-v2 0.1"
    assert ref["GET admin.example/"] == "404 proxy 1"
    lab3 = get_lab("lab3-discovery")
    part3 = lab3.part("part3")
    assert judge(lab3, part3, "name: catalog.lab3.svc\nfqdn: catalog.lab3.svc.cluster.local.\n").same
    assert not judge(lab3, part3, "name: catalog\nfqdn: catalog.lab3.svc.cluster.local\n").same
