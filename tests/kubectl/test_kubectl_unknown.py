"""`%kubectl gett pods` answers as kubectl does (an unknown command, with suggestions), not
"is not modelled offline", which is for real commands the model lacks."""
from __future__ import annotations

import subprocess

import pytest

import grader.kubectl as kubectl
from grader.kubectl.live import kubectl_binary
from tests.kubectl.kubectl_fixtures import make_ns

TYPOS = ["gett", "lgs", "descibe", "aply", "exe", "portforward", "ge", "lo", "des", "ex", "po",
         "frobnicate", "a", "de", "lable", "scal", "rollot", "exlain"]


def test_a_typo_is_an_unknown_command_with_kubectls_suggestions() -> None:
    ns = make_ns()[0]
    r = kubectl.run(ns, "gett pods")
    assert r.code == 1 and r.stdout == ""
    assert r.stderr == 'error: unknown command "gett" for "kubectl"\n\nDid you mean this?\n\tset\n\tget\n'
    assert "not modelled" not in r.stderr


def test_a_real_command_the_model_lacks_still_says_so() -> None:
    r = kubectl.run(make_ns()[0], "top pods")
    assert r.stderr.startswith("kubectl top is not modelled offline")


@pytest.mark.parametrize("typo", TYPOS)
def test_unknown_commands_read_exactly_as_the_real_kubectl(typo: str) -> None:
    try:
        binary = kubectl_binary()
    except Exception as exc:  # noqa: BLE001  (no binary: nothing to compare with)
        pytest.skip(f"no kubectl binary: {exc}")
    # An unknown command fails before kubectl reads a kubeconfig or dials a server.
    real = subprocess.run([binary, typo, "pods"], capture_output=True, text=True,
                          env={"KUBECONFIG": "/dev/null", "PATH": "/usr/bin:/bin"}, timeout=30)
    ours = kubectl.run(make_ns()[0], f"{typo} pods")
    assert (ours.code, ours.stderr) == (real.returncode, real.stderr)
