"""The layer contract of the `grader` package: who may import whom. One place, read by
tools/check_layers.py (which `make lint` and tests/project/test_layers.py run) and rendered into
ARCHITECTURE.md (tests/project/test_layers.py checks the two agree).

LAYERS runs from the top floor to the bottom. Each floor holds one or more components,
separated by `|` when written on one line; a component is a list of module prefixes
("grader.model" is the package and everything in it). The rules:

- a module may import modules of its own component, and of any component on a lower floor;
- it may not import a higher floor, nor a sibling component on its own floor;
- no import cycles at all, inside a component included;
- EXTRA_RULES narrow a component further (the checks see the Cluster API, not the model).

Every module of the package must belong to exactly one component: a new module that is
in no component fails the check until it is placed here.
"""
from __future__ import annotations

#: Floors, top first: [(component name, (module prefixes, ...)), ...] per floor.
LAYERS: list[list[tuple[str, tuple[str, ...]]]] = [
    # the console script and its start-up aids (applied by grader.cli only)
    [("cli", ("grader.cli", "grader.lazy_regex", "grader.lazy_modules",
              "grader.dataclass_cache")),
     ("pin_outputs", ("grader.pin_outputs",)),       # `python -m grader.pin_outputs` (make pin-outputs)
     ("export", ("grader.export",)),                 # nbconvert templates (make setup)
     ("jupyter_quiet", ("grader.jupyter_quiet",)),   # a server extension: one false alarm dropped
     ("classroom", ("grader.classroom",))],          # make class: JupyterHub on one machine
    [("commands", ("grader.commands",))],
    [("grading", ("grader.grading",))],
    [("labs", ("grader.labs",))],
    [("checks", ("grader.checks",)),
     ("display", ("grader.display",)),
     ("kubectl", ("grader.kubectl",)),
     ("lint", ("grader.lint",)),
     ("kindctl", ("grader.kindctl",)),               # the kind cluster's lifecycle (svclab cluster)
     ("localcluster", ("grader.localcluster",))],    # a real cluster without Docker (svclab cluster --local)
    # `grader` itself is the notebooks' `grader.connect()`, a lazy front of grader.cluster.connect
    [("cluster", ("grader.cluster", "grader"))],
    [("sandbox", ("grader.sandbox", "grader.guardrails"))],
    [("model", ("grader.model",))],
    [("manifests", ("grader.manifests", "grader.forkmap"))],     # forkmap: check -j
    [("rules", ("grader.rules",)),
     ("schema", ("grader.schema", "grader.schema_bundle", "grader.schema_compiled")),
     ("safe_yaml", ("grader.safe_yaml",))],
    [("k8s", ("grader.k8s",)),
     ("observations", ("grader.observations",)),
     ("kind", ("grader.kind",))],                    # the course cluster's facts: pins, names, ports
]

#: component -> the only modules (prefixes) of lower floors it may import, beyond the bottom
#: floor. The checks judge what the Cluster API observes, so they must not reach into a
#: backend: a check that read the model would pass offline and mean nothing live.
EXTRA_RULES: dict[str, tuple[str, ...]] = {
    # grader.manifests only for ManifestError, the error `Namespace.apply` raises (imported
    # where it is caught, so that `import grader.checks` does not load the schema)
    "checks": ("grader.cluster.base", "grader.manifests"),
}

#: The bottom floor every component may import.
BOTTOM = LAYERS[-1]


def one_line() -> str:
    """The contract as one line, top floor first: `cli | ... > commands > ... > k8s | ...`."""
    return " > ".join(" | ".join(name for name, _ in floor) for floor in LAYERS)
