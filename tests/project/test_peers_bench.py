"""bench/peers_bench.py's inputs describe the same cluster to every tool (no Go needed)."""
from __future__ import annotations

import json

from bench.generate import generate
from bench.peers_bench import kubeconform_schemas, probe_model, with_policy_types
from grader import schema


def test_the_probe_model_holds_the_same_pods_and_namespaces() -> None:
    pods, nss, _ = generate(60, 4, 0)
    model = probe_model(pods, nss, ports=(80, 81))
    assert model["Probes"] == [{"Protocol": "TCP", "Port": 80}, {"Protocol": "TCP", "Port": 81}]
    res = model["Resources"]
    assert set(res["Namespaces"]) == set(nss)
    assert res["Namespaces"]["ns-01"]["kubernetes.io/metadata.name"] == "ns-01"
    assert [(p["Namespace"], p["Name"], p["IP"]) for p in res["Pods"]] == [(p.namespace, p.name, p.ip) for p in pods]
    named = next(c for p in res["Pods"] for c in p["Containers"] if c.get("PortName") == "metrics")
    assert named["Port"] == 81 and named["Protocol"] == "tcp"


def test_policy_types_are_spelled_out_as_the_api_server_defaults_them() -> None:
    ingress_only = {"kind": "NetworkPolicy", "spec": {"podSelector": {}, "ingress": [{}]}}
    both = {"kind": "NetworkPolicy", "spec": {"podSelector": {}, "egress": []}}
    given = {"kind": "NetworkPolicy", "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}
    assert with_policy_types(ingress_only)["spec"]["policyTypes"] == ["Ingress"]
    assert with_policy_types(both)["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert with_policy_types(given)["spec"]["policyTypes"] == ["Egress"]
    assert "policyTypes" not in ingress_only["spec"]             # the input is left alone


def test_kubeconform_gets_one_standalone_schema_per_kind(tmp_path) -> None:
    out = kubeconform_schemas(tmp_path)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"{stem}.json" for _, stem in schema.KINDS.values())
    svc = json.loads((out / "service-v1.json").read_text())
    assert svc["additionalProperties"] is False and "_definitions.json" not in json.dumps(svc)
