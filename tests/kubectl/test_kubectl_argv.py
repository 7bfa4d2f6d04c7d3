"""The command-line parser accepts every spelling pflag accepts and refuses what kubectl
refuses."""
from __future__ import annotations

import pytest

from grader.kubectl.argv import parse
from grader.kubectl.result import KubectlError


@pytest.mark.parametrize("line", ["get svc -n shop", "get svc -nshop", "get svc -n=shop", "get svc --namespace shop",
                                  "get svc --namespace=shop", "-n shop get svc", "kubectl get svc -n shop"])
def test_namespace_spellings(line):
    inv = parse(line)
    assert (inv.verb, inv.args, inv.flag("namespace")) == ("get", ["svc"], "shop")


def test_combined_short_flags_and_double_dash():
    inv = parse("exec -it web -c app -- sh -c 'cat /etc/hosts'")
    assert inv.flag("stdin") and inv.flag("tty") and inv.flag("container") == "app"
    assert inv.args == ["web"] and inv.command == ["sh", "-c", "cat /etc/hosts"]
    assert parse("get pods -owide").flag("output") == "wide"


def test_l_means_labels_for_run_and_selector_elsewhere():
    assert parse("get pods -l app=web").flag("selector") == "app=web"
    assert parse("run x -l app=web --image=busybox").flag("labels") == "app=web"


def test_repeatable_flags_and_booleans():
    inv = parse("apply -f a.yaml -f b.yaml --show-labels=false")
    assert inv.flag("filename") == ["a.yaml", "b.yaml"] and inv.flag("show-labels") is False


@pytest.mark.parametrize("line,message", [
    ("get pods --nope", "error: unknown flag: --nope"),
    ("get pods -z", "error: unknown flag: -z"),
    ("get pods -n", "error: flag needs an argument"),
    ("get 'unclosed", "error: cannot parse the command line"),
])
def test_refusals(line, message):
    with pytest.raises(KubectlError) as e:
        parse(line)
    assert e.value.message.startswith(message)


def test_port_forward_flags_with_kubectls_value_semantics():
    # --address is a string slice in kubectl: repeats add up (commas are split by port-forward)
    inv = parse("port-forward --address 0.0.0.0 --address=localhost,::1 svc/web 8080:80 --pod-running-timeout 1m")
    assert inv.flag("address") == ["0.0.0.0", "localhost,::1"] and inv.flag("pod-running-timeout") == "1m"
    assert inv.args == ["svc/web", "8080:80"]
    # global flags that take a value: their value is never read as an argument
    inv = parse("port-forward -v 6 --request-timeout 5s svc/web 8080:80")
    assert (inv.flag("v"), inv.flag("request-timeout"), inv.args) == ("6", "5s", ["svc/web", "8080:80"])
    assert parse("get pods -v=6").flag("v") == "6"
