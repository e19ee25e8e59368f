"""The package's modules import each other in one direction: no import circles."""

from __future__ import annotations

import ast
from pathlib import Path

import hashstore

PACKAGE = Path(hashstore.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        bases = [node.module or ""]
    else:
        parts = module.split(".")
        keep = len(parts) - node.level + (1 if is_package else 0)
        base = ".".join(parts[:keep])
        bases = [f"{base}.{node.module}" if node.module else base]
    # ``from . import x`` imports the submodule x.
    return bases + [f"{bases[0]}.{alias.name}" for alias in node.names]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, *, with_type_checking: bool) -> set[str]:
    """Modules of the package that ``path`` imports at module level."""
    module, is_package = _module_name(path), path.name == "__init__.py"
    found: set[str] = set()
    body = list(ast.parse(path.read_text()).body)
    while body:
        node = body.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            if with_type_checking:
                body.extend(node.body)
        elif isinstance(node, (ast.If, ast.Try)):
            body.extend(node.body)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, is_package, node))
    return {name for name in found if name.startswith("hashstore")}


def _graph(*, with_type_checking: bool) -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {
        _module_name(p): _imports(p, with_type_checking=with_type_checking) & modules for p in paths
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph``, or ``None``."""
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt == node or state.get(nxt) == 2:
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            found = visit(nxt, [*path, nxt])
            if found:
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_circle_at_run_time() -> None:
    assert _cycle(_graph(with_type_checking=False)) is None


def test_build_and_manifest_do_not_import_each_other() -> None:
    graph = _graph(with_type_checking=True)
    assert "hashstore.manifest" not in graph["hashstore.build"]
    # The pipeline runs build -> manifest; the helpers both use live below them.
    assert "hashstore.keys" in graph["hashstore.build"]
    assert _cycle({m: graph[m] for m in ("hashstore.build", "hashstore.manifest")}) is None


def test_the_cycle_finder_finds_circles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
