"""Semantic rules checked against the Kubernetes API server's own validation.

Each case is a manifest the API server accepts (no problem at all) or refuses (a problem at
the field path the API server names). The comment on each group names the upstream
function that decides it (kubernetes/kubernetes pkg/apis/{core,apps,networking,discovery}/
validation/validation.go, and k8s.io/apimachinery pkg/api/validation,
pkg/apis/meta/v1/validation, pkg/util/validation). Defaulting that runs before
validation (v1 SetDefaults_*, the Service registry strategy) is taken into account.
"""
from __future__ import annotations

import copy

import pytest

from grader.kind.images import AGNHOST_IMAGE
from grader.manifests import check

# --------------------------------------------------------------------------- builders


def svc(spec: dict, name: str = "backend", **meta) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, **meta}, "spec": spec}


P80 = {"port": 80, "targetPort": 8080}
CONTAINER = {"name": "server", "image": AGNHOST_IMAGE}


def pod(spec_extra: dict | None = None, containers: list | None = None, **meta) -> dict:
    spec = {"containers": containers if containers is not None else [copy.deepcopy(CONTAINER)]}
    spec.update(spec_extra or {})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", **meta}, "spec": spec}


def with_port(**port) -> dict:
    return pod(containers=[{**CONTAINER, "ports": [port]}])


def deploy(spec_extra: dict | None = None, pod_extra: dict | None = None, kind: str = "Deployment",
           name: str = "web", labels: dict | None = None, containers: list | None = None) -> dict:
    template_spec = {"containers": containers if containers is not None else [copy.deepcopy(CONTAINER)]}
    template_spec.update(pod_extra or {})
    spec = {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": labels if labels is not None else {"app": "web"}},
                         "spec": template_spec}}
    spec.update(spec_extra or {})
    api = "apps/v1"
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, "spec": spec}


def sts(spec_extra: dict | None = None, **kw) -> dict:
    return deploy(spec_extra, kind="StatefulSet", **kw)


def netpol(spec: dict) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"},
            "spec": {"podSelector": {}, **spec}}


def from_peer(peer: dict) -> dict:
    return netpol({"ingress": [{"from": [peer]}]})


def np_port(**port) -> dict:
    return netpol({"ingress": [{"ports": [port]}]})


def eps(address_type: str, addresses: list, ports: list | None = None, **endpoint) -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "ext-1"},
            "addressType": address_type, "endpoints": [{"addresses": addresses, **endpoint}],
            "ports": ports if ports is not None else [{"name": "http", "port": 80}]}


def ingress(paths: list | None = None, host: str | None = "shop.example.com", **spec) -> dict:
    rule: dict = {"http": {"paths": paths if paths is not None else [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}
    if host is not None:
        rule["host"] = host
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop"},
            "spec": {"rules": [rule], **spec}}


def backend(**b) -> list:
    return [{"path": "/", "pathType": "Prefix", "backend": b}]


def cm(**meta) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", **meta}}


# --------------------------------------------------------------------------- cases
# (id, manifest, None if the API server accepts it, else the field path of its error)

CASES = [
    # --- apimachinery ValidateObjectMetaAccessor + per-kind name functions
    ("cm-name-subdomain-ok", cm(name="app.config-1"), None),
    ("cm-name-uppercase", cm(name="App"), "metadata.name"),
    # Service names: NameIsDNSLabel since v1.37 (RelaxedServiceNameValidation GA; it was
    # ValidateServiceName = NameIsDNS1035Label before)
    ("svc-name-starts-with-digit-ok", svc({"ports": [P80]}, name="1api"), None),
    ("svc-name-with-dot", svc({"ports": [P80]}, name="api.v1"), "metadata.name"),
    # apps ValidateStatefulSetName = NameIsDNSLabel (pods are `name-N` hostnames)
    ("sts-name-label-ok", sts(name="db-1"), None),
    ("sts-name-with-dot", sts(name="db.v1"), "metadata.name"),
    ("deploy-name-with-dot-ok", deploy(name="web.v1"), None),
    # generateName is validated as a prefix (trailing '-' allowed, maskTrailingDash)
    ("generate-name-bad-prefix", cm(name="c2", generateName="Bad_"), "metadata.generateName"),
    ("generate-name-dash-ok", cm(name="c3", generateName="web-"), None),
    ("namespace-label", cm(namespace="lab.1"), "metadata.namespace"),
    # meta/v1 ValidateLabels: reported at the map path
    ("label-value-bad", cm(labels={"app": "-x"}), "metadata.labels"),
    ("label-key-prefix-ok", cm(labels={"app.kubernetes.io/name": "web", "A_b.c": ""}), None),
    ("label-key-two-slashes", cm(labels={"a/b/c": "x"}), "metadata.labels"),
    ("label-value-trailing-newline", cm(labels={"app": "web\n"}), "metadata.labels"),
    # ValidateAnnotations lower-cases keys before IsQualifiedName
    ("annotation-uppercase-prefix-ok", cm(annotations={"Example.com/Owner": "me"}), None),
    ("annotation-key-space", cm(annotations={"bad key": "v"}), "metadata.annotations"),

    # --- core ValidateService
    ("svc-no-ports", svc({"selector": {"app": "x"}}), "spec.ports"),
    ("svc-headless-no-ports-ok", svc({"clusterIP": "None", "selector": {"app": "x"}}), None),
    ("svc-externalname-no-ports-ok", svc({"type": "ExternalName", "externalName": "db.example.com"}), None),
    ("svc-externalname-missing", svc({"type": "ExternalName"}), "spec.externalName"),
    ("svc-externalname-trailing-dot-ok", svc({"type": "ExternalName", "externalName": "db.example.com."}), None),
    ("svc-externalname-bad", svc({"type": "ExternalName", "externalName": "DB_host"}), "spec.externalName"),
    ("svc-externalname-with-clusterip", svc({"type": "ExternalName", "externalName": "a.b",
                                             "clusterIP": "10.96.0.5"}), "spec.clusterIPs"),
    ("svc-externalname-with-ipfamilies", svc({"type": "ExternalName", "externalName": "a.b",
                                              "ipFamilies": ["IPv4"]}), "spec.ipFamilies"),
    ("svc-externalname-nodeport-not-validated", svc({"type": "ExternalName", "externalName": "a.b",
                                                     "ports": [{**P80, "nodePort": 30080}]}), None),
    # ValidateService: nodePort on ClusterIP is Forbidden
    ("svc-nodeport-on-clusterip", svc({"ports": [{**P80, "nodePort": 30080}]}), "spec.ports[0].nodePort"),
    ("svc-nodeport-ok", svc({"type": "NodePort", "ports": [{**P80, "nodePort": 30080}]}), None),
    # node port range: the allocator ("provided port is not in the valid range")
    ("svc-nodeport-range", svc({"type": "NodePort", "ports": [{**P80, "nodePort": 8080}]}), "spec.ports[0].nodePort"),
    # duplicate nodePorts count (protocol, nodePort) pairs
    ("svc-same-nodeport-two-protocols-ok", svc({"type": "NodePort", "ports": [
        {"name": "a", "port": 53, "nodePort": 30053}, {"name": "b", "port": 53, "protocol": "UDP", "nodePort": 30053}]}), None),
    ("svc-duplicate-nodeport", svc({"type": "NodePort", "ports": [
        {"name": "a", "port": 80, "nodePort": 30080}, {"name": "b", "port": 81, "nodePort": 30080}]}), "spec.ports[1].nodePort"),
    # duplicate (port, protocol) pairs, reported at the port itself
    ("svc-duplicate-port", svc({"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]}), "spec.ports[1]"),
    # validateServicePort: names required with >1 port, DNS-1123 *labels* (not IANA names)
    ("svc-second-port-unnamed", svc({"ports": [{"name": "a", "port": 80}, {"port": 81}]}), "spec.ports[1].name"),
    ("svc-port-name-long-label-ok", svc({"ports": [{"name": "a-very-long-port-name-20", "port": 80}]}), None),
    ("svc-port-name-leading-digit-ok", svc({"ports": [{"name": "8080-http", "port": 80}]}), None),
    ("svc-port-name-uppercase", svc({"ports": [{"name": "HTTP", "port": 80}]}), "spec.ports[0].name"),
    ("svc-port-name-duplicate", svc({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]}), "spec.ports[1].name"),
    ("svc-port-zero", svc({"ports": [{"port": 0}]}), "spec.ports[0].port"),
    ("svc-protocol-lowercase", svc({"ports": [{"port": 80, "protocol": "tcp"}]}), "spec.ports[0].protocol"),
    # ValidatePortNumOrName on targetPort; 0 / "" default to `port` first
    ("svc-targetport-name-ok", svc({"ports": [{"port": 80, "targetPort": "http-alt"}]}), None),
    ("svc-targetport-zero-defaults-ok", svc({"ports": [{"port": 80, "targetPort": 0}]}), None),
    ("svc-targetport-too-big", svc({"ports": [{"port": 80, "targetPort": 70000}]}), "spec.ports[0].targetPort"),
    ("svc-targetport-bad-name", svc({"ports": [{"port": 80, "targetPort": "http_port"}]}), "spec.ports[0].targetPort"),
    ("svc-appprotocol-bad", svc({"ports": [{"port": 80, "appProtocol": "my proto"}]}), "spec.ports[0].appProtocol"),
    # headless + NodePort/LoadBalancer: reported at spec.clusterIPs[0]
    ("svc-headless-nodeport", svc({"type": "NodePort", "clusterIP": "None", "ports": [P80]}), "spec.clusterIPs[0]"),
    # ValidateServiceClusterIPsRelatedFields
    ("svc-clusterip-bad", svc({"clusterIP": "10.96.0", "ports": [P80]}), "spec.clusterIPs[0]"),
    ("svc-clusterips-mismatch", svc({"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.6"], "ports": [P80]}), "spec.clusterIPs"),
    ("svc-ipfamily-mismatch", svc({"clusterIP": "10.96.0.5", "ipFamilies": ["IPv6"], "ports": [P80]}), "spec.clusterIPs[0]"),
    ("svc-ipfamilies-bad", svc({"ipFamilies": ["IPv5"], "ports": [P80]}), "spec.ipFamilies[0]"),
    # sessionAffinity / validateClientIPAffinityConfig (1..86400)
    ("svc-affinity-86400-ok", svc({"ports": [P80], "sessionAffinity": "ClientIP",
                                   "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86400}}}), None),
    ("svc-affinity-timeout-too-long", svc({"ports": [P80], "sessionAffinity": "ClientIP",
                                           "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86401}}}),
     "spec.sessionAffinityConfig.clientIP.timeoutSeconds"),
    # SetDefaults_Service drops sessionAffinityConfig when sessionAffinity is None, so the
    # Forbidden check in ValidateService never sees it
    ("svc-affinity-config-without-clientip-ok", svc({"ports": [P80], "sessionAffinityConfig": {}}), None),
    # validateServiceExternalTrafficPolicy: only for externally-accessible Services
    ("svc-etp-on-clusterip", svc({"ports": [P80], "externalTrafficPolicy": "Cluster"}), "spec.externalTrafficPolicy"),
    ("svc-etp-clusterip-externalips-ok", svc({"ports": [P80], "externalIPs": ["192.0.2.10"],
                                              "externalTrafficPolicy": "Local"}), None),
    ("svc-etp-lb-ok", svc({"type": "LoadBalancer", "ports": [P80], "externalTrafficPolicy": "Local"}), None),
    ("svc-etp-bad-value", svc({"type": "NodePort", "ports": [P80], "externalTrafficPolicy": "local"}),
     "spec.externalTrafficPolicy"),
    ("svc-healthcheck-nodeport-without-local", svc({"type": "LoadBalancer", "ports": [P80],
                                                    "healthCheckNodePort": 30999}), "spec.healthCheckNodePort"),
    ("svc-itp-bad", svc({"ports": [P80], "internalTrafficPolicy": "Node"}), "spec.internalTrafficPolicy"),
    # loadBalancerSourceRanges: LoadBalancer only; the API server spells the path with a capital L
    ("svc-lbsr-ok", svc({"type": "LoadBalancer", "ports": [P80], "loadBalancerSourceRanges": [" 10.0.0.0/8 "]}), None),
    ("svc-lbsr-on-nodeport", svc({"type": "NodePort", "ports": [P80], "loadBalancerSourceRanges": ["10.0.0.0/8"]}),
     "spec.LoadBalancerSourceRanges"),
    ("svc-lbsr-bad-cidr", svc({"type": "LoadBalancer", "ports": [P80], "loadBalancerSourceRanges": ["10.0.0.0/33"]}),
     "spec.LoadBalancerSourceRanges[0]"),
    ("svc-allocate-lb-nodeports-on-clusterip", svc({"ports": [P80], "allocateLoadBalancerNodePorts": False}),
     "spec.allocateLoadBalancerNodePorts"),
    # externalIPs: IsValidIP + ValidateNonSpecialIP
    ("svc-externalip-loopback", svc({"ports": [P80], "externalIPs": ["127.0.0.1"]}), "spec.externalIPs[0]"),
    ("svc-selector-bad-value", svc({"ports": [P80], "selector": {"app": "has space"}}), "spec.selector"),

    # --- core ValidatePodSpec / validateContainers / validateContainerPorts
    ("pod-ok", pod(), None),
    ("pod-no-containers", pod(containers=[]), "spec.containers"),
    ("pod-container-name-bad", pod(containers=[{**CONTAINER, "name": "Server"}]), "spec.containers[0].name"),
    ("pod-container-name-duplicate", pod(containers=[CONTAINER, CONTAINER]), "spec.containers[1].name"),
    ("pod-init-container-name-clash", pod({"initContainers": [{**CONTAINER}]}), "spec.initContainers[0].name"),
    ("pod-image-missing", pod(containers=[{"name": "c"}]), "spec.containers[0].image"),
    ("pod-image-padded", pod(containers=[{"name": "c", "image": " busybox "}]), "spec.containers[0].image"),
    ("pod-port-name-iana", with_port(containerPort=80, name="http_port"), "spec.containers[0].ports[0].name"),
    ("pod-port-name-too-long", with_port(containerPort=80, name="a-very-long-name"), "spec.containers[0].ports[0].name"),
    ("pod-container-port-zero", with_port(containerPort=0), "spec.containers[0].ports[0].containerPort"),
    ("pod-host-port-range", with_port(containerPort=80, hostPort=70000), "spec.containers[0].ports[0].hostPort"),
    ("pod-port-protocol", with_port(containerPort=80, protocol="ICMP"), "spec.containers[0].ports[0].protocol"),
    # duplicate containerPort across containers (or with another protocol) is a warning only
    ("pod-duplicate-container-port-ok", pod(containers=[
        {**CONTAINER, "ports": [{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}]},
        {"name": "b", "image": "busybox", "ports": [{"name": "http", "containerPort": 80}]}]), None),
    # ... but twice in one container, and an env name twice, server-side apply refuses (a
    # create only warns): SSA_ONLY in tests/controlplane/test_cp_validation.py
    ("pod-duplicate-container-port-ssa", pod(containers=[
        {**CONTAINER, "ports": [{"containerPort": 80}, {"containerPort": 80}]}]), "spec.containers[0].ports[1].containerPort"),
    ("pod-duplicate-env-ssa", pod(containers=[
        {**CONTAINER, "env": [{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]}]), "spec.containers[0].env[1].name"),
    ("pod-port-name-in-two-containers-ok", pod(containers=[
        {**CONTAINER, "ports": [{"name": "http", "containerPort": 80}]},
        {"name": "b", "image": "busybox", "ports": [{"name": "http", "containerPort": 81}]}]), None),
    ("pod-host-port-conflict", pod(containers=[
        {**CONTAINER, "ports": [{"containerPort": 80, "hostPort": 8080}]},
        {"name": "b", "image": "busybox", "ports": [{"containerPort": 81, "hostPort": 8080}]}]),
     "spec.containers[1].ports[0].hostPort"),
    ("pod-restart-policy", pod({"restartPolicy": "Sometimes"}), "spec.restartPolicy"),
    ("pod-hostname", pod({"hostname": "Web_1"}), "spec.hostname"),
    ("pod-subdomain", pod({"subdomain": "db.svc"}), "spec.subdomain"),
    ("pod-node-selector", pod({"nodeSelector": {"disk": "fast ssd"}}), "spec.nodeSelector"),
    ("pod-dns-policy", pod({"dnsPolicy": "Cluster"}), "spec.dnsPolicy"),
    # probes: validateProbe / validateHandler / ValidatePortNumOrName
    ("pod-probe-named-port-ok", pod(containers=[{**CONTAINER, "readinessProbe": {"httpGet": {"path": "/", "port": "http"}}}]), None),
    ("pod-probe-port-zero", pod(containers=[{**CONTAINER, "livenessProbe": {"tcpSocket": {"port": 0}}}]),
     "spec.containers[0].livenessProbe.tcpSocket.port"),
    ("pod-probe-grpc-port", pod(containers=[{**CONTAINER, "startupProbe": {"grpc": {"port": 70000}}}]),
     "spec.containers[0].startupProbe.grpc.port"),
    ("pod-probe-no-handler", pod(containers=[{**CONTAINER, "readinessProbe": {"periodSeconds": 5}}]),
     "spec.containers[0].readinessProbe"),
    ("pod-probe-two-handlers", pod(containers=[{**CONTAINER, "readinessProbe": {
        "tcpSocket": {"port": 80}, "exec": {"command": ["true"]}}}]), "spec.containers[0].readinessProbe.tcpSocket"),
    ("pod-liveness-success-threshold", pod(containers=[{**CONTAINER, "livenessProbe": {
        "tcpSocket": {"port": 80}, "successThreshold": 2}}]), "spec.containers[0].livenessProbe.successThreshold"),
    ("pod-init-container-probe", pod({"initContainers": [{"name": "init", "image": "busybox",
                                                          "readinessProbe": {"exec": {"command": ["true"]}}}]}),
     "spec.initContainers[0].readinessProbe"),
    ("pod-sidecar-probe-ok", pod({"initContainers": [{"name": "side", "image": "busybox", "restartPolicy": "Always",
                                                      "readinessProbe": {"exec": {"command": ["true"]}}}]}), None),

    # ValidateContainerResourceRequirements (requests <= limits at `...resources.requests`)
    ("pod-resources-ok", pod(containers=[{**CONTAINER, "resources": {
        "requests": {"cpu": 1, "memory": "64Mi"}, "limits": {"cpu": "1000m", "memory": "0.5Gi"}}}]), None),
    ("pod-request-above-limit", pod(containers=[{**CONTAINER, "resources": {
        "requests": {"cpu": "500m"}, "limits": {"cpu": "250m"}}}]), "spec.containers[0].resources.requests"),
    ("pod-resource-name", pod(containers=[{**CONTAINER, "resources": {"requests": {"cpus": "1"}}}]),
     "spec.containers[0].resources.requests[cpus]"),
    ("pod-negative-quantity", pod(containers=[{**CONTAINER, "resources": {"limits": {"cpu": "-1"}}}]),
     "spec.containers[0].resources.limits[cpu]"),
    # resource.Quantity decoding happens before validation, for every kind
    ("sts-bad-quantity", sts(containers=[{**CONTAINER, "resources": {"limits": {"memory": "64MB"}}}]),
     "spec.template.spec.containers[0].resources.limits[memory]"),

    # --- apps ValidateDeploymentSpec / ValidatePodTemplateSpecForReplicaSet
    ("deploy-ok", deploy(), None),
    ("deploy-selector-empty", deploy({"selector": {}}), "spec.selector"),
    ("deploy-selector-mismatch", deploy(labels={"app": "webapp"}), "spec.template.metadata.labels"),
    ("deploy-selector-bad-operator", deploy({"selector": {"matchExpressions": [
        {"key": "app", "operator": "in", "values": ["web"]}]}}), "spec.selector.matchExpressions[0].operator"),
    ("deploy-template-labels-bad", deploy({"selector": {"matchLabels": {"app": "web"}}},
                                          labels={"app": "web", "x": "-y"}), "spec.template.labels"),
    ("deploy-replicas-negative", deploy({"replicas": -1}), "spec.replicas"),
    ("deploy-revision-history-negative", deploy({"revisionHistoryLimit": -1}), "spec.revisionHistoryLimit"),
    ("deploy-min-ready-negative", deploy({"minReadySeconds": -1}), "spec.minReadySeconds"),
    ("deploy-progress-deadline-not-above-min-ready", deploy({"minReadySeconds": 600}), "spec.progressDeadlineSeconds"),
    ("deploy-restart-never", deploy(pod_extra={"restartPolicy": "Never"}), "spec.template.spec.restartPolicy"),
    ("deploy-active-deadline", deploy(pod_extra={"activeDeadlineSeconds": 60}), "spec.template.spec.activeDeadlineSeconds"),
    ("deploy-template-image-required", deploy(containers=[{"name": "c"}]), "spec.template.spec.containers[0].image"),
    ("deploy-template-port-name", deploy(containers=[{**CONTAINER, "ports": [{"name": "HTTP", "containerPort": 80}]}]),
     "spec.template.spec.containers[0].ports[0].name"),
    # ValidateDeploymentStrategy / ValidateRollingUpdateDeployment
    ("deploy-recreate-with-rolling", deploy({"strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}}),
     "spec.strategy.rollingUpdate"),
    ("deploy-strategy-type", deploy({"strategy": {"type": "Rolling"}}), "spec.strategy"),
    ("deploy-surge-and-unavailable-zero", deploy({"strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}}}),
     "spec.strategy.rollingUpdate.maxUnavailable"),
    ("deploy-max-unavailable-over-100", deploy({"strategy": {"rollingUpdate": {"maxUnavailable": "110%"}}}),
     "spec.strategy.rollingUpdate.maxUnavailable"),
    ("deploy-max-surge-over-100-ok", deploy({"strategy": {"rollingUpdate": {"maxSurge": "200%"}}}), None),
    ("deploy-max-surge-not-percent", deploy({"strategy": {"rollingUpdate": {"maxSurge": "5"}}}),
     "spec.strategy.rollingUpdate.maxSurge"),

    # --- apps ValidateStatefulSetSpec (template pod spec is *not* validated)
    ("sts-ok", sts({"serviceName": "db"}), None),
    ("sts-no-service-name-ok", sts(), None),
    ("sts-selector-empty", sts({"selector": {}}), "spec.selector"),
    ("sts-selector-mismatch", sts(labels={"app": "db"}), "spec.template.metadata.labels"),
    ("sts-pod-management", sts({"podManagementPolicy": "parallel"}), "spec.podManagementPolicy"),
    ("sts-update-strategy", sts({"updateStrategy": {"type": "Rolling"}}), "spec.updateStrategy"),
    ("sts-ondelete-with-rolling", sts({"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"partition": 1}}}),
     "spec.updateStrategy.rollingUpdate"),
    ("sts-partition-negative", sts({"updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}}),
     "spec.updateStrategy.rollingUpdate.partition"),
    ("sts-max-unavailable-zero", sts({"updateStrategy": {"rollingUpdate": {"maxUnavailable": 0}}}),
     "spec.updateStrategy.rollingUpdate.maxUnavailable"),
    ("sts-restart-never", sts(pod_extra={"restartPolicy": "Never"}), "spec.template.spec.restartPolicy"),
    # v1.37 ValidatePodTemplateSpecForStatefulSet validates the pod template on create
    ("sts-pod-spec-validated", sts(containers=[{"name": "Bad_Name"}]), "spec.template.spec.containers[0].name"),
    ("sts-service-name-bad", sts({"serviceName": "db.v1"}), "spec.serviceName"),
    ("sts-service-name-ok", sts({"serviceName": "db-headless"}), None),
    ("sts-retention", sts({"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Keep"}}),
     "spec.persistentVolumeClaimRetentionPolicy.whenDeleted"),

    # --- networking ValidateNetworkPolicySpec / Peer / Port / IPBlock
    ("np-ok-deny-all", netpol({"policyTypes": ["Ingress", "Egress"]}), None),
    ("np-policy-types-repeated-ok", netpol({"policyTypes": ["Ingress", "Ingress"]}), None),
    ("np-policy-types-three", netpol({"policyTypes": ["Ingress", "Egress", "Ingress"]}), "spec.policyTypes"),
    ("np-policy-type-bad", netpol({"policyTypes": ["ingress"]}), "spec.policyTypes[0]"),
    ("np-pod-selector-bad", netpol({"podSelector": {"matchLabels": {"app": "-x"}}}), "spec.podSelector.matchLabels"),
    ("np-peer-empty", from_peer({}), "spec.ingress[0].from[0]"),
    ("np-peer-null-selector", from_peer({"podSelector": None}), "spec.ingress[0].from[0]"),
    ("np-peer-and-ok", from_peer({"namespaceSelector": {}, "podSelector": {"matchLabels": {"a": "b"}}}), None),
    ("np-peer-ipblock-and-selector", from_peer({"ipBlock": {"cidr": "10.0.0.0/8"}, "namespaceSelector": {}}),
     "spec.ingress[0].from[0]"),
    # IsValidCIDRForLegacyField with StrictIPCIDRValidation (on by default since v1.36)
    ("np-ipblock-host-bits", from_peer({"ipBlock": {"cidr": "192.168.1.1/24"}}), "spec.ingress[0].from[0].ipBlock.cidr"),
    ("np-ipblock-leading-zero", from_peer({"ipBlock": {"cidr": "10.0.0.0/08"}}), "spec.ingress[0].from[0].ipBlock.cidr"),
    ("np-ipblock-except-host-bits", from_peer({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.1/16"]}}),
     "spec.ingress[0].from[0].ipBlock.except[0]"),
    ("svc-clusterip-leading-zero", svc({"clusterIP": "10.96.0.010", "ports": [P80]}), "spec.clusterIPs[0]"),
    ("svc-externalip-v4-mapped", svc({"ports": [P80], "externalIPs": ["::ffff:192.0.2.10"]}), "spec.externalIPs[0]"),
    ("svc-lbsr-host-bits", svc({"type": "LoadBalancer", "ports": [P80], "loadBalancerSourceRanges": ["10.0.0.1/8"]}),
     "spec.LoadBalancerSourceRanges[0]"),
    ("np-ipblock-ipv6-ok", from_peer({"ipBlock": {"cidr": "fd00::/8", "except": ["fd00:1::/32"]}}), None),
    ("np-ipblock-bad-cidr", from_peer({"ipBlock": {"cidr": "10.0.0.0/33"}}), "spec.ingress[0].from[0].ipBlock.cidr"),
    ("np-ipblock-no-prefix", from_peer({"ipBlock": {"cidr": "10.0.0.1"}}), "spec.ingress[0].from[0].ipBlock.cidr"),
    ("np-except-equal", from_peer({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/16"]}}),
     "spec.ingress[0].from[0].ipBlock.except[0]"),
    ("np-except-outside", from_peer({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.1.0.0/24"]}}),
     "spec.ingress[0].from[0].ipBlock.except[0]"),
    ("np-except-other-family", from_peer({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["fd00::/64"]}}),
     "spec.ingress[0].from[0].ipBlock.except[0]"),
    ("np-except-bad", from_peer({"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.1.0"]}}),
     "spec.ingress[0].from[0].ipBlock.except[0]"),
    ("np-expr-in-without-values", from_peer({"podSelector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}),
     "spec.ingress[0].from[0].podSelector.matchExpressions[0].values"),
    ("np-expr-exists-with-values", from_peer({"podSelector": {"matchExpressions": [
        {"key": "a", "operator": "Exists", "values": ["x"]}]}}),
     "spec.ingress[0].from[0].podSelector.matchExpressions[0].values"),
    ("np-expr-bad-key", from_peer({"namespaceSelector": {"matchExpressions": [{"key": "-a", "operator": "Exists"}]}}),
     "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].key"),
    ("np-expr-bad-value", from_peer({"podSelector": {"matchExpressions": [
        {"key": "a", "operator": "NotIn", "values": ["has space"]}]}}),
     "spec.ingress[0].from[0].podSelector.matchExpressions[0].values[0]"),
    ("np-port-ok", np_port(port=80), None),
    ("np-port-named-ok", np_port(port="http"), None),
    ("np-port-protocol", np_port(port=80, protocol="ICMP"), "spec.ingress[0].ports[0].protocol"),
    ("np-port-zero", np_port(port=0), "spec.ingress[0].ports[0].port"),
    ("np-port-bad-name", np_port(port="Http"), "spec.ingress[0].ports[0].port"),
    ("np-endport-ok", np_port(port=30000, endPort=32767), None),
    ("np-endport-below-port", np_port(port=100, endPort=90), "spec.ingress[0].ports[0].endPort"),
    ("np-endport-named-port", np_port(port="http", endPort=90), "spec.ingress[0].ports[0].endPort"),
    ("np-endport-without-port", np_port(endPort=90), "spec.ingress[0].ports[0].endPort"),
    ("np-endport-too-big", np_port(port=100, endPort=70000), "spec.ingress[0].ports[0].endPort"),
    ("np-egress-port", netpol({"egress": [{"ports": [{"port": 70000}]}]}), "spec.egress[0].ports[0].port"),

    # --- discovery ValidateEndpointSlice
    ("eps-ok", eps("IPv4", ["192.0.2.10"]), None),
    ("eps-multicast-ok", eps("IPv4", ["239.1.2.3"]), None),
    ("eps-port-number-unchecked", eps("IPv4", ["192.0.2.10"], ports=[{"name": "x", "port": 0}]), None),
    ("eps-address-type-ip", eps("IP", ["192.0.2.10"]), "addressType"),
    # ... but a valid IP of the other family is reported at the list, not the item
    ("eps-wrong-family", eps("IPv4", ["2001:db8::1"]), "endpoints[0].addresses"),
    ("eps-loopback", eps("IPv6", ["::1"]), "endpoints[0].addresses[0]"),
    ("eps-link-local-multicast", eps("IPv4", ["224.0.0.251"]), "endpoints[0].addresses[0]"),
    ("eps-no-addresses", eps("IPv4", []), "endpoints[0].addresses"),
    ("eps-fqdn-ok", eps("FQDN", ["db.example.com."]), None),
    ("eps-fqdn-single-label", eps("FQDN", ["db"]), "endpoints[0].addresses[0]"),
    ("eps-hostname", eps("IPv4", ["192.0.2.10"], hostname="Pod_0"), "endpoints[0].hostname"),
    ("eps-two-unnamed-ports", eps("IPv4", ["192.0.2.10"], ports=[{"port": 80}, {"port": 81}]), "ports[1].name"),
    ("eps-port-protocol", eps("IPv4", ["192.0.2.10"], ports=[{"port": 80, "protocol": "HTTP"}]), "ports[0].protocol"),

    # --- core validateEndpointSubsets
    ("ep-ok", {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
               "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 80}]}]}, None),
    ("ep-no-addresses", {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
                         "subsets": [{"ports": [{"port": 80}]}]}, "subsets[0]"),
    ("ep-link-local", {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
                       "subsets": [{"addresses": [{"ip": "169.254.169.254"}]}]}, "subsets[0].addresses[0].ip"),
    ("ep-two-ports-unnamed", {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
                              "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"name": "a", "port": 80},
                                                                                          {"port": 81}]}]},
     "subsets[0].ports[1].name"),

    # --- networking ValidateIngressSpec / validateIngressBackend
    ("ing-ok", ingress(), None),
    ("ing-wildcard-ok", ingress(host="*.example.com"), None),
    ("ing-ip-host", ingress(host="10.0.0.1"), "spec.rules[0].host"),
    ("ing-bad-wildcard", ingress(host="*example.com"), "spec.rules[0].host"),
    ("ing-tls-ip-like-host-ok", ingress(tls=[{"hosts": ["10.0.0.1"]}]), None),
    ("ing-no-rules-no-default", {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                                 "metadata": {"name": "x"}, "spec": {}}, "spec"),
    ("ing-path-relative", ingress([{"path": "shop", "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}}}]),
     "spec.rules[0].http.paths[0].path"),
    ("ing-path-double-slash", ingress([{"path": "/a//b", "pathType": "Exact",
                                        "backend": {"service": {"name": "web", "port": {"number": 80}}}}]),
     "spec.rules[0].http.paths[0].path"),
    ("ing-impl-specific-no-path-ok", ingress([{"pathType": "ImplementationSpecific",
                                               "backend": {"service": {"name": "web", "port": {"number": 80}}}}]), None),
    ("ing-port-both", ingress(backend(service={"name": "web", "port": {"number": 80, "name": "http"}})),
     "spec.rules[0].http.paths[0].backend"),
    ("ing-port-neither", ingress(backend(service={"name": "web", "port": {}})), "spec.rules[0].http.paths[0].backend"),
    ("ing-port-number-range", ingress(backend(service={"name": "web", "port": {"number": 70000}})),
     "spec.rules[0].http.paths[0].backend.service.port.number"),
    ("ing-port-name-bad", ingress(backend(service={"name": "web", "port": {"name": "HTTP"}})),
     "spec.rules[0].http.paths[0].backend.service.port.name"),
    ("ing-service-name-leading-digit-ok", ingress(backend(service={"name": "1web", "port": {"number": 80}})), None),
    ("ing-service-name-dns-label", ingress(backend(service={"name": "web.v1", "port": {"number": 80}})),
     "spec.rules[0].http.paths[0].backend.service.name"),
    ("ing-class-name", ingress(ingressClassName="Nginx"), "spec.ingressClassName"),
]


@pytest.mark.parametrize("name,manifest,path", CASES, ids=[c[0] for c in CASES])
def test_upstream_verdict(name, manifest, path):
    problems = check(manifest)[1]
    got = [(p.path, p.message) for p in problems]
    if path is None:
        assert got == [], f"the API server accepts this manifest, but we report {got}"
    else:
        assert got, f"the API server refuses this manifest at {path}, but we accept it"
        assert path in [p for p, _ in got], f"expected a problem at {path}, got {got}"


def test_pinned_messages_unchanged():
    _, problems = check(svc({"type": "NodePort", "ports": [{**P80, "nodePort": 80}]}))
    assert [p.message for p in problems] == [
        "provided port 80 is not in the valid range; a nodePort must be between 30000 and 32767"]
    _, problems = check(deploy(labels={"app": "webapp"}))
    assert [p.message for p in problems] == [
        "selector does not match template labels: spec.selector selects app=web, but the "
        "template's labels are app=webapp"]


# --------------------------------------------------------------------------- realistic manifests

COURSE_MANIFESTS = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: lab1, labels: {{pod-security.kubernetes.io/enforce: baseline}}}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: backend
  namespace: lab1
  creationTimestamp: null
  labels: {{app: backend, app.kubernetes.io/part-of: shop}}
  annotations: {{Example.com/Owner: team-a}}
spec:
  replicas: 3
  revisionHistoryLimit: 5
  progressDeadlineSeconds: 120
  minReadySeconds: 5
  selector:
    matchLabels: {{app: backend}}
    matchExpressions:
    - {{key: tier, operator: In, values: [api]}}
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: "0%"}}
  template:
    metadata:
      creationTimestamp: null
      labels: {{app: backend, tier: api}}
      annotations: {{prometheus.io/scrape: "true"}}
    spec:
      nodeSelector: {{kubernetes.io/os: linux}}
      terminationGracePeriodSeconds: 30
      initContainers:
      - name: wait
        image: busybox:1.36
        command: [sh, -c, "true"]
      - name: sidecar
        image: busybox:1.36
        restartPolicy: Always
        readinessProbe: {{exec: {{command: ["true"]}}}}
      containers:
      - name: server
        image: {AGNHOST_IMAGE}
        imagePullPolicy: IfNotPresent
        args: [netexec, --http-port=8080]
        ports:
        - {{name: http, containerPort: 8080, protocol: TCP}}
        - {{name: metrics, containerPort: 9090}}
        env:
        - {{name: POD_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
        - {{name: MODE, value: "fast"}}
        resources:
          requests: {{cpu: 100m, memory: 64Mi}}
          limits: {{cpu: 1, memory: 128Mi}}
        readinessProbe:
          httpGet: {{path: /healthz, port: http, scheme: HTTP}}
          initialDelaySeconds: 2
          periodSeconds: 5
        livenessProbe:
          tcpSocket: {{port: 8080}}
          failureThreshold: 3
          successThreshold: 1
        startupProbe:
          grpc: {{port: 9090}}
      - name: helper
        image: busybox:1.36
        ports:
        - {{name: http, containerPort: 8080}}
status: {{}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: db}}
spec:
  serviceName: db
  replicas: 2
  podManagementPolicy: Parallel
  updateStrategy: {{type: RollingUpdate, rollingUpdate: {{partition: 0, maxUnavailable: 1}}}}
  persistentVolumeClaimRetentionPolicy: {{whenDeleted: Delete, whenScaled: Retain}}
  selector: {{matchLabels: {{app: db}}}}
  template:
    metadata: {{labels: {{app: db}}}}
    spec:
      containers:
      - name: db
        image: {AGNHOST_IMAGE}
        ports: [{{name: tcp, containerPort: 5432}}]
        volumeMounts: [{{name: data, mountPath: /data}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 1Gi}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: db}}
spec:
  clusterIP: None
  selector: {{app: db}}
  ports: [{{name: tcp, port: 5432, targetPort: tcp}}]
---
apiVersion: v1
kind: Service
metadata: {{name: backend}}
spec:
  selector: {{app: backend}}
  sessionAffinity: ClientIP
  sessionAffinityConfig: {{clientIP: {{timeoutSeconds: 10800}}}}
  ports:
  - {{name: http, port: 80, targetPort: http, appProtocol: http}}
  - {{name: metrics, port: 9090, targetPort: 9090, protocol: TCP}}
  - {{name: http-udp, port: 80, protocol: UDP}}
---
apiVersion: v1
kind: Service
metadata: {{name: backend-np}}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {{app: backend}}
  ports:
  - {{name: http, port: 80, targetPort: 8080, nodePort: 30080}}
  - {{name: http-udp, port: 80, targetPort: 8080, nodePort: 30080, protocol: UDP}}
---
apiVersion: v1
kind: Service
metadata: {{name: backend-lb}}
spec:
  type: LoadBalancer
  loadBalancerSourceRanges: [10.0.0.0/8]
  allocateLoadBalancerNodePorts: true
  internalTrafficPolicy: Local
  selector: {{app: backend}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: external-db}}
spec:
  type: ExternalName
  externalName: db.example.com.
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: backend-policy}}
spec:
  podSelector: {{matchLabels: {{app: backend}}}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - podSelector: {{matchLabels: {{app: frontend}}}}
    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: monitoring}}}}
    - namespaceSelector: {{matchLabels: {{team: a}}}}
      podSelector: {{matchExpressions: [{{key: role, operator: NotIn, values: [batch]}}]}}
    - ipBlock: {{cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.3.4/32]}}
    ports:
    - {{port: 80}}
    - {{port: http}}
    - {{protocol: UDP, port: 53}}
    - {{port: 30000, endPort: 32767}}
  egress:
  - to:
    - namespaceSelector: {{}}
      podSelector: {{matchLabels: {{k8s-app: kube-dns}}}}
    ports: [{{protocol: UDP, port: 53}}, {{protocol: TCP, port: 53}}]
  - to: [{{ipBlock: {{cidr: "fd00::/8"}}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: deny-all}}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext-1
  labels: {{kubernetes.io/service-name: ext}}
addressType: IPv4
endpoints:
- addresses: [192.0.2.10]
  conditions: {{ready: true}}
  hostname: ext-0
ports:
- {{name: http, port: 80, protocol: TCP, appProtocol: http}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: shop}}
spec:
  ingressClassName: nginx
  tls: [{{hosts: [shop.example.com], secretName: shop-tls}}]
  defaultBackend: {{service: {{name: backend, port: {{number: 80}}}}}}
  rules:
  - host: shop.example.com
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: backend, port: {{name: http}}}}}}}}
      - {{path: /api/v1, pathType: Exact, backend: {{service: {{name: backend, port: {{number: 8080}}}}}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: client, labels: {{app: frontend}}}}
spec:
  restartPolicy: Never
  hostname: client
  subdomain: db
  containers:
  - name: c
    image: busybox:1.36
    command: [sleep, "3600"]
    securityContext: {{runAsNonRoot: true, allowPrivilegeEscalation: false}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg}}
data: {{app.properties: "x=1", LOG_LEVEL: debug}}
"""


def test_realistic_course_manifests_validate_clean():
    """Schema (strict OpenAPI) plus rules: intstr ports by name, quantities as strings and
    numbers, nodeSelector, probes on named ports, kubectl's `creationTimestamp: null` and
    `status: {}`, every peer kind ... must all pass."""
    manifests, problems = check(COURSE_MANIFESTS)
    assert [str(p) for p in problems] == []
    assert len(manifests) == 14

