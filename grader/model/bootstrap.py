"""What a new kind cluster holds before anyone applies anything: its namespaces, the
`kubernetes` Service, CoreDNS behind `kube-dns`, and the classes cloud-provider-kind creates.
Kept apart from the store so "what kind ships" is one list to compare with a real cluster."""
from __future__ import annotations

from typing import Any

from grader.model.objects import NODE_IP
from grader.model.services import DNS_SERVICE_IP, KUBERNETES_SERVICE_IP

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.12.1"

#: kubeadm's Corefile, as kind and the project's local cluster (grader.localcluster.addons)
#: install it; the default answers of the model are the answers of this file
#: (grader.model.corefile reads it). Kept here, with the rest of what a new cluster holds, so
#: that building a cluster does not import the Corefile parser.
DEFAULT_COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"""


def builtin_objects() -> list[dict[str, Any]]:
    """The objects a fresh kind cluster (with cloud-provider-kind) already has."""
    dns_labels = {"k8s-app": "kube-dns"}
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"component": "apiserver", "provider": "kubernetes"}},
         "spec": {"clusterIP": KUBERNETES_SERVICE_IP,
                  "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "kubernetes", "namespace": "default",
                      "labels": {"kubernetes.io/service-name": "kubernetes"}},
         "addressType": "IPv4",
         "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
         "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}]},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dns_labels},
         "spec": {"replicas": 2, "selector": {"matchLabels": dns_labels},
                  "template": {"metadata": {"labels": dns_labels},
                               "spec": {"containers": [{
                                   "name": "coredns", "image": COREDNS_IMAGE,
                                   "args": ["-conf", "/etc/coredns/Corefile"],
                                   "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                             {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                             {"containerPort": 9153, "name": "metrics",
                                              "protocol": "TCP"}]}]}}}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "coredns", "namespace": "kube-system"},
         "data": {"Corefile": DEFAULT_COREFILE}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": "kube-system",
                      "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
         "spec": {"clusterIP": DNS_SERVICE_IP, "selector": dns_labels,
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                            {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]}},
        # what cloud-provider-kind creates at start (grader.model.ingress / gateway)
        {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": "cloud-provider-kind",
                      "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
         "spec": {"controller": "kind.sigs.k8s.io/ingress-controller"}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "cloud-provider-kind"},
         "spec": {"controllerName": "kind.sigs.k8s.io/gateway-controller"}},
    ]
