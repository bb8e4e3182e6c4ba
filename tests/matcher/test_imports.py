"""The matcher's modules import each other in one direction only."""

from __future__ import annotations

import ast
from pathlib import Path

import matcher

PACKAGE = Path(matcher.__file__).resolve().parent


def imports_of(path: Path) -> set[str]:
    """Every ``matcher.*`` module a file imports anywhere: top level, inside
    functions and under ``TYPE_CHECKING`` (a cycle dodged by any of them is a cycle)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "matcher":
                found.update(f"matcher.{a.name}" for a in node.names)
            elif node.module.startswith("matcher."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("matcher."))
    modules = {f"matcher.{p.stem}" for p in PACKAGE.glob("*.py")}
    return {m for m in found if m in modules} - {f"matcher.{path.stem}"}


def graph() -> dict[str, set[str]]:
    return {
        f"matcher.{p.stem}": imports_of(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"
    }


def test_module_imports_have_no_cycle():
    edges = graph()
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycle = " -> ".join([*path[path.index(node) :], node])
            raise AssertionError(f"import cycle: {cycle}")
        if node in done:
            return
        for nxt in sorted(edges.get(node, ())):
            visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(edges):
        visit(node, [])


def test_only_the_matcher_knows_training_and_persistence():
    edges = graph()
    assert not [m for m, deps in edges.items() if "matcher.model" in deps]
    users = {m for m, deps in edges.items() if deps & {"matcher.training", "matcher.persistence"}}
    assert users == {"matcher.model"}
