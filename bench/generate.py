"""Deterministic synthetic clusters for the reachability-matrix benchmark and for the
grouping-vs-brute-force correctness test.

`generate(pods, namespaces, policies, seed)` returns (pods, namespaces, policies) in the
shapes `grader.model.matrix.compute_matrix` takes. Pods come in Deployment-like groups
(replicas share labels and ports), namespaces carry team/env labels, and the policies
cycle through every peer and port kind NetworkPolicy has: default deny, podSelector,
namespaceSelector, both in one peer, matchExpressions (In/NotIn/Exists/DoesNotExist),
ipBlock with except, named ports, endPort ranges, protocol-only ports, egress (DNS to
kube-system, ipBlock), egress-only deny, `ingress: [{}]` allow-all, `ingress: []`.
"""
from __future__ import annotations

import ipaddress
import random
from typing import Any

from grader.kind.images import AGNHOST_IMAGE
from grader.model.objects import ContainerPort, NamespaceInfo, Pod, namespace_labels

TEAMS = ("red", "blue", "green", "gold")
ENVS = ("prod", "staging", "dev")
TIERS = ("web", "api", "db", "cache")
POD_NET = ipaddress.ip_network("10.244.0.0/16")


def _ports(kind: int) -> tuple[tuple[ContainerPort, ...], frozenset[tuple[int, str]]]:
    if kind == 0:      # netexec-like: http on 80, metrics on 81
        ports = (ContainerPort(80, "TCP", "http"), ContainerPort(81, "TCP", "metrics"))
    elif kind == 1:    # http on 8080 (a Service would map 80 -> 8080)
        ports = (ContainerPort(8080, "TCP", "http"),)
    elif kind == 2:    # http on 81 under the same name: named port "http" = 81 here
        ports = (ContainerPort(81, "TCP", "http"), ContainerPort(80, "UDP", "dns-ish"))
    else:              # undeclared ports, serves 80 anyway
        ports = ()
    listening = frozenset((p.port, p.protocol) for p in ports) or frozenset({(80, "TCP")})
    return ports, listening


def generate(pods: int = 1000, namespaces: int = 20, policies: int = 200, seed: int = 1
             ) -> tuple[list[Pod], dict[str, NamespaceInfo], list[dict[str, Any]]]:
    rnd = random.Random(seed)
    ns_names = [f"ns-{i:02d}" for i in range(namespaces)]
    nss: dict[str, NamespaceInfo] = {
        "kube-system": NamespaceInfo("kube-system", namespace_labels("kube-system"))
    }
    for i, n in enumerate(ns_names):
        labels = {"team": TEAMS[i % len(TEAMS)], "env": ENVS[i % len(ENVS)]}
        if i % 5 == 0:
            labels["monitoring"] = "true"
        nss[n] = NamespaceInfo(n, namespace_labels(n, labels))

    hosts = POD_NET.hosts()
    next(hosts)
    out: list[Pod] = []
    # CoreDNS, so DNS egress rules have something to reach
    for j in range(2):
        out.append(Pod("kube-system", f"coredns-{j}", str(next(hosts)), {"k8s-app": "kube-dns"},
                       (ContainerPort(53, "UDP", "dns"), ContainerPort(53, "TCP", "dns-tcp")),
                       frozenset({(53, "UDP"), (53, "TCP")})))
    app = 0
    while len(out) < pods:
        ns = ns_names[app % namespaces]
        replicas = min(rnd.choice((1, 2, 3, 5, 8)), pods - len(out))
        tier = TIERS[app % len(TIERS)]
        labels = {"app": f"app-{app}", "tier": tier, "version": f"v{1 + app % 2}"}
        if app % 7 == 0:
            labels["canary"] = "yes"
        ports, listening = _ports(app % 4)
        for r in range(replicas):
            out.append(Pod(ns, f"app-{app}-{r}", str(next(hosts)), dict(labels), ports, listening,
                           owner=f"Deployment/app-{app}"))
        app += 1
    apps = app

    pols: list[dict[str, Any]] = []
    for k in range(policies):
        ns = ns_names[k % namespaces]
        a = rnd.randrange(apps)
        kind = k % 12
        target = {"matchLabels": {"app": f"app-{a}"}} if kind % 3 else {}
        spec: dict[str, Any] = {"podSelector": target}
        if kind == 0:
            spec["policyTypes"] = ["Ingress"]                       # default deny ingress
        elif kind == 1:
            spec["ingress"] = [{"from": [{"podSelector": {"matchLabels": {"tier": rnd.choice(TIERS)}}}],
                                "ports": [{"port": 80}]}]
        elif kind == 2:
            spec["ingress"] = [
                {"from": [{"namespaceSelector": {"matchLabels": {"team": rnd.choice(TEAMS)}}}]}
            ]
        elif kind == 3:
            spec["ingress"] = [{"from": [{"namespaceSelector": {"matchLabels": {"env": rnd.choice(ENVS)}},
                                          "podSelector": {"matchLabels": {"tier": "web"}}}],
                                "ports": [{"port": "http"}]}]
        elif kind == 4:
            base = rnd.randrange(0, 4)
            spec["ingress"] = [{"from": [{"ipBlock": {"cidr": f"10.244.{base * 64}.0/18",
                                                      "except": [f"10.244.{base * 64}.0/29"]}}],
                                "ports": [{"port": 80, "endPort": 81}]}]
        elif kind == 5:
            spec["policyTypes"] = ["Egress"]
            spec["egress"] = [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                         "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                {"to": [{"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In",
                                                               "values": ["api", "db"]}]}}]},
            ]
        elif kind == 6:
            spec["egress"] = [{"to": [{"ipBlock": {"cidr": "10.244.0.0/22"}}]}]   # types default to both
        elif kind == 7:
            spec["ingress"] = [{"ports": [{"protocol": "UDP"}]}]
        elif kind == 8:
            spec["policyTypes"] = ["Egress"]                        # deny all egress
        elif kind == 9:
            spec["podSelector"] = {
                "matchExpressions": [
                    {"key": "canary", "operator": "DoesNotExist"},
                    {"key": "tier", "operator": "NotIn", "values": ["db"]},
                ]
            }
            spec["ingress"] = [{}]                                  # allow all
        elif kind == 10:
            spec["ingress"] = [{"from": [{"namespaceSelector": {"matchExpressions": [
                {"key": "monitoring", "operator": "Exists"}]}}, {"podSelector": {}}],
                "ports": [{"port": "metrics"}, {"port": 8080}]}]
        else:
            spec["ingress"] = []                                    # isolates, allows nothing
            spec["egress"] = [{"to": [{"podSelector": {}, "namespaceSelector": {}}],
                               "ports": [{"port": 80, "endPort": 8080}]}]
        pols.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": f"pol-{k:03d}", "namespace": ns}, "spec": spec})
    return out, nss, pols


def generate_manifests(pods: int = 1000, namespaces: int = 20, policies: int = 200, seed: int = 1
                       ) -> list[dict[str, Any]]:
    """The same synthetic cluster as `generate`, as the manifests a user would write:
    Namespaces with their labels, one Deployment per pod group (replicas, labels and
    container ports as generated; every container serves what it declares, the groups
    without declared ports run agnhost netexec on 80), and the NetworkPolicies. CoreDNS is
    not written: the model's cluster has its own."""
    model_pods, nss, pols = generate(pods, namespaces, policies, seed)
    out: list[dict[str, Any]] = []
    for name, info in sorted(nss.items()):
        if name == "kube-system":
            continue
        labels = {k: v for k, v in info.labels.items() if k != "kubernetes.io/metadata.name"}
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
    groups: dict[tuple[str, str], list[Pod]] = {}
    for p in model_pods:
        if p.owner:
            groups.setdefault((p.namespace, p.owner.split("/", 1)[1]), []).append(p)
    for (ns, app), members in groups.items():
        first = members[0]
        if first.ports:
            container: dict[str, Any] = {
                "name": "app",
                "image": "registry.k8s.io/e2e-test-images/nginx:1.15-4",
                "ports": [
                    {
                        "containerPort": cp.port,
                        "protocol": cp.protocol,
                        **({"name": cp.name} if cp.name else {}),
                    }
                    for cp in first.ports
                ],
            }
        else:
            container = {"name": "app", "image": AGNHOST_IMAGE,
                         "args": ["netexec", "--http-port=80"]}
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": app, "namespace": ns},
                "spec": {
                    "replicas": len(members),
                    "selector": {"matchLabels": {"app": first.labels["app"]}},
                    "template": {
                        "metadata": {"labels": dict(first.labels)},
                        "spec": {"containers": [container]},
                    },
                },
            }
        )
    out.extend(pols)
    return out
