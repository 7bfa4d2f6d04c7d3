"""kube-scheduler and the node IPAM of the offline cluster: which node each pod runs on and
the IP it takes from that node's /24. A pod with spec.nodeName is bound to that node as
written, without the scheduler (its NoSchedule taint does not apply).

Pods already running keep their node (up to each node's maxPods) and their IP; new pods go
to the feasible node with the fewest pods; the rest stay Pending with the scheduler's
message, no IP and not Ready. Placement is keyed by the pod's IPAM key, which is its
"ns/name" unless the controllers gave a recreated pod a key of its own (grader.model.controllers),
so a StatefulSet pod that comes back under the same name still gets a new IP."""
from __future__ import annotations

from typing import AbstractSet, Mapping, Optional, Sequence, Tuple

from grader.model.ipam import AllocationError, IPPool
from grader.model.nodes import Node, fit_error, tolerates
from grader.model.objects import Pod
from grader.model.workloads import PodDraft

#: A pod's start: (container -> environment, None) once its containers run, or (None, why
#: the kubelet cannot start them).
Started = Tuple[Optional[dict[str, dict[str, str]]], Optional[str]]


class Scheduler:
    """The nodes, how many pods each may run, and where each IPAM key is placed."""

    def __init__(self, nodes: list[Node], max_pods: int) -> None:
        self.nodes = nodes
        #: kubelet's maxPods per node (kind lets a cluster config raise it); a node's /24
        #: holds at most 253 pod IPs, so more than that cannot run anyway.
        self.max_pods = max_pods
        self.pod_ips = [IPPool(n.pod_cidr, dynamic_offset=2) for n in nodes]
        self.placement: dict[str, int] = {}        # IPAM key -> index of the node it runs on

    def schedule(self, drafts: Sequence[PodDraft], ipam: Mapping[str, str],
                 not_ready: AbstractSet[str], started: Mapping[str, Started] | None = None) -> list[Pod]:
        """The pods of `drafts` (in name order; `ipam` maps each "ns/name" to its IPAM key),
        placed, given IPs, and Ready unless in `not_ready`, Pending, unable to start its
        containers (`started`) or failing a readiness probe (the draft's probe_failure)."""
        keys = [f"{d.namespace}/{d.name}" for d in drafts]
        placed = self._place(drafts, keys, ipam)
        held = {ipam[k] for k in placed}
        for i, pool in enumerate(self.pod_ips):
            for key in list(pool.ints.by_key):
                if key not in held or self.placement.get(key) != i:
                    pool.release(key)
        self.placement = {ipam[k]: idx for k, idx in placed.items()}
        pods = []
        for d, key in zip(drafts, keys, strict=True):
            idx = placed.get(key)
            node = self.nodes[idx] if idx is not None else None
            env, start_error = (started or {}).get(key, ({}, None))
            unready = (start_error or d.probe_failure) if node is not None else None
            pods.append(Pod(namespace=d.namespace, name=d.name,
                            ip=self.pod_ips[idx].allocate(ipam[key]) if idx is not None else "",
                            labels=d.labels, ports=d.ports, listening=d.listening, servers=d.servers,
                            ready=node is not None and key not in not_ready and unready is None,
                            unready_reason=unready, env=env or {}, hostname=d.hostname,
                            subdomain=d.subdomain, owner=d.owner,
                            node=node.name if node else "",
                            pending_reason=None if node else _pending_reason(self.nodes, d)))
        return pods

    def _place(self, drafts: Sequence[PodDraft], keys: list[str], ipam: Mapping[str, str]) -> dict[str, int]:
        """Pod key -> node index for every pod that fits somewhere."""
        placed = {k: self.placement[ipam[k]] for k in keys if ipam[k] in self.placement
                  and self.pod_ips[self.placement[ipam[k]]].get(ipam[k]) is not None}
        load = [0] * len(self.nodes)
        # the running pods stay where they are (up to each node's maxPods)
        for k in keys:
            if k in placed:
                if load[placed[k]] < self.max_pods:
                    load[placed[k]] += 1
                else:
                    del placed[k]
        for d, k in zip(drafts, keys, strict=True):
            if k in placed:
                continue
            if d.node_name is not None:
                # spec.nodeName skips the scheduler: the kubelet of that node runs the pod,
                # NoSchedule taints notwithstanding; a node that does not exist runs nothing
                bound = next((n for n in self.nodes if n.name == d.node_name), None)
                if bound is not None and load[bound.index] < self.max_pods:
                    placed[k] = bound.index
                    load[bound.index] += 1
                continue
            feasible = [n for n in self.nodes if tolerates(n, d.namespace) and load[n.index] < self.max_pods]
            if any(n.tainted for n in feasible):
                # kube-system pods (CoreDNS) start before the workers join, on the control plane
                feasible = [n for n in feasible if n.tainted]
            if feasible:
                node = min(feasible, key=lambda n: (load[n.index], n.index))
                placed[k] = node.index
                load[node.index] += 1
        return placed

    def take_ip_early(self, ip_key: str, namespace: str) -> None:
        """Allocate a replacement pod's IP (on the feasible node with the fewest pods) while
        the deleted pod still holds its own, so the two differ; with no room, the next
        schedule hands out what the deleted pod frees."""
        load = [0] * len(self.nodes)
        for idx in self.placement.values():
            load[idx] += 1
        feasible = [n for n in self.nodes if tolerates(n, namespace)]
        node = min(feasible, key=lambda n: (load[n.index], n.index)) if feasible else None
        if node is None:
            return
        try:
            self.pod_ips[node.index].allocate(ip_key)
            self.placement[ip_key] = node.index
        except AllocationError:
            pass


def _pending_reason(nodes: list[Node], draft: PodDraft) -> str:
    """Why a pod has no node: the scheduler's FitError, or, for a pod bound by spec.nodeName,
    that no such node exists (or it is full)."""
    if draft.node_name is None:
        return fit_error(nodes, draft.namespace)
    if not any(n.name == draft.node_name for n in nodes):
        return (f'spec.nodeName is "{draft.node_name}", and no node has that name: the pod waits '
                f"for it (nodes: {', '.join(n.name for n in nodes)})")
    return f'node "{draft.node_name}" (spec.nodeName) already runs its maximum of pods'
