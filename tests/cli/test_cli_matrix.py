"""`svclab matrix` and `svclab explain` on manifest folders (tests/fixtures/netpol)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.cli import main

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "netpol"
SHOP, TRAP, BROKEN = str(FIX / "shop"), str(FIX / "service-port-trap"), str(FIX / "broken")


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def pod_named(data, prefix):
    return next(p["name"] for p in data["pods"] if p["name"].startswith(prefix))


def test_matrix_json_explain_is_the_matrix_format(capsys):
    rc, out, _ = run(capsys, "matrix", "--format", "json", "--explain", "--ports", "8080", SHOP)
    assert rc == 0
    data = json.loads(out)
    assert set(data) == {"pods", "results"}
    names = [p["name"] for p in data["pods"]]
    assert names == sorted(names)
    # kube-system is shown because a policy names it in a namespaceSelector (DNS egress)
    assert {n.split("/")[0] for n in names} == {"shop", "kube-system"}
    assert len(data["results"]) == len(names) ** 2
    res = {(r["from"], r["to"]): r for r in data["results"]}
    backend, intruder = pod_named(data, "shop/backend-"), "shop/intruder"
    frontends = [n for n in names if n.startswith("shop/frontend-")]
    assert len(frontends) == 2
    for f in frontends:
        assert res[(f, backend)]["allowed"], res[(f, backend)]["reason"]
        assert "shop/allow-frontend, ingress rule 0, peer 0" in res[(f, backend)]["reason"]
        assert not res[(f, intruder)]["allowed"]
    assert not res[(intruder, backend)]["allowed"]
    assert not res[(backend, frontends[0])]["allowed"]          # default-deny egress from backend
    assert all(r["port"] == 8080 and r["protocol"] == "TCP" for r in data["results"])


def test_matrix_dns_egress(capsys):
    rc, out, _ = run(capsys, "matrix", "--format", "json", "--explain", "--ports", "53", "--protocols", "UDP,TCP", SHOP)
    assert rc == 0
    data = json.loads(out)
    dns = [p["name"] for p in data["pods"] if p["name"].startswith("kube-system/")]
    assert dns
    for r in data["results"]:
        if r["to"] in dns and r["from"].startswith("shop/frontend-"):
            assert r["allowed"], r["reason"]
        if r["to"] in dns and r["from"].startswith(("shop/backend-", "shop/intruder")):
            assert not r["allowed"], r["reason"]


def test_matrix_hides_system_pods_the_manifests_do_not_mention(capsys):
    rc, out, _ = run(capsys, "matrix", "--format", "json", "--explain", TRAP)
    assert rc == 0
    data = json.loads(out)
    assert [p["name"] for p in data["pods"]] == ["default/client", "default/server"]
    assert {r["port"] for r in data["results"]} == {8080}       # the port the pods serve
    res = {(r["from"], r["to"]): r for r in data["results"]}
    assert not res[("default/client", "default/server")]["allowed"]   # policy on the Service port 80
    rc, out, _ = run(capsys, "matrix", "--format", "json", "-A", TRAP)
    assert any(p["name"].startswith("kube-system/") for p in json.loads(out)["pods"])


def test_matrix_table(capsys):
    rc, out, _ = run(capsys, "matrix", "--ports", "80,8080", TRAP)
    assert rc == 0
    lines = out.splitlines()
    # pod port 80 is allowed by the policy (nothing listens there), 8080 is not
    assert lines[0] == "80/TCP: 4/4 allowed"
    assert lines[1].split() == ["-", "default/client", "default/server"]
    i = lines.index("8080/TCP: 3/4 allowed")
    assert lines[i + 1].split() == ["-", "default/client", "default/server"]
    assert lines[i + 2].split() == ["default/client", ".", "X"]
    assert lines[i + 3].split() == ["default/server", ".", "."]
    assert "'.' = allowed" in out and "'X' = denied" in out


def test_matrix_reports_manifest_problems(capsys):
    rc, _, err = run(capsys, "matrix", BROKEN)
    assert rc == 1
    assert "bad.yaml" in err and "podSelektor" in err


def test_matrix_rejects_bad_ports(capsys):
    rc, _, err = run(capsys, "matrix", "--ports", "http", TRAP)
    assert rc == 2 and "invalid port" in err
    rc, _, err = run(capsys, "matrix", "--protocols", "ICMP", TRAP)
    assert rc == 2 and "ICMP" in err


def test_explain_denied_points_at_the_service_port(capsys):
    rc, out, _ = run(capsys, "explain", "client", "default/server", "--port", "8080", TRAP)
    assert rc == 0
    assert out.startswith("Denied: default/client -> default/server on 8080/TCP.")
    assert "isolated for ingress by default/allow-client-on-80" in out
    assert "only on 80/TCP" in out
    assert "default/server listens on 8080/TCP" in out


def test_explain_allowed_and_node(capsys):
    rc, out, _ = run(capsys, "explain", "server", "client", "--port", "8080", TRAP)
    assert rc == 0 and out.startswith("Allowed:")
    assert "not isolated for ingress: no NetworkPolicy in default selects default/client" in out
    rc, out, _ = run(capsys, "explain", "node", "server", "--port", "8080", TRAP)
    assert out.startswith("Allowed:") and "node" in out


def test_explain_unknown_pod_lists_known_pods(capsys):
    rc, _, err = run(capsys, "explain", "client", "nope", "--port", "80", TRAP)
    assert rc == 2
    assert 'no pod, workload or selector "nope"' in err and "default/client" in err and "default/server" in err


def test_both_subcommands_are_registered():
    from grader.cli import build_parser
    parser = build_parser()
    for cmd in ("matrix", "explain"):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([cmd, "--help"])
        assert exc.value.code == 0


def test_the_matrix_loads_nothing_it_does_not_use() -> None:
    """Start-up is most of a small matrix (issue 22: 5x ahead of policy-assistant at 100
    pods): plain workloads and policies need no Gateway, Ingress or Corefile model, no
    quantity arithmetic (fractions, decimal), no random endpoint choice, no inspect, and
    no OpenSSL for the model's name and address hashes."""
    import subprocess
    import sys

    unused = {"grader.model.gateway", "grader.model.ingress", "grader.model.corefile", "fractions",
              "decimal", "random", "ast", "dis", "tokenize", "_hashlib", "grader.model.endpointslices"}
    code = ("import sys, io, contextlib; from grader.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    rc = main(['matrix', '--ports', '80', sys.argv[1]])\n"
            f"print(rc, sorted(set({sorted(unused)!r}) & set(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code, SHOP], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.splitlines()[-1] == "0 []"
