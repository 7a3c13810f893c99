"""`bountyexpo create-admin EMAIL`: the bootstrap admin, with a generated password shown once."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.cli import main
from app.db.models import Role, User
from app.settings import get_settings
from services.passwords import verify_password

pytestmark = pytest.mark.asyncio


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("LOG_LEVEL", "warning")
    get_settings.cache_clear()


async def test_create_admin_generates_and_prints_the_password_once(
    cli_env: None, engine: AsyncEngine, capsys: pytest.CaptureFixture[str]
) -> None:
    # main() runs its own event loop: give it a thread of its own.
    code = await asyncio.to_thread(
        main, ["create-admin", "Root@Example.TEST", "--generate-password"]
    )
    output = capsys.readouterr().out
    assert code == 0
    match = re.search(r"password \(shown once, store it now\): (\S+)", output)
    assert match is not None
    assert "admin root@example.test created" in output
    async with engine.connect() as connection:
        row = (await connection.execute(select(col(User.role), col(User.password_hash)))).one()
    assert row.role == Role.ADMIN
    assert verify_password(row.password_hash, match.group(1))
    again = await asyncio.to_thread(
        main, ["create-admin", "root@example.test", "--generate-password"]
    )
    assert again == 1
    assert "EMAIL_TAKEN" in capsys.readouterr().err
    get_settings.cache_clear()
