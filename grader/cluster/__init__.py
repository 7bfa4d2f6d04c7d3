"""The Cluster API (base.py) and its two backends: offline.py (the model) and live.py."""
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
