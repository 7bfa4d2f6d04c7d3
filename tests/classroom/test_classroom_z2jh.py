"""The Zero to JupyterHub values for a class (classroom/z2jh-values.yaml): each learner's
live namespace carries exactly the course's guardrails, and its default NetworkPolicy keeps
other learners out while the learner's own pods still reach each other."""
from __future__ import annotations

from pathlib import Path

import yaml

from grader.guardrails import guardrail_objects
from grader.model.matrix import compute_matrix
from grader.model.objects import ContainerPort, NamespaceInfo, Pod, namespace_labels

VALUES = Path(__file__).resolve().parents[2] / "classroom" / "z2jh-values.yaml"


def _values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def learner_objects(namespace: str) -> list[dict]:
    template = _values()["custom"]["svclab"]["learnerNamespace"]
    return list(yaml.safe_load_all(template.replace("{namespace}", namespace)))


def test_a_learner_namespace_has_exactly_the_course_guardrails() -> None:
    objects = learner_objects("svclab-live-ada")
    by_kind = {o["kind"]: o for o in objects}
    for expected in guardrail_objects("svclab-live-ada"):
        assert by_kind[expected["kind"]] == expected, expected["kind"]
    assert all(o["metadata"].get("namespace", o["metadata"]["name"]) == "svclab-live-ada" for o in objects)


def test_the_learners_credentials_edit_only_their_own_namespace() -> None:
    binding = next(o for o in learner_objects("svclab-live-ada") if o["kind"] == "RoleBinding")
    assert binding["metadata"]["namespace"] == "svclab-live-ada"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "learner", "namespace": "svclab-live-ada"}]
    assert not any(o["kind"] in ("ClusterRoleBinding", "ClusterRole") for o in learner_objects("x"))


def test_learners_cannot_reach_each_others_pods() -> None:
    ports = (ContainerPort(80, "TCP", "http"),)
    listening = frozenset({(80, "TCP")})
    names = ("svclab-live-ada", "svclab-live-bob")
    pods = [Pod(ns, name, f"10.244.0.{10 + i}", {"app": name}, ports, listening)
            for i, (ns, name) in enumerate((ns, name) for ns in names for name in ("web", "client"))]
    namespaces = {ns: NamespaceInfo(ns, namespace_labels(ns, {})) for ns in names}
    policies = [o for ns in names for o in learner_objects(ns) if o["kind"] == "NetworkPolicy"]

    matrix = compute_matrix(pods, namespaces, policies)

    for r in matrix.results:
        same_learner = r.src.split("/")[0] == r.dst.split("/")[0]
        assert r.allowed == same_learner, f"{r.src} -> {r.dst}: {r.reason}"


def test_extra_config_runs_in_order_and_the_exchange_is_shared() -> None:
    values = _values()
    # The chart runs extraConfig snippets in key order: the live-namespace hook wraps the
    # views hook, so it must come second.
    assert sorted(values["hub"]["extraConfig"]) == ["10-svclab-views", "20-svclab-live-namespaces"]
    config = values["singleuser"]["extraFiles"]["nbgrader-config"]["stringData"]
    mount = values["singleuser"]["storage"]["extraVolumeMounts"][0]["mountPath"]
    assert f'c.Exchange.root = "{mount}"' in config and "JupyterHubAuthPlugin" in config
    assert values["cull"]["enabled"] is True
