"""Conventions the code keeps, checked on its source (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _trees(package: str) -> list[tuple[Path, ast.AST]]:
    return [
        (path, ast.parse(path.read_text(), str(path)))
        for path in sorted((ROOT / package).rglob("*.py"))
    ]


def test_resolvers_need_no_cast() -> None:
    """Mutations return `Result[<Success>]` (schema/errors.py) with `graphql_type=` their union."""
    casts = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _trees("resolvers")
        for node in ast.walk(tree)
        if (isinstance(node, ast.Name) and node.id == "cast")
        or (isinstance(node, ast.Attribute) and node.attr == "cast")
    ]
    assert casts == []


def test_resolvers_hand_services_the_unit_of_work_not_its_session() -> None:
    """Writes are `verb(work, viewer, *, ...)`: the service registers effects on `work`."""
    sessions = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, tree in _trees("resolvers")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "session"
        and isinstance(node.value, ast.Name)
        and node.value.id == "work"
    ]
    assert sessions == []
