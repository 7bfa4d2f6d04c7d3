"""The single entry for learner YAML: parse safely, validate, and report problems as data.

Everything that reaches a backend -- the offline model or a real cluster -- comes through
`load()`, so both modes refuse exactly the same input with exactly the same words. Three
layers, each in its own module:

1. `grader.safe_yaml`: size/document/alias/depth limits, duplicate keys, syntax errors;
2. `grader.schema`: the official OpenAPI schema of Kubernetes `K8S_SCHEMA_VERSION`
   (unknown fields, wrong types, missing required fields);
3. `grader.rules`: what the API server refuses although the schema allows it
   (nodePort range, selector vs template labels, port names ...).

All problems are collected and reported at once; nothing here raises for bad input
except `load()`, which raises one `ManifestError` listing them all. Objects are returned
exactly as written (a deep copy, no defaulting) -- defaulting is the backend's job.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, Union

from grader.rules import semantic_issues
from grader.safe_yaml import DEFAULT_LIMITS, Limits, TreeError, copy_tree, parse_documents, read_text
from grader.schema import K8S_SCHEMA_VERSION, KINDS, identity_issues, schema_issues

__all__ = [
    "DEFAULT_LIMITS", "K8S_SCHEMA_VERSION", "KINDS", "Limits", "Manifest", "ManifestError",
    "Problem", "Source", "check", "load", "location",
]

#: What `check`/`load` accept (the same as grader.cluster.base.ManifestInput).
Source = Union[str, Path, Mapping[str, Any], Sequence[Union[Mapping[str, Any], str, Path]]]

TEXT = "<string>"
OBJECT = "<object>"
YAML_SUFFIXES = (".yaml", ".yml")


def _where(file: str, doc: int | None, kind: str | None, name: str | None) -> str:
    """`svc.yaml, document 2 (Service/backend)`; documents are counted from 1 for people."""
    out = file
    if doc is not None:
        out += f", document {doc + 1}"
    if kind and name:
        out += f" ({kind}/{name})"
    elif kind:
        out += f" ({kind})"
    elif name:
        out += f" ({name})"
    return out


#: Public name of the location format, for other modules that report on manifests
#: (grader.lint's warnings read exactly like problems).
location = _where


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located precisely enough to fix it."""

    file: str            # path as given, or "<string>" / "<object>" for text/dicts
    doc: int | None      # 0-based document index within the file (None: the file itself is bad)
    kind: str | None
    name: str | None
    path: str            # field path like "spec.ports[0].nodePort" ("" for document-level)
    message: str         # a sentence a learner can act on

    def where(self) -> str:
        return _where(self.file, self.doc, self.kind, self.name)

    def __str__(self) -> str:
        field_part = f"{self.path}: " if self.path else ""
        return f"{self.where()}: {field_part}{self.message}"


@dataclass(frozen=True)
class Manifest:
    """One validated object, exactly as written, plus where it came from."""

    obj: dict
    file: str
    doc: int

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def name(self) -> str:
        return str(_meta(self.obj).get("name", ""))

    @property
    def namespace(self) -> str | None:
        ns = _meta(self.obj).get("namespace")
        return ns if isinstance(ns, str) and ns else None

    def where(self) -> str:
        return _where(self.file, self.doc, self.kind, self.name)


class ManifestError(ValueError):
    """Raised by `load()`; `problems` holds every problem, `str()` lists them one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _label(obj: Any) -> tuple[str | None, str | None]:
    if not isinstance(obj, dict):
        return None, None
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else None
    name = _meta(obj).get("name")
    return kind or None, name if isinstance(name, str) and name else None


# --------------------------------------------------------------------------- sources

@dataclass
class _Unit:
    """One file, string or dict to parse: either text, a ready object, or a problem."""

    file: str
    text: str | None = None
    obj: Any = None
    doc: int = 0
    problems: list[Problem] = field(default_factory=list)


def _looks_like_path(s: str) -> bool:
    """Is a string that names no existing file meant as a path (-> "no such file") rather
    than YAML? YAML if it has a newline or ': ', or starts like a YAML flow collection,
    sequence, comment, tag, anchor, alias or directive; a path if it ends in .yaml/.yml/
    .json, or has a directory separator and no space (`!!python/object:x {}` is YAML)."""
    s = s.strip()
    if not s or "\n" in s or ": " in s or s.startswith(("{", "[", "-", "#", "!", "&", "*", "%")):
        return False
    return s.endswith(YAML_SUFFIXES + (".json",)) or (("/" in s or os.sep in s) and " " not in s)


def _units(source: Any, limits: Limits, objects: list[int], label: str | None) -> Iterable[_Unit]:
    if isinstance(source, Mapping):
        objects[0] += 1
        yield _Unit(label or OBJECT, obj=source, doc=objects[0] - 1)
    elif isinstance(source, Path):
        yield from _path_units(source, limits)
    elif isinstance(source, str):
        if "\n" not in source and source.strip() and os.path.exists(source):
            yield from _path_units(Path(source), limits)
        elif _looks_like_path(source):
            yield _Unit(source, problems=[Problem(source, None, None, None, "",
                                                  "no such file or directory")])
        else:
            yield _Unit(label or TEXT, text=source)
    elif isinstance(source, (list, tuple)):
        for item in source:
            yield from _units(item, limits, objects, label)
    else:
        yield _Unit(label or OBJECT, problems=[Problem(
            label or OBJECT, None, None, None, "",
            f"cannot read manifests from a {type(source).__name__}; pass YAML text, a path, or a dict")])


def _path_units(path: Path, limits: Limits) -> Iterable[_Unit]:
    label = str(path)
    if path.is_dir():
        files = sorted(_yaml_files(path))
        if not files:
            yield _Unit(label, problems=[Problem(label, None, None, None, "",
                                                 "directory contains no .yaml or .yml files")])
        for f in files:
            yield _file_unit(f, limits)
        return
    yield _file_unit(path, limits)


def _file_unit(path: Path, limits: Limits) -> _Unit:
    """A file (not a directory) read. Whether it exists is asked only when it cannot be
    read: a directory's files are listed by the walk, so asking first would cost two
    system calls per file of a class's folder for an answer already known."""
    label = str(path)
    text, issue = read_text(label, limits)
    if issue is None:
        return _Unit(label, text=text)
    if not path.exists():  # a broken symbolic link, or a file removed meanwhile
        return _Unit(label, problems=[Problem(label, None, None, None, "", "no such file or directory")])
    return _Unit(label, problems=[Problem(label, issue.doc, None, None, issue.path, issue.message)])


def _yaml_files(root: Path) -> Iterable[Path]:
    """*.yaml/*.yml below root; hidden directories (.ipynb_checkpoints, .git) skipped and
    symlinked directories not followed."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                yield Path(dirpath) / name


# --------------------------------------------------------------------------- validation

def validate_object(obj: dict) -> list[tuple[str, str]]:
    """(path, message) for every problem of one parsed object (no file context)."""
    issues = identity_issues(obj)
    if issues:
        return issues
    issues = sorted(schema_issues(obj) + semantic_issues(obj), key=lambda i: _natural(i[0]))
    seen: set[tuple[str, str]] = set()
    return [i for i in issues if not (i in seen or seen.add(i))]  # type: ignore[func-returns-value]


def _natural(path: str) -> list:
    """Sort key so that ports[2] comes before ports[10]."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"\[(\d+)\]", path)]


def _documents(unit: _Unit, limits: Limits) -> tuple[list[tuple[int, Any]], list[Problem]]:
    if unit.problems:
        return [], unit.problems
    if unit.text is not None:
        docs, issues = parse_documents(unit.text, limits)
        problems = [Problem(unit.file, i.doc, None, None, i.path, i.message) for i in issues]
        if not docs and not issues:
            problems.append(Problem(unit.file, None, None, None, "",
                                    "contains no Kubernetes objects (it is empty or only comments)"))
        return docs, problems
    try:
        return [(unit.doc, copy_tree(unit.obj, limits))], []
    except TreeError as exc:
        kind, name = _label(unit.obj)
        return [], [Problem(unit.file, unit.doc, kind, name, exc.path, exc.message)]


def _expand_list(obj: dict) -> list[tuple[str, Any]] | None:
    """`kind: List` (what `kubectl get -o yaml` prints) -> its items with path prefixes."""
    if obj.get("kind") == "List" and isinstance(obj.get("items"), list):
        return [(f"items[{i}]", item) for i, item in enumerate(obj["items"])]
    return None


def _objects_of(obj: Any) -> list[tuple[str, Any]]:
    """(path prefix, object) for one document: its List items, or itself."""
    expanded = _expand_list(obj) if isinstance(obj, dict) else None
    return expanded if expanded is not None else [("", obj)]


#: Fewer units (files, strings, dicts) than this are checked in one process even when
#: `jobs` allows more: forking a worker (copy-on-write pages, its own validators to load)
#: and sending results back costs about what 100 one-object files do, as parsing builds
#: plain documents in one walk (grader.safe_yaml); 200 leaves a margin for small cores.
PARALLEL_MIN_UNITS = 200

#: The files this process checks itself, as a share of each worker's: when the workers are
#: done it still reads their results, and the caller lints every object. With 0.75, on
#: 2 cores and 500 one-object files, it spends about the CPU time its worker does from
#: the fork on (47 and 48 ms; with equal shares 55 and 45: the worker waited on).
PARENT_SHARE = 0.75


def check(manifests: Source, /, *, source: str | None = None,
          limits: Limits = DEFAULT_LIMITS, jobs: int = 1) -> tuple[list[Manifest], list[Problem]]:
    """Parse and validate; returns (objects without problems, every problem found).

    `manifests`: YAML text, a file or directory path (str or Path), a dict, or a list of
    these. `source` names text/dict input in messages instead of "<string>"/"<object>"
    (e.g. "answer cell"); files keep their own path. Never raises for bad input. An
    object with any problem is not in the first list. Each file or string may hold at
    most `limits.max_objects` objects, the items of a `kind: List` included.

    `jobs` > 1 lets a large input (a directory of many files) be checked on that many
    cores (grader.forkmap); the answer is the same, in the same order.
    """
    if jobs > 1:
        files = _file_list(manifests)
        if files is not None and len(files) >= PARALLEL_MIN_UNITS:
            from grader.forkmap import fork_map, split

            # Each worker reads its own files too: reading is a tenth of the work.
            parts = fork_map(lambda chunk: _check_units(_units(list(chunk), limits, [0], source), limits),
                             split(files, jobs, first=PARENT_SHARE))
            found = [m for part in parts for m in part[0]]
            problems = [p for part in parts for p in part[1]]
            return _without_duplicates(found, problems)
    return _without_duplicates(*_check_units(_units(manifests, limits, [0], source), limits))


def _file_list(manifests: Source) -> list[Path] | None:
    """The paths `_units` would read, in its order, each directory replaced by its YAML
    files; None when the input holds anything but paths of existing files and directories
    (text, dicts: their numbering runs across the whole input, so they stay in one piece)."""
    items = manifests if isinstance(manifests, (list, tuple)) else [manifests]
    out: list[Path] = []
    for item in items:
        if not isinstance(item, (str, Path)) or (isinstance(item, str) and "\n" in item):
            return None
        path = Path(item)
        if path.is_dir():
            files = sorted(_yaml_files(path))
            if not files:
                return None
            out += files
        elif path.is_file():
            out.append(path)
        else:
            return None
    return out


def _check_units(units: Iterable[_Unit], limits: Limits) -> tuple[list[Manifest], list[Problem]]:
    """Every unit parsed and each object validated on its own (nothing across units)."""
    found: list[Manifest] = []
    problems: list[Problem] = []
    for unit in units:
        docs, doc_problems = _documents(unit, limits)
        problems += doc_problems
        objects = [(index, prefix, item) for index, obj in docs for prefix, item in _objects_of(obj)]
        if len(objects) > limits.max_objects:
            # The one place the object count is bounded: after List expansion, so a single
            # `kind: List` document cannot smuggle in thousands of objects.
            problems.append(Problem(unit.file, None, None, None, "", (
                f"more than {limits.max_objects} Kubernetes objects ({len(objects)}, counting "
                "every item of a 'kind: List'); a lab answer needs a handful, so split the input")))
            continue
        for index, prefix, item in objects:
            m, ps = _check_one(item, unit.file, index, prefix)
            problems += ps
            if m is not None:
                found.append(m)
    return found, problems


def _without_duplicates(found: list[Manifest],
                        problems: list[Problem]) -> tuple[list[Manifest], list[Problem]]:
    """The checks across units (the same object twice), then every object with a problem
    taken out of the found list."""
    problems = problems + _duplicates(found)
    if problems:
        bad = {(p.file, p.doc, p.kind, p.name) for p in problems}
        found = [m for m in found if (m.file, m.doc, m.kind, m.name) not in bad]
    return found, problems


def _check_one(obj: Any, file: str, doc: int, prefix: str) -> tuple[Manifest | None, list[Problem]]:
    def at(path: str) -> str:
        if not prefix:
            return path
        return f"{prefix}.{path}" if path and not path.startswith("[") else prefix + path

    if not isinstance(obj, dict):
        what = "a list" if isinstance(obj, list) else f"the value {obj!r}"
        return None, [Problem(file, doc, None, None, at(""),
                              f"expected a Kubernetes object (a mapping starting with 'apiVersion:' "
                              f"and 'kind:'), got {what}")]
    kind, name = _label(obj)
    issues = validate_object(obj)
    if issues:
        return None, [Problem(file, doc, kind, name, at(path), message) for path, message in issues]
    return Manifest(obj=obj, file=file, doc=doc), []  # obj is already a private tree


def _duplicates(manifests: list[Manifest]) -> list[Problem]:
    """The same kind/namespace/name twice in one input: the second would silently replace
    the first, which is never what a lab answer means."""
    from grader.k8s.wording import a_kind

    seen: dict[tuple[str, str | None, str], Manifest] = {}
    out: list[Problem] = []
    for m in manifests:
        key = (m.kind, m.namespace, m.name)
        if key in seen:
            first = seen[key]
            out.append(Problem(m.file, m.doc, m.kind, m.name, "metadata.name",
                               f"{a_kind(m.kind)} named '{m.name}' is already defined in {first.where()}"))
        else:
            seen[key] = m
    return out


def load(manifests: Source, /, *, source: str | None = None,
         limits: Limits = DEFAULT_LIMITS) -> list[Manifest]:
    """Like `check`, but raise `ManifestError` listing every problem if there is any."""
    found, problems = check(manifests, source=source, limits=limits)
    if problems:
        raise ManifestError(problems)
    return found
