"""The import graph, drawn from the code with ``ast``: layers point one way and nothing cycles.

Layers: app (``server/app.py``, ``server/cli.py``, ``tasks/``) → domains (``server/<domain>/``)
→ server infrastructure (every other ``server`` module: settings, db, errors, events, queue, …)
→ libraries (``providers``, ``ingest``, ``render``). Every import counts: module-level,
function-level (lazy) and type-only ones under ``TYPE_CHECKING``, since each is an arrow a reader
has to follow.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from textwrap import dedent
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Collection

ROOT = Path(__file__).resolve().parents[2]
TOP_PACKAGES = ("server", "providers", "ingest", "render", "tasks")
LIBRARIES = frozenset({"providers", "ingest", "render"})
DOMAINS = frozenset(
    path.parent.name
    for path in (ROOT / "server").glob("*/controllers*")
    if path.suffix == ".py" or path.is_dir()
)
"""A domain is a ``server`` package with routes; any other ``server`` module is infrastructure."""
APP_MODULES = frozenset({"server.app", "server.cli"})


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _sources() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top in TOP_PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute dotted name an ``ImportFrom`` reads from."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _project_module(name: str, modules: Collection[str]) -> str | None:
    """The deepest project module ``name`` lies in (a name inside a module is that module)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(name: str, is_package: bool, source: str, modules: Collection[str]) -> set[str]:
    """The project modules that module ``name`` imports, at module level or in any function."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(name, is_package, node)
            for alias in node.names:
                # ``from pkg import submodule`` reads the submodule; any other name, pkg itself.
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in modules else base)
    resolved = {_project_module(t, modules) for t in targets}
    return {m for m in resolved if m is not None and m != name}


@cache
def module_graph() -> dict[str, frozenset[str]]:
    """Each project module and the project modules it imports."""
    modules = _sources()
    return {
        name: frozenset(
            imports_of(name, path.name == "__init__.py", path.read_text("utf-8"), modules)
        )
        for name, path in modules.items()
    }


def package_of(module: str) -> str:
    """The node a module belongs to in the package graph.

    A domain is its package (``server.chat``); each server infrastructure module or package is
    its own node (``server.events``, ``server.db``); a top-level library or ``tasks`` is one node.
    """
    parts = module.split(".")
    if parts[0] != "server":
        return parts[0]
    if len(parts) == 1:
        return "server"
    return f"server.{parts[1]}"


def layer_of(module: str) -> int:
    """0 app, 1 domain, 2 server infrastructure, 3 library: arrows go to a higher number."""
    package = package_of(module)
    if package == "tasks" or package in APP_MODULES:
        return 0
    if package in LIBRARIES:
        return 3
    if package.removeprefix("server.") in DOMAINS:
        return 1
    return 2


def package_graph() -> dict[str, frozenset[str]]:
    """Packages and the packages they import (edges inside one package left out)."""
    edges: dict[str, set[str]] = {}
    for module, imported in module_graph().items():
        source = package_of(module)
        edges.setdefault(source, set()).update(
            package_of(m) for m in imported if package_of(m) != source
        )
    return {k: frozenset(v) for k, v in edges.items()}


def cycles(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_every_kind_of_import_is_an_arrow() -> None:
    modules = {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.sub", "pkg.sub.d", "pkg.sub.e"}
    source = dedent(
        """
        from __future__ import annotations
        import json
        from typing import TYPE_CHECKING
        from . import e
        from ..a import thing
        if TYPE_CHECKING:
            import pkg.b
        def lazy():
            from pkg import c
        """
    )
    assert imports_of("pkg.sub.d", False, source, modules) == {
        "pkg.sub.e",
        "pkg.a",
        "pkg.b",
        "pkg.c",
    }
    assert imports_of("pkg.sub", True, "from . import d\nfrom .. import x", modules) == {
        "pkg.sub.d",
        "pkg",
    }


def test_cycles_are_found() -> None:
    graph = {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a"}),
        "d": frozenset({"a"}),
    }
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


def test_the_project_graph_has_its_known_arrows() -> None:
    assert {"chat", "documents", "exports", "phases"} <= DOMAINS
    assert {"db", "queue"}.isdisjoint(DOMAINS)
    graph = module_graph()
    assert "server.documents.services" in graph["server.documents.controllers"]  # relative
    assert "server.app" in graph["server.cli"]  # inside a command (lazy)
    assert "server.queue._context" in graph["server.queue._handlers"]  # TYPE_CHECKING only


def test_no_import_cycle_between_modules() -> None:
    assert cycles(module_graph()) == []


def test_no_import_cycle_between_packages() -> None:
    assert cycles(package_graph()) == []


@pytest.mark.parametrize("library", sorted(LIBRARIES))
def test_libraries_import_no_server_code(library: str) -> None:
    wrong = {
        (module, imported)
        for module, imports in module_graph().items()
        if package_of(module) == library
        for imported in imports
        if package_of(imported) not in LIBRARIES
    }
    assert wrong == set()


def test_server_never_imports_tasks() -> None:
    wrong = {
        (module, imported)
        for module, imports in module_graph().items()
        if module.split(".")[0] == "server"
        for imported in imports
        if imported.split(".")[0] == "tasks"
    }
    assert wrong == set()


def test_layers_point_one_way() -> None:
    upward = {
        (package_of(module), package_of(imported))
        for module, imports in module_graph().items()
        for imported in imports
        if layer_of(imported) < layer_of(module)
    }
    assert upward == set()
