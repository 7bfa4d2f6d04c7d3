"""Resource types as kubectl names them: what a learner may type (`svc`, `pods`,
`deploy/web`), the singular `-o name` prefix, the plural the API server puts in errors.

The offline mode answers `get`/`describe`/`delete` for the kinds in KINDS; a type kubectl
knows but the model does not keep (secrets, nodes, events...) is reported as not modelled,
and a type kubectl does not know is kubectl's own "doesn't have a resource type" error.
"""
from __future__ import annotations

from dataclasses import dataclass

from grader.kubectl.result import KubectlError


@dataclass(frozen=True)
class Kind:
    """A resource kind as kubectl names it: kind, API version, plural resource, group, scope,
    short names."""

    kind: str                 # "Service"
    api_version: str          # "v1"
    resource: str             # plural resource name: "services"
    group: str = ""           # "apps", "networking.k8s.io", ...
    namespaced: bool = True
    aliases: tuple[str, ...] = ()

    @property
    def singular(self) -> str:
        """`-o name` / apply-line prefix: "service", "deployment.apps"."""
        base = self.kind.lower()
        return f"{base}.{self.group}" if self.group else base

    @property
    def qualified(self) -> str:
        """What the API server puts in errors: "services", "deployments.apps"."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


KINDS: tuple[Kind, ...] = (
    Kind("Pod", "v1", "pods", aliases=("pod", "po")),
    Kind("Service", "v1", "services", aliases=("service", "svc")),
    Kind("Endpoints", "v1", "endpoints", aliases=("ep",)),
    Kind("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", "discovery.k8s.io",
         aliases=("endpointslice",)),
    Kind("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", "networking.k8s.io",
         aliases=("networkpolicy", "netpol")),
    Kind("Ingress", "networking.k8s.io/v1", "ingresses", "networking.k8s.io", aliases=("ingress", "ing")),
    Kind("Deployment", "apps/v1", "deployments", "apps", aliases=("deployment", "deploy")),
    Kind("ReplicaSet", "apps/v1", "replicasets", "apps", aliases=("replicaset", "rs")),
    Kind("StatefulSet", "apps/v1", "statefulsets", "apps", aliases=("statefulset", "sts")),
    Kind("ConfigMap", "v1", "configmaps", aliases=("configmap", "cm")),
    Kind("Namespace", "v1", "namespaces", namespaced=False, aliases=("namespace", "ns")),
    Kind("HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes", "gateway.networking.k8s.io",
         aliases=("httproute",)),
    Kind("Gateway", "gateway.networking.k8s.io/v1", "gateways", "gateway.networking.k8s.io",
         aliases=("gateway", "gtw")),
)

#: Types real kubectl knows that the model does not keep: offline says so honestly.
UNMODELLED = {
    "secret", "secrets", "node", "nodes", "no", "event", "events", "ev", "serviceaccount",
    "serviceaccounts", "sa", "daemonset", "daemonsets", "ds", "job", "jobs", "cronjob",
    "cronjobs", "cj", "persistentvolumeclaim", "persistentvolumeclaims", "pvc",
    "persistentvolume", "persistentvolumes", "pv", "resourcequota", "resourcequotas", "quota",
    "limitrange", "limitranges", "limits", "ingressclass", "ingressclasses", "gatewayclass",
    "gatewayclasses", "gc", "role", "roles", "rolebinding", "rolebindings", "clusterrole",
    "clusterroles", "clusterrolebinding", "clusterrolebindings", "storageclass",
    "storageclasses", "sc", "horizontalpodautoscaler", "horizontalpodautoscalers", "hpa",
    "poddisruptionbudget", "poddisruptionbudgets", "pdb", "customresourcedefinition",
    "customresourcedefinitions", "crd", "crds", "servicecidr", "servicecidrs", "ipaddress",
    "ipaddresses", "grpcroute", "grpcroutes", "referencegrant", "referencegrants",
}

_BY_NAME: dict[str, Kind] = {}
#: What `kubectl get all` lists, in its order, among the kinds the model keeps (it has no
#: DaemonSets, Jobs or CronJobs, so there are none to list).
for _k in KINDS:
    for _n in (_k.kind.lower(), _k.resource, *_k.aliases, _k.singular, _k.qualified):
        _BY_NAME[_n] = _k


class NotModelled(Exception):
    """kubectl knows this, the offline model does not: say so instead of inventing output.
    args: (what, [hint]); `what` is the command's words after the verb (the verb is added
    when it is not there already), `hint` what the model can do instead."""


def _all() -> list[Kind]:
    return [by_kind(k) for k in ("Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet")]


def lookup(word: str) -> Kind:
    """The Kind a typed resource type names; NotModelled or kubectl's error otherwise."""
    w = word.lower()
    kind = _BY_NAME.get(w)
    if kind is not None:
        return kind
    if w in UNMODELLED or w.split(".")[0] in UNMODELLED:
        raise NotModelled(word)
    raise KubectlError(f'error: the server doesn\'t have a resource type "{word}"')


def by_kind(kind: str) -> Kind:
    for k in KINDS:
        if k.kind == kind:
            return k
    raise KeyError(kind)


def parse_targets(args: list[str]) -> list[tuple[Kind, list[str]]]:
    """`svc web db` | `svc/web deploy/db` | `pods,svc` -> [(Kind, [names])...] in order.
    An empty name list means "all of that type"."""
    if not args:
        return []
    if all("/" in a for a in args):
        out: list[tuple[Kind, list[str]]] = []
        for a in args:
            t, _, name = a.partition("/")
            if not name:
                raise KubectlError(
                    "error: arguments in resource/name form must have a single resource and name"
                )
            k = lookup(t)
            if out and out[-1][0] == k:
                out[-1][1].append(name)
            else:
                out.append((k, [name]))
        return out
    if any("/" in a for a in args):
        raise KubectlError(
            "error: there is no need to specify a resource type as a separate argument "
            "when passing arguments in resource/name form (e.g. 'kubectl get resource/<resource_name>' "
            "instead of 'kubectl get resource resource/<resource_name>'"
        )
    types = [k for t in args[0].split(",") if t for k in (_all() if t.lower() == "all" else [lookup(t)])]
    names = args[1:]
    if names and len(types) > 1:
        return [(t, list(names)) for t in types]
    return [(t, list(names)) for t in types]
