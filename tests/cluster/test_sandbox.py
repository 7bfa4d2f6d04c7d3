"""The submission sandbox: allowlisted kinds, own namespace, Pod Security baseline."""
from __future__ import annotations

import copy

import pytest

from grader.kind.images import AGNHOST_IMAGE
from grader.manifests import load
from grader.sandbox import ALLOWED_KINDS, image_warnings, sandbox_problems

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
       "spec": {"containers": [{"name": "c", "image": AGNHOST_IMAGE,
                                "ports": [{"containerPort": 8080}]}]}}


def refused(obj: dict, namespace: str = "lab1") -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in sandbox_problems(load(obj), namespace)]


def with_spec(**changes) -> dict:
    obj = copy.deepcopy(POD)
    obj["spec"].update(changes)
    return obj


def with_container(**changes) -> dict:
    obj = copy.deepcopy(POD)
    obj["spec"]["containers"][0].update(changes)
    return obj


def test_plain_pod_is_allowed():
    assert refused(POD) == []


def test_allowlist_matches_design():
    assert {"Deployment", "StatefulSet", "Pod", "Service", "NetworkPolicy", "ConfigMap"} <= ALLOWED_KINDS
    assert "Namespace" not in ALLOWED_KINDS


def test_cluster_scoped_kind_is_refused_with_location():
    (p,) = sandbox_problems(load("apiVersion: v1\nkind: Namespace\nmetadata: {name: evil}\n"), "lab1")
    assert str(p).startswith("<string>, document 1 (Namespace/evil): kind: a Namespace may not be "
                             "created in a lab: it is cluster-wide, and submissions may only contain")


def test_other_namespace_is_refused():
    obj = copy.deepcopy(POD)
    obj["metadata"]["namespace"] = "kube-system"
    assert [p for p, _ in refused(obj)] == ["metadata.namespace"]
    obj["metadata"]["namespace"] = "lab1"
    assert refused(obj) == []


@pytest.mark.parametrize("field", ["hostNetwork", "hostPID", "hostIPC"])
def test_host_namespaces(field):
    assert refused(with_spec(**{field: False})) == []
    assert [p for p, _ in refused(with_spec(**{field: True}))] == [f"spec.{field}"]


def test_host_path_volume():
    assert refused(with_spec(volumes=[{"name": "tmp", "emptyDir": {}}])) == []
    got = refused(with_spec(volumes=[{"name": "root", "hostPath": {"path": "/"}}]))
    assert [p for p, _ in got] == ["spec.volumes[0].hostPath"]


def test_privileged_and_capabilities():
    assert [p for p, _ in refused(with_container(securityContext={"privileged": True}))] == [
        "spec.containers[0].securityContext.privileged"]
    ok = with_container(securityContext={"capabilities": {"drop": ["ALL"]}})
    assert refused(ok) == []
    # Any added capability is refused, even ones Pod Security 'baseline' would let through.
    bad = with_container(securityContext={"capabilities": {"add": ["NET_BIND_SERVICE", "NET_ADMIN"]}})
    assert [p for p, _ in refused(bad)] == ["spec.containers[0].securityContext.capabilities.add[0]",
                                            "spec.containers[0].securityContext.capabilities.add[1]"]


def test_host_port_proc_mount_and_seccomp():
    obj = with_container(ports=[{"containerPort": 80, "hostPort": 80}],
                         securityContext={"procMount": "Unmasked",
                                          "seccompProfile": {"type": "Unconfined"}})
    assert sorted(p for p, _ in refused(obj)) == [
        "spec.containers[0].ports[0].hostPort",
        "spec.containers[0].securityContext.procMount",
        "spec.containers[0].securityContext.seccompProfile.type",
    ]


def test_sysctls():
    safe = with_spec(securityContext={"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]})
    assert refused(safe) == []
    unsafe = with_spec(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]})
    assert [p for p, _ in refused(unsafe)] == ["spec.securityContext.sysctls[0].name"]


def test_deployment_template_is_checked():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {"hostNetwork": True, "containers": POD["spec"]["containers"]}}}}
    assert [p for p, _ in refused(dep)] == ["spec.template.spec.hostNetwork"]


def test_node_port_allowed_external_ips_refused():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}
    assert refused(svc) == []
    svc["spec"]["externalIPs"] = ["203.0.113.5"]
    assert [p for p, _ in refused(svc)] == ["spec.externalIPs"]


@pytest.mark.parametrize("image,warn", [("nginx", True), ("nginx:latest", True), ("nginx:1.27", False),
                                        ("localhost:5000/app", True), ("localhost:5000/app:v1", False),
                                        ("nginx@sha256:" + "a" * 64, False)])
def test_image_warnings(image, warn):
    got = image_warnings(load(with_container(image=image)))
    assert bool(got) is warn


# --------------------------------------------------------------------------- hand-written endpoints

SELECTORLESS = """\
apiVersion: v1
kind: Service
metadata: {name: kube}
spec:
  ports: [{name: https, port: 443, targetPort: 6443}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-1
  labels: {kubernetes.io/service-name: kube}
addressType: IPv4
ports: [{name: https, port: 6443}]
endpoints: [{addresses: ["172.18.0.2"]}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: kube}
subsets: [{addresses: [{ip: 10.244.1.7}], ports: [{name: https, port: 6443}]}]
"""


def test_endpoints_and_endpointslices_are_not_allowed():
    assert not {"Endpoints", "EndpointSlice"} & ALLOWED_KINDS
    assert "ReplicaSet" not in ALLOWED_KINDS


def test_selectorless_service_pointed_at_the_node_is_refused_with_the_reason():
    problems = sandbox_problems(load(SELECTORLESS), "lab1")
    assert [(p.kind, p.path) for p in problems] == [("EndpointSlice", "kind"), ("Endpoints", "kind")]
    slice_, endpoints = problems
    assert slice_.message.startswith("an EndpointSlice may not be created in a lab: hand-written endpoints can "
                                     "point a Service at any address, including the node and other "
                                     "namespaces; use a selector")
    assert endpoints.message.startswith("an Endpoints object may not be created in a lab: hand-written endpoints")


def test_load_sandboxed_raises_for_endpoints_and_unbuildable_yaml():
    from grader.manifests import ManifestError
    from grader.sandbox import load_sandboxed

    with pytest.raises(ManifestError) as info:
        load_sandboxed(SELECTORLESS, "lab1")
    assert [p.kind for p in info.value.problems] == ["EndpointSlice", "Endpoints"]
    with pytest.raises(ManifestError) as info:
        load_sandboxed("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: !!set {a}\n", "lab1")
    assert [p.path for p in info.value.problems] == ["data"]


def test_offline_namespace_apply_refuses_instead_of_crashing():
    from grader.cluster.offline import OfflineCluster
    from grader.manifests import ManifestError

    ns = OfflineCluster().namespace("lab1")
    for text in (SELECTORLESS, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                               "binaryData: {a: !!binary aGVsbG8=}\n",
                 "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: "
                 + "1" * 5000 + "}]}\n"):
        with pytest.raises(ManifestError):
            ns.apply(text)


def test_replicaset_is_refused_by_kind_but_its_images_are_still_warned_about():
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
          "spec": {"selector": {"matchLabels": {"a": "b"}},
                   "template": {"metadata": {"labels": {"a": "b"}},
                                "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "nginx"}]}}}}
    assert refused(rs) == [("kind", "a ReplicaSet may not be created in a lab: submissions may only contain "
                            + ", ".join(sorted(ALLOWED_KINDS)))]
    assert [w.path for w in image_warnings(load(rs))] == ["spec.template.spec.containers[0].image"]


def test_every_container_list_is_checked_in_pods_and_templates():
    from grader.rules.workloads import CONTAINER_LISTS

    assert CONTAINER_LISTS == ("initContainers", "containers", "ephemeralContainers")
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {"initContainers": [{"name": "i", "image": "busybox",
                                                              "securityContext": {"privileged": True}}],
                                          "containers": [{"name": "c", "image": "nginx:1.27"}]}}}}
    assert [p for p, _ in refused(dep)] == ["spec.template.spec.initContainers[0].securityContext.privileged"]
    assert [w.path for w in image_warnings(load(dep))] == ["spec.template.spec.initContainers[0].image"]


def test_kinds_are_named_with_the_right_article() -> None:
    from grader.k8s.wording import a_kind
    assert [a_kind(k) for k in ("Service", "Ingress", "EndpointSlice", "Endpoints")] == \
        ["a Service", "an Ingress", "an EndpointSlice", "an Endpoints object"]
