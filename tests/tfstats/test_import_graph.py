"""tfstats and estimators have no import cycles: every module imports, and the graph of
their imports of each other's modules (at module level and inside functions alike, since an
import moved into a function to dodge a cycle is still one) has no cycle. Imports under
``if TYPE_CHECKING:`` never run, so they are left out."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import estimators
import tfstats

ROOTS = [Path(tfstats.__file__).parent, Path(estimators.__file__).parent]
PACKAGES = {"tfstats", "estimators"}


def _module_names() -> dict[str, Path]:
    names = {}
    for root in ROOTS:
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root.parent).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            names[".".join(parts)] = path
    return names


MODULES = _module_names()


def _owner(name: str) -> str | None:
    """The module ``name`` is, or the module it is an attribute of."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
        or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> set[str]:
    """The project's modules ``module`` imports anywhere in its code."""
    found: set[str] = set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    pending: list[ast.AST] = [ast.parse(path.read_text())]
    while pending:
        node = pending.pop()
        if _is_type_checking(node):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base
                                                                           else []))
            if base.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:  # a submodule imported by name, else the module
                found.add(_owner(f"{base}.{alias.name}") if f"{base}.{alias.name}" in MODULES
                          else _owner(base))
        elif isinstance(node, ast.Import):
            found |= {_owner(a.name) for a in node.names if a.name.split(".")[0] in PACKAGES}
    found.discard(None)
    found.discard(module)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports(module: str) -> None:
    if module.startswith(("tfstats.backends.jax", "tfstats.backends.ode_jax")):
        pytest.importorskip("jax")
    importlib.import_module(module)


def test_the_import_graph_has_no_cycle() -> None:
    graph = {m: _imports(m, p) for m, p in MODULES.items()}
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_the_check_finds_a_cycle_made_by_an_import_inside_a_function(tmp_path: Path) -> None:
    source = "def f():\n    from tfstats.model import Model\n"
    path = tmp_path / "arrays.py"
    path.write_text(source)
    graph = {m: set() for m in MODULES} | {"tfstats.model": {"tfstats.arrays"}}
    graph["tfstats.arrays"] = _imports("tfstats.arrays", path)
    assert _cycle(graph) == ["tfstats.arrays", "tfstats.model", "tfstats.arrays"]


def test_imports_for_type_checking_only_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "labels.py"
    path.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                    "    from tfstats.arrays import Array\n")
    assert _imports("tfstats.labels", path) == set()
