"""Per-learner live namespaces, as the Zero to JupyterHub values make them
(classroom/z2jh-values.yaml), proven on a real cluster: learner A's pods cannot reach
learner B's (real packets, the policy agent enforcing), A's credentials (the namespace's
`learner` ServiceAccount) cannot read or change B's namespace but can work in A's own, and
the quota holds against A's own credentials.

Run by `make test-live`; skipped unless SVCLAB_CONTEXT is the local cluster's context."""
from __future__ import annotations

import os
from typing import Any, Iterator

import pytest

from grader.cluster.base import Status
from grader.guardrails import QUOTA_HARD
from grader.kind.images import AGNHOST_IMAGE
from grader.labs.workloads import netexec_workload
from grader.localcluster.layout import CONTEXT
from tests.classroom.test_classroom_z2jh import learner_objects

pytestmark = [pytest.mark.live,
              pytest.mark.skipif(os.environ.get("SVCLAB_CONTEXT") != CONTEXT,
                                 reason=f"needs the local cluster (SVCLAB_CONTEXT={CONTEXT}; make test-live)")]

LEARNERS = ("svclab-live-ada", "svclab-live-bob")


@pytest.fixture(scope="module")
def admin() -> Any:
    from kubernetes import config

    return config.new_client_from_config(context=CONTEXT)


@pytest.fixture(scope="module")
def learners(admin: Any) -> Iterator[dict[str, Any]]:
    """Both learner namespaces, created as the hub's hook creates them, each with a web and
    a client pod; yields namespace -> the course's live Namespace handle."""
    from kubernetes import dynamic

    import grader

    cluster = grader.connect()
    handles = {}
    dyn = dynamic.DynamicClient(admin)
    for name in LEARNERS:
        handles[name] = cluster.namespace(name)
        for obj in learner_objects(name):
            if obj["kind"] in ("Namespace", "ResourceQuota", "LimitRange"):
                continue  # the course's own namespace() made these, the same guardrails
            api = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            api.server_side_apply(body=obj, namespace=name, field_manager="svclab-test", force_conflicts=True)
        handles[name].apply(netexec_workload("web", {"app": "web"}) + "---\n"
                            + netexec_workload("client", {"app": "client"}))
        handles[name].wait_ready()
    yield handles
    for handle in handles.values():
        handle.delete()


def _token_client(admin: Any, namespace: str) -> Any:
    """An API client holding the learner's own credentials (a token of the namespace's
    `learner` ServiceAccount, as the hub hands the learner's server)."""
    from kubernetes import client

    core = client.CoreV1Api(admin)
    token = core.create_namespaced_service_account_token(
        "learner", namespace, client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600))).status.token
    cfg = client.Configuration()
    cfg.host = admin.configuration.host
    cfg.ssl_ca_cert = admin.configuration.ssl_ca_cert
    cfg.api_key = {"authorization": f"Bearer {token}"}
    return client.ApiClient(cfg)


def test_learners_cannot_reach_each_others_pods_but_reach_their_own(learners: dict[str, Any]) -> None:
    for src in LEARNERS:
        for dst in LEARNERS:
            web = next(p for p in learners[dst].pods() if p.labels.get("app") == "web")
            out = learners[src].probe(f"{web.ip}:8080", frm="app=client")
            if src == dst:
                assert out.status is Status.OK, (src, dst, out)
            else:
                assert out.status is Status.TIMEOUT, (src, dst, out)


def test_a_learners_credentials_work_in_their_namespace_only(admin: Any, learners: dict[str, Any]) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    ada = client.CoreV1Api(_token_client(admin, LEARNERS[0]))
    assert ada.list_namespaced_pod(LEARNERS[0]).items                        # own namespace: yes
    for attempt in (lambda: ada.list_namespaced_pod(LEARNERS[1]),           # read B's
                    lambda: ada.delete_namespaced_pod("web", LEARNERS[1]),   # change B's
                    lambda: ada.list_namespace(),                            # list the cluster
                    lambda: client.RbacAuthorizationV1Api(ada.api_client).create_namespaced_role_binding(
                        LEARNERS[0], {"metadata": {"name": "escalate"}, "roleRef": {
                            "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
                            "subjects": [{"kind": "ServiceAccount", "name": "learner",
                                          "namespace": LEARNERS[0]}]})):
        with pytest.raises(ApiException) as refused:
            attempt()
        assert refused.value.status == 403


def test_the_quota_holds_against_the_learners_own_credentials(admin: Any, learners: dict[str, Any]) -> None:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(_token_client(admin, LEARNERS[0]))
    allowed = int(QUOTA_HARD["services"])
    made = len(core.list_namespaced_service(LEARNERS[0]).items)
    with pytest.raises(ApiException) as refused:
        for i in range(allowed - made + 1):
            core.create_namespaced_service(LEARNERS[0], {"metadata": {"name": f"extra-{i}"}, "spec": {
                "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    assert refused.value.status == 403 and "exceeded quota" in refused.value.body
    assert len(core.list_namespaced_service(LEARNERS[0]).items) == allowed
    # a container asking for more than the namespace's per-container ceiling is refused too
    with pytest.raises(ApiException) as too_big:
        core.create_namespaced_pod(LEARNERS[0], {
            "metadata": {"name": "greedy"}, "spec": {"containers": [{
                "name": "app", "image": AGNHOST_IMAGE,
                "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "2"}}}]}}, dry_run="All")
    assert too_big.value.status == 403 and "maximum cpu usage per Container" in too_big.value.body
