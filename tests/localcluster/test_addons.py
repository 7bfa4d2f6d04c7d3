"""The local cluster is shaped like the course's kind cluster."""
from __future__ import annotations

from grader.kind.images import AGNHOST_IMAGE
from grader.localcluster import addons, policy
from grader.localcluster.layout import NODES


def test_node_i_owns_pod_cidr_10_244_i_and_an_address_on_kinds_network() -> None:
    assert [(n.name, n.ip, n.pod_cidr) for n in NODES] == [
        ("svclab-control-plane", "172.18.0.2", "10.244.0.0/24"),
        ("svclab-worker", "172.18.0.3", "10.244.1.0/24")]
    objs = [obj for _, obj in addons.nodes()]
    assert [o["spec"]["podCIDR"] for o in objs] == ["10.244.0.0/24", "10.244.1.0/24"]


def test_no_node_is_tainted_so_pods_spread_over_both_as_on_kinds_single_node() -> None:
    assert [o["spec"].get("taints") for _, o in addons.nodes()] == [None, None]
    roles = [o["metadata"]["labels"].get("node-role.kubernetes.io/control-plane") for _, o in addons.nodes()]
    assert roles == ["", None]


def test_kube_dns_is_coredns_as_a_pod_at_10_96_0_10() -> None:
    objs = {o["kind"]: o for _, o in addons.coredns()}
    assert objs["Service"]["spec"]["clusterIP"] == "10.96.0.10"
    container = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == addons.COREDNS_IMAGE
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa" in objs["ConfigMap"]["data"]["Corefile"]


def test_image_policy_admits_the_course_image_and_names_the_built_ones() -> None:
    policy_obj = addons.image_policy()[0][1]
    unbuilt = next(v for v in policy_obj["spec"]["variables"] if v["name"] == "unbuilt")["expression"]
    assert f"'{AGNHOST_IMAGE}'" in unbuilt
    message = policy_obj["spec"]["validations"][0]["messageExpression"]
    assert "no registry" in message and AGNHOST_IMAGE in message


def test_policy_steering_skips_node_traffic_and_established_flows_before_queueing() -> None:
    chain = [r for r in policy.steering_rules() if r[2] == "-A" and r[3] == policy.CHAIN]
    targets = [r[r.index("-j") + 1] for r in chain]
    assert targets == ["RETURN", "RETURN", "NFQUEUE", "NFQUEUE"]
    assert all("--queue-bypass" in r for r in chain if "NFQUEUE" in r)
