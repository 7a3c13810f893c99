"""Conventions the code keeps, checked on its source (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import re
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


def test_the_architecture_map_names_only_files_that_exist() -> None:
    """docs/ARCHITECTURE.md stays true as code moves: every path it spells out is there."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    paths = set(
        re.findall(r"\b(?:app|schema|resolvers|services|workers|tests|docs)/[\w/.]*\w", text)
    )
    # The "what lives where" table names modules relative to its column's layer.
    section = text.split("## What lives where", 1)[1].split("\n\n", 2)[1]
    layers = [cell.strip() for cell in section.splitlines()[0].strip("|").split("|")][1:]
    for row in section.splitlines()[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")][1:]
        for layer, cell in zip(layers, cells, strict=True):
            for name in re.findall(r"`([\w/]+(?:\.py|/))`", cell):
                paths.add(f"{layer}/{name}".rstrip("/"))
    assert len(paths) > 50
    assert sorted(path for path in paths if not (ROOT / path).exists()) == []
    assert "docs/ARCHITECTURE.md" in (ROOT / "README.md").read_text()
