"""EndpointSlices as the controller builds them (kubernetes.io "EndpointSlices")."""
from __future__ import annotations

import pytest
from test_model_kit import deployment, pod, service

from grader.cluster.base import Endpoint
from grader.model.endpointslices import endpoints_column
from grader.model.state import ClusterState


@pytest.fixture()
def state() -> ClusterState:
    s = ClusterState()
    s.create_namespace("lab")
    return s


def test_only_selected_pods_are_endpoints(state: ClusterState) -> None:
    state.apply([deployment("web", {"app": "web"}, replicas=3), deployment("other", {"app": "other"}),
                 service("web", {"app": "web"})], "lab")
    web_ips = {p.ip for p in state.pods_in("lab") if p.labels["app"] == "web"}
    eps = state.endpoints("lab", "web")
    assert {e.ip for e in eps} == web_ips
    assert all(e.port == 8080 and e.protocol == "TCP" and e.port_name == "http" for e in eps)


def test_not_ready_pod_is_listed_but_not_ready(state: ClusterState) -> None:
    state.apply([deployment("web", {"app": "web"}, replicas=3), service("web", {"app": "web"})], "lab")
    sick = state.pods_in("lab")[0]
    state.set_ready(sick.name, False, namespace="lab")
    eps = {e.pod: e for e in state.endpoints("lab", "web")}
    assert len(eps) == 3                                    # still in the slice
    assert (eps[sick.key].ready, eps[sick.key].serving) == (False, False)
    assert sum(e.ready for e in eps.values()) == 2


def test_publish_not_ready_addresses_reports_every_endpoint_ready(state: ClusterState) -> None:
    state.apply([deployment("db", {"app": "db"}, replicas=2),
                 service("db", {"app": "db"}, clusterIP="None", publishNotReadyAddresses=True)], "lab")
    state.set_ready("app=db", False, namespace="lab")
    assert all(e.ready for e in state.endpoints("lab", "db"))


def test_named_target_port_only_on_pods_that_declare_it(state: ClusterState) -> None:
    with_name = pod("a", {"app": "mix"}, ports=[{"containerPort": 8080, "name": "web"}])
    other_number = pod("b", {"app": "mix"}, http_port=9090, ports=[{"containerPort": 9090, "name": "web"}])
    without = pod("c", {"app": "mix"}, ports=[{"containerPort": 8080}])
    svc = service("mix", {"app": "mix"}, ports=[{"name": "http", "port": 80, "targetPort": "web"}])
    state.apply([with_name, other_number, without, svc], "lab")
    got = {(e.pod, e.port) for e in state.endpoints("lab", "mix")}
    assert got == {("lab/a", 8080), ("lab/b", 9090)}
    slices = state.slices(state.service("lab", "mix"))
    assert len({sl.ports for sl in slices}) == len(slices)    # one slice per resolved port set


def test_selectorless_service_has_no_automatic_endpoints(state: ClusterState) -> None:
    state.apply([deployment("web", {"app": "web"}), service("manual", None),
                 service("empty", {})], "lab")
    assert state.endpoints("lab", "manual") == []
    assert state.endpoints("lab", "empty") == []


def test_manual_endpointslice_feeds_a_selectorless_service(state: ClusterState) -> None:
    slice_obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": {"name": "manual-1", "labels": {"kubernetes.io/service-name": "manual"}},
                 "addressType": "IPv4", "ports": [{"name": "http", "port": 9000, "protocol": "TCP"}],
                 "endpoints": [{"addresses": ["192.0.2.10"]},
                               {"addresses": ["192.0.2.11"], "conditions": {"ready": False}}]}
    state.apply([service("manual", None), slice_obj], "lab")
    eps = state.endpoints("lab", "manual")
    assert [(e.ip, e.port, e.ready, e.pod) for e in eps] == [
        ("192.0.2.10", 9000, True, None), ("192.0.2.11", 9000, False, None)]


def test_unset_serving_is_true_even_when_ready_is_false(state: ClusterState) -> None:
    """EndpointConditions (discovery/v1 API reference): a nil `ready` and a nil `serving` are
    each read as true on their own, as kube-proxy's endpointslice cache does; only an
    endpoint that is also `terminating` is a fallback, so ready=false alone carries nothing."""
    slice_obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": {"name": "manual-1", "labels": {"kubernetes.io/service-name": "manual"}},
                 "addressType": "IPv4", "ports": [{"name": "http", "port": 9000, "protocol": "TCP"}],
                 "endpoints": [{"addresses": ["192.0.2.11"], "conditions": {"ready": False}},
                               {"addresses": ["192.0.2.12"], "conditions": {"serving": False}}]}
    state.apply([service("manual", None), slice_obj], "lab")
    assert [(e.ip, e.ready, e.serving, e.terminating) for e in state.endpoints("lab", "manual")] == [
        ("192.0.2.11", False, True, False), ("192.0.2.12", True, False, False)]


def test_kube_proxy_uses_an_endpoints_first_address_and_dns_answers_every_one(state: ClusterState) -> None:
    """discovery/v1 Endpoint.addresses: "assumed to be fungible and clients may choose to only
    use the first element" (kubernetes issue 106267). kube-proxy reads addresses[0]; CoreDNS's
    EndpointSliceToEndpoints lists every address of a ready endpoint."""
    from grader.model import dns

    slice_obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                 "metadata": {"name": "manual-1", "labels": {"kubernetes.io/service-name": "manual"}},
                 "addressType": "IPv4", "ports": [{"name": "http", "port": 9000, "protocol": "TCP"}],
                 "endpoints": [{"addresses": ["192.0.2.10", "192.0.2.20"]}]}
    state.apply([service("manual", None), slice_obj], "lab")
    assert [e.ip for e in state.endpoints("lab", "manual")] == ["192.0.2.10"]
    (sl,) = state.slices(state.service("lab", "manual"))
    assert sl.to_dict()["endpoints"][0]["addresses"] == ["192.0.2.10", "192.0.2.20"]
    headless = {**service("bare", None), "spec": {"clusterIP": "None", "ports": [{"name": "http", "port": 9000}]}}
    state.apply([headless, {**slice_obj, "metadata": {"name": "bare-1",
                                                      "labels": {"kubernetes.io/service-name": "bare"}}}], "lab")
    assert sorted(dns.resolve(state, "bare.lab.svc.cluster.local", "lab").addresses) == ["192.0.2.10", "192.0.2.20"]


def test_legacy_endpoints_object_is_mirrored(state: ClusterState) -> None:
    legacy = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "manual"},
              "subsets": [{"addresses": [{"ip": "192.0.2.20"}], "ports": [{"name": "http", "port": 5432}]}]}
    state.apply([service("manual", None), legacy], "lab")
    assert [(e.ip, e.port) for e in state.endpoints("lab", "manual")] == [("192.0.2.20", 5432)]


def test_multi_port_service_lists_each_port(state: ClusterState) -> None:
    p = pod("p", {"app": "m"}, ports=[{"containerPort": 8080, "name": "http"},
                                       {"containerPort": 9090, "name": "metrics"}])
    svc = service("m", {"app": "m"}, ports=[{"name": "http", "port": 80, "targetPort": "http"},
                                             {"name": "metrics", "port": 9090, "targetPort": "metrics"}])
    state.apply([p, svc], "lab")
    assert sorted((e.port_name, e.port) for e in state.endpoints("lab", "m")) == [("http", 8080), ("metrics", 9090)]


def test_statefulset_hostname_only_when_subdomain_matches(state: ClusterState) -> None:
    state.apply([pod("a", {"app": "x"}, hostname="alpha", subdomain="hl"),
                 pod("b", {"app": "x"}, hostname="beta", subdomain="elsewhere"),
                 service("hl", {"app": "x"}, clusterIP="None")], "lab")
    (sl,) = state.slices(state.service("lab", "hl"))
    assert {e.pod: e.hostname for e in sl.endpoints} == {"lab/a": "alpha", "lab/b": None}


def test_kubectl_get_endpoints_column() -> None:
    # kubectl's formatEndpoints over the legacy Endpoints object, whose addresses the
    # endpoints controller sorts as strings.
    ready = [Endpoint(f"10.244.0.{i}", 8080) for i in (12, 3, 7)]
    assert endpoints_column(ready) == "10.244.0.12:8080,10.244.0.3:8080,10.244.0.7:8080"
    five = ready + [Endpoint("10.244.0.20", 8080), Endpoint("10.244.0.21", 8080)]
    assert endpoints_column(five) == "10.244.0.12:8080,10.244.0.20:8080,10.244.0.21:8080 + 2 more..."
    # Pods selected but none ready: the Endpoints object exists with only notReadyAddresses,
    # and kubectl prints an empty cell; no pods at all is "<none>".
    assert endpoints_column([Endpoint("10.244.0.9", 8080, ready=False)]) == ""
    assert endpoints_column([]) == "<none>"
    # A headless Service without ports lists bare addresses.
    assert endpoints_column([Endpoint("10.244.0.9", 0)]) == "10.244.0.9"


def test_a_service_selecting_no_pod_has_one_placeholder_slice(state: ClusterState) -> None:
    """reconciler.go adds a placeholder slice (no ports, no endpoints) when a selector
    Service would otherwise have none; a selectorless Service gets none at all."""
    state.apply([service("api", {"app": "api"}), deployment("web", {"app": "web"})], "lab")
    (placeholder,) = state.slices(state.service("lab", "api"))
    assert placeholder.ports == () and placeholder.endpoints == ()
    assert placeholder.name.startswith("api-") and placeholder.managed
    assert state.endpoints("lab", "api") == []
    # once a pod matches, the placeholder gives way to a real slice
    state.apply([deployment("api", {"app": "api"})], "lab")
    slices = state.slices(state.service("lab", "api"))
    assert len(slices) == 1 and slices[0].endpoints and slices[0].ports
