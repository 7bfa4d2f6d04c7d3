"""Schema validation against the pinned Kubernetes OpenAPI schema (strict)."""
from __future__ import annotations

import os
import time

import pytest

from grader import schema
from grader.manifests import check

SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: backend}
spec:
  selector: {app: backend}
  ports:
  - port: 80
    targetPort: 8080
"""


def issues(text: str) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(text)[1]]


def test_pinned_version_and_strict_schemas():
    assert schema.K8S_SCHEMA_VERSION == "1.37"
    assert schema._SCHEMA_DIR.endswith("v1.37.0-local-strict")


def test_valid_service_has_no_issues():
    assert issues(SERVICE) == []


def test_unknown_field_suggests_the_right_one():
    text = SERVICE.replace("selector:", "selecter:")
    assert issues(text) == [("spec.selecter", "unknown field 'selecter' (did you mean 'selector'?)")]


def test_wrong_type_names_the_value():
    text = SERVICE.replace("port: 80", "port: 80a")
    assert ("spec.ports[0].port", "must be an integer, got '80a'") in issues(text)


def test_quoted_number_gets_a_hint():
    text = SERVICE.replace("port: 80", "port: '80'")
    assert ("spec.ports[0].port", "must be an integer, got '80' (remove the quotes)") in issues(text)


def test_unquoted_label_value_that_yaml_reads_as_bool():
    text = SERVICE.replace("{app: backend}", "{enabled: yes}")
    assert ("spec.selector.enabled", "must be a string, got true (put it in quotes)") in issues(text)


def test_required_field_missing():
    text = """
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {restartPolicy: Never}
"""
    assert issues(text) == [("spec.containers", "required field 'containers' is missing")]


@pytest.mark.parametrize("target", ["8080", "http"])
def test_int_or_string_accepts_both(target):
    assert issues(SERVICE.replace("targetPort: 8080", f"targetPort: {target}")) == []


def test_int_or_string_rejects_other_types():
    got = issues(SERVICE.replace("targetPort: 8080", "targetPort: [8080]"))
    assert got == [("spec.ports[0].targetPort", "must be an integer or a string, got a list")]


def test_all_errors_are_reported_at_once():
    text = SERVICE.replace("selector:", "selecter:").replace("port: 80", "port: x").replace(
        "metadata: {name: backend}", "metadata: {name: backend, lables: {a: b}}")
    paths = [p for p, _ in issues(text)]
    assert paths == ["metadata.lables", "spec.ports[0].port", "spec.selecter"]


def test_unknown_kind_suggests_the_closest():
    got = issues("apiVersion: v1\nkind: Servce\nmetadata: {name: x}\n")
    assert got == [("kind", "kind 'Servce' is not a kind this course knows; did you mean 'Service'?")]


def test_kind_case_is_pointed_out():
    got = issues("apiVersion: v1\nkind: service\nmetadata: {name: x}\n")
    assert "did you mean 'Service'? (kinds are case-sensitive)" in got[0][1]


def test_wrong_api_version_for_kind():
    got = issues("apiVersion: v1\nkind: Deployment\nmetadata: {name: x}\n")
    assert got == [("apiVersion", "apiVersion 'v1' is wrong for Deployment; use 'apps/v1'")]


def test_missing_api_version_and_kind():
    got = issues("metadata: {name: x}\n")
    assert [p for p, _ in got] == ["kind", "apiVersion"]


def test_every_course_kind_has_a_schema():
    for kind in schema.KINDS:
        assert schema._validator(kind) is schema._validator(kind)  # cached


def test_validating_many_objects_is_fast_after_warm_up():
    text = "---\n".join(SERVICE.replace("backend}", f"backend{i}}}") for i in range(100))
    check(text)  # warm-up: loads the schema
    start = time.perf_counter()
    manifests, problems = check(text)
    assert not problems and len(manifests) == 100
    assert time.perf_counter() - start < 1.0


def test_null_int_or_string_and_quantity_are_accepted():
    """kubectl-style nulls decode as "unset" on the API server; oneOf(nullable, nullable)
    must not turn them into false rejections."""
    text = SERVICE.replace("targetPort: 8080", "targetPort: null")
    assert issues(text) == []
    pod = """
apiVersion: v1
kind: Pod
metadata: {name: p, creationTimestamp: null}
spec:
  containers:
  - name: c
    image: busybox:1.36
    resources: {limits: {cpu: null, memory: 64Mi}, requests: {cpu: 100m, memory: 32Mi}}
"""
    assert issues(pod) == []


def test_validate_object_sorts_and_dedupes_schema_and_rule_issues_once():
    from grader.manifests import validate_object

    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": "x"}] * 11 + [{"port": 80, "protocl": "TCP"}], "tpye": "NodePort"}}
    raw = schema.schema_issues(obj)
    got = validate_object(obj)
    assert len(got) == len(set(got)) and set(got) >= set(raw)
    paths = [p for p, _ in got]
    assert paths.index("spec.ports[2].port") < paths.index("spec.ports[10].port") < paths.index("spec.ports[11].protocl")


def test_a_valid_object_is_checked_without_importing_jsonschema(tmp_path):
    """The fast path: the compiled validator says "valid", so neither the Python stack
    (0.15 s to import, most of `svclab check`'s time before) nor jsonschema-rs is loaded,
    whether the schema cache is empty or full; nor the Gateway API rules, for a Service."""
    import subprocess
    import sys

    code = ("import sys; from grader.manifests import check; "
            f"found, problems = check({SERVICE!r}); "
            "print(len(found), len(problems), 'jsonschema' in sys.modules, 'jsonschema_rs' in sys.modules, "
            "'grader.rules.gateway' in sys.modules)")
    env = dict(os.environ, SVCLAB_SCHEMA_CACHE=str(tmp_path))
    for _ in ("empty cache", "full cache"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        assert out.stdout.split() == ["1", "0", "False", "False", "False"]
    assert list(tmp_path.glob("*/service-v1.*.code"))


def test_an_invalid_object_still_gets_every_detailed_message():
    text = SERVICE.replace("selector:", "selecter:").replace("port: 80", "port: '80'")
    assert issues(text) == [
        ("spec.ports[0].port", "must be an integer, got '80' (remove the quotes)"),
        ("spec.selecter", "unknown field 'selecter' (did you mean 'selector'?)"),
    ]


def test_cross_check_catches_a_fast_validator_that_accepts_too_much(monkeypatch):
    class AcceptsEverything:
        def is_valid(self, obj):
            return True

    monkeypatch.setattr(schema, "_fast_validator", lambda kind: AcceptsEverything())
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
           "spec": {"selecter": {"a": "b"}}}
    with pytest.raises(AssertionError, match="the fast validator accepts what jsonschema refuses"):
        schema.schema_issues(bad)
    monkeypatch.setattr(schema, "CROSS_CHECK", False)
    assert schema.schema_issues(bad) == []  # what production would then (wrongly) say
