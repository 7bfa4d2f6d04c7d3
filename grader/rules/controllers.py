"""The controllers that stamp out pods: Deployment, StatefulSet and ReplicaSet
(apps/validation Validate*Spec): replicas and counts, selector vs template labels (the
rule that matters most for this course: a selector that does not select its own
template's labels is refused, the controller would never find its pods), rollout
strategy, StatefulSet fields. The pod template itself is checked by grader.rules.workloads.
"""
from __future__ import annotations

from typing import Any

from grader.k8s.fields import Issue, is_int, items, mapping, quote
from grader.rules.base import enum_issue
from grader.rules.meta import (
    annotations_issues,
    describe_labels,
    describe_selector,
    selector_is_empty,
    selector_issues,
    selector_matches,
)
from grader.rules.names import dns1123_label_problem, labels_issues
from grader.rules.workloads import pod_spec_issues, quantity_syntax_issues


def controller_issues(obj: dict) -> list[Issue]:
    """Deployment, StatefulSet and ReplicaSet (apps/validation Validate*Spec)."""
    kind = obj.get("kind")
    if obj.get("spec") is None:
        return [("spec", f"required field 'spec' is missing: a {kind} needs spec.selector and spec.template")]
    spec = mapping(obj.get("spec"))
    out: list[Issue] = []
    for field in ("replicas", "minReadySeconds", "revisionHistoryLimit"):
        if is_int(spec.get(field)) and spec[field] < 0:
            out.append((f"spec.{field}", f"must be 0 or more, got {spec[field]}"))
    out += _selector_and_template_issues(spec, str(kind))
    if kind == "Deployment":
        out += _strategy_issues(spec)
    if kind == "StatefulSet":
        out += _statefulset_issues(spec)
    return out


def _selector_and_template_issues(spec: dict, kind: str) -> list[Issue]:
    out: list[Issue] = []
    selector = spec.get("selector")
    template = mapping(spec.get("template"))
    tmeta = mapping(template.get("metadata"))
    labels = mapping(tmeta.get("labels"))
    if isinstance(selector, dict):
        sel_issues = selector_issues(selector, "spec.selector")
        out += sel_issues
        if selector_is_empty(selector):
            out.append(("spec.selector", f"an empty selector is not allowed for a {kind}: give it "
                        "matchLabels that the pod template's labels also carry"))
        elif sel_issues:
            out.append(("spec.selector", "invalid label selector, so it cannot be compared with the "
                        "template's labels"))
        elif "template" in spec and not selector_matches(selector, labels):
            out.append(
                (
                    "spec.template.metadata.labels",
                    f"selector does not match template labels: spec.selector selects "
                    f"{describe_selector(selector)}, but the template's labels are {describe_labels(labels)}",
                )
            )
    # ValidatePodTemplateSpec reports template label/annotation problems at
    # spec.template.labels / spec.template.annotations (not .metadata.), and so do we.
    out += labels_issues(labels, "spec.template.labels")
    out += annotations_issues(tmeta.get("annotations"), "spec.template.annotations")
    if "template" not in spec:
        return out
    pod = mapping(template.get("spec"))
    out += quantity_syntax_issues(pod, "spec.template.spec")
    out += pod_spec_issues(pod, "spec.template.spec")
    if items(pod.get("ephemeralContainers")):
        out.append(("spec.template.spec.ephemeralContainers", "ephemeral containers are not allowed "
                    "in a pod template"))
    policy = pod.get("restartPolicy")
    if policy not in (None, "", "Always"):
        out.append(("spec.template.spec.restartPolicy", f"unsupported value {quote(policy)}: "
                    f"pods of this controller must use 'Always'"))
    if pod.get("activeDeadlineSeconds") is not None:
        out.append(("spec.template.spec.activeDeadlineSeconds", f"is not supported in a {kind}: "
                    "its pods are meant to run indefinitely"))
    return out


def _int_or_percent(value: Any, path: str) -> Issue | None:
    """apps/validation ValidatePositiveIntOrPercent."""
    if is_int(value) and value < 0:
        return path, f"must be 0 or more, got {value}"
    if isinstance(value, str):
        number = value[:-1] if value.endswith("%") else None
        if number is None or not number.isdigit():
            return path, f"{quote(value)} must be a whole number or a percentage such as '25%'"
    return None


def _int_or_percent_value(value: Any) -> int:
    """apps/validation getIntOrPercentValue (a non-numeric string counts as 0)."""
    if is_int(value):
        return value
    if isinstance(value, str):
        digits = value[:-1] if value.endswith("%") and value[:-1].isdigit() else value
        try:
            return int(digits)
        except ValueError:
            return 0
    return 0


def _over_100_percent(value: Any) -> bool:
    return isinstance(value, str) and value.endswith("%") and value[:-1].isdigit() and int(value[:-1]) > 100


def _strategy_issues(spec: dict) -> list[Issue]:
    """ValidateDeploymentStrategy, ValidateRollingUpdateDeployment and the progress deadline."""
    out: list[Issue] = []
    strategy = mapping(spec.get("strategy"))
    stype = strategy.get("type") or "RollingUpdate"
    if isinstance(stype, str) and stype not in ("RollingUpdate", "Recreate"):
        bad = enum_issue("spec.strategy", stype, ("RollingUpdate", "Recreate"), "strategy type")
        if bad:
            out.append(bad)
    rolling = mapping(strategy.get("rollingUpdate"))
    if stype == "Recreate" and strategy.get("rollingUpdate") is not None:
        out.append(("spec.strategy.rollingUpdate", "must not be set when strategy type is 'Recreate'"))
    if stype == "RollingUpdate":
        surge = rolling.get("maxSurge", "25%")
        unavailable = rolling.get("maxUnavailable", "25%")
        for field, value in (("maxUnavailable", unavailable), ("maxSurge", surge)):
            bad = _int_or_percent(value, f"spec.strategy.rollingUpdate.{field}")
            if bad:
                out.append(bad)
        if _int_or_percent_value(surge) == 0 and _int_or_percent_value(unavailable) == 0:
            out.append(("spec.strategy.rollingUpdate.maxUnavailable",
                        "may not be 0 when maxSurge is 0: the rollout could never make progress"))
        if _over_100_percent(unavailable):
            out.append(("spec.strategy.rollingUpdate.maxUnavailable", "must not be greater than 100%"))
    deadline = spec.get("progressDeadlineSeconds", 600)
    ready = spec.get("minReadySeconds", 0)
    if is_int(deadline):
        if deadline < 0:
            out.append(("spec.progressDeadlineSeconds", f"must be 0 or more, got {deadline}"))
        elif is_int(ready) and deadline <= ready:
            out.append(("spec.progressDeadlineSeconds", f"must be greater than minReadySeconds ({ready}); "
                        "progressDeadlineSeconds defaults to 600"))
    return out


def _statefulset_issues(spec: dict) -> list[Issue]:
    """The StatefulSet-only parts of ValidateStatefulSetSpec. `serviceName` may be left
    out; when set it must be a DNS-1123 label (new StatefulSets, AllowInvalidServiceName
    false in the v1.37 registry strategy)."""
    out: list[Issue] = []
    service_name = spec.get("serviceName")
    if isinstance(service_name, str) and service_name:
        why = dns1123_label_problem(service_name)
        if why:
            out.append(("spec.serviceName", f"{quote(service_name)} is not a valid Service name: {why}"))
    policy = spec.get("podManagementPolicy")
    if isinstance(policy, str) and policy not in ("", "OrderedReady", "Parallel"):
        out.append(
            (
                "spec.podManagementPolicy",
                f"unsupported value {quote(policy)}; use 'OrderedReady' or 'Parallel'"
                + (" (values are case-sensitive)" if policy.lower() in ("orderedready", "parallel") else ""),
            )
        )
    strategy = mapping(spec.get("updateStrategy"))
    stype = strategy.get("type") or "RollingUpdate"
    rolling = strategy.get("rollingUpdate")
    if stype == "OnDelete":
        if rolling is not None:
            out.append(
                ("spec.updateStrategy.rollingUpdate", "only allowed for updateStrategy 'RollingUpdate'")
            )
    elif stype == "RollingUpdate":
        rolling = mapping(rolling)
        base = "spec.updateStrategy.rollingUpdate"
        partition = rolling.get("partition")
        if is_int(partition) and partition < 0:
            out.append((f"{base}.partition", f"must be 0 or more, got {partition}"))
        if rolling.get("maxUnavailable") is not None:
            value = rolling["maxUnavailable"]
            bad = _int_or_percent(value, f"{base}.maxUnavailable")
            if bad:
                out.append(bad)
            if _int_or_percent_value(value) == 0:
                out.append((f"{base}.maxUnavailable", "cannot be 0"))
            if _over_100_percent(value):
                out.append((f"{base}.maxUnavailable", "must not be greater than 100%"))
    elif isinstance(stype, str):
        out.append(("spec.updateStrategy", f"unsupported update strategy type {quote(stype)}; "
                    "use 'RollingUpdate' or 'OnDelete'"))
    retention = mapping(spec.get("persistentVolumeClaimRetentionPolicy"))
    for field in ("whenDeleted", "whenScaled"):
        bad = enum_issue(f"spec.persistentVolumeClaimRetentionPolicy.{field}", retention.get(field),
                         ("Retain", "Delete"), field)
        if bad:
            out.append(bad)
    start = mapping(spec.get("ordinals")).get("start")
    if is_int(start) and start < 0:
        out.append(("spec.ordinals.start", f"must be 0 or more, got {start}"))
    return out
