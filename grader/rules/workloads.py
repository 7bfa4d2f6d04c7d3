"""Pods and the controllers that stamp them out (Deployment, StatefulSet, ReplicaSet).

The rule that matters most for this course: a controller's selector must select its own
template's labels, or the API server refuses it (the controller would never find its pods).

What is checked where follows the API server:

- a Pod: core/validation ValidatePodSpec (containers, ports, probes, restartPolicy ...);
- a Deployment or ReplicaSet template: ValidatePodTemplateSpec (the same pod checks,
  labels reported at `spec.template.labels`, as the API server does) plus
  restartPolicy Always;
- a StatefulSet template: the same, since ValidatePodTemplateSpecForStatefulSet validates
  the pod template on create (Kubernetes v1.37; older releases checked only its labels).

The same port name in two containers is only a *warning* on the API server, so it is not
a problem here. A containerPort (with its protocol) or an env var name listed twice in one
container is a warning on create too, but server-side apply, which svclab's live mode
uses, refuses the whole object ("duplicate entries for key"), so both are problems here:
offline and live must give the same verdict.
"""
from __future__ import annotations

from typing import Any, Iterable

from grader.k8s.fields import Issue, dicts, is_int, items, join_key, mapping, quote
from grader.rules.base import enum_issue
from grader.rules.names import (
    container_resource_name_problem,
    dns1123_label_problem,
    dns1123_subdomain_problem,
    iana_svc_name_problem,
    labels_issues,
    parse_quantity,
    port_number_problem,
)
from grader.rules.service import int_or_name_issue, protocol_issues

PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_MAX_INT32 = 2**31 - 1
#: The container lists of a pod spec, in the order the API server validates them (also
#: grader.sandbox's order).
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def pod_issues(obj: dict) -> list[Issue]:
    if obj.get("spec") is None:
        return [("spec", "required field 'spec' is missing: a Pod needs spec.containers")]
    spec = mapping(obj.get("spec"))
    out = pod_spec_issues(spec, "spec") + quantity_syntax_issues(spec, "spec")
    # validateContainerOnlyForPod: pods (not templates) refuse padded image names.
    for list_name in CONTAINER_LISTS:
        for cpath, container in dicts(spec.get(list_name), join_key("spec", list_name)):
            image = container.get("image")
            if isinstance(image, str) and image and image != image.strip():
                out.append((join_key(cpath, "image"), "must not have leading or trailing whitespace"))
    return out


def pod_spec_issues(spec: dict, path: str) -> list[Issue]:
    """core/validation ValidatePodSpec, for the fields this course's learners write."""
    out: list[Issue] = []
    containers = spec.get("containers")
    if isinstance(containers, list) and not containers:
        out.append((join_key(path, "containers"), "required: a pod needs at least one container"))
    names: dict[str, str] = {}
    for cpath, container in dicts(containers, join_key(path, "containers")):
        out += _container_issues(container, cpath, names)
        for probe in PROBES:
            if container.get(probe) is not None:
                out += _probe_issues(probe, mapping(container.get(probe)), join_key(cpath, probe))
    out += _host_port_conflicts(dicts(containers, join_key(path, "containers")))
    for cpath, container in dicts(spec.get("initContainers"), join_key(path, "initContainers")):
        out += _container_issues(container, cpath, names)
        restart = container.get("restartPolicy")
        if restart is not None and restart != "Always":
            out.append((join_key(cpath, "restartPolicy"), f"unsupported value {quote(restart)}: an init "
                        "container's restartPolicy may only be 'Always' (a sidecar)"))
        for probe in PROBES:
            if container.get(probe) is None:
                continue
            if restart == "Always":
                out += _probe_issues(probe, mapping(container.get(probe)), join_key(cpath, probe))
            else:
                out.append((join_key(cpath, probe), "may not be set for init containers without "
                            "restartPolicy: Always"))
        out += _host_port_conflicts([(cpath, container)])
    if "restartPolicy" in spec and spec["restartPolicy"] is not None:
        bad = enum_issue(
            join_key(path, "restartPolicy"), spec["restartPolicy"], RESTART_POLICIES, "restartPolicy"
        )
        if bad:
            out.append(bad)
    bad = enum_issue(join_key(path, "dnsPolicy"), spec.get("dnsPolicy"), DNS_POLICIES, "dnsPolicy")
    if bad:
        out.append(bad)
    out += labels_issues(spec.get("nodeSelector"), join_key(path, "nodeSelector"))
    for field in ("hostname", "subdomain"):
        value = spec.get(field)
        if isinstance(value, str) and value:
            why = dns1123_label_problem(value)
            if why:
                out.append((join_key(path, field), f"{quote(value)} is not a valid {field}: {why}"))
    for field in ("serviceAccountName", "nodeName"):
        value = spec.get(field)
        if isinstance(value, str) and value:
            why = dns1123_subdomain_problem(value)
            if why:
                out.append((join_key(path, field), f"{quote(value)} is not a valid name: {why}"))
    deadline = spec.get("activeDeadlineSeconds")
    if is_int(deadline) and not 1 <= deadline <= _MAX_INT32:
        out.append(
            (join_key(path, "activeDeadlineSeconds"), f"must be between 1 and {_MAX_INT32}, got {deadline}")
        )
    return out


def _container_issues(container: dict, cpath: str, names: dict[str, str]) -> list[Issue]:
    """validateContainerCommon plus the name uniqueness of validateContainers."""
    out: list[Issue] = []
    name = container.get("name")
    if isinstance(name, str):
        if not name:
            out.append((join_key(cpath, "name"), "required: every container needs a name"))
        else:
            why = dns1123_label_problem(name)
            if why:
                out.append((join_key(cpath, "name"), f"{quote(name)} is not a valid container name: {why}"))
        if name in names:
            out.append((join_key(cpath, "name"), f"duplicate container name {quote(name)} "
                        f"(also used by {names[name]})"))
        elif name:
            names[name] = cpath
    image = container.get("image")
    if image is None or image == "":
        out.append((join_key(cpath, "image"), "required: every container needs an image"))
    bad = enum_issue(join_key(cpath, "imagePullPolicy"), container.get("imagePullPolicy"), PULL_POLICIES,
                     "imagePullPolicy")
    if bad:
        out.append(bad)
    out += _container_ports_issues(container, cpath)
    out += _ssa_duplicate_env(container, cpath)
    out += _resources_issues(mapping(container.get("resources")), join_key(cpath, "resources"))
    return out


def _resources_issues(resources: dict, path: str) -> list[Issue]:
    """ValidateContainerResourceRequirements: standard or fully qualified resource names,
    non-negative quantities, and requests <= limits (reported at `...resources.requests`,
    as the API server does). Map keys are written Go-style: `requests[cpu]`."""
    out: list[Issue] = []
    limits = mapping(resources.get("limits"))
    requests = mapping(resources.get("requests"))
    for section, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            kpath = f"{path}.{section}[{name}]"
            why = container_resource_name_problem(str(name))
            if why:
                out.append((kpath, f"resource name {quote(name)} is invalid: {why}"))
            amount = parse_quantity(value)
            if amount is not None and amount < 0:
                out.append((kpath, f"must be 0 or more, got {quote(value)}"))
    for name, value in requests.items():
        request, limit = parse_quantity(value), parse_quantity(limits.get(name))
        if request is not None and limit is not None and request > limit:
            out.append((f"{path}.requests", f"{name} request {quote(value)} must be less than or equal to "
                        f"the {name} limit of {quote(limits[name])}"))
    return out


def quantity_syntax_issues(pod: dict, path: str) -> list[Issue]:
    """Quantities the API server cannot even decode (`64MB`, `1.2.3`): refused for every
    kind, before validation, so also inside StatefulSet templates."""
    out: list[Issue] = []
    for list_name in ("initContainers", "containers"):
        for cpath, container in dicts(pod.get(list_name), join_key(path, list_name)):
            resources = mapping(container.get("resources"))
            for section in ("limits", "requests"):
                for name, value in mapping(resources.get(section)).items():
                    if (
                        value is not None
                        and parse_quantity(value) is None
                        and isinstance(value, (str, int, float))
                    ):
                        out.append(
                            (
                                f"{cpath}.resources.{section}[{name}]",
                                f"{quote(value)} is not a quantity; "
                                "write e.g. '100m' or '0.5' for CPU and '64Mi' or '1Gi' for memory "
                                "(suffixes are case-sensitive: 'Mi', not 'MB')",
                            )
                        )
    return out


def _container_ports_issues(container: dict, cpath: str) -> list[Issue]:
    """core/validation validateContainerPorts: port names are IANA service names, unique
    within the *container*; containerPort 1-65535; hostPort 1-65535 when set."""
    out: list[Issue] = []
    names: dict[str, str] = {}
    listed: dict[tuple[Any, Any], str] = {}
    for ppath, port in dicts(container.get("ports"), join_key(cpath, "ports")):
        key = (port.get("containerPort"), port.get("protocol") or "TCP")
        if is_int(key[0]) and key in listed:
            out.append((join_key(ppath, "containerPort"), f"containerPort {key[0]}/{key[1]} is listed twice "
                        f"in this container (also {listed[key]}); server-side apply refuses duplicate "
                        "entries, so list each port once"))
        listed.setdefault(key, ppath)
        name = port.get("name")
        if isinstance(name, str) and name:
            why = iana_svc_name_problem(name)
            if why:
                out.append((join_key(ppath, "name"), f"{quote(name)} is not a valid port name: {why}"))
            elif name in names:
                out.append((join_key(ppath, "name"), f"duplicate port name {quote(name)} in this container "
                            f"(also used by {names[name]})"))
            else:
                names[name] = ppath
        number = port.get("containerPort")
        if is_int(number):
            why = port_number_problem(number)
            if why:
                out.append((join_key(ppath, "containerPort"), why))
        host_port = port.get("hostPort")
        if is_int(host_port) and host_port != 0:
            why = port_number_problem(host_port)
            if why:
                out.append((join_key(ppath, "hostPort"), why))
        out += protocol_issues(port, ppath)
    return out


def _ssa_duplicate_env(container: dict, cpath: str) -> list[Issue]:
    """env is a list keyed by name for server-side apply: a name set twice is refused."""
    out: list[Issue] = []
    seen: dict[str, str] = {}
    for epath, env in dicts(container.get("env"), join_key(cpath, "env")):
        name = env.get("name")
        if isinstance(name, str) and name in seen:
            out.append((join_key(epath, "name"), f"env var {quote(name)} is set twice in this container "
                        f"(also {seen[name]}); server-side apply refuses duplicate entries"))
        elif isinstance(name, str):
            seen[name] = epath
    return out


def _host_port_conflicts(containers: Iterable[tuple[str, dict]]) -> list[Issue]:
    """core/validation AccumulateUniqueHostPorts: one hostPort per protocol and hostIP,
    among the given (path, container) pairs."""
    out: list[Issue] = []
    seen: dict[tuple[Any, Any, Any], str] = {}
    for cpath, container in containers:
        for ppath, port in dicts(container.get("ports"), join_key(cpath, "ports")):
            host_port = port.get("hostPort")
            if not is_int(host_port) or host_port == 0:
                continue
            key = (port.get("protocol") or "TCP", port.get("hostIP") or "", host_port)
            if key in seen:
                out.append((join_key(ppath, "hostPort"), f"duplicate hostPort {host_port}/{key[0]} "
                            f"(already used by {seen[key]})"))
            else:
                seen[key] = ppath
    return out


def _probe_issues(kind: str, probe: dict, path: str) -> list[Issue]:
    """validateLivenessProbe / validateReadinessProbe / validateStartupProbe."""
    out: list[Issue] = []
    present = [h for h in HANDLERS if probe.get(h) is not None]
    if not present:
        out.append((path, "must specify a handler type: exec, httpGet, tcpSocket or grpc"))
    for extra in present[1:]:
        out.append((join_key(path, extra), "may not specify more than 1 handler type"))
    if present:
        handler = present[0]
        h = mapping(probe.get(handler))
        hpath = join_key(path, handler)
        if handler == "exec" and not items(h.get("command")):
            out.append((join_key(hpath, "command"), "required: the command to run"))
        if handler in ("httpGet", "tcpSocket", "grpc") and "port" in h:
            bad = int_or_name_issue(h["port"], join_key(hpath, "port"))
            if bad:
                out.append(bad)
        if handler == "httpGet":
            bad = enum_issue(join_key(hpath, "scheme"), h.get("scheme"), ("HTTP", "HTTPS"), "scheme")
            if bad:
                out.append(bad)
    for field in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        value = probe.get(field)
        if is_int(value) and value < 0:
            out.append((join_key(path, field), f"must be 0 or more, got {value}"))
    success = probe.get("successThreshold")
    if kind in ("livenessProbe", "startupProbe") and is_int(success) and success not in (0, 1):
        # 0 is defaulted to 1 before validation
        out.append((join_key(path, "successThreshold"), f"must be 1 for a {kind}, got {success}"))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and kind == "readinessProbe":
        out.append((join_key(path, "terminationGracePeriodSeconds"), "must not be set for readinessProbes"))
    elif is_int(grace) and grace <= 0:
        out.append((join_key(path, "terminationGracePeriodSeconds"), f"must be greater than 0, got {grace}"))
    return out
