"""Check the real import graph of a package against tools/layer_contract.py.

Every `import` and `from ... import` in every module counts, at module level or inside a
function, class, `try` or `if` (a function-level import is still a dependency, only a
later one), and so do imports under `if TYPE_CHECKING:`: a lower module that names a
higher type in an annotation depends on it as surely as one that calls it (a Protocol on
the lower floor is the way out; see grader/model/state_view.py).

Usage: python -m tools.check_layers [PACKAGE_DIR]   (default: grader/ next to tools/)
Prints one line per violation and exits 1 if there is any, else prints a summary line.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tools import layer_contract

ROOT = "grader"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under the package directory."""
    out: dict[str, Path] = {}
    base = package_dir.parent
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement anywhere in the module."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node


def imports_of(module: str, path: Path, known: set[str]) -> list[Import]:
    """The package-internal modules `module` imports. `from a import b` names the module
    a.b when that is a module, else a itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[Import] = []
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        for target in targets:
            # `import a.b.c` depends on a.b.c; find the longest known module it names
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module and (target.split(".")[0] == ROOT):
                out.append(Import(module, target, node.lineno))
    return out


def import_graph(package_dir: Path) -> list[Import]:
    modules = module_names(package_dir)
    known = set(modules)
    return [imp for name, path in modules.items() for imp in imports_of(name, path, known)]


def _component_index() -> dict[str, tuple[int, str]]:
    """prefix -> (floor number, component name); floor 0 is the top."""
    out: dict[str, tuple[int, str]] = {}
    for floor, components in enumerate(layer_contract.LAYERS):
        for name, prefixes in components:
            for prefix in prefixes:
                out[prefix] = (floor, name)
    return out


def place(module: str, index: dict[str, tuple[int, str]]) -> tuple[int, str] | None:
    """The (floor, component) of a module: its longest matching prefix (the root package
    only matches itself, so an unplaced module is reported instead of falling into it)."""
    best: str | None = None
    for prefix in index:
        hit = module == prefix or (prefix != ROOT and module.startswith(prefix + "."))
        if hit and (best is None or len(prefix) > len(best)):
            best = prefix
    return index[best] if best is not None else None


def violations(package_dir: Path) -> list[str]:
    """Every breach of the contract, as `file:line: message` lines (sorted)."""
    modules = module_names(package_dir)
    index = _component_index()
    bottom = {name for name, _ in layer_contract.BOTTOM}
    rel = package_dir.parent
    out: list[str] = []
    for module, path in modules.items():
        if place(module, index) is None:
            out.append(
                f"{path.relative_to(rel)}:1: {module} is in no layer: place it in tools/layer_contract.py"
            )
    graph = import_graph(package_dir)
    for imp in graph:
        src, dst = place(imp.importer, index), place(imp.imported, index)
        if src is None or dst is None or src[1] == dst[1]:
            continue
        where = f"{modules[imp.importer].relative_to(rel)}:{imp.line}"
        if dst[0] < src[0]:
            out.append(f"{where}: upward import: {imp.importer} ({src[1]}) imports {imp.imported} ({dst[1]})")
        elif dst[0] == src[0]:
            out.append(f"{where}: sibling import: {imp.importer} ({src[1]}) imports {imp.imported} "
                       f"({dst[1]}), a component on the same floor")
        elif src[1] in layer_contract.EXTRA_RULES and dst[1] not in bottom:
            allowed = layer_contract.EXTRA_RULES[src[1]]
            if not any(imp.imported == a or imp.imported.startswith(a + ".") for a in allowed):
                out.append(f"{where}: {src[1]} may import only {', '.join(allowed)} and the bottom floor, "
                           f"not {imp.imported}")
    out += [f"{modules[cycle[0]].relative_to(rel)}:1: import cycle: {' -> '.join(cycle + [cycle[0]])}"
            for cycle in cycles(graph)]
    return sorted(out)


def cycles(graph: list[Import]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    edges: dict[str, set[str]] = {}
    for imp in graph:
        edges.setdefault(imp.importer, set()).add(imp.imported)
        edges.setdefault(imp.imported, set())
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in order:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            members = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                members.append(top)
                if top == node:
                    break
            if len(members) > 1:
                found.append(_one_cycle(sorted(members)[0], set(members), edges))

    for node in sorted(edges):
        if node not in order:
            visit(node)
    return found


def _one_cycle(start: str, members: set[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest path from `start` back to itself inside one strongly connected component."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(edges[node] & members):
            if nxt == start:
                return paths[node]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    return [start]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    package_dir = Path(args[0]) if args else Path(__file__).resolve().parent.parent / ROOT
    found = violations(package_dir)
    for line in found:
        print(line)
    if found:
        print(f"layer contract: {len(found)} violation(s) (tools/layer_contract.py)", file=sys.stderr)
        return 1
    print(
        f"layer contract: {len(module_names(package_dir))} modules, no upward or sibling imports, no cycles"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
