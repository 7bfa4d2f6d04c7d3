"""Warnings for mistakes the API server accepts: the first page of every Services
troubleshooting guide, caught before anything is applied.

    from grader.lint import lint
    for w in lint(open("answer.yaml").read()):    # or a path, or manifests.load(...)
        print(w)          # answer.yaml, document 2 (Service/web): spec.selector: ...

Each rule looks at the manifests as a whole (a Service and the Deployment it should select
are usually different objects, often different files), so a rule receives an `Index` of
every object and yields `LintWarning`s. Nothing here is an error: a Service may select pods
that some other file creates, so `svclab check` prints these as warnings and changes its
exit status only with `--strict`.

Adding a rule is a decorated function (see `httproute-backend` at the end for one):

    @rule("my-rule")
    def _my_rule(index: Index) -> Iterator[LintWarning]:
        for m in index.of_kind("HTTPRoute"):
            yield index.warning(m, "spec.rules", "what is wrong, and what to do", "my-rule")

Semantics follow upstream: a Service selects pods by equality on its `selector` map, in its
own namespace, and an empty or missing selector means "endpoints managed by hand" (no
warning). A named targetPort is looked up in the selected pods' `containers` by name and
protocol (the EndpointSlice controller's FindPort): a pod without it gets no endpoint for
that port. A numeric targetPort is used as is, declared or not, so an undeclared number is
worth a warning only because nothing may listen there.
"""
from __future__ import annotations

from collections.abc import Mapping  # not typing's: isinstance() on it is several times slower
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from grader.k8s.selectors import SelectorError, compile_selector, labels_text
from grader.manifests import Manifest, ManifestError, check, location

__all__ = ["Index", "LintWarning", "PodTemplate", "RULES", "lint", "rule"]

DEFAULT_NAMESPACE = "default"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job")


@dataclass(frozen=True)
class LintWarning:
    """One likely mistake, located like a manifests.Problem (file, document, object, field)."""

    file: str
    doc: int | None
    kind: str | None
    name: str | None
    path: str           # field path, e.g. "spec.ports[0].targetPort"
    message: str
    rule: str           # which rule found it, e.g. "service-selector"

    def where(self) -> str:
        return location(self.file, self.doc, self.kind, self.name)

    def __str__(self) -> str:
        field_part = f"{self.path}: " if self.path else ""
        return f"{self.where()}: {field_part}{self.message}"


@dataclass(frozen=True)
class PodTemplate:
    """Pods that some manifest will create: a bare Pod, or a workload's pod template."""

    owner: Manifest
    namespace: str
    labels: Mapping[str, str]
    containers: tuple[Mapping[str, Any], ...]

    @property
    def ref(self) -> str:
        return f"{self.owner.kind}/{self.owner.name}"


def _namespace(m: Manifest) -> str:
    return m.namespace or DEFAULT_NAMESPACE


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _pod_template(m: Manifest) -> PodTemplate | None:
    if m.kind == "Pod":
        meta, spec = _mapping(m.obj.get("metadata")), _mapping(m.obj.get("spec"))
    elif m.kind in WORKLOAD_KINDS:
        template = _mapping(_mapping(m.obj.get("spec")).get("template"))
        meta, spec = _mapping(template.get("metadata")), _mapping(template.get("spec"))
    else:
        return None
    labels = {str(k): str(v) for k, v in _mapping(meta.get("labels")).items()}
    containers = tuple(c for c in _list(spec.get("containers")) if isinstance(c, Mapping))
    return PodTemplate(m, _namespace(m), labels, containers)


@dataclass
class Index:
    """Every object of one input, looked up the ways the rules need."""

    manifests: Sequence[Manifest]
    pods: list[PodTemplate] = field(init=False)
    # Lookups built once: a class's directory has hundreds of Services and pod templates,
    # and every rule asks per object (scanning the whole input each time is quadratic).
    _by_kind: dict[str, list[Manifest]] = field(init=False, repr=False)
    _pods_by_namespace: dict[str, list[PodTemplate]] = field(init=False, repr=False)
    _services: dict[tuple[str, str | None], Manifest] = field(init=False, repr=False)
    _selections: dict[tuple[str, tuple[tuple[str, str], ...]], list[PodTemplate]] = field(
        init=False, repr=False)

    def __post_init__(self) -> None:
        self.pods = [t for t in map(_pod_template, self.manifests) if t is not None]
        self._by_kind, self._pods_by_namespace, self._services, self._selections = {}, {}, {}, {}
        for m in self.manifests:
            self._by_kind.setdefault(m.kind, []).append(m)
            if m.kind == "Service":
                self._services.setdefault((_namespace(m), m.name), m)
        for t in self.pods:
            self._pods_by_namespace.setdefault(t.namespace, []).append(t)

    def of_kind(self, kind: str) -> list[Manifest]:
        return list(self._by_kind.get(kind, ()))

    def pods_in(self, namespace: str) -> list[PodTemplate]:
        return list(self._pods_by_namespace.get(namespace, ()))

    def service(self, namespace: str, name: str) -> Manifest | None:
        return self._services.get((namespace, name))

    def selected(self, namespace: str, selector: Mapping[str, str]) -> list[PodTemplate]:
        """The pod templates of `namespace` whose labels include every pair of `selector`."""
        key = (namespace, tuple(sorted(selector.items())))
        found = self._selections.get(key)
        if found is None:
            found = self._selections[key] = [
                t for t in self._pods_by_namespace.get(namespace, ())
                if all(t.labels.get(k) == v for k, v in selector.items())]
        return list(found)

    def warning(self, m: Manifest, path: str, message: str, rule_name: str) -> LintWarning:
        return LintWarning(m.file, m.doc, m.kind, m.name, path, message, rule_name)

    def closest_labels(self, wanted: Mapping[str, str], namespace: str) -> str:
        """"closest: Deployment/web has app=web,tier=front" -- the pod template sharing the
        most of `wanted`, then the most alike in spelling; other namespaces are named as such."""
        if not self.pods:
            return "there are no pods in these manifests (check the files that create them together)"
        import difflib  # only to word a warning: a valid input never needs it

        want = [f"{k}={v}" for k, v in sorted(wanted.items())]

        def score(t: PodTemplate) -> tuple[int, int, float]:
            have = [f"{k}={v}" for k, v in sorted(t.labels.items())]
            shared = sum(1 for k, v in wanted.items() if t.labels.get(k) == v)
            alike = difflib.SequenceMatcher(None, ",".join(want), ",".join(have)).ratio()
            return (t.namespace == namespace, shared, alike)

        best = max(self.pods, key=score)
        where = "" if best.namespace == namespace else (
            f" in namespace '{best.namespace}' (a selector only sees its own namespace, "
            f"'{namespace}')")
        differ = [f"{k} is '{best.labels[k]}', not '{v}'" for k, v in sorted(wanted.items())
                  if k in best.labels and best.labels[k] != v]
        absent = [k for k in sorted(wanted) if k not in best.labels]
        hints = differ + ([f"no label {', '.join(repr(k) for k in absent)}"] if absent else [])
        return (f"closest: {best.ref}{where} has pods labelled {labels_text(best.labels)}"
                + (f" ({'; '.join(hints)})" if hints and not where else ""))

    def backend_warnings(self, m: Manifest, name_path: str, port_path: str, service: Any,
                         port: Any, *, namespace: str | None = None,
                         rule_name: str) -> Iterator[LintWarning]:
        """A route/Ingress backend (`service` name at `name_path`, `port` at `port_path`: a
        number or a port name) that names no Service, or no port of it, in these manifests."""
        ns = namespace or _namespace(m)
        if not isinstance(service, str) or not service:
            return
        target = self.service(ns, service)
        if target is None:
            import difflib

            names = [s.name for s in self.of_kind("Service") if _namespace(s) == ns]
            close = difflib.get_close_matches(service, names, n=1, cutoff=0.6)
            hint = (f" (did you mean '{close[0]}'?)" if close else
                    f" (Services there: {', '.join(sorted(names))})" if names else "")
            yield self.warning(m, name_path, f"no Service '{service}' in namespace '{ns}' in these "
                               f"manifests{hint}; unless it already exists in the cluster, this "
                               f"backend is not found", rule_name)
            return
        ports = [p for p in _list(_mapping(target.obj.get("spec")).get("ports")) if isinstance(p, Mapping)]
        if isinstance(port, bool) or port is None:
            return
        if isinstance(port, int):
            if not any(p.get("port") == port for p in ports):
                have = ", ".join(str(p.get("port")) for p in ports) or "none"
                yield self.warning(m, port_path, f"Service '{service}' has no port {port} "
                                   f"(its ports: {have}); a backend names the Service's port, "
                                   f"not the pod's targetPort", rule_name)
        elif isinstance(port, str):
            if not any(p.get("name") == port for p in ports):
                have = ", ".join(f"'{p['name']}'" for p in ports if isinstance(p.get("name"), str)) \
                    or "none (name the port, or use its number)"
                yield self.warning(m, port_path, f"Service '{service}' has no port named '{port}' "
                                   f"(its port names: {have})", rule_name)


Rule = Callable[[Index], Iterable[LintWarning]]

#: Rule name -> rule, in the order they run (and so the order of their warnings).
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    """Register a lint rule under `name` (the `rule` field of its warnings)."""
    def register(fn: Rule) -> Rule:
        RULES[name] = fn
        return fn
    return register


def lint(manifests: Any, /, *, rules: Iterable[str] | None = None) -> list[LintWarning]:
    """Warnings for what the API server accepts but is almost surely a mistake.

    `manifests`: a list of `grader.manifests.Manifest` (what `manifests.load` returns), or
    anything `load` takes (YAML text, a path, a dict, a list of those); such input must be
    valid, else `ManifestError` lists its problems. `rules` picks rules by name (default:
    all of `RULES`). Returns the warnings in input order (file, then document), a
    document's warnings in rule order.
    """
    if isinstance(manifests, (list, tuple)) and manifests and all(isinstance(m, Manifest) for m in manifests):
        loaded: Sequence[Manifest] = manifests
    else:
        loaded, problems = check(manifests)
        if problems:
            raise ManifestError(problems)
    index = Index(loaded)
    chosen = list(RULES) if rules is None else list(rules)
    unknown = [r for r in chosen if r not in RULES]
    if unknown:
        raise ValueError(f"unknown lint rule {unknown[0]!r}; known: {', '.join(RULES)}")
    out: list[LintWarning] = []
    for name in chosen:
        out += RULES[name](index)
    files = {m.file: i for i, m in reversed(list(enumerate(loaded)))}
    return sorted(out, key=lambda w: (files.get(w.file, len(files)), w.doc or 0))  # stable


# ----------------------------------------------------------------------------- rules

def _service_selector(m: Manifest) -> dict[str, str]:
    spec = _mapping(m.obj.get("spec"))
    if spec.get("type") == "ExternalName":
        return {}
    return {str(k): str(v) for k, v in _mapping(spec.get("selector")).items()}


def _selected(index: Index, m: Manifest) -> list[PodTemplate]:
    return index.selected(_namespace(m), _service_selector(m))


@rule("service-selector")
def _service_selects_no_pod(index: Index) -> Iterator[LintWarning]:
    for m in index.of_kind("Service"):
        selector = _service_selector(m)
        if selector and not _selected(index, m):
            yield index.warning(
                m, "spec.selector",
                f"{labels_text(selector)} matches no pod in these manifests, so the Service "
                f"gets no endpoints; {index.closest_labels(selector, _namespace(m))}",
                "service-selector")


def _declares(container: Mapping[str, Any], target: Any, protocol: str) -> bool:
    for p in _list(container.get("ports")):
        if not isinstance(p, Mapping) or (p.get("protocol") or "TCP") != protocol:
            continue
        if (p.get("name") == target) if isinstance(target, str) else (p.get("containerPort") == target):
            return True
    return False


def _declared_ports(pods: Iterable[PodTemplate], named: bool) -> str:
    seen: list[str] = []
    for t in pods:
        for c in t.containers:
            for p in _list(c.get("ports")):
                if not isinstance(p, Mapping):
                    continue
                proto = p.get("protocol") or "TCP"
                if named and isinstance(p.get("name"), str):
                    text = f"'{p['name']}' ({p.get('containerPort')}/{proto})"
                elif not named:
                    text = f"{p.get('containerPort')}/{proto}"
                else:
                    continue
                if text not in seen:
                    seen.append(text)
    return ", ".join(seen) or "none"


@rule("service-target-port")
def _target_port_not_declared(index: Index) -> Iterator[LintWarning]:
    declared: dict[tuple[int, Any, str], bool] = {}  # (template, target, protocol): Services share pods

    def declares(t: PodTemplate, target: Any, protocol: str) -> bool:
        if not isinstance(target, (int, str)) or not isinstance(protocol, str):
            return any(_declares(c, target, protocol) for c in t.containers)
        key = (id(t), target, protocol)
        if key not in declared:
            declared[key] = any(_declares(c, target, protocol) for c in t.containers)
        return declared[key]

    for m in index.of_kind("Service"):
        if not _service_selector(m):
            continue
        pods = _selected(index, m)
        if not pods:
            continue  # service-selector already says so
        for i, port in enumerate(_list(_mapping(m.obj.get("spec")).get("ports"))):
            if not isinstance(port, Mapping):
                continue
            target = port.get("targetPort", port.get("port"))
            protocol = port.get("protocol") or "TCP"
            if target is None or isinstance(target, bool):
                continue
            missing = [t for t in pods if not declares(t, target, protocol)]
            if not missing:
                continue
            refs = ", ".join(sorted({t.ref for t in pods}))
            field_path = f"spec.ports[{i}].targetPort" if "targetPort" in port else f"spec.ports[{i}].port"
            who = "no selected container declares" if len(missing) == len(pods) else \
                f"the pods of {', '.join(sorted({t.ref for t in missing}))} do not declare"
            if isinstance(target, str):
                message = (f"{who} a {protocol} port named '{target}' (named ports of "
                           f"{refs}: {_declared_ports(pods, named=True)}); pods without it get "
                           f"no endpoint for this port")
            else:
                implicit = "" if "targetPort" in port else " (targetPort defaults to port)"
                message = (f"{who} containerPort {target}/{protocol}{implicit} (ports "
                           f"of {refs}: {_declared_ports(pods, named=False)}); traffic is sent "
                           f"to {target} anyway, so check that something listens there")
            yield index.warning(m, field_path, message, "service-target-port")


@rule("networkpolicy-pod-selector")
def _policy_selects_no_pod(index: Index) -> Iterator[LintWarning]:
    for m in index.of_kind("NetworkPolicy"):
        raw = _mapping(m.obj.get("spec")).get("podSelector")
        try:
            selector = compile_selector(_mapping(raw))
        except SelectorError:
            continue  # validation reports it
        if selector is None or selector.empty:
            continue  # {} selects every pod of the namespace, present and future
        ns = _namespace(m)
        if any(selector.matches(t.labels) for t in index.pods_in(ns)):
            continue
        wanted = {str(k): str(v) for k, v in _mapping(_mapping(raw).get("matchLabels")).items()}
        closest = index.closest_labels(wanted, ns) if wanted else (
            "pods there: " + ("; ".join(f"{t.ref} {labels_text(t.labels)}" for t in index.pods_in(ns))
                              or "none in these manifests"))
        yield index.warning(m, "spec.podSelector",
                            f"{selector.describe()} selects no pod in namespace '{ns}' in these "
                            f"manifests, so this policy isolates nothing; {closest}",
                            "networkpolicy-pod-selector")


def _ingress_backends(obj: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    spec = _mapping(obj.get("spec"))
    if isinstance(spec.get("defaultBackend"), Mapping):
        yield "spec.defaultBackend.service", _mapping(spec["defaultBackend"].get("service"))
    for r, rule_ in enumerate(_list(spec.get("rules"))):
        for p, path in enumerate(_list(_mapping(_mapping(rule_).get("http")).get("paths"))):
            backend = _mapping(_mapping(path).get("backend"))
            yield f"spec.rules[{r}].http.paths[{p}].backend.service", _mapping(backend.get("service"))


@rule("ingress-backend")
def _ingress_backend_missing(index: Index) -> Iterator[LintWarning]:
    for m in index.of_kind("Ingress"):
        for path, service in _ingress_backends(m.obj):
            if not service:
                continue  # a resource backend, or nothing: validation's business
            port = _mapping(service.get("port"))
            number, name = port.get("number"), port.get("name")
            yield from index.backend_warnings(
                m, path + ".name", path + (".port.number" if number is not None else ".port.name"),
                service.get("name"), number if number is not None else name,
                rule_name="ingress-backend")


@rule("httproute-backend")
def _httproute_backend_missing(index: Index) -> Iterator[LintWarning]:
    """Gateway API: a backendRef to a core Service (group "" and kind Service, the
    defaults) that these manifests do not define, or a port that Service lacks (a route
    then answers 500 for that backend: BackendNotFound)."""
    for m in index.of_kind("HTTPRoute"):
        for r, rule_ in enumerate(_list(_mapping(m.obj.get("spec")).get("rules"))):
            for b, ref in enumerate(_list(_mapping(rule_).get("backendRefs"))):
                ref = _mapping(ref)
                if (ref.get("group") or "") != "" or (ref.get("kind") or "Service") != "Service":
                    continue
                path = f"spec.rules[{r}].backendRefs[{b}]"
                namespace = ref.get("namespace") if isinstance(ref.get("namespace"), str) else None
                yield from index.backend_warnings(m, f"{path}.name", f"{path}.port", ref.get("name"),
                                                  ref.get("port"), namespace=namespace or None,
                                                  rule_name="httproute-backend")
