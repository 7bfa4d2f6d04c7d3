"""`svclab matrix --nodes` / `svclab explain` on workloads: no pod is left out unsaid."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from test_model_kit import deployment, netpol

from grader.cli import main


def write(tmp_path: Path, *objs: dict) -> str:
    (tmp_path / "app.yaml").write_text(yaml.safe_dump_all(objs))
    return str(tmp_path)


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_pending_pods_are_reported_on_stderr(tmp_path, capsys) -> None:
    d = write(tmp_path, deployment("web", {"app": "web"}, replicas=150))
    rc, out, err = run(capsys, "matrix", "--format", "json", d)
    assert rc == 0
    assert len(json.loads(out)["pods"]) == 108                 # + CoreDNS's 2 = kubelet's 110
    assert err == ("svclab matrix: left out: 42 pods are Pending, with no IP (1 node, at most 110 pods each, "
                   "kubelet's maxPods): 0/1 nodes are available: 1 Too many pods. preemption: 0/1 nodes are "
                   "available: 1 No preemption victims found for incoming pod.; try --nodes N for a bigger cluster\n")


def test_more_nodes_hold_the_whole_app(tmp_path, capsys) -> None:
    d = write(tmp_path, deployment("web", {"app": "web"}, replicas=150))
    rc, out, err = run(capsys, "matrix", "--format", "json", "--nodes", "3", d)
    assert rc == 0 and err == ""
    assert len(json.loads(out)["pods"]) == 150


@pytest.mark.parametrize("bad", ["0", "300"])
def test_bad_node_count_is_a_usage_error(tmp_path, capsys, bad) -> None:
    d = write(tmp_path, deployment("web", {"app": "web"}))
    rc, _, err = run(capsys, "matrix", "--nodes", bad, d)
    assert rc == 2 and err.startswith("svclab matrix: nodes must be a whole number from 1 to 256")


def test_the_ceiling_is_said_when_reached(tmp_path, capsys, monkeypatch) -> None:
    from grader.model import state
    monkeypatch.setattr(state, "MAX_MODEL_PODS", 50)
    d = write(tmp_path, deployment("web", {"app": "web"}, replicas=1_000_000_000))
    rc, out, err = run(capsys, "matrix", "--format", "json", d)
    assert rc == 0 and len(json.loads(out)["pods"]) == 48
    assert ("svclab matrix: left out: 999999952 replicas of deployment/web in namespace default not "
            "modelled: the offline model holds at most 50 pods\n") in err


def test_explain_accepts_a_workload_name_and_says_which_pod_answers(tmp_path, capsys) -> None:
    d = write(tmp_path, deployment("client", {"app": "client"}, replicas=2),
              deployment("web", {"app": "web"}, replicas=3),
              netpol("web-only-client", {"app": "web"}, policyTypes=["Ingress"],
                     ingress=[{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}]))
    rc, out, err = run(capsys, "explain", "client", "web", "--port", "8080", d)
    assert rc == 0 and err == ""
    first, second, verdict = out.splitlines()[:3]
    assert first.startswith("client: deployment/client in namespace default has 2 pods; default/client-")
    assert first.endswith("answers for them (its replicas share labels and ports, so NetworkPolicy treats them alike)")
    assert second.startswith("web: deployment/web in namespace default has 3 pods; default/web-")
    assert verdict.startswith("Allowed:")
    rc, out, _ = run(capsys, "explain", "default/app=web", "app=client", "--port", "8080", d)
    assert rc == 0 and 'label selector "app=web" in namespace default has 3 pods' in out
    assert "Allowed:" in out                                   # client is not isolated


def test_explain_on_a_workload_whose_pods_are_all_pending(tmp_path, capsys) -> None:
    d = write(tmp_path, deployment("a", {"app": "a"}, replicas=108), deployment("z", {"app": "z"}))
    rc, _, err = run(capsys, "explain", "a", "z", "--port", "8080", d)
    assert rc == 2
    assert err.startswith("svclab explain: every pod of deployment/z in namespace default is Pending "
                          "(no IP to connect with): 0/1 nodes are available")


def test_the_documented_ceiling_is_the_models(capsys) -> None:
    from grader.commands import matrix
    from grader.model.state import MAX_MODEL_PODS
    assert f"at most {MAX_MODEL_PODS} pods" in matrix.__doc__
    with pytest.raises(SystemExit):
        main(["matrix", "--help"])
    assert f"At most {MAX_MODEL_PODS} pods are modelled" in " ".join(capsys.readouterr().out.split())


def test_explain_on_a_pending_pod_says_it_is_pending(tmp_path, capsys) -> None:
    from test_model_kit import pod
    d = write(tmp_path, deployment("a", {"app": "a"}, replicas=108), pod("zz", {"app": "zz"}))
    rc, _, err = run(capsys, "explain", "zz", "a", "--port", "8080", d)
    assert rc == 2
    assert err.startswith("svclab explain: pod default/zz is Pending (no IP to connect with): 0/1 nodes are available")


def test_explain_selectors_with_prefixed_keys_and_malformed_ones(tmp_path, capsys) -> None:
    web = deployment("web", {"app.kubernetes.io/name": "web"}, replicas=2)
    d = write(tmp_path, web, deployment("client", {"app": "client"}))
    rc, out, _ = run(capsys, "explain", "app=client", "app.kubernetes.io/name=web", "--port", "8080", d)
    assert rc == 0
    assert 'label selector "app.kubernetes.io/name=web" in namespace default has 2 pods' in out
    rc, _, err = run(capsys, "explain", "app in (a", "web", "--port", "8080", d)
    assert rc == 2 and err == ("svclab explain: 'app in (a': invalid selector term 'app in (a': "
                               'expected "key in (a,b)"\n')
