"""The admission rules behind a namespace's ResourceQuota and LimitRange, worded as the API
server words its refusals (the LimitRanger and ResourceQuota admission plugins, the pod and
service quota evaluators). grader.guardrails says which quota and limits a course namespace
gets; this module says what they mean, for the offline model and the sandbox alike.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

from grader.k8s.quantity import Quantity, ResourceList, parse_list

__all__ = ["Quantity", "ResourceList", "parse_list", "forbidden", "default_resources",
           "limit_range_errors", "request_over_limit_errors", "pod_admission_errors", "pod_usage",
           "missing_requests", "service_usage", "object_usage", "add_usage", "QuotaTracker",
           "usage_delta"]


def _pretty(items: ResourceList) -> str:
    """prettyPrint of the quota admission plugin: sorted "name=value" joined by commas."""
    return ",".join(f"{k}={items[k]}" for k in sorted(items))


def forbidden(resource: str, name: str, why: str) -> str:
    """admission.NewForbidden's wording: `pods "web" is forbidden: <why>`."""
    return f'{resource} "{name}" is forbidden: {why}'


# =========================================================================== LimitRanger

def _container_lists(pod_spec: Mapping[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [(key, [c for c in pod_spec.get(key) or [] if isinstance(c, dict)])
            for key in ("containers", "initContainers")]


def default_resources(pod_spec: Mapping[str, Any], limit_ranges: Iterable[Mapping[str, Any]]
                      ) -> dict[str, Any]:
    """A copy of `pod_spec` with requests/limits as the API server stores them: API
    defaulting first (a container that sets a limit but no request requests its limit),
    then each LimitRange's Container `default` (limits) and `defaultRequest` (requests)."""
    spec = copy.deepcopy(dict(pod_spec))
    ranges = [_defaulted_item(lim) for lr in limit_ranges
              for lim in ((lr.get("spec") or {}).get("limits") or [])
              if isinstance(lim, Mapping) and lim.get("type") == "Container"]
    for _, containers in _container_lists(spec):
        for c in containers:
            if not isinstance(c.get("resources"), dict):
                c["resources"] = {}
            res = c["resources"]
            limits = dict(res.get("limits") or {})
            requests = dict(res.get("requests") or {})
            for k, v in limits.items():
                requests.setdefault(k, v)
            for lim in ranges:
                for k, v in lim["default"].items():
                    limits.setdefault(k, v)
                for k, v in lim["defaultRequest"].items():
                    requests.setdefault(k, v)
            if limits:
                res["limits"] = limits
            if requests:
                res["requests"] = requests
    return spec


def _defaulted_item(item: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A LimitRange item as the API server stores it (SetDefaults_LimitRangeItem): a
    missing `default` is `max`; a missing `defaultRequest` is `default`, else `min`."""
    default = dict(item.get("max") or {})
    default.update(item.get("default") or {})
    request = dict(default)
    request.update(item.get("defaultRequest") or {})
    for k, v in (item.get("min") or {}).items():
        request.setdefault(k, v)
    return {"default": default, "defaultRequest": request}


def limit_range_errors(pod_spec: Mapping[str, Any], limit_ranges: Iterable[Mapping[str, Any]]) -> list[str]:
    """The LimitRanger's refusals for an already-defaulted pod spec (min/max per Container),
    in its words (limitranger.go's minConstraint/maxConstraint: no closing period; checked
    against kube-apiserver v1.37 in tests/controlplane/test_cp_guardrails_differential.py)."""
    errs: list[str] = []
    for lr in limit_ranges:
        for lim in (lr.get("spec") or {}).get("limits") or []:
            if not isinstance(lim, Mapping) or lim.get("type") != "Container":
                continue
            for _, containers in _container_lists(pod_spec):
                for c in containers:
                    res = c.get("resources") or {}
                    req, lims = parse_list(res.get("requests")), parse_list(res.get("limits"))
                    for k, enforced in sorted(parse_list(lim.get("min")).items()):
                        if k not in req:
                            errs.append(
                                f"minimum {k} usage per Container is {enforced}.  No request is specified"
                            )
                        elif req[k].value < enforced.value:
                            errs.append(
                                f"minimum {k} usage per Container is {enforced}, but request is {req[k]}"
                            )
                        elif k in lims and lims[k].value < enforced.value:
                            errs.append(
                                f"minimum {k} usage per Container is {enforced}, but limit is {lims[k]}"
                            )
                    for k, enforced in sorted(parse_list(lim.get("max")).items()):
                        if k not in lims:
                            errs.append(
                                f"maximum {k} usage per Container is {enforced}.  No limit is specified"
                            )
                        elif lims[k].value > enforced.value:
                            errs.append(
                                f"maximum {k} usage per Container is {enforced}, but limit is {lims[k]}"
                            )
                        elif k in req and req[k].value > enforced.value:
                            errs.append(
                                f"maximum {k} usage per Container is {enforced}, but request is {req[k]}"
                            )
    return errs


def request_over_limit_errors(pod_spec: Mapping[str, Any]) -> list[str]:
    """Pod validation after defaulting: a request above its limit is invalid, e.g.
    `spec.containers[0].resources.requests[cpu]: Invalid value: "500m": must be less than
    or equal to cpu limit of 200m` (a request set above the LimitRange's default limit)."""
    errs = []
    for key, containers in _container_lists(pod_spec):
        for i, c in enumerate(containers):
            res = c.get("resources") or {}
            req, lims = parse_list(res.get("requests")), parse_list(res.get("limits"))
            for k in sorted(req):
                if k in lims and req[k].value > lims[k].value:
                    errs.append(f"spec.{key}[{i}].resources.requests[{k}]: Invalid value: "
                                f'"{req[k]}": must be less than or equal to {k} limit of {lims[k]}')
    return errs


def pod_admission_errors(name: str, pod_spec: Mapping[str, Any],
                         limit_ranges: Iterable[Mapping[str, Any]]) -> str | None:
    """Why the API server refuses to create this pod before quota is even counted (the
    LimitRanger, then validation of the defaulted pod), or None. `pod_spec` is defaulted."""
    lr = limit_range_errors(pod_spec, limit_ranges)
    if lr:
        return forbidden("pods", name, lr[0] if len(lr) == 1 else "[" + ", ".join(lr) + "]")
    invalid = request_over_limit_errors(pod_spec)
    if invalid:
        return f'Pod "{name}" is invalid: ' + (
            invalid[0] if len(invalid) == 1 else "[" + ", ".join(invalid) + "]"
        )
    return None


# =========================================================================== quota usage

_POD_COMPUTE = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")


def pod_usage(pod_spec: Mapping[str, Any]) -> ResourceList:
    """What one (defaulted) pod counts against a quota: pods=1 and its effective requests
    and limits (app containers and sidecars add up; a plain init container counts alone
    when larger), as the pod evaluator computes them. `cpu`/`memory` alias the requests."""
    totals: dict[str, Quantity] = {}
    inits: dict[str, Quantity] = {}
    for key, containers in _container_lists(pod_spec):
        for c in containers:
            res = c.get("resources") or {}
            sidecar = key == "initContainers" and c.get("restartPolicy") == "Always"
            for kind in ("requests", "limits"):
                for r, q in parse_list(res.get(kind)).items():
                    if r not in ("cpu", "memory"):
                        continue
                    name = f"{kind}.{r}"
                    if key == "containers" or sidecar:
                        totals[name] = totals.get(name, Quantity()) + q
                    elif q.value > inits.get(name, Quantity()).value:
                        inits[name] = q
    out: ResourceList = {"pods": Quantity(1), "count/pods": Quantity(1)}
    for name in _POD_COMPUTE:
        best = totals.get(name)
        if name in inits and (best is None or inits[name].value > best.value):
            best = inits[name]
        if best is not None:
            out[name] = best
    if "requests.cpu" in out:
        out["cpu"] = out["requests.cpu"]
    if "requests.memory" in out:
        out["memory"] = out["requests.memory"]
    return out


def missing_requests(pod_spec: Mapping[str, Any], hard: Iterable[str]) -> str | None:
    """The pod evaluator's Constraints: with cpu/memory quota'd, every container must state
    the request/limit, else `must specify limits.cpu for: web; requests.cpu for: web`."""
    tracked = set(hard) & {"cpu", "memory", *_POD_COMPUTE}
    missing: dict[str, set[str]] = {}
    for _, containers in _container_lists(pod_spec):
        for c in containers:
            res = c.get("resources") or {}
            req, lims = parse_list(res.get("requests")), parse_list(res.get("limits"))
            for r in tracked:
                kind, _, base = r.rpartition(".")
                have = lims if kind == "limits" else req
                if (base or r) not in have:
                    missing.setdefault(r, set()).add(str(c.get("name")))
    if not missing:
        return None
    return "must specify " + "; ".join(f"{r} for: {','.join(sorted(missing[r]))}" for r in sorted(missing))


def service_usage(obj: Mapping[str, Any]) -> ResourceList:
    """The service evaluator: services=1; services.nodeports counts every port of a
    NodePort (or node-ported LoadBalancer) Service; services.loadbalancers=1 for a LB."""
    spec = obj.get("spec") or {}
    ports = [p for p in spec.get("ports") or [] if isinstance(p, Mapping)]
    stype = spec.get("type") or "ClusterIP"
    out: ResourceList = {"services": Quantity(1), "count/services": Quantity(1),
                         "services.nodeports": Quantity(0), "services.loadbalancers": Quantity(0)}
    if stype == "NodePort":
        out["services.nodeports"] = Quantity(len(ports))
    elif stype == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is False:
            out["services.nodeports"] = Quantity(sum(1 for p in ports if p.get("nodePort")))
        else:
            out["services.nodeports"] = Quantity(len(ports))
        out["services.loadbalancers"] = Quantity(1)
    return out


def object_usage(obj: Mapping[str, Any]) -> ResourceList:
    """Quota usage of a non-pod object: Services, ConfigMaps, PVCs; object counts else."""
    kind = obj.get("kind")
    if kind == "Service":
        return service_usage(obj)
    if kind == "ConfigMap":
        return {"configmaps": Quantity(1), "count/configmaps": Quantity(1)}
    if kind == "PersistentVolumeClaim":
        storage = parse_list(((obj.get("spec") or {}).get("resources") or {}).get("requests")).get("storage")
        out = {"persistentvolumeclaims": Quantity(1)}
        if storage is not None:
            out["requests.storage"] = storage
        return out
    if kind == "Secret":
        return {"secrets": Quantity(1)}
    return {}


def add_usage(total: ResourceList, usage: Mapping[str, Quantity], times: int = 1) -> None:
    for k, q in usage.items():
        total[k] = total.get(k, Quantity()) + q * times


class QuotaTracker:
    """One namespace's ResourceQuota objects with their `used` counts, as the admission
    plugin checks them: `admit` refuses (returns the reason) or charges the usage."""

    def __init__(self, quotas: Iterable[Mapping[str, Any]]) -> None:
        self.quotas = [
            (str((q.get("metadata") or {}).get("name")), parse_list((q.get("spec") or {}).get("hard")))
            for q in quotas
        ]
        self.used: list[ResourceList] = [{k: Quantity(0, v.binary) for k, v in hard.items()}
                                         for _, hard in self.quotas]

    def __bool__(self) -> bool:
        return bool(self.quotas)

    @property
    def hard_names(self) -> set[str]:
        return {k for _, hard in self.quotas for k in hard}

    def charge(self, usage: Mapping[str, Quantity]) -> None:
        """Count an object that already exists (never refused: quota does not evict)."""
        for (_, hard), used in zip(self.quotas, self.used, strict=True):
            for k, q in usage.items():
                if k in hard:
                    used[k] = used[k] + q

    def refusal(self, usage: Mapping[str, Quantity]) -> str | None:
        """The 'exceeded quota' reason if `usage` does not fit, else None (nothing charged)."""
        for (name, hard), used in zip(self.quotas, self.used, strict=True):
            requested = {k: q for k, q in usage.items() if k in hard and q.value != 0}
            exceeded = sorted(k for k, q in requested.items() if used[k].value + q.value > hard[k].value)
            if exceeded:
                return (f"exceeded quota: {name}, requested: {_pretty({k: requested[k] for k in exceeded})}, "
                        f"used: {_pretty({k: used[k] for k in exceeded})}, "
                        f"limited: {_pretty({k: hard[k] for k in exceeded})}")
        return None

    def admit(self, usage: Mapping[str, Quantity]) -> str | None:
        why = self.refusal(usage)
        if why is None:
            self.charge(usage)
        return why

    def room(self, usage: Mapping[str, Quantity]) -> int | None:
        """How many more objects of this usage fit (None: unbounded by these quotas)."""
        best: int | None = None
        for (_, hard), used in zip(self.quotas, self.used, strict=True):
            for k, q in usage.items():
                if k in hard and q.value > 0:
                    n = max(0, int((hard[k].value - used[k].value) // q.value))
                    best = n if best is None else min(best, n)
        return best


def usage_delta(new: Mapping[str, Quantity], old: Mapping[str, Quantity]) -> ResourceList:
    """quota.SubtractWithNonNegativeResult: what an update adds (never negative)."""
    out: ResourceList = {}
    for k, q in new.items():
        d = q - old.get(k, Quantity())
        out[k] = d if d.value > 0 else Quantity(0, q.binary)
    return out
