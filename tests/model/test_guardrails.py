"""Issue 13: the offline namespace keeps the live guardrails (ResourceQuota + LimitRange from
grader.guardrails), enforced with the API server's and the controllers' words; and the
work is bounded whatever a manifest asks for."""
from __future__ import annotations

import re

import pytest
from test_model_kit import AGNHOST, deployment, pod, service, statefulset

from grader import guardrails as gr
from grader.cluster.offline import OfflineCluster
from grader.k8s.quantity import Quantity
from grader.manifests import ManifestError
from grader.model.state import ApplyError

#: 20 pods of the LimitRange's default limit (200m) use exactly limits.cpu=4 too.
FULL_DEFAULTS = ("exceeded quota: svclab-quota, requested: limits.cpu=200m,pods=1, "
                 "used: limits.cpu=4,pods=20, limited: limits.cpu=4,pods=20")


def small(obj: dict) -> dict:
    """Give every container a limit of 50m/64Mi (requests default to the limits), so only
    the pod count can run out."""
    spec = obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]
    for c in spec["containers"]:
        c["resources"] = {"limits": {"cpu": "50m", "memory": "64Mi"}}
    return obj


@pytest.fixture
def ns():
    return OfflineCluster(say=lambda line: None).namespace("lab")


def test_quantities_print_in_the_api_servers_canonical_form() -> None:
    q = Quantity.parse
    assert [str(q(t)) for t in ("200m", "0.5", "1", "4000m", "128Mi", "1024Ki", "1536Mi", "2Gi", "1024")] == \
        ["200m", "500m", "1", "4", "128Mi", "1Mi", "1536Mi", "2Gi", "1024"]
    assert str(q("200m") * 20) == "4" and str(q("32Mi") * 20) == "640Mi"
    with pytest.raises(ValueError, match="quantities must match"):
        q("lots")


def test_the_offline_namespace_carries_the_same_objects_as_live(ns) -> None:
    for obj in gr.guardrail_objects("lab")[1:]:
        stored = ns.state.get(obj["kind"], obj["metadata"]["name"], "lab")
        assert stored is not None and stored["spec"] == obj["spec"]
    labels = ns.state.namespaces["lab"].labels
    assert labels["app.kubernetes.io/managed-by"] == "svclab"
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"


def test_limit_range_defaults_a_pods_resources(ns) -> None:
    ns.apply_objects([deployment("web", {"app": "web"}, replicas=3)])
    used = ns.state.quota_tracker("lab").used[0]
    assert {k: str(used[k]) for k in ("pods", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")} \
        == {"pods": "3", "requests.cpu": "60m", "requests.memory": "96Mi", "limits.cpu": "600m",
            "limits.memory": "384Mi"}


def test_a_deployment_beyond_the_quota_keeps_the_pods_that_fit(ns) -> None:
    lines = ns.apply_objects([deployment("big", {"app": "big"}, replicas=30)])
    assert lines == ["deployment.apps/big created"]          # the API server accepts it
    assert len(ns.pods()) == 20
    with pytest.raises(TimeoutError) as err:
        ns.wait_ready()
    text = str(err.value)
    assert "(20/20 pods Ready; pods refused by the namespace's ResourceQuota/LimitRange)" in text
    assert re.search(r'  - 10 pods of deployment/big could not be created: pods "big-[a-z0-9]{10}-" is '
                     r"forbidden: " + re.escape(FULL_DEFAULTS) + "$", text, re.M), text


def test_a_statefulset_stops_at_the_first_ordinal_the_quota_refuses(ns) -> None:
    ns.apply_objects([small(statefulset("db", {"app": "db"}, "db", replicas=25))])
    assert sorted(int(p.name.rsplit("-", 1)[1]) for p in ns.pods()) == list(range(20))
    assert ns.state.creation_failures("lab") == [
        '5 pods of statefulset/db could not be created: pods "db-20" is forbidden: exceeded quota: '
        "svclab-quota, requested: pods=1, used: pods=20, limited: pods=20"]


def test_a_bare_pod_beyond_the_quota_is_refused_with_the_api_servers_message(ns) -> None:
    ns.apply_objects([small(deployment("web", {"app": "web"}, replicas=20))])
    with pytest.raises(ManifestError) as err:
        ns.apply(small(pod("extra", {"app": "extra"})))
    assert str(err.value).endswith('the API server refused it: pods "extra" is forbidden: exceeded quota: '
                                   "svclab-quota, requested: pods=1, used: pods=20, limited: pods=20")
    assert "extra" not in {p.name for p in ns.pods()}       # nothing applied


def test_freeing_quota_lets_the_controller_create_the_missing_pods(ns) -> None:
    ns.apply_objects([deployment("a", {"app": "a"}, replicas=15), deployment("b", {"app": "b"}, replicas=15)])
    assert len(ns.pods()) == 20 and ns.state.creation_failures("lab")[0].startswith("10 pods of deployment/b ")
    ns.apply_objects([deployment("a", {"app": "a"}, replicas=5)])
    assert len(ns.pods()) == 20 and ns.state.creation_failures("lab") == []
    ns.wait_ready()


def test_services_beyond_the_quota_are_refused_and_nothing_is_applied(ns) -> None:
    ns.apply_objects([service(f"s{i}", {"app": "x"}) for i in range(10)])
    with pytest.raises(ApplyError) as err:
        ns.apply_objects([service("s10", {"app": "x"}), deployment("web", {"app": "web"})])
    assert str(err.value) == ('services "s10" is forbidden: exceeded quota: svclab-quota, requested: '
                              "services=1, used: services=10, limited: services=10")
    assert ns.state.service("lab", "s10") is None and ns.pods() == []


def test_node_ports_and_load_balancers_count_against_the_quota(ns) -> None:
    many = [{"name": f"p{i}", "port": 8000 + i, "targetPort": 8080} for i in range(11)]
    with pytest.raises(ApplyError, match=re.escape(
            'services "wide" is forbidden: exceeded quota: svclab-quota, requested: services.nodeports=11, '
            "used: services.nodeports=0, limited: services.nodeports=10")):
        ns.apply_objects([service("wide", {"app": "x"}, ports=many, type="NodePort")])
    ns.apply_objects([service(f"lb{i}", {"app": "x"}, type="LoadBalancer") for i in range(3)])
    with pytest.raises(ApplyError, match=re.escape("requested: services.loadbalancers=1, used: "
                                                   "services.loadbalancers=3, limited: services.loadbalancers=3")):
        ns.apply_objects([service("lb3", {"app": "x"}, type="LoadBalancer")])
    # an update is charged only for what it adds: ClusterIP -> NodePort adds its ports
    ns.apply_objects([service("web", {"app": "x"})])
    with pytest.raises(ApplyError, match=re.escape("requested: services.nodeports=8, used: "
                                                   "services.nodeports=3, limited: services.nodeports=10")):
        ns.apply_objects([service("web", {"app": "x"}, type="NodePort", ports=many[:8])])


def test_a_container_above_the_limit_range_max_is_refused(ns) -> None:
    greedy = pod("greedy", {"app": "g"})
    greedy["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2", "memory": "1Gi"}}
    with pytest.raises(ApplyError) as err:
        ns.apply_objects([greedy])
    # limitranger.go words each constraint without a closing period (checked against
    # kube-apiserver v1.37 by tests/controlplane/test_cp_guardrails_differential.py)
    assert str(err.value) == ('pods "greedy" is forbidden: [maximum cpu usage per Container is 1, but limit '
                              "is 2, maximum memory usage per Container is 512Mi, but limit is 1Gi]")
    big = deployment("big", {"app": "big"}, replicas=2)
    big["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}
    ns.apply_objects([big])
    assert ns.pods() == []
    assert re.fullmatch(r'2 pods of deployment/big could not be created: pods "big-[a-z0-9]{10}-" is '
                        r"forbidden: maximum cpu usage per Container is 1, but limit is 2",
                        ns.state.creation_failures("lab")[0])


def test_a_request_above_the_default_limit_is_invalid(ns) -> None:
    p = pod("eager", {"app": "e"})
    p["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "500m"}}
    with pytest.raises(ApplyError) as err:
        ns.apply_objects([p])
    assert str(err.value) == ('Pod "eager" is invalid: spec.containers[0].resources.requests[cpu]: Invalid '
                              'value: "500m": must be less than or equal to cpu limit of 200m')


def test_without_a_limit_range_the_quota_demands_requests_and_limits() -> None:
    cluster = OfflineCluster(say=lambda line: None)
    cluster.state.create_namespace("bare")
    cluster.state.apply([gr.guardrail_objects("bare")[1]])           # the quota only
    with pytest.raises(ApplyError) as err:
        cluster.state.apply([pod("web", {"app": "web"})], "bare")
    assert str(err.value) == ('pods "web" is forbidden: failed quota: svclab-quota: must specify limits.cpu '
                              "for: app; limits.memory for: app; requests.cpu for: app; requests.memory for: app")


# ------------------------------------------------------------------ hostile input: bounded work
def test_hostile_replica_count_is_bounded_by_the_quota_before_any_allocation(ns, monkeypatch) -> None:
    from grader.model import workloads
    made = []
    real = workloads.draft_from_template
    monkeypatch.setattr(workloads, "draft_from_template", lambda *a, **k: made.append(1) or real(*a, **k))
    ns.apply_objects([deployment("typo", {"app": "typo"}, replicas=1_000_000_000)])
    assert len(ns.pods()) == 20 and len(made) <= 60           # pods derived: what can exist, not 10^9
    assert ns.state.creation_failures("lab")[0].startswith(
        "999999980 pods of deployment/typo could not be created: pods \"typo-")
    assert "exceeded quota: svclab-quota" in ns.state.creation_failures("lab")[0]


def test_hostile_replica_count_without_quota_stops_at_the_models_ceiling(monkeypatch) -> None:
    from grader.model import state as st
    monkeypatch.setattr(st, "MAX_MODEL_PODS", 300)
    s = st.ClusterState.from_objects([deployment("typo", {"app": "typo"}, replicas=1_000_000_000)])
    assert len(s.pods) == 300                                  # CoreDNS's 2 + 298 of typo
    assert s.ceiling_notes() == ["999999702 replicas of deployment/typo in namespace default not modelled: "
                                 "the offline model holds at most 300 pods"]


# ------------------------------------------------------------------ svclab check --namespace: the quota view
def test_check_namespace_reports_what_the_quota_will_refuse(tmp_path, capsys) -> None:
    import yaml

    from grader.cli import main
    objs = [deployment("big", {"app": "big"}, replicas=30)] + \
        [service(f"s{i}", {"app": "big"}) for i in range(11)]
    f = tmp_path / "app.yaml"
    f.write_text(yaml.safe_dump_all(objs))
    assert main(["check", "--namespace", "lab1", str(f)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == (f"{f}, document 12 (Service/s10): the API server will refuse it in a course namespace: "
                        'services "s10" is forbidden: exceeded quota: svclab-quota, requested: services=1, '
                        "used: services=10, limited: services=10")
    assert re.fullmatch(re.escape(f"{f}, document 1 (Deployment/big): spec.replicas: 10 of 30 pods will not be "
                                  "created in a course namespace (deployment controller): pods \"big-")
                        + r"[a-z0-9]{10}-\" is forbidden: " + re.escape(FULL_DEFAULTS), lines[1]), lines[1]
    assert err == "2 problems found\n"
    # the same manifests without --namespace are fine: no quota outside a course namespace
    assert main(["check", str(f)]) == 0


def test_apply_is_not_refused_for_what_the_controller_will_trim(ns) -> None:
    """load_sandboxed leaves the quota to the backend: the Deployment is accepted and keeps
    the pods that fit, as the API server would."""
    import yaml
    assert ns.apply(yaml.safe_dump(deployment("big", {"app": "big"}, replicas=30))) == ["deployment.apps/big created"]
    assert len(ns.pods()) == 20


def test_hostile_submission_through_the_learners_path_is_bounded(ns, monkeypatch) -> None:
    """The YAML a learner (or a hostile submission) hands to ns.apply: a billion replicas of
    a Deployment and of a StatefulSet. Accepted, as the API server accepts them, with 20
    pods between them and the rest reported; nothing is built for the other 2 billion."""
    from grader.model import workloads
    made = []
    real = workloads.draft_from_template
    monkeypatch.setattr(workloads, "draft_from_template", lambda *a, **k: made.append(1) or real(*a, **k))
    text = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: flood}}
spec:
  replicas: 1000000000
  selector: {{matchLabels: {{app: flood}}}}
  template:
    metadata: {{labels: {{app: flood}}}}
    spec:
      containers: [{{name: app, image: "{AGNHOST}", args: [netexec]}}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: tide}}
spec:
  replicas: 1000000000
  serviceName: tide
  selector: {{matchLabels: {{app: tide}}}}
  template:
    metadata: {{labels: {{app: tide}}}}
    spec:
      containers: [{{name: app, image: "{AGNHOST}", args: [netexec]}}]
"""
    assert ns.apply(text) == ["deployment.apps/flood created", "statefulset.apps/tide created"]
    assert len(ns.pods()) == 20 and len(made) <= 100
    failures = ns.state.creation_failures("lab")
    assert [f.split(" could not")[0] for f in failures] == ["999999980 pods of deployment/flood",
                                                           "1000000000 pods of statefulset/tide"]
    assert all("exceeded quota: svclab-quota" in f for f in failures)
    with pytest.raises(TimeoutError, match="pods refused by the namespace's ResourceQuota"):
        ns.wait_ready()


def _claiming(replicas: int, size: str) -> dict:
    sts = small(statefulset("db", {"app": "db"}, "db", replicas=replicas))
    sts["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}}]
    return sts


def test_statefulset_claims_count_against_the_storage_quota(ns) -> None:
    ns.apply_objects([_claiming(3, "2Gi")])
    assert sorted(p.name for p in ns.pods()) == ["db-0", "db-1"]
    assert ns.state.creation_failures("lab") == [
        '1 pod of statefulset/db could not be created: persistentvolumeclaims "data-db-2" is forbidden: '
        "exceeded quota: svclab-quota, requested: requests.storage=2Gi, used: requests.storage=4Gi, "
        "limited: requests.storage=5Gi"]


def test_statefulset_claims_count_against_the_pvc_quota(ns) -> None:
    ns.apply_objects([_claiming(7, "100Mi")])
    assert len(ns.pods()) == 5
    assert ns.state.creation_failures("lab")[0] == (
        '2 pods of statefulset/db could not be created: persistentvolumeclaims "data-db-5" is forbidden: '
        "exceeded quota: svclab-quota, requested: persistentvolumeclaims=1, used: persistentvolumeclaims=5, "
        "limited: persistentvolumeclaims=5")


def test_deleting_frees_quota_and_configmaps_are_counted(ns) -> None:
    def cm(i: int) -> dict:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"k": "v"}}
    ns.apply_objects([cm(i) for i in range(20)])
    with pytest.raises(ApplyError, match=re.escape('configmaps "c20" is forbidden: exceeded quota: svclab-quota, '
                                                   "requested: configmaps=1, used: configmaps=20, limited: configmaps=20")):
        ns.apply_objects([cm(20)])
    ns.apply_objects([cm(3)])                  # an unchanged update adds nothing: still admitted
    ns.delete("configmap", "c0")
    assert ns.apply_objects([cm(20)]) == ["configmap/c20 created"]


def test_the_real_ceiling_bounds_an_analysis_of_a_billion_replicas() -> None:
    from grader.model import state as st
    s = st.ClusterState.from_objects([deployment("typo", {"app": "typo"}, replicas=1_000_000_000)], nodes=30)
    assert len(s.pods) == st.MAX_MODEL_PODS == 2000
    assert s.ceiling_notes() == [f"{1_000_000_000 - 1998} replicas of deployment/typo in namespace default not "
                                 "modelled: the offline model holds at most 2000 pods"]


def test_a_deleted_pod_is_replaced_even_when_the_quota_is_full(ns) -> None:
    ns.apply_objects([deployment("web", {"app": "web"}, replicas=20)])
    before = {p.name for p in ns.pods()}
    gone = sorted(before)[0]
    ns.delete("pod", gone)
    after = {p.name for p in ns.pods()}
    assert len(after) == 20 and gone not in after and len(after - before) == 1
    assert ns.state.creation_failures("lab") == []
