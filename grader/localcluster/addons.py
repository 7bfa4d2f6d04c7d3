"""What kubeadm and kind add to a fresh cluster, as API objects: the two nodes registered
with their pod CIDRs (node i owns 10.244.i.0/24, deterministic) and, unlike kind with
workers, no control-plane taint: the course's kind cluster is one untainted node that runs
every pod, and here pods spread over both nodes so cross-node traffic is real; kube-dns with
CoreDNS as a pod (so NetworkPolicy applies to DNS as on kind), and an admission policy that
refuses images the cluster does not have: with no registry, kubelet would otherwise retry a
pull forever (ImagePullBackOff)."""

from __future__ import annotations

from grader.localcluster.images import BUILT_IMAGES, COREDNS_IMAGE
from grader.localcluster.layout import KUBE_DNS_IP, NODES, Node
from grader.model.corefile import DEFAULT_COREFILE

COURSE_IMAGES = tuple(i for i in BUILT_IMAGES if "pause" not in i)
IMAGE_POLICY = "svclab-local-images"

#: kubeadm's Corefile, one definition with the offline model's (which answers as it says),
#: but for how often CoreDNS looks for an edit: every 2 s (reload's floor) instead of every
#: 30 s +/- 15 s. An edited Corefile then reaches every replica within the kubelet's 10 s
#: sync and a few seconds, not up to a minute: notebook 08 and lab 3 wait that long per
#: edit, on this cluster and in CI (README, "What differs from kind").
COREFILE = DEFAULT_COREFILE.replace("    reload\n", "    reload 2s\n", 1)


def node_object(node: Node) -> dict:
    labels = {"kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}
    spec: dict = {"podCIDR": node.pod_cidr, "podCIDRs": [node.pod_cidr]}
    if node.control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "labels": labels},
        "spec": spec,
    }


def _meta(name: str, namespace: str | None = "kube-system", **labels: str) -> dict:
    meta: dict = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return meta


def coredns() -> list[tuple[str, dict]]:
    """kubeadm's CoreDNS objects (as in kind), with the locally built image.

    Long on purpose: the objects are data written out as kubeadm writes them (RBAC, the
    Corefile, the Deployment and kube-dns), read top to bottom against kubeadm's own."""
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    pod_spec = {
        "priorityClassName": "system-cluster-critical",
        "serviceAccountName": "coredns",
        "dnsPolicy": "Default",
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
        ],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "containers": [
            {
                "name": "coredns",
                "image": COREDNS_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "args": ["-conf", "/etc/coredns/Corefile"],
                "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns", "readOnly": True}],
                "ports": [
                    {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                    {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                    {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
                ],
                "livenessProbe": {
                    "httpGet": {"path": "/health", "port": 8080},
                    "initialDelaySeconds": 60,
                    "timeoutSeconds": 5,
                    "failureThreshold": 5,
                },
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                },
            }
        ],
        "volumes": [
            {
                "name": "config-volume",
                "configMap": {"name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]},
            }
        ],
    }
    return [
        (
            "/api/v1/namespaces/kube-system/serviceaccounts",
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta("coredns")},
        ),
        (
            f"{rbac}/clusterroles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": _meta("system:coredns", None),
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["endpoints", "services", "pods", "namespaces"],
                        "verbs": ["list", "watch"],
                    },
                    {
                        "apiGroups": ["discovery.k8s.io"],
                        "resources": ["endpointslices"],
                        "verbs": ["list", "watch"],
                    },
                ],
            },
        ),
        (
            f"{rbac}/clusterrolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": _meta("system:coredns", None),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "system:coredns",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}],
            },
        ),
        (
            "/api/v1/namespaces/kube-system/configmaps",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": _meta("coredns"),
                "data": {"Corefile": COREFILE},
            },
        ),
        (
            "/api/v1/namespaces/kube-system/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": _meta(
                    "kube-dns",
                    **{
                        "k8s-app": "kube-dns",
                        "kubernetes.io/cluster-service": "true",
                        "kubernetes.io/name": "CoreDNS",
                    },
                ),
                "spec": {
                    "clusterIP": KUBE_DNS_IP,
                    "selector": {"k8s-app": "kube-dns"},
                    "ports": [
                        {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                        {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                        {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
                    ],
                },
            },
        ),
        (
            "/apis/apps/v1/namespaces/kube-system/deployments",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": _meta("coredns", **{"k8s-app": "kube-dns"}),
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                    "template": {"metadata": {"labels": {"k8s-app": "kube-dns"}}, "spec": pod_spec},
                },
            },
        ),
    ]


def image_policy() -> list[tuple[str, dict]]:
    """A ValidatingAdmissionPolicy: every container image must be one the cluster built, and
    none may ask for imagePullPolicy Always (a pull needs a registry this cluster lacks).

    Long on purpose: the policy and its binding are one API object each, written out whole
    so the CEL expressions read in the order the API server evaluates them."""
    images = ", ".join(f"'{i}'" for i in COURSE_IMAGES)
    listed = " ".join(COURSE_IMAGES)
    path = "/apis/admissionregistration.k8s.io/v1"
    return [
        (
            f"{path}/validatingadmissionpolicies",
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicy",
                "metadata": {"name": IMAGE_POLICY},
                "spec": {
                    "failurePolicy": "Fail",
                    "matchConstraints": {
                        "resourceRules": [
                            {
                                "apiGroups": [""],
                                "apiVersions": ["v1"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["pods"],
                            },
                            {
                                "apiGroups": ["apps"],
                                "apiVersions": ["v1"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"],
                            },
                            {
                                "apiGroups": ["batch"],
                                "apiVersions": ["v1"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["jobs"],
                            },
                        ]
                    },
                    "variables": [
                        {
                            "name": "spec",
                            "expression": "has(object.spec.template) ? object.spec.template.spec "
                            ": object.spec",
                        },
                        {
                            "name": "containers",
                            "expression": "variables.spec.containers + "
                            "(has(variables.spec.initContainers) ? variables.spec.initContainers : [])",
                        },
                        {
                            "name": "unbuilt",
                            "expression": f"variables.containers.filter(c, !(c.image in [{images}]))",
                        },
                        {
                            "name": "pulling",
                            "expression": "variables.containers.filter(c, has(c.imagePullPolicy) && "
                            "c.imagePullPolicy == 'Always')",
                        },
                    ],
                    "validations": [
                        {
                            "expression": "size(variables.unbuilt) == 0",
                            "reason": "Invalid",
                            "messageExpression": "'container ' + variables.unbuilt[0].name + ': image ' + "
                            "variables.unbuilt[0].image + ' is not in the local cluster, which has no "
                            f"registry to pull from; its images are: {listed}'",
                        },
                        {
                            "expression": "size(variables.pulling) == 0",
                            "reason": "Invalid",
                            "messageExpression": "'container ' + variables.pulling[0].name + "
                            "': imagePullPolicy Always needs a registry, which the local cluster does "
                            "not have; use IfNotPresent'",
                        },
                    ],
                },
            },
        ),
        (
            f"{path}/validatingadmissionpolicybindings",
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "ValidatingAdmissionPolicyBinding",
                "metadata": {"name": IMAGE_POLICY},
                "spec": {"policyName": IMAGE_POLICY, "validationActions": ["Deny"]},
            },
        ),
    ]


def nodes() -> list[tuple[str, dict]]:
    return [("/api/v1/nodes", node_object(node)) for node in NODES]
