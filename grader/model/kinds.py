"""How the API server and kubectl name kinds: resource names in kubectl's output lines, the
aliases kubectl accepts, which kinds are cluster-scoped, and the plural an error names.

One place for these names so the store, admission and kubectl's emulation word them alike."""
from __future__ import annotations

#: kubectl's resource names in its output lines.
KIND_RESOURCE = {
    "Namespace": "namespace", "Pod": "pod", "Service": "service", "ConfigMap": "configmap",
    "Secret": "secret", "ServiceAccount": "serviceaccount", "Endpoints": "endpoints",
    "Deployment": "deployment.apps", "ReplicaSet": "replicaset.apps",
    "StatefulSet": "statefulset.apps", "DaemonSet": "daemonset.apps",
    "NetworkPolicy": "networkpolicy.networking.k8s.io", "Ingress": "ingress.networking.k8s.io",
    "EndpointSlice": "endpointslice.discovery.k8s.io",
    "IngressClass": "ingressclass.networking.k8s.io",
    "GatewayClass": "gatewayclass.gateway.networking.k8s.io",
    "Gateway": "gateway.gateway.networking.k8s.io",
    "HTTPRoute": "httproute.gateway.networking.k8s.io",
    "ReferenceGrant": "referencegrant.gateway.networking.k8s.io",
    "ResourceQuota": "resourcequota", "LimitRange": "limitrange",
}
#: Kinds stored without a namespace (the model keeps them under namespace "").
CLUSTER_SCOPED_KINDS = ("IngressClass", "GatewayClass")
#: Names kubectl accepts for a kind (lower-case, plural, short names).
KIND_ALIASES = {
    alias: kind
    for kind, aliases in {
        "Pod": ("pod", "pods", "po"), "Service": ("service", "services", "svc"),
        "Deployment": ("deployment", "deployments", "deploy"),
        "ReplicaSet": ("replicaset", "replicasets", "rs"),
        "StatefulSet": ("statefulset", "statefulsets", "sts"),
        "NetworkPolicy": ("networkpolicy", "networkpolicies", "netpol"),
        "ConfigMap": ("configmap", "configmaps", "cm"),
        "EndpointSlice": ("endpointslice", "endpointslices"),
        "Endpoints": ("endpoints", "ep"), "Namespace": ("namespace", "namespaces", "ns"),
        "Secret": ("secret", "secrets"), "Ingress": ("ingress", "ingresses", "ing"),
        "ServiceAccount": ("serviceaccount", "serviceaccounts", "sa"),
        "IngressClass": ("ingressclass", "ingressclasses"),
        "GatewayClass": ("gatewayclass", "gatewayclasses", "gc"),
        "Gateway": ("gateway", "gateways", "gtw"), "HTTPRoute": ("httproute", "httproutes"),
        "ReferenceGrant": ("referencegrant", "referencegrants", "refgrant"),
        "ResourceQuota": ("resourcequota", "resourcequotas", "quota"),
        "LimitRange": ("limitrange", "limitranges", "limits"),
    }.items()
    for alias in aliases
}


def plural_resource(kind: str) -> str:
    """How the API server names a resource in errors: "services", "deployments.apps"."""
    resource = KIND_RESOURCE.get(kind, kind.lower())
    base, _, group = resource.partition(".")
    if base.endswith("ss"):
        base += "es"
    elif not base.endswith("s"):
        base = base[:-1] + "ies" if base.endswith("y") else base + "s"
    return f"{base}.{group}" if group else base


def canonical_kind(kind: str) -> str:
    """The kind kubectl means by `kind` ("svc", "deployments.apps", "Service"), or the
    server's error for a resource type it does not know."""
    k = KIND_ALIASES.get(kind.lower().split(".")[0])
    if k is None:
        if kind in KIND_RESOURCE:
            return kind
        raise ValueError(f'the server doesn\'t have a resource type "{kind}"')
    return k
