"""One small, standalone JSON schema per kind, cut out of the 1.8 MB definitions file once
and kept in the user's cache.

Why: every kind's schema points into `_definitions.json`, the whole Kubernetes API (about
12,000 definitions). Reading it and indexing it costs about 0.1 s, longer than everything
else `svclab check` does to one file. A Service needs 17 of those definitions. So the
first run that meets a kind writes a bundle: the kind's schema with exactly the definitions
it reaches under its own `$defs`, references rewritten to point there, descriptions dropped
(annotations, never assertions). The verdict is the same, by construction: the same
keywords over the same definitions. Later runs read a few kB.

The cache lives in ${SVCLAB_SCHEMA_CACHE:-${XDG_CACHE_HOME:-~/.cache}/svclab/schemas}/<key>/,
the key naming the definitions file's size and modification time, so a new
kubernetes-validate never meets an old bundle. A cache that cannot be written (a read-only
home on a JupyterHub) only costs speed: the bundle is then built in memory every run.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

DEFINITIONS_REF = "/api/_definitions.json#/$defs/"
LOCAL_REF = "#/$defs/"
#: Keys whose values map names to schemas (a property called "description" is data there).
_NAME_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
#: Keys whose values are instance data, copied as they are.
_DATA = ("enum", "const", "default", "examples")


def cache_root() -> Path:
    env = os.environ.get("SVCLAB_SCHEMA_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "svclab" / "schemas"


def bundle(kind_schema: dict, definitions: dict) -> dict:
    """`kind_schema` made standalone: the definitions it reaches (from `definitions`, the
    `$defs` of _definitions.json) copied under its own `$defs`, without descriptions."""
    needed: dict[str, Any] = {}
    todo: list[str] = []

    def strip(node: Any, in_map: bool = False) -> Any:
        if isinstance(node, list):
            return [strip(x) for x in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if not in_map and key == "description":
                continue
            if not in_map and key in _DATA:
                out[key] = value
                continue
            if not in_map and key == "$ref" and isinstance(value, str):
                name = _definition_name(value)
                if name is not None:
                    if name not in needed:
                        needed[name] = None
                        todo.append(name)
                    value = LOCAL_REF + name
            out[key] = strip(value, in_map=not in_map and key in _NAME_MAPS)
        return out

    root = strip({k: v for k, v in kind_schema.items() if k != "$defs"})
    while todo:
        name = todo.pop()
        needed[name] = strip(definitions[name])
    root["$defs"] = {name: needed[name] for name in sorted(needed)}
    return root


def _definition_name(ref: str) -> str | None:
    for prefix in (DEFINITIONS_REF, LOCAL_REF):
        if ref.startswith(prefix):
            return ref[len(prefix):]
    return None


def cache_folder(definitions_file: Path) -> Path | None:
    """Where the bundles (and grader.schema_compiled's code) of this definitions file are
    kept; None when the file cannot be read (nothing is cached then)."""
    try:
        st = definitions_file.stat()
    except OSError:
        return None
    return cache_root() / f"{definitions_file.parent.name}-{st.st_size}-{st.st_mtime_ns}"


def cached_bundle(stem: str, definitions_file: Path, build: Callable[[], dict]) -> dict:
    """The bundle of schema `stem`, read from the cache, or built with `build()` and saved."""
    folder = cache_folder(definitions_file)
    if folder is None:
        return build()
    import json

    path = folder / f"{stem}.json"
    try:
        with path.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        pass
    made = build()
    try:
        import tempfile

        folder.mkdir(parents=True, exist_ok=True)
        # written whole, then renamed: a concurrent run reads the old file or the new one
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(made, fh, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        pass
    return made
