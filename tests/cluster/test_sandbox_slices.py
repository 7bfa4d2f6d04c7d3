"""Hand-written EndpointSlices where a lab part opts in (grader.sandbox.SliceScope): admitted
only when the slice can send traffic nowhere the namespace could not already reach -- its
own pods' IPs, for its own Service without a selector -- and refused everywhere else, with
the file, document, object, field and the reason (CVE-2021-25740)."""
from __future__ import annotations

import pytest

from grader.cluster.offline import OfflineCluster
from grader.manifests import ManifestError, load
from grader.sandbox import SliceScope, sandbox_problems

PODS = {"10.244.0.11": "inventory-a", "10.244.0.12": "inventory-b"}


def manifests(*, selector: str = "", address: str = "10.244.0.11", labels: str = "{kubernetes.io/service-name: inv}",
              address_type: str = "IPv4", extra: str = "") -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata: {{name: inv}}
spec:
{selector}  ports: [{{name: http, port: 80}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: inv-1
  labels: {labels}
addressType: {address_type}
ports: [{{name: http, port: 8080}}]
endpoints:
- addresses: ["{address}"]
{extra}"""


def problems(text: str, services: dict[str, bool] | None = None) -> list[tuple[str, str, str]]:
    scope = SliceScope(PODS, services or {})
    return [(p.where(), p.path, p.message)
            for p in sandbox_problems(load(text, source="answer.yaml"), "lab3", endpoint_slices=lambda: scope)]


def test_a_slice_of_the_namespaces_pods_for_its_selectorless_service_is_admitted() -> None:
    assert problems(manifests()) == []
    # a Service the namespace already has counts as well as one in the submission
    only_slice = manifests().split("---\n", 1)[1]
    assert problems(only_slice, {"inv": False}) == []


def test_without_the_opt_in_a_slice_stays_refused() -> None:
    (p,) = sandbox_problems(load(manifests().split("---\n", 1)[1]), "lab3")
    assert (p.kind, p.path) == ("EndpointSlice", "kind")
    assert "hand-written endpoints can point a Service at any address" in p.message


def test_an_address_that_is_no_pod_of_the_namespace_is_refused_with_the_cve_reason() -> None:
    for address in ("172.18.0.2", "10.96.0.1", "10.244.1.99"):      # a node, the API server, another pod
        ((where, path, message),) = problems(manifests(address=address))
        assert where == "answer.yaml, document 2 (EndpointSlice/inv-1)"
        assert path == "endpoints[0].addresses[0]"
        assert message.startswith(f"'{address}' is not the IP of a pod in namespace lab3 "
                                  "(its pods now: inventory-a 10.244.0.11, inventory-b 10.244.0.12)")
        assert "CVE-2021-25740" in message


@pytest.mark.parametrize(("changes", "path", "why"), [
    ({"labels": "{app: inv}"}, 'metadata.labels["kubernetes.io/service-name"]', "is missing: this label"),
    ({"labels": "{kubernetes.io/service-name: other}"}, 'metadata.labels["kubernetes.io/service-name"]',
     "names Service 'other', which is neither in namespace lab3 nor in your submission"),
    ({"selector": "  selector: {app: inv}\n"}, 'metadata.labels["kubernetes.io/service-name"]',
     "which has a selector: the EndpointSlice controller owns its slices (labelled "
     "endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io)"),
    ({"labels": "{kubernetes.io/service-name: inv, endpointslice.kubernetes.io/managed-by: "
                "endpointslice-controller.k8s.io}"},
     'metadata.labels["endpointslice.kubernetes.io/managed-by"]', "marks the controller's own slices"),
    ({"address_type": "FQDN", "address": "10.244.0.11"}, "addressType", "must be 'IPv4' in a lab"),
    ({"extra": "  targetRef: {kind: Pod, namespace: kube-system, name: inventory-a}\n"},
     "endpoints[0].targetRef.namespace", "must be 'lab3' (or left out)"),
    ({"extra": "  targetRef: {kind: Pod, name: inventory-b}\n"},
     "endpoints[0].targetRef.name", "names pod 'inventory-b', but the address is pod inventory-a's IP"),
    ({"extra": "  targetRef: {kind: Node, name: n1}\n"}, "endpoints[0].targetRef.kind", "must be 'Pod'"),
])
def test_anything_else_is_refused_naming_the_field_and_why(changes: dict, path: str, why: str) -> None:
    found = problems(manifests(**changes))
    assert [p for _, p, _ in found] == [path], found
    assert why in found[0][2]


def test_a_selector_service_the_namespace_has_is_refused_too() -> None:
    only_slice = manifests().split("---\n", 1)[1]
    ((_, _, message),) = problems(only_slice, {"inv": True})
    assert "which has a selector" in message


def test_legacy_endpoints_stay_refused_even_where_slices_are_admitted() -> None:
    text = ("apiVersion: v1\nkind: Endpoints\nmetadata: {name: inv}\n"
            "subsets: [{addresses: [{ip: 10.244.0.11}], ports: [{name: http, port: 8080}]}]\n")
    ((_, path, message),) = problems(text)
    assert path == "kind" and message.startswith("an Endpoints object may not be created in a lab")


def test_the_offline_namespace_checks_its_own_pods_and_applies_nothing_of_a_refused_answer() -> None:
    cluster = OfflineCluster(say=lambda _: None)
    ns = cluster.namespace("lab3")
    ns.apply("apiVersion: v1\nkind: Pod\nmetadata: {name: inventory-a}\n"
             "spec: {containers: [{name: c, image: registry.k8s.io/pause:3.10}]}\n")
    ip = ns.pods()[0].ip
    with pytest.raises(ManifestError, match="may not be created in a lab"):
        ns.apply(manifests(address=ip))                       # not opted in
    ns.admits_endpoint_slices = True
    with pytest.raises(ManifestError, match="is not the IP of a pod in namespace lab3") as info:
        ns.apply(manifests(address="10.244.0.250"))
    assert info.value.problems[0].path == "endpoints[0].addresses[0]"
    assert ns.service("inv") is None                          # the Service of the refused answer is not there
    ns.apply(manifests(address=ip))
    assert [(e.ip, e.port) for e in ns.endpoints("inv")] == [(ip, 8080)]
    other = cluster.namespace("other")                        # another namespace of the same cluster
    other.admits_endpoint_slices = True
    with pytest.raises(ManifestError, match="is not the IP of a pod in namespace other"):
        other.apply(manifests(address=ip))
