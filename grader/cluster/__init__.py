"""The Cluster API (base.py) and its two backends: offline.py (the model) and live.py (with
live_namespace.py, live_pods.py and live_api.py, the only importer of the kubernetes client)."""
from grader.cluster.base import (
    Cluster,
    DnsAnswer,
    DnsRecord,
    Endpoint,
    Matrix,
    Namespace,
    Outcome,
    PodRef,
    Reachability,
    Status,
)

__all__ = ["Cluster", "DnsAnswer", "DnsRecord", "Endpoint", "Matrix", "Namespace", "Outcome",
           "PodRef", "Reachability", "Status"]
