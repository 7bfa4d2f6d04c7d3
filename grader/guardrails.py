"""The guardrails every course namespace carries, defined once for both backends, and the
admission rules that enforce them, worded as the API server words its refusals.

Live, `grader.cluster.live` applies `guardrail_objects(ns)` and the API server enforces them.
Offline, `grader.cluster.offline` applies the same objects into the model, and the model
(grader.model.state) enforces them with the functions below, the way the admission plugins
and controllers do:

- LimitRanger (plugin/pkg/admission/limitranger): a container without limits/requests gets
  the LimitRange's `default` / `defaultRequest`; one above `max` (or below `min`) is refused:
  `pods "web" is forbidden: maximum cpu usage per Container is 1, but limit is 2`
- ResourceQuota (k8s.io/apiserver .../admission/plugin/resourcequota): a create (or the
  growth of an update) that would take usage past `hard` is refused:
  `pods "web" is forbidden: exceeded quota: svclab-quota, requested: pods=1, used: pods=20,
  limited: pods=20` (only the exceeded resources are listed, sorted by name). A pod that
  omits a request/limit the quota tracks is refused with `failed quota: ...: must specify`.
- The ReplicaSet / StatefulSet controllers: a workload's pods are created one by one, so
  those that fit are created and the rest are reported (`pods "big-7d4b9c-" is forbidden:
  ...`, the name being the generateName prefix, as the API server reports it).

Quantities are exact (fractions), and printed in the API server's canonical form
("4" for 4000m, "640Mi", "2560Mi"), so a message reads exactly as `kubectl` shows it.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Iterable, Mapping

from grader.kind import MANAGED_BY_LABEL

QUOTA_NAME = "svclab-quota"
LIMITS_NAME = "svclab-limits"

#: What each course namespace may hold (DESIGN.md, "Security model for live grading").
QUOTA_HARD: dict[str, str] = {
    "pods": "20", "services": "10", "services.nodeports": "10",
    "services.loadbalancers": "3", "configmaps": "20",
    # a StatefulSet's volumeClaimTemplates would otherwise claim any size
    "persistentvolumeclaims": "5", "requests.storage": "5Gi",
    "requests.cpu": "2", "requests.memory": "2Gi",
    "limits.cpu": "4", "limits.memory": "4Gi",
}
#: Container defaults and ceiling: pods without resources still get requests/limits (the
#: quota requires them), and no single container can take the whole quota.
CONTAINER_LIMITS: dict[str, Any] = {
    "type": "Container",
    "default": {"cpu": "200m", "memory": "128Mi"},
    "defaultRequest": {"cpu": "20m", "memory": "32Mi"},
    "max": {"cpu": "1", "memory": "512Mi"},
}


def guardrail_objects(namespace: str) -> list[dict[str, Any]]:
    """The namespace every course run gets, with the limits that make it safe to apply a
    learner's manifests on a shared cluster: Pod Security `baseline` (no hostNetwork,
    hostPath, privileged), a ResourceQuota, and a LimitRange so pods without resources
    still get requests/limits (the quota requires them)."""
    return [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": namespace, "labels": {
             MANAGED_BY_LABEL[0]: MANAGED_BY_LABEL[1],
             "pod-security.kubernetes.io/enforce": "baseline",
             "pod-security.kubernetes.io/enforce-version": "latest",
         }}},
        {"apiVersion": "v1", "kind": "ResourceQuota",
         "metadata": {"name": QUOTA_NAME, "namespace": namespace},
         "spec": {"hard": dict(QUOTA_HARD)}},
        {"apiVersion": "v1", "kind": "LimitRange",
         "metadata": {"name": LIMITS_NAME, "namespace": namespace},
         "spec": {"limits": [{k: (dict(v) if isinstance(v, dict) else v)
                              for k, v in CONTAINER_LIMITS.items()}]}},
    ]


# =========================================================================== quantities

_BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {v: k for k, v in _DECIMAL.items()}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$")


class Quantity:
    """A resource.Quantity: an exact value and whether it prints in binary (Mi, Gi) form."""

    __slots__ = ("value", "binary")

    def __init__(self, value: Fraction | int = 0, binary: bool = False) -> None:
        self.value = Fraction(value)
        self.binary = binary

    @classmethod
    def parse(cls, text: Any) -> "Quantity":
        """'200m', '1', '0.5', '128Mi', '1e3'; ValueError (with the API server's words) else."""
        s = str(text).strip()
        m = _QUANTITY.match(s)
        if not m:
            raise ValueError(f"quantities must match the regular expression "
                             f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {s!r}")
        number, suffix, exponent = m.group(1), m.group(2), m.group(3)
        value = Fraction(number)
        if suffix in _BINARY:
            return cls(value * _BINARY[suffix], binary=True)
        if exponent is not None:
            return cls(value * Fraction(10) ** int(exponent))
        return cls(value * Fraction(10) ** _DECIMAL[suffix or ""])

    def __add__(self, other: "Quantity") -> "Quantity":
        # resource.Quantity.Add keeps the receiver's format unless the receiver is zero
        return Quantity(self.value + other.value, self.binary if self.value else other.binary)

    def __sub__(self, other: "Quantity") -> "Quantity":
        return Quantity(self.value - other.value, self.binary if self.value else other.binary)

    def __mul__(self, n: int) -> "Quantity":
        return Quantity(self.value * n, self.binary)

    def __str__(self) -> str:
        """The canonical form resource.Quantity.String() prints."""
        v = self.value
        if v == 0:
            return "0"
        if self.binary and v.denominator == 1 and abs(v) >= 1024:
            n = int(v)
            for suffix, size in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
                if n % size == 0:
                    return f"{n // size}{suffix}"
            return str(n)
        # decimal SI: the largest exponent (a multiple of 3) that keeps the mantissa whole;
        # below a nano-unit the value rounds up, as the API server rounds
        for exp in range(18, -10, -3):
            mantissa = v / Fraction(10) ** exp
            if mantissa.denominator == 1:
                return f"{mantissa.numerator}{_DECIMAL_SUFFIX[exp]}"
        nanos = -((-v * 10 ** 9) // 1)
        return str(Quantity(Fraction(nanos, 10 ** 9)))

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"


ResourceList = dict[str, Quantity]


def parse_list(raw: Any) -> ResourceList:
    """A ResourceList from YAML ({cpu: 200m, memory: 128Mi}); values that do not parse are
    left out (schema validation reports them)."""
    out: ResourceList = {}
    for k, v in (raw or {}).items() if isinstance(raw, Mapping) else ():
        try:
            out[str(k)] = Quantity.parse(v)
        except ValueError:
            continue
    return out


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
    import copy
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
                            errs.append(f"minimum {k} usage per Container is {enforced}.  No request is specified")
                        elif req[k].value < enforced.value:
                            errs.append(f"minimum {k} usage per Container is {enforced}, but request is {req[k]}")
                        elif k in lims and lims[k].value < enforced.value:
                            errs.append(f"minimum {k} usage per Container is {enforced}, but limit is {lims[k]}")
                    for k, enforced in sorted(parse_list(lim.get("max")).items()):
                        if k not in lims:
                            errs.append(f"maximum {k} usage per Container is {enforced}.  No limit is specified")
                        elif lims[k].value > enforced.value:
                            errs.append(f"maximum {k} usage per Container is {enforced}, but limit is {lims[k]}")
                        elif k in req and req[k].value > enforced.value:
                            errs.append(f"maximum {k} usage per Container is {enforced}, but request is {req[k]}")
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
                         limit_ranges: list[Mapping[str, Any]]) -> str | None:
    """Why the API server refuses to create this pod before quota is even counted (the
    LimitRanger, then validation of the defaulted pod), or None. `pod_spec` is defaulted."""
    lr = limit_range_errors(pod_spec, limit_ranges)
    if lr:
        return forbidden("pods", name, lr[0] if len(lr) == 1 else "[" + ", ".join(lr) + "]")
    invalid = request_over_limit_errors(pod_spec)
    if invalid:
        return f'Pod "{name}" is invalid: ' + (invalid[0] if len(invalid) == 1 else "[" + ", ".join(invalid) + "]")
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
        q = totals.get(name)
        if name in inits and (q is None or inits[name].value > q.value):
            q = inits[name]
        if q is not None:
            out[name] = q
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
        self.quotas = [(str((q.get("metadata") or {}).get("name")), parse_list((q.get("spec") or {}).get("hard")))
                       for q in quotas]
        self.used: list[ResourceList] = [{k: Quantity(0, v.binary) for k, v in hard.items()}
                                         for _, hard in self.quotas]

    def __bool__(self) -> bool:
        return bool(self.quotas)

    @property
    def hard_names(self) -> set[str]:
        return {k for _, hard in self.quotas for k in hard}

    def charge(self, usage: Mapping[str, Quantity]) -> None:
        """Count an object that already exists (never refused: quota does not evict)."""
        for (_, hard), used in zip(self.quotas, self.used):
            for k, q in usage.items():
                if k in hard:
                    used[k] = used[k] + q

    def refusal(self, usage: Mapping[str, Quantity]) -> str | None:
        """The 'exceeded quota' reason if `usage` does not fit, else None (nothing charged)."""
        for (name, hard), used in zip(self.quotas, self.used):
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
        for (_, hard), used in zip(self.quotas, self.used):
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
