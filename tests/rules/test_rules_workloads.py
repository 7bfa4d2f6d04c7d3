"""Pods, Deployments and StatefulSets: selector/template agreement, containers, ports."""
from __future__ import annotations

import copy

import pytest

from grader.kind.images import AGNHOST_IMAGE
from grader.manifests import check

POD_SPEC = {"containers": [{"name": "server", "image": AGNHOST_IMAGE,
                            "ports": [{"name": "http", "containerPort": 8080}]}]}


def deployment(**spec_overrides) -> dict:
    spec = {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web", "tier": "front"}},
                         "spec": copy.deepcopy(POD_SPEC)}}
    spec.update(spec_overrides)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec}


def pod(spec: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def issues(obj: dict) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(obj)[1]]


def test_valid_deployment():
    assert issues(deployment()) == []


def test_selector_not_matching_template_exact_wording():
    """Pinned wording: the API server's "`selector` does not match template `labels`",
    plus what each side says."""
    obj = deployment(selector={"matchLabels": {"app": "webapp"}})
    _, problems = check(obj)
    assert [str(p) for p in problems] == [
        "<object>, document 1 (Deployment/web): spec.template.metadata.labels: selector does not "
        "match template labels: spec.selector selects app=webapp, but the template's labels are "
        "app=web, tier=front"]


def test_match_expressions_are_evaluated():
    ok = deployment(selector={"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]})
    assert issues(ok) == []
    bad = deployment(selector={"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]})
    assert [p for p, _ in issues(bad)] == ["spec.template.metadata.labels"]


def test_selector_required_and_not_empty():
    obj = deployment()
    del obj["spec"]["selector"]
    assert issues(obj) == [("spec.selector", "required field 'selector' is missing")]
    got = issues(deployment(selector={}))
    assert [p for p, _ in got] == ["spec.selector"] and "empty selector" in got[0][1]


def test_replicas_not_negative():
    assert issues(deployment(replicas=0)) == []
    assert issues(deployment(replicas=-1)) == [("spec.replicas", "must be 0 or more, got -1")]


def test_controller_pods_must_restart_always():
    obj = deployment()
    obj["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    got = issues(obj)
    assert got[0][0] == "spec.template.spec.restartPolicy" and "must use 'Always'" in got[0][1]


def test_statefulset_service_name_optional_but_a_dns_label():
    """v1.37 ValidateStatefulSetSpec: serviceName may be left out; when set on a new
    StatefulSet it must be a DNS-1123 label (older releases did not look at it)."""
    sts = deployment()
    sts["kind"] = "StatefulSet"
    del sts["spec"]["replicas"]
    assert issues(sts) == []
    sts["spec"]["serviceName"] = "db"
    assert issues(sts) == []
    sts["spec"]["serviceName"] = "DB"
    assert [p for p, _ in issues(sts)] == ["spec.serviceName"]


def test_container_names_unique_and_valid():
    spec = copy.deepcopy(POD_SPEC)
    spec["containers"].append({"name": "server", "image": "busybox:1.36"})
    assert issues(pod(spec)) == [("spec.containers[1].name",
                                 "duplicate container name 'server' (also used by spec.containers[0])")]
    spec["containers"][1]["name"] = "Side_Car"
    got = issues(pod(spec))
    assert got[0][0] == "spec.containers[1].name" and "try 'side-car'" in got[0][1]


def test_container_port_range():
    spec = copy.deepcopy(POD_SPEC)
    spec["containers"][0]["ports"][0]["containerPort"] = 0
    assert issues(pod(spec)) == [("spec.containers[0].ports[0].containerPort",
                                 "must be between 1 and 65535, got 0")]


def test_port_names_unique_within_a_container():
    """validateContainerPorts is per container; the same name in two containers is only a
    warning on the API server."""
    spec = copy.deepcopy(POD_SPEC)
    spec["containers"].append({"name": "side", "image": "busybox:1.36",
                               "ports": [{"name": "http", "containerPort": 9090}]})
    assert issues(pod(spec)) == []
    spec["containers"][0]["ports"].append({"name": "http", "containerPort": 8081})
    assert issues(pod(spec)) == [("spec.containers[0].ports[1].name",
                                 "duplicate port name 'http' in this container (also used by "
                                 "spec.containers[0].ports[0])")]


def test_port_name_must_be_iana_name():
    spec = copy.deepcopy(POD_SPEC)
    spec["containers"][0]["ports"][0]["name"] = "http_port"
    got = issues(pod(spec))
    assert got[0][0] == "spec.containers[0].ports[0].name"


def test_duplicate_container_ports_are_refused_for_server_side_apply_and_host_ports_conflict():
    """A containerPort/protocol listed twice in one container is only a warning on create,
    but server-side apply (the live backend's) refuses it, so it is a problem; the same
    number with another protocol is fine. A duplicate hostPort/protocol/hostIP is an error
    (AccumulateUniqueHostPorts)."""
    spec = copy.deepcopy(POD_SPEC)
    spec["containers"][0]["ports"].append({"containerPort": 8080, "protocol": "UDP"})
    assert issues(pod(spec)) == []
    spec["containers"][0]["ports"].append({"containerPort": 8080})
    got = issues(pod(spec))
    assert [p for p, _ in got] == ["spec.containers[0].ports[2].containerPort"]
    assert "server-side apply refuses duplicate entries" in got[0][1]
    spec["containers"][0]["ports"] = [{"containerPort": 8080, "hostPort": 8080},
                                      {"containerPort": 8081, "hostPort": 8080}]
    got = issues(pod(spec))
    assert [p for p, _ in got] == ["spec.containers[0].ports[1].hostPort"]


def test_image_required():
    spec = {"containers": [{"name": "c"}]}
    assert issues(pod(spec)) == [("spec.containers[0].image", "required: every container needs an image")]


def test_probe_port_names():
    spec = copy.deepcopy(POD_SPEC)
    spec["containers"][0]["readinessProbe"] = {"httpGet": {"path": "/healthz", "port": "http"}}
    assert issues(pod(spec)) == []
    spec["containers"][0]["readinessProbe"]["httpGet"]["port"] = 0
    assert [p for p, _ in issues(pod(spec))] == ["spec.containers[0].readinessProbe.httpGet.port"]


def test_missing_spec():
    obj = pod({})
    del obj["spec"]
    assert [p for p, _ in issues(obj)] == ["spec"]


@pytest.mark.parametrize("surge,unavailable,ok", [(0, 1, True), ("25%", 0, True), (0, 0, False), (0, "0%", False)])
def test_rolling_update_must_make_progress(surge, unavailable, ok):
    obj = deployment(strategy={"type": "RollingUpdate",
                               "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}})
    assert (issues(obj) == []) is ok


@pytest.mark.parametrize("cpu", ["1e999999999999", "1E-999999999999"])
def test_quantity_with_an_impossible_exponent_is_a_problem_not_a_crash(cpu):
    spec = copy.deepcopy(POD_SPEC)
    spec["containers"][0]["resources"] = {"limits": {"cpu": cpu}, "requests": {"cpu": cpu}}
    got = issues(pod(spec))
    assert ("spec.containers[0].resources.limits[cpu]", f"'{cpu}' is not a quantity; write e.g. '100m' "
            "or '0.5' for CPU and '64Mi' or '1Gi' for memory (suffixes are case-sensitive: 'Mi', "
            "not 'MB')") in got


def test_nan_cpu_in_yaml_is_refused_before_the_rules():
    text = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
            "    image: i:1\n    resources: {limits: {cpu: .nan}, requests: {cpu: .nan}}\n")
    problems = check(text)[1]
    assert [p.path for p in problems] == ["spec.containers[0].resources.limits.cpu"]
    assert "JSON cannot hold NaN" in problems[0].message


@pytest.mark.parametrize("selector, matches", [
    ({"matchLabels": {"app": "web"}}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "back"]}]}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]}, False),
    ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}, True),
    ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
    ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "zone", "operator": "Exists"}]}, False),
])
def test_selector_matching_agrees_with_the_model(selector, matches):
    from grader.k8s.selectors import compile_selector
    from grader.rules.meta import selector_matches

    labels = {"app": "web", "tier": "front"}
    assert selector_matches(selector, labels) is matches
    assert compile_selector(selector).matches(labels) is matches
    mismatch = [p for p, _ in issues(deployment(selector=selector))]
    assert mismatch == ([] if matches else ["spec.template.metadata.labels"])


def test_host_port_conflicts_keep_their_container_paths():
    spec = copy.deepcopy(POD_SPEC)
    spec["containers"][0]["ports"] = [{"containerPort": 80, "hostPort": 8080}]
    spec["containers"].append({"name": "two", "image": "i:1", "ports": [{"containerPort": 81, "hostPort": 8080}]})
    spec["initContainers"] = ["junk", {"name": "init", "image": "i:1", "restartPolicy": "Always",
                                       "ports": [{"containerPort": 82, "hostPort": 9090},
                                                 {"containerPort": 83, "hostPort": 9090}]}]
    got = [p for p, m in issues(pod(spec)) if "duplicate hostPort" in m]
    assert got == ["spec.containers[1].ports[0].hostPort", "spec.initContainers[1].ports[1].hostPort"]
