"""The course namespace's guardrails, offline vs upstream: the same refusals in the same words.

Issue 13's contract: the offline model enforces the ResourceQuota and LimitRange the live
backend puts in every namespace (grader/guardrails.py, one definition for both), and a
learner reads the same message in either mode. Each case applies the same manifests to a
fresh offline namespace and to a fresh namespace on the real control plane, and compares
the refusal sentence by sentence, with only generated names and namespace names
normalised.
"""
from __future__ import annotations

import re
from typing import Iterator

import pytest

import grader
from grader.cluster.live import LiveCluster, LiveNamespace
from grader.cluster.offline import OfflineCluster
from grader.kind.images import AGNHOST_IMAGE
from grader.manifests import ManifestError
from tests.controlplane.upstream import ControlPlane, namespace_name

pytestmark = pytest.mark.controlplane


def service(name: str, kind: str = "ClusterIP") -> str:
    return (f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec:\n  type: {kind}\n"
            f"  selector: {{app: {name}}}\n  ports: [{{port: 80}}]\n")


def pod(name: str, memory: str | None = None) -> str:
    resources = f", resources: {{limits: {{memory: {memory}}}}}" if memory else ""
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  containers:\n"
            f"  - {{name: c, image: {AGNHOST_IMAGE}, args: [pause]{resources}}}\n")


@pytest.fixture
def live(live_env: ControlPlane, request: pytest.FixtureRequest) -> Iterator[LiveNamespace]:
    cluster = grader.connect(context=live_env.context, kubeconfig=str(live_env.kubeconfig), quiet=True)
    assert isinstance(cluster, LiveCluster)
    cluster._progress = False
    ns = cluster.namespace(namespace_name("guard", request))
    yield ns
    ns.delete()


@pytest.fixture
def offline(live: LiveNamespace):
    return OfflineCluster().namespace(live.name)   # the same name, so messages compare as they are


def refusal(ns, manifests: str) -> str:
    """The API server's sentence for a refused apply (after 'the API server refused it: ')."""
    with pytest.raises(ManifestError) as err:
        ns.apply(manifests)
    text = str(err.value)
    return re.sub(r"^.*?the API server refused it: ", "", text, flags=re.S).strip()


def _eventually_counted(live: LiveNamespace, resource: str, want: int) -> None:
    """The quota controller counts usage asynchronously; admission charges from its status."""
    import time
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        quota = live.cluster._api.core.read_namespaced_resource_quota("svclab-quota", live.name)
        used = (quota.status.used or {}) if quota.status else {}
        if used.get(resource) == str(want):
            return
        time.sleep(0.2)
    raise AssertionError(f"quota usage of {resource} never reached {want}")


def test_the_eleventh_service_is_refused_in_the_same_words(live: LiveNamespace, offline) -> None:
    ten = "---\n".join(service(f"s{i}") for i in range(10))
    for ns in (live, offline):
        ns.apply(ten)
    _eventually_counted(live, "services", 10)
    assert refusal(offline, service("s10")) == refusal(live, service("s10"))


def test_the_fourth_load_balancer_is_refused_in_the_same_words(live: LiveNamespace, offline) -> None:
    three = "---\n".join(service(f"lb{i}", "LoadBalancer") for i in range(3))
    for ns in (live, offline):
        ns.apply(three)
    _eventually_counted(live, "services.loadbalancers", 3)
    assert refusal(offline, service("lb3", "LoadBalancer")) == refusal(live, service("lb3", "LoadBalancer"))


def test_a_container_above_the_limit_range_max_is_refused_in_the_same_words(live: LiveNamespace,
                                                                         offline) -> None:
    assert refusal(offline, pod("fat", "1Gi")) == refusal(live, pod("fat", "1Gi"))


def _aggregate(message: str) -> tuple[str, set[str]]:
    """'<head>: [a, b]' -> (head, {a, b}). LimitRanger ranges over a Go map of resources,
    so upstream lists several violations in no fixed order (the model sorts them)."""
    head, sep, rest = message.partition(": [")
    assert sep and rest.endswith("]"), message
    parts = rest[:-1].split(", maximum ")     # each item reads "maximum <resource> usage ..."
    return head, {parts[0], *("maximum " + p for p in parts[1:])}


def test_two_limit_range_violations_are_listed_in_the_same_words(live: LiveNamespace, offline) -> None:
    greedy = pod("greedy", "1Gi").replace("limits: {memory: 1Gi}", "limits: {memory: 1Gi, cpu: '2'}")
    offline_head, offline_items = _aggregate(refusal(offline, greedy))
    live_head, live_items = _aggregate(refusal(live, greedy))
    assert (offline_head, offline_items) == (live_head, live_items)
    assert len(live_items) == 2
