"""The committed SDL: export, check, and classify changes between two versions."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from graphql import (
    BreakingChange,
    DangerousChange,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)
from strawberry.printer import print_schema

from app.graphql import build_schema as build_gateway_schema

SCHEMA_FILE = Path("schema.graphql")


def current_sdl() -> str:
    return print_schema(build_gateway_schema()) + "\n"


def read_sdl(spec: str) -> str:
    """A file path, or `<git ref>:<path>` such as `HEAD~1:schema.graphql` or `origin/main:…`."""
    path = Path(spec)
    if path.is_file():
        return path.read_text()
    if ":" in spec:
        shown = subprocess.run(
            ["git", "show", spec],
            capture_output=True,
            text=True,
            check=False,
        )
        if shown.returncode == 0:
            return shown.stdout
        raise FileNotFoundError(f"git cannot show {spec}: {shown.stderr.strip()}")
    raise FileNotFoundError(f"no such file: {spec}")


@dataclass(frozen=True)
class SchemaDiff:
    breaking: list[BreakingChange]
    dangerous: list[DangerousChange]


def diff_sdl(old: str, new: str) -> SchemaDiff:
    old_schema, new_schema = build_schema(old), build_schema(new)
    return SchemaDiff(
        breaking=find_breaking_changes(old_schema, new_schema),
        dangerous=find_dangerous_changes(old_schema, new_schema),
    )
