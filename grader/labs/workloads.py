"""The course's workloads as data: agnhost `netexec` Deployments, StatefulSets and Pods,
agnhost `serve-hostname` Deployments, and `pause` client pods, written as the YAML a learner
reads (`lab.show()` prints it).

Why one builder: every lab, the live grading canary, the tests and the benches run the same
server, and the image pin lives in one place (grader.kind.images.AGNHOST_IMAGE: `svclab
cluster up` preloads exactly that image into the kind node). netexec listens only on the
ports its flags name (`--http-port`, `--udp-port`), so the flags and the declared
containerPorts are written from the same numbers here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from grader.kind.images import AGNHOST_IMAGE

__all__ = ["AGNHOST_IMAGE", "Port", "hostname_workload", "netexec_pod", "netexec_workload", "pause_pod"]

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


@dataclass(frozen=True)
class Port:
    """A containerPort; `protocol` None means TCP (not written, as a learner would not)."""

    number: int
    name: str | None = None
    protocol: str | None = None

    def flow(self) -> str:
        fields = ([f"name: {self.name}"] if self.name else []) + [f"containerPort: {self.number}"]
        if self.protocol:
            fields.append(f"protocol: {self.protocol}")
        return "{" + ", ".join(fields) + "}"


def _scalar(value: str) -> str:
    """A label key or value in flow YAML: plain when that reads back as the same string."""
    plain = _PLAIN.match(value) and value.lower() not in ("true", "false", "yes", "no", "on", "off", "null")
    return value if plain and not value.isdigit() else '"' + value.replace('"', '\\"') + '"'


def _flow_map(values: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{_scalar(k)}: {_scalar(v)}" for k, v in values.items()) + "}"


def _netexec_args(http_port: int, udp_port: int | None) -> str:
    return "[netexec, --http-port=%d%s]" % (http_port, f", --udp-port={udp_port}" if udp_port else "")


def netexec_workload(name: str, labels: Mapping[str, str], *, kind: str = "Deployment", replicas: int = 1,
                     selector: Mapping[str, str] | None = None, container: str | None = None,
                     http_port: int = 8080, udp_port: int | None = None, ports: Sequence[Port] | None = None,
                     template_annotations: Mapping[str, str] | None = None,
                     service_name: str | None = None, namespace: str | None = None,
                     readiness_probe: bool = False, probe_port: int | str | None = None,
                     env_from: Sequence[str] = ()) -> str:
    """A Deployment (or StatefulSet, with `service_name`) of agnhost netexec pods.

    `selector` defaults to the `app` label; `container` to the workload's name; `ports` to
    one port named `http` on `http_port` (UDP ports are declared with protocol UDP).
    `readiness_probe` asks netexec's /healthz on the first port (by its name when it has
    one), or on `probe_port` when given (a port the server may not serve, for a lab whose
    fault is exactly that); `env_from` names ConfigMaps
    whose keys become the container's environment (read once, when the container starts)."""
    ports = list(ports) if ports is not None else [Port(http_port, "http")]
    return _agnhost_workload(
        name, labels, _netexec_args(http_port, udp_port), ports, kind=kind, replicas=replicas,
        selector=selector, container=container, template_annotations=template_annotations,
        service_name=service_name, namespace=namespace, readiness_probe=readiness_probe,
        probe_port=probe_port, env_from=env_from)


def hostname_workload(name: str, labels: Mapping[str, str], *, replicas: int = 1,
                      selector: Mapping[str, str] | None = None, http_port: int = 8080,
                      kind: str = "Deployment", service_name: str | None = None) -> str:
    """A Deployment (or StatefulSet, with `service_name`) of agnhost `serve-hostname` pods:
    HTTP on `http_port` (declared as the port named `http`), answering every path and method
    with the pod's hostname (its name), so whoever sends a request through a proxy sees which
    pod answered, whatever the path. A StatefulSet's pods keep their names (`name-0`, ...)
    from one fresh namespace to the next, so a name a learner saw can be checked later."""
    return _agnhost_workload(name, labels, f"[serve-hostname, --port={http_port}]", [Port(http_port, "http")],
                             replicas=replicas, selector=selector, kind=kind, service_name=service_name)


def _agnhost_workload(name: str, labels: Mapping[str, str], args: str, ports: Sequence[Port], *,
                      kind: str = "Deployment", replicas: int = 1, selector: Mapping[str, str] | None = None,
                      container: str | None = None, template_annotations: Mapping[str, str] | None = None,
                      service_name: str | None = None, namespace: str | None = None,
                      readiness_probe: bool = False, probe_port: int | str | None = None,
                      env_from: Sequence[str] = ()) -> str:
    """The workload YAML around one agnhost container running `args` (a flow sequence)."""
    selector = selector if selector is not None else {"app": labels["app"]}
    template_meta = f"labels: {_flow_map(labels)}"
    if template_annotations:
        template_meta += f", annotations: {_flow_map(template_annotations)}"
    lines = [
        "apiVersion: apps/v1",
        f"kind: {kind}",
        f"metadata: {{name: {name}{f', namespace: {namespace}' if namespace else ''}}}",
        "spec:",
        *([f"  serviceName: {service_name}"] if service_name else []),
        f"  replicas: {replicas}",
        f"  selector: {{matchLabels: {_flow_map(selector)}}}",
        "  template:",
        f"    metadata: {{{template_meta}}}",
        "    spec:",
        "      containers:",
        f"      - name: {container or name}",
        f"        image: {AGNHOST_IMAGE}",
        f"        args: {args}",
    ]
    if len(ports) == 1:
        lines.append(f"        ports: [{ports[0].flow()}]")
    else:
        lines += ["        ports:", *(f"        - {p.flow()}" for p in ports)]
    if env_from:
        refs = ", ".join(f"{{configMapRef: {{name: {n}}}}}" for n in env_from)
        lines.append(f"        envFrom: [{refs}]")
    if readiness_probe:
        if probe_port is None:
            probe_port = ports[0].name or ports[0].number
        lines.append(f"        readinessProbe: {{httpGet: {{path: /healthz, port: {probe_port}}}}}")
    return "\n".join(lines) + "\n"


def netexec_pod(name: str, labels: Mapping[str, str], http_ports: Sequence[int],
                container_names: Sequence[str] | None = None) -> str:
    """A bare Pod with one netexec container per port (named `c<port>` unless given), each
    declaring the port it serves. Only the first keeps netexec's default UDP server (8081):
    containers share the pod's network, so a second would fail to bind it and crash-loop
    on a real node."""
    names = list(container_names) if container_names is not None else [f"c{p}" for p in http_ports]
    if len(names) != len(http_ports):
        raise ValueError(f"netexec_pod {name}: {len(names)} container names for {len(http_ports)} ports")
    containers = [f"  - {{name: {n}, image: {AGNHOST_IMAGE}, "
                  f"args: {_netexec_args(p, None if i == 0 else -1)}, ports: [{Port(p).flow()}]}}"
                  for i, (n, p) in enumerate(zip(names, http_ports, strict=True))]
    return "\n".join([
        "apiVersion: v1",
        "kind: Pod",
        f"metadata: {{name: {name}, labels: {_flow_map(labels)}}}",
        "spec:",
        "  containers:",
        *containers,
    ]) + "\n"


def pause_pod(name: str, labels: Mapping[str, str], *, container: str = "shell") -> str:
    """A client pod that only sleeps (agnhost `pause`): probes and lookups run from it."""
    return "\n".join([
        "apiVersion: v1",
        "kind: Pod",
        f"metadata: {{name: {name}, labels: {_flow_map(labels)}}}",
        "spec:",
        f"  containers: [{{name: {container}, image: {AGNHOST_IMAGE}, args: [pause]}}]",
    ]) + "\n"
