"""The names a pod's stub resolver asks for: the search list and ndots:5 that the kubelet
writes into a ClusterFirst pod's /etc/resolv.conf.

Why on the bottom floor: the offline DNS model answers these questions and the checks
(which see only the Cluster API) ask them one by one, so both need the same list.
"""
from __future__ import annotations

#: The cluster domain kind (and kubeadm) configure.
CLUSTER_DOMAIN = "cluster.local"
#: ndots in a ClusterFirst pod's resolv.conf.
NDOTS = 5


def search_list(namespace: str) -> list[str]:
    return [f"{namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]


def candidates(name: str, namespace: str) -> list[str]:
    """The names the stub resolver will ask for, in order (the asked part keeps its case)."""
    name = name.strip()
    if name.endswith("."):
        return [name.rstrip(".")]
    expanded = [f"{name}.{s}" for s in search_list(namespace)]
    return [name] + expanded if name.count(".") >= NDOTS else expanded + [name]
