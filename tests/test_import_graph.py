"""The package's shape: no import circle, each outside library in one place, arrows one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "wizard"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top, in a function or under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


MODULES = {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {m: {t for t in imported if t in MODULES and t != m} for m, imported in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(GRAPH[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
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

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_package():
    assert "wizard.analysis.diagnosis" in GRAPH
    assert "wizard.analysis.findings" in GRAPH["wizard.analysis.diagnosis"]


def test_no_import_circle():
    assert _cycles() == []


@pytest.mark.parametrize(("library", "home"), [
    ("pystemd", {"wizard.system.systemd"}),
    ("questionary", {"wizard.cli.flow"}),
    ("jinja2", {"wizard.output.render"}),
])
def test_each_library_has_one_home(library, home):
    importers = {m for m, imported in MODULES.items()
                 if any(i == library or i.startswith(f"{library}.") for i in imported)}
    assert importers == home


@pytest.mark.parametrize("package", ["wizard.model", "wizard.analysis", "wizard.plan"])
def test_the_core_imports_nothing_that_does_io_or_prints(package):
    edges = {"wizard.system", "wizard.output", "wizard.cli", "wizard.lab", "wizard.practice"}
    for module, imported in GRAPH.items():
        if module == package or module.startswith(f"{package}."):
            crossing = {t for t in imported if any(t == e or t.startswith(f"{e}.") for e in edges)}
            assert not crossing, f"{module} imports {sorted(crossing)}"


# Which sub-packages each may import (docs/architecture.md); the top-level
# modules (errors, environment, the version) are open to all.
ALLOWED = {
    "model": set(),
    "analysis": {"model"},
    "plan": {"model", "analysis"},
    "system": {"model", "analysis"},
    "output": {"model", "analysis", "plan"},
    "lab": {"model", "system"},
    "practice": {"model", "analysis", "plan", "system", "output", "lab"},
    "cli": {"model", "analysis", "plan", "system", "output", "lab", "practice"},
}


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED else None


def test_every_sub_package_is_in_the_table():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(ALLOWED)


def test_sub_packages_import_only_what_the_map_allows():
    crossings = set()
    for module, imported in GRAPH.items():
        home = _package(module)
        if home is None:
            continue
        for target in imported:
            other = _package(target)
            if other is not None and other != home and other not in ALLOWED[home]:
                crossings.add(f"{module} -> {target}")
    assert not crossings, sorted(crossings)


def test_every_package_is_shipped():
    import tomllib

    pyproject = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    shipped = set(pyproject["tool"]["setuptools"]["packages"])
    packages = {_module_name(p / "__init__.py") for p in PACKAGE.rglob("*")
                if (p / "__init__.py").is_file()} | {"wizard"}
    assert packages - shipped == set()
