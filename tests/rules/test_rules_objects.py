"""EndpointSlice, Endpoints, Ingress and ConfigMap rules."""
from __future__ import annotations

import pytest

from grader.manifests import check


def issues(obj: dict) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in check(obj)[1]]


def slice_(address_type: str, addresses: list[str]) -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "ext-1", "labels": {"kubernetes.io/service-name": "ext"}},
            "addressType": address_type, "endpoints": [{"addresses": addresses}],
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}


@pytest.mark.parametrize("atype,addr", [("IPv4", "192.0.2.10"), ("IPv6", "2001:db8::1"), ("FQDN", "db.example.com")])
def test_endpointslice_valid(atype, addr):
    assert issues(slice_(atype, [addr])) == []


@pytest.mark.parametrize("atype,addr,reason", [
    ("IPv4", "300.1.1.1", "is not an IPv4 address"),
    ("IPv4", "127.0.0.1", "loopback"),
    ("IPv4", "169.254.169.254", "link-local"),
    ("FQDN", "DB_host", "not a fully qualified domain name"),
])
def test_endpointslice_addresses_match_type(atype, addr, reason):
    got = issues(slice_(atype, [addr]))
    assert len(got) == 1 and got[0][0] == "endpoints[0].addresses[0]" and reason in got[0][1]


def test_endpointslice_address_of_the_other_family_is_reported_at_the_list():
    """discovery/validation ValidateEndpointSlice: a valid IP of the wrong family is an
    error at endpoints[i].addresses (checked against kube-apiserver v1.37, tests/controlplane)."""
    got = issues(slice_("IPv4", ["2001:db8::1"]))
    assert len(got) == 1 and got[0][0] == "endpoints[0].addresses" and "IPv4 is required" in got[0][1]


def test_endpointslice_address_type_and_empty_addresses():
    got = issues(slice_("IP", ["192.0.2.1"]))
    assert [p for p, _ in got] == ["addressType"]
    assert [p for p, _ in issues(slice_("IPv4", []))] == ["endpoints[0].addresses"]


def test_endpoints_object():
    ep = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
          "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 80}]}]}
    assert issues(ep) == []
    ep["subsets"][0]["addresses"][0]["ip"] = "0.0.0.0"
    ep["subsets"][0]["ports"].append({"port": 81})
    assert [p for p, _ in issues(ep)] == [
        "subsets[0].addresses[0].ip", "subsets[0].ports[0].name", "subsets[0].ports[1].name"]


def ingress(path: dict, host: str = "shop.example.com") -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop"},
            "spec": {"rules": [{"host": host, "http": {"paths": [path]}}]}}


GOOD_PATH = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}


def test_ingress_valid():
    assert issues(ingress(GOOD_PATH)) == []
    assert issues(ingress(GOOD_PATH, host="*.example.com")) == []


def test_ingress_invalid():
    assert [p for p, _ in issues(ingress(GOOD_PATH, host="10.0.0.1"))] == ["spec.rules[0].host"]
    bad = {**GOOD_PATH, "path": "shop", "backend": {"service": {"name": "web", "port": {}}}}
    assert [p for p, _ in issues(ingress(bad))] == [
        "spec.rules[0].http.paths[0].backend", "spec.rules[0].http.paths[0].path"]
    assert [p for p, _ in issues(ingress({**GOOD_PATH, "pathType": "prefix"}))] == [
        "spec.rules[0].http.paths[0].pathType"]


def test_configmap_keys():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
          "data": {"app.properties": "x", "LOG_LEVEL": "debug"}}
    assert issues(cm) == []
    cm["data"]["bad/key"] = "x"
    assert [p for p, _ in issues(cm)] == ['data["bad/key"]']
