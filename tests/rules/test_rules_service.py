"""Service rules the schema cannot express; one valid and one invalid case each."""
from __future__ import annotations

import pytest
import yaml

from grader.manifests import check


def svc(spec: dict, name: str = "backend") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def issues(obj: dict) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(obj)[1]]


PORT = {"port": 80, "targetPort": 8080}


def test_node_port_out_of_range_exact_wording():
    """Pinned wording (close to the API server's, plus the range)."""
    _, problems = check(svc({"type": "NodePort", "ports": [{**PORT, "nodePort": 80}]}))
    assert [str(p) for p in problems] == [
        "<object>, document 1 (Service/backend): spec.ports[0].nodePort: provided port 80 is not "
        "in the valid range; a nodePort must be between 30000 and 32767"]


@pytest.mark.parametrize("stype", ["NodePort", "LoadBalancer"])
def test_node_port_in_range_is_fine(stype):
    assert issues(svc({"type": stype, "ports": [{**PORT, "nodePort": 30080}]})) == []


def test_node_port_needs_a_node_port_type():
    got = issues(svc({"ports": [{**PORT, "nodePort": 30080}]}))
    assert got == [("spec.ports[0].nodePort", "may only be set when type is 'NodePort' or "
                    "'LoadBalancer' (this Service's type is 'ClusterIP')")]


def test_name_must_be_a_dns_label():
    assert issues(svc({"ports": [PORT]}, name="api-v2")) == []
    # a leading digit is fine since v1.37 (RelaxedServiceNameValidation GA)
    assert issues(svc({"ports": [PORT]}, name="2api")) == []
    got = issues(svc({"ports": [PORT]}, name="api.v2"))
    assert got[0][0] == "metadata.name"
    got = issues(svc({"ports": [PORT]}, name="My-Api"))
    assert "try 'my-api'" in got[0][1]
    # The suggestion must itself be a valid name: both slips fixed at once.
    got = issues(svc({"ports": [PORT]}, name="Bad_Name"))
    assert "(uppercase and '_' are not allowed: try 'bad-name')" in got[0][1]
    got = issues(svc({"ports": [PORT]}, name="bad_name"))
    assert "('_' is not allowed: try 'bad-name')" in got[0][1]


def test_ports_required_except_external_name_and_headless():
    assert issues(svc({"selector": {"app": "x"}})) == [
        ("spec.ports", "required: list at least one port (only ExternalName and headless "
         "Services may have none)")]
    assert issues(svc({"clusterIP": "None", "selector": {"app": "x"}})) == []
    assert issues(svc({"type": "ExternalName", "externalName": "db.example.com"})) == []


def test_port_range_and_target_port_forms():
    assert issues(svc({"ports": [{"port": 80, "targetPort": "http-alt"}]})) == []
    got = issues(svc({"ports": [{"port": 0, "targetPort": 70000}]}))
    assert got == [("spec.ports[0].port", "must be between 1 and 65535, got 0"),
                   ("spec.ports[0].targetPort", "must be between 1 and 65535, got 70000")]


@pytest.mark.parametrize("name,reason", [
    ("very-long-port-name", "at most 15 characters"),
    ("Http", "only lowercase letters"),
    ("-http", "must not start or end with '-'"),
    ("ht--tp", "must not contain '--'"),
    ("8080", "write the number without quotes"),
])
def test_target_port_names_are_iana_service_names(name, reason):
    got = issues(svc({"ports": [{"port": 80, "targetPort": name}]}))
    assert len(got) == 1 and got[0][0] == "spec.ports[0].targetPort" and reason in got[0][1]


def test_multiple_ports_need_unique_names():
    ok = svc({"ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]})
    assert issues(ok) == []
    got = issues(svc({"ports": [{"name": "web", "port": 80}, {"port": 443}]}))
    assert [p for p, _ in got] == ["spec.ports[1].name"]
    got = issues(svc({"ports": [{"name": "web", "port": 80}, {"name": "web", "port": 443}]}))
    assert got == [("spec.ports[1].name", "duplicate port name 'web' (also used by spec.ports[0])")]


def test_port_protocol_pairs_are_unique():
    ok = svc({"ports": [{"name": "dns", "port": 53}, {"name": "dns-udp", "port": 53, "protocol": "UDP"}]})
    assert issues(ok) == []
    got = issues(svc({"ports": [{"name": "a", "port": 53}, {"name": "b", "port": 53, "protocol": "TCP"}]}))
    assert got == [("spec.ports[1]", "duplicate port 53/TCP (already defined by spec.ports[0])")]


def test_protocol_value():
    got = issues(svc({"ports": [{"port": 80, "protocol": "tcp"}]}))
    assert got == [("spec.ports[0].protocol", "unsupported protocol 'tcp'; use 'TCP', 'UDP' or "
                    "'SCTP' (did you mean 'TCP'? values are case-sensitive)")]


def test_type_value():
    got = issues(svc({"type": "Nodeport", "ports": [PORT]}))
    assert got[0][0] == "spec.type" and "did you mean 'NodePort'?" in got[0][1]


@pytest.mark.parametrize("stype", ["NodePort", "LoadBalancer"])
def test_headless_cannot_be_node_port_or_load_balancer(stype):
    got = issues(svc({"type": stype, "clusterIP": "None", "ports": [PORT]}))
    assert got[0][0] == "spec.clusterIPs[0]" and f"may not be 'None' for a {stype} Service" in got[0][1]


def test_external_name_rules():
    got = issues(svc({"type": "ExternalName"}))
    assert [p for p, _ in got] == ["spec.externalName"]
    got = issues(svc({"type": "ExternalName", "externalName": "DB_host"}))
    assert [p for p, _ in got] == ["spec.externalName"]
    got = issues(svc({"type": "ExternalName", "externalName": "db.example.com.", "clusterIP": "10.96.0.5"}))
    assert [p for p, _ in got] == ["spec.clusterIPs"]
    # a selector on an ExternalName Service is ignored, not an error
    assert issues(svc({"type": "ExternalName", "externalName": "db.example.com", "selector": {"a": "b"}})) == []


def test_session_affinity():
    ok = svc({"ports": [PORT], "sessionAffinity": "ClientIP",
              "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}})
    assert issues(ok) == []
    got = issues(svc({"ports": [PORT], "sessionAffinity": "Sticky"}))
    assert [p for p, _ in got] == ["spec.sessionAffinity"]
    # without ClientIP affinity the config is dropped by defaulting, whatever it says
    assert issues(svc({"ports": [PORT], "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}})) == []
    got = issues(svc({"ports": [PORT], "sessionAffinity": "ClientIP",
                      "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}}))
    assert [p for p, _ in got] == ["spec.sessionAffinityConfig.clientIP.timeoutSeconds"]


def test_cluster_ip_must_be_an_ip():
    assert issues(svc({"ports": [PORT], "clusterIP": "10.96.0.10"})) == []
    assert [p for p, _ in issues(svc({"ports": [PORT], "clusterIP": "10.96.0"}))] == ["spec.clusterIPs[0]"]


def test_selector_labels_are_validated():
    got = issues(svc({"ports": [PORT], "selector": {"app": "has space"}}))
    assert got[0][0] == "spec.selector" and "label value 'has space' (key 'app') is invalid" in got[0][1]


def test_external_traffic_policy_only_on_node_port_types():
    ok = svc({"type": "NodePort", "externalTrafficPolicy": "Local", "ports": [PORT]})
    assert issues(ok) == []
    got = issues(svc({"externalTrafficPolicy": "Local", "ports": [PORT]}))
    assert [p for p, _ in got] == ["spec.externalTrafficPolicy"]


def test_yaml_text_reports_document_and_kind():
    text = yaml.safe_dump(svc({"type": "NodePort", "ports": [{**PORT, "nodePort": 99999}]}))
    (p,) = check("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n" + text)[1]
    assert (p.file, p.doc, p.kind, p.name) == ("<string>", 1, "Service", "backend")


def test_port_helpers_are_shared_by_services_and_endpoints():
    from grader.rules import endpoints, service

    assert service.app_protocol_issues({"appProtocol": "bad proto"}, "spec.ports[0]") == [
        ("spec.ports[0].appProtocol", "'bad proto' is invalid: " + service.qualified_name_problem("bad proto"))]
    assert service.app_protocol_issues({}, "p") == [] and service.app_protocol_issues({"appProtocol": "http"}, "p") == []
    assert [p for p, _ in service.port_name_issues("HTTP", "ports[1]")] == ["ports[1].name"]
    assert endpoints.app_protocol_issues is service.app_protocol_issues
    assert endpoints.port_name_issues is service.port_name_issues
    assert not hasattr(endpoints, "_app_protocol")


@pytest.mark.parametrize("ip, words", [("127.0.0.1", "loopback"), ("not-an-ip", "is not an IP address"),
                                       ("169.254.1.1", "link-local")])
def test_external_ips_are_checked_like_endpoint_addresses(ip, words):
    from grader.rules.names import endpoint_ip_problem

    got = issues(svc({"selector": {"app": "a"}, "ports": [{"port": 80}], "externalIPs": [ip]}))
    assert got == [("spec.externalIPs[0]", endpoint_ip_problem(ip))] and words in got[0][1]
