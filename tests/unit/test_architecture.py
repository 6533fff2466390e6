"""The house rules of the import graph (docs/ARCHITECTURE.md), checked on every run: no
circles, plumbing that imports no domain, credits that import none of their users, route
modules that import no other route module, and a product that imports no simulator."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = ("provisioning", "billing", "marketplace", "admin", "dashboard", "credits")


def modules(package: str) -> dict[str, Path]:
    found = {}
    for path in (ROOT / package.replace(".", "/")).rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports_of(name: str, path: Path) -> Iterator[str]:
    """Every module `name` imports, also inside functions; relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def graph(package: str) -> dict[str, set[str]]:
    known = modules(package)
    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        targets = set()
        for target in imports_of(name, path):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        edges[name] = targets
    return edges


def circles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in edges[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(group)

    for module in edges:
        if module not in index:
            visit(module)
    return found


def all_imports(package: str) -> Iterator[tuple[str, str]]:
    for name, path in modules(package).items():
        for target in imports_of(name, path):
            yield name, target


@pytest.mark.parametrize("package", ["system", "simulator.staging"])
def test_no_import_circles(package: str) -> None:
    assert circles(graph(package)) == []


def test_http_plumbing_imports_no_domain() -> None:
    wrong = [
        (name, target)
        for name, target in all_imports("system.http")
        if target.startswith("system.") and not target.startswith("system.http")
    ]
    assert wrong == []


def test_credits_import_none_of_their_users() -> None:
    users = tuple(f"system.{domain}" for domain in DOMAINS if domain != "credits")
    wrong = [(n, t) for n, t in all_imports("system.credits") if t.startswith(users)]
    assert wrong == []


def test_provisioning_imports_no_billing() -> None:
    wrong = [
        (n, t) for n, t in all_imports("system.provisioning") if t.startswith("system.billing")
    ]
    assert wrong == []


def test_route_modules_import_no_other_route_module() -> None:
    def is_routes(module: str) -> bool:
        return module.rpartition(".")[2].endswith("routes")

    wrong = [
        (name, target)
        for name, target in all_imports("system")
        if is_routes(name) and is_routes(target) and target != name
    ]
    assert wrong == []


def test_the_product_imports_no_simulator_or_load_test() -> None:
    # system/cli.py still reaches the simulator's and load's commands (issue 18 moves them).
    wrong = [
        (name, target)
        for name, target in all_imports("system")
        if name != "system.cli" and target.startswith(("simulator", "load"))
    ]
    assert wrong == []
