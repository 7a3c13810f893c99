"""The top-level package `schema` is ours; PyPI's unrelated `schema` must never shadow it."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

import schema

ROOT = Path(__file__).resolve().parent.parent


def test_schema_package_resolves_to_this_repository() -> None:
    assert schema.__file__ is not None
    assert Path(schema.__file__).resolve() == ROOT / "schema" / "__init__.py"


def test_pypi_schema_distribution_is_not_installed() -> None:
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("schema")


def test_console_script_is_declared() -> None:
    scripts = importlib.metadata.distribution("bountyexpo").entry_points
    assert {(ep.name, ep.value) for ep in scripts if ep.group == "console_scripts"} == {
        ("bountyexpo", "app.cli:main")
    }
