"""grader.lint: warnings for what the API server accepts but silently does nothing useful.
Each rule is tested with the mistake, with the correct manifest (no warning), and for the
words a learner reads."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader import lint as lint_mod
from grader.cli import main
from grader.kind.images import AGNHOST_IMAGE
from grader.lint import LintWarning, lint
from grader.manifests import ManifestError, load

DEPLOYMENT = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  selector: {{matchLabels: {{app: web, tier: front}}}}
  template:
    metadata: {{labels: {{app: web, tier: front}}}}
    spec:
      containers:
      - name: web
        image: {AGNHOST_IMAGE}
        args: [netexec, --http-port=8080]
        ports: [{{containerPort: 8080, name: http}}]
"""


def yaml(*docs: str) -> str:
    return "---\n".join(textwrap.dedent(d) for d in docs)


def service(selector: str = "{app: web}", ports: str = "[{port: 80, targetPort: http}]",
            name: str = "web", extra: str = "") -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {selector}
  ports: {ports}{extra}
"""


def messages(text: str) -> list[tuple[str, str, str]]:
    return [(w.rule, w.path, w.message) for w in lint(text)]


# ------------------------------------------------------------------ Service selector

def test_a_selector_that_matches_the_pod_template_is_fine():
    assert lint(yaml(DEPLOYMENT, service())) == []
    assert lint(yaml(DEPLOYMENT, service("{app: web, tier: front}"))) == []


def test_a_selector_matching_no_pod_names_the_closest_labels_and_what_differs():
    got = messages(yaml(DEPLOYMENT, service("{app: web, tier: frontend}")))
    assert got == [("service-selector", "spec.selector",
                    "app=web,tier=frontend matches no pod in these manifests, so the Service gets "
                    "no endpoints; closest: Deployment/web has pods labelled app=web,tier=front "
                    "(tier is 'front', not 'frontend')")]


def test_a_selector_key_the_pods_do_not_have():
    [(_, _, message)] = messages(yaml(DEPLOYMENT, service("{app: web, version: v2}")))
    assert message.endswith("closest: Deployment/web has pods labelled app=web,tier=front "
                            "(no label 'version')")


def test_pods_in_another_namespace_do_not_count_and_the_message_says_why():
    other_ns = DEPLOYMENT.replace("metadata: {name: web}", "metadata: {name: web, namespace: shop}")
    [(rule, path, message)] = messages(yaml(other_ns, service()))
    assert (rule, path) == ("service-selector", "spec.selector")
    assert "closest: Deployment/web in namespace 'shop' (a selector only sees its own namespace, " \
           "'default') has pods labelled app=web,tier=front" in message


def test_a_service_alone_says_there_are_no_pods_to_select():
    [(_, _, message)] = messages(service())
    assert message.endswith("there are no pods in these manifests (check the files that "
                            "create them together)")


def test_services_without_a_selector_or_of_type_externalname_are_not_linted():
    selectorless = service().replace("  selector: {app: web}\n", "")
    external = yaml(service(extra="\n  type: ExternalName\n  externalName: db.example.com")
                    .replace("  selector: {app: web}\n", ""))
    assert lint(selectorless) == [] and lint(external) == []
    assert lint(service(selector="{}")) == []


def test_a_bare_pod_and_a_statefulset_are_selectable_too():
    pod = """
apiVersion: v1
kind: Pod
metadata: {name: one, labels: {app: web}}
spec:
  containers: [{name: c, image: nginx:1.27, ports: [{containerPort: 8080, name: http}]}]
"""
    assert lint(yaml(pod, service())) == []


# ------------------------------------------------------------------ targetPort

def test_a_named_target_port_no_container_declares():
    got = messages(yaml(DEPLOYMENT, service(ports="[{port: 80, targetPort: htp}]")))
    assert got == [("service-target-port", "spec.ports[0].targetPort",
                    "no selected container declares a TCP port named 'htp' (named ports of "
                    "Deployment/web: 'http' (8080/TCP)); pods without it get no endpoint for this port")]


def test_a_named_port_with_another_protocol_does_not_resolve():
    [(_, _, message)] = messages(yaml(DEPLOYMENT, service(
        ports="[{port: 53, targetPort: http, protocol: UDP}]")))
    assert message.startswith("no selected container declares a UDP port named 'http'")


def test_a_numeric_target_port_no_container_declares():
    got = messages(yaml(DEPLOYMENT, service(ports="[{port: 80, targetPort: 9090}]")))
    assert got == [("service-target-port", "spec.ports[0].targetPort",
                    "no selected container declares containerPort 9090/TCP (ports of "
                    "Deployment/web: 8080/TCP); traffic is sent to 9090 anyway, so check that "
                    "something listens there")]


def test_a_missing_target_port_defaults_to_the_port():
    assert lint(yaml(DEPLOYMENT, service(ports="[{port: 8080}]"))) == []
    [(_, path, message)] = messages(yaml(DEPLOYMENT, service(ports="[{port: 80}]")))
    assert path == "spec.ports[0].port"
    assert "containerPort 80/TCP (targetPort defaults to port)" in message


def test_only_the_pods_that_lack_the_port_are_named():
    canary = DEPLOYMENT.replace("name: web}", "name: web-canary}").replace(
        "ports: [{containerPort: 8080, name: http}]", "ports: [{containerPort: 8080, name: web}]")
    [(_, _, message)] = messages(yaml(DEPLOYMENT, canary, service()))
    assert message == ("the pods of Deployment/web-canary do not declare a TCP port named 'http' "
                       "(named ports of Deployment/web, Deployment/web-canary: 'http' (8080/TCP), "
                       "'web' (8080/TCP)); pods without it get no endpoint for this port")


# ------------------------------------------------------------------ NetworkPolicy

def policy(selector: str) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: np}}
spec:
  podSelector: {selector}
  policyTypes: [Ingress]
"""


def test_a_policy_selecting_the_pods_is_fine_and_an_empty_selector_selects_all():
    assert lint(yaml(DEPLOYMENT, policy("{matchLabels: {app: web}}"))) == []
    assert lint(yaml(DEPLOYMENT, policy("{}"))) == []
    assert lint(policy("{}")) == []


def test_a_policy_selecting_no_pod():
    got = messages(yaml(DEPLOYMENT, policy("{matchLabels: {app: wbe}}")))
    assert got == [("networkpolicy-pod-selector", "spec.podSelector",
                    "app=wbe selects no pod in namespace 'default' in these manifests, so this "
                    "policy isolates nothing; closest: Deployment/web has pods labelled "
                    "app=web,tier=front (app is 'web', not 'wbe')")]


def test_a_policy_with_match_expressions_selecting_no_pod_lists_the_pods():
    sel = "{matchExpressions: [{key: tier, operator: In, values: [back]}]}"
    [(_, _, message)] = messages(yaml(DEPLOYMENT, policy(sel)))
    assert message == ("tier=back selects no pod in namespace 'default' in these manifests, "
                       "so this policy isolates nothing; pods there: Deployment/web app=web,tier=front")


# ------------------------------------------------------------------ Ingress

def ingress(backend: str) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: ing}}
spec:
  rules:
  - http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {backend}}}}}
"""


def test_an_ingress_backend_that_exists_is_fine():
    named = service(ports="[{name: web, port: 80, targetPort: http}]")
    assert lint(yaml(DEPLOYMENT, service(), ingress("{name: web, port: {number: 80}}"))) == []
    assert lint(yaml(DEPLOYMENT, named, ingress("{name: web, port: {name: web}}"))) == []


def test_an_ingress_backend_naming_a_missing_service_suggests_one():
    got = messages(yaml(DEPLOYMENT, service(), ingress("{name: wbe, port: {number: 80}}")))
    assert got == [("ingress-backend", "spec.rules[0].http.paths[0].backend.service.name",
                    "no Service 'wbe' in namespace 'default' in these manifests (did you mean "
                    "'web'?); unless it already exists in the cluster, this backend is not found")]


def test_an_ingress_backend_naming_the_target_port_instead_of_the_service_port():
    got = messages(yaml(DEPLOYMENT, service(), ingress("{name: web, port: {number: 8080}}")))
    assert got == [("ingress-backend", "spec.rules[0].http.paths[0].backend.service.port.number",
                    "Service 'web' has no port 8080 (its ports: 80); a backend names the "
                    "Service's port, not the pod's targetPort")]


def test_an_ingress_backend_naming_a_port_name_that_does_not_exist():
    got = messages(yaml(DEPLOYMENT, service(), ingress("{name: web, port: {name: http}}")))
    assert got == [("ingress-backend", "spec.rules[0].http.paths[0].backend.service.port.name",
                    "Service 'web' has no port named 'http' (its port names: none (name the "
                    "port, or use its number))")]


def test_the_default_backend_is_checked_too():
    text = yaml(DEPLOYMENT, service(), """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ing}
spec:
  defaultBackend: {service: {name: nope, port: {number: 80}}}
""")
    [(_, path, message)] = messages(text)
    assert path == "spec.defaultBackend.service.name"
    assert message == ("no Service 'nope' in namespace 'default' in these manifests (Services there: "
                       "web); unless it already exists in the cluster, this backend is not found")


def httproute(refs: str) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: r}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - backendRefs: {refs}
"""


def test_httproute_backends_are_checked_like_ingress_backends():
    app = yaml(DEPLOYMENT, service())
    assert lint(yaml(app, httproute("[{name: web, port: 80}]"))) == []
    got = messages(yaml(app, httproute(
        "[{name: web, port: 8080}, {name: wbe, port: 80}, {name: web, port: 80, namespace: other},"
        " {group: example.com, kind: Bucket, name: b}]")))
    assert got == [
        ("httproute-backend", "spec.rules[0].backendRefs[0].port",
         "Service 'web' has no port 8080 (its ports: 80); a backend names the Service's port, "
         "not the pod's targetPort"),
        ("httproute-backend", "spec.rules[0].backendRefs[1].name",
         "no Service 'wbe' in namespace 'default' in these manifests (did you mean 'web'?); "
         "unless it already exists in the cluster, this backend is not found"),
        ("httproute-backend", "spec.rules[0].backendRefs[2].name",
         "no Service 'web' in namespace 'other' in these manifests; unless it already exists "
         "in the cluster, this backend is not found"),
    ]


# ------------------------------------------------------------------ the Python API

def test_warnings_are_located_like_problems_and_come_in_input_order(tmp_path: Path):
    (tmp_path / "a.yaml").write_text(yaml(DEPLOYMENT, service("{app: nope}")))
    (tmp_path / "b.yaml").write_text(ingress("{name: missing, port: {number: 80}}"))
    warnings = lint(tmp_path)
    assert [str(w) for w in warnings] == [
        f"{tmp_path / 'a.yaml'}, document 2 (Service/web): spec.selector: app=nope matches no pod "
        "in these manifests, so the Service gets no endpoints; closest: Deployment/web has pods "
        "labelled app=web,tier=front (app is 'web', not 'nope')",
        f"{tmp_path / 'b.yaml'}, document 1 (Ingress/ing): spec.rules[0].http.paths[0].backend."
        "service.name: no Service 'missing' in namespace 'default' in these manifests (Services "
        "there: web); unless it already exists in the cluster, this backend is not found",
    ]
    assert all(isinstance(w, LintWarning) for w in warnings)
    assert (warnings[0].file, warnings[0].doc, warnings[0].kind, warnings[0].name) == \
        (str(tmp_path / "a.yaml"), 1, "Service", "web")


def test_lint_takes_loaded_manifests_and_refuses_invalid_input():
    loaded = load(yaml(DEPLOYMENT, service("{app: nope}")))
    assert [w.rule for w in lint(loaded)] == ["service-selector"]
    with pytest.raises(ManifestError, match="unknown field 'selecter'"):
        lint(service().replace("selector:", "selecter:"))


def test_rules_can_be_chosen_and_new_ones_registered(monkeypatch: pytest.MonkeyPatch):
    text = yaml(DEPLOYMENT, service("{app: nope}"), policy("{matchLabels: {app: nope}}"))
    assert [w.rule for w in lint(text, rules=["networkpolicy-pod-selector"])] == \
        ["networkpolicy-pod-selector"]
    with pytest.raises(ValueError, match="unknown lint rule 'nope'"):
        lint(text, rules=["nope"])

    monkeypatch.setattr(lint_mod, "RULES", dict(lint_mod.RULES))

    @lint_mod.rule("every-deployment")
    def _deployments(index):
        for m in index.of_kind("Deployment"):
            yield index.warning(m, "metadata.name", "seen", "every-deployment")

    assert [str(w) for w in lint(DEPLOYMENT)] == [
        "<string>, document 1 (Deployment/web): metadata.name: seen"]


# ------------------------------------------------------------------ svclab check

def test_check_prints_warnings_and_still_exits_0(tmp_path: Path, capsys):
    path = tmp_path / "app.yaml"
    path.write_text(yaml(DEPLOYMENT, service("{app: web, tier: frontend}")))
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"warning: {path}, document 2 (Service/web): spec.selector: app=web,tier=frontend matches "
        "no pod in these manifests, so the Service gets no endpoints; closest: Deployment/web has "
        "pods labelled app=web,tier=front (tier is 'front', not 'frontend')",
        "OK, 2 objects (1 warning)",
    ]


def test_check_strict_fails_on_warnings(tmp_path: Path, capsys):
    path = tmp_path / "app.yaml"
    path.write_text(yaml(DEPLOYMENT, service(ports="[{port: 80, targetPort: htp}]")))
    assert main(["check", "--strict", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"warning: {path}, document 2 (Service/web): spec.ports[0].targetPort:")
    assert "OK" not in captured.out
    assert captured.err == "1 warning found (--strict: warnings fail the check)\n"
    path.write_text(yaml(DEPLOYMENT, service()))
    assert main(["check", "--strict", str(path)]) == 0
    assert capsys.readouterr().out == "OK, 2 objects\n"


def test_check_does_not_lint_input_with_problems(tmp_path: Path, capsys):
    """With the Deployment refused, "matches no pod" would be a false lead."""
    path = tmp_path / "app.yaml"
    path.write_text(yaml(DEPLOYMENT.replace("replicas", "x").replace("selector:", "selektor:"),
                         service()))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "selektor" in out and "warning:" not in out
