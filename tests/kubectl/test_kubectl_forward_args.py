"""The `kubectl port-forward` reader shared by offline `%kubectl port-forward` and lab 6's
grading: every spelling kubectl accepts reads the same, and what kubectl refuses before it
looks at the cluster is refused with kubectl's (client-go's, pflag's) own message."""
from __future__ import annotations

import pytest

from grader.kubectl.argv import parse
from grader.kubectl.forward_args import PortSpec, go_duration, read
from grader.kubectl.resources import NotModelled
from grader.kubectl.result import KubectlError


def _read(line: str):
    return read(parse(line))


@pytest.mark.parametrize("line", [
    "port-forward -nlab6 svc/web 8080:80", "port-forward --namespace=lab6 service/web 8080:80",
    "-n lab6 port-forward services/web 8080:80", "port-forward svc/web 8080:80 -n=lab6",
    "kubectl port-forward --namespace lab6 svc/web 8080:80",
])
def test_namespace_and_service_spellings_read_the_same(line):
    req = _read(line)
    assert (req.kind.kind, req.name, req.namespace) == ("Service", "web", "lab6")
    assert req.ports == (PortSpec("8080:80", 8080, 80),)


@pytest.mark.parametrize(("target", "kind", "name", "normalised"), [
    ("web-0", "Pod", "web-0", "pod/web-0"),               # a bare name is a pod, as in kubectl
    ("po/web-0", "Pod", "web-0", "po/web-0"),
    ("deploy/web", "Deployment", "web", "deploy/web"),
    ("deployment.apps/web", "Deployment", "web", "deployment.apps/web"),
    ("sts/web", "StatefulSet", "web", "sts/web"),
])
def test_targets_use_kubectls_kind_aliases(target, kind, name, normalised):
    req = _read(f"port-forward {target} 8080")
    assert (req.kind.kind, req.name, req.target) == (kind, name, normalised)


def test_ports_as_client_go_reads_them():
    req = _read("port-forward svc/web 8080:80 :443 9000 8443:https")
    assert [(p.local, p.remote) for p in req.ports] == [(8080, 80), (0, 443), (None, 9000), (8443, "https")]


def test_address_and_timeout_defaults_and_spellings():
    plain = _read("port-forward svc/web 8080:80")
    assert (plain.addresses, plain.pod_running_timeout, plain.namespace) == (("localhost",), 60.0, None)
    req = _read("port-forward --address 0.0.0.0 --address=localhost,::1 svc/web 8080:80 --pod-running-timeout=1m30s")
    assert req.addresses == ("0.0.0.0", "localhost", "::1")
    assert req.pod_running_timeout == 90.0
    assert _read("port-forward svc/web 80 --pod-running-timeout 2s").pod_running_timeout == 2.0


def test_global_flags_that_change_nothing_offline_are_accepted():
    req = _read("port-forward svc/web 8080:80 --context kind-svclab --kubeconfig=/tmp/k -v=6 --request-timeout=5s")
    assert (req.name, req.ports[0].remote) == ("web", 80)


@pytest.mark.parametrize(("line", "message"), [
    ("port-forward svc/web", "error: TYPE/NAME and list of ports are required for port-forward\n"
                             "See 'kubectl port-forward -h' for help and examples"),
    ("port-forward svc/web abc:80", "error: error parsing local port 'abc': "
                                    'strconv.ParseUint: parsing "abc": invalid syntax'),
    ("port-forward svc/web 8080:70000", "error: error parsing remote port '70000': "
                                        'strconv.ParseUint: parsing "70000": value out of range'),
    ("port-forward svc/web 70000:80", "error: error parsing local port '70000': "
                                      'strconv.ParseUint: parsing "70000": value out of range'),
    ("port-forward svc/web 8080:0", "error: remote port must be > 0"),
    ("port-forward svc/web 1:2:3", "error: invalid port format '1:2:3'"),
    ("port-forward svc/web 8080:", "error: error parsing remote port '': "
                                   'strconv.ParseUint: parsing "": invalid syntax'),
    ("port-forward --address my-laptop svc/web 8080:80", "error: my-laptop is not a valid IP"),
    ("port-forward svc/web 8080:80 --pod-running-timeout=0", "error: --pod-running-timeout must be higher than zero"),
    ("port-forward svc/web 8080:80 --pod-running-timeout=5",
     'error: invalid argument "5" for "--pod-running-timeout" flag: time: missing unit in duration "5"'),
    ("port-forward svc/web 8080:80 --adress 0.0.0.0", "error: unknown flag: --adress"),
    ("port-forward widget/web 8080:80", 'error: the server doesn\'t have a resource type "widget"'),
    ("port-forward svc/ 8080:80", "error: arguments in resource/name form must have a single resource and name"),
])
def test_what_kubectl_refuses_is_refused_in_its_words(line, message):
    with pytest.raises(KubectlError) as caught:
        _read(line)
    assert caught.value.message.startswith(message)


def test_a_kind_kubectl_knows_but_the_model_does_not_keep_is_not_modelled():
    with pytest.raises(NotModelled):
        _read("port-forward ds/web 8080:80")


@pytest.mark.parametrize(("text", "seconds"), [
    ("1m", 60.0), ("90s", 90.0), ("1m30s", 90.0), ("1.5h", 5400.0), (".5s", 0.5), ("250ms", 0.25),
    ("0", 0.0), ("-1s", -1.0), ("+2m", 120.0), ("1h2m3s4ms", 3723.004),
])
def test_go_durations(text, seconds):
    assert go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("text", "message"), [
    ("5", 'time: missing unit in duration "5"'), ("5x", 'time: unknown unit "x" in duration "5x"'),
    ("abc", 'time: invalid duration "abc"'), ("", 'time: invalid duration ""'),
    ("1m.", 'time: invalid duration "1m."'),
])
def test_go_duration_errors(text, message):
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.") + "$"):
        go_duration(text)
