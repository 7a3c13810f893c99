"""`bountyexpo migrate` and `bountyexpo seed` against a configured DATABASE_URL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app import cli
from app.db.migrate import head_revision
from app.settings import get_settings
from services.demo_bounties import DEMO_BOUNTIES
from tests import databases


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(cli, "configure_logging", lambda settings: None)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    name = f"test_cli_{uuid.uuid4().hex[:8]}"
    url = asyncio.run(databases.create_empty_database(server_url, name))
    yield url
    asyncio.run(databases.drop_database(server_url, name))


def test_migrate_then_seed_twice(
    empty_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_database)
    monkeypatch.setenv("ENVIRONMENT", "test")
    assert cli.main(["migrate"]) == 0
    assert capsys.readouterr().out == f"database at revision {head_revision()}\n"
    assert cli.main(["migrate"]) == 0  # already at head: nothing to do, still fine
    assert cli.main(["seed"]) == 0
    assert cli.main(["seed"]) == 0
    assert asyncio.run(count_bounties(empty_database)) == len(DEMO_BOUNTIES)


async def count_bounties(url: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SELECT count(*) FROM bounties")) or 0)
    finally:
        await engine.dispose()


def test_seed_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.invalid/none")
    monkeypatch.setenv("JWT_SECRET", "s" * 40)
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_live_x")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_x")
    monkeypatch.setenv("STRIPE_PUBLISHABLE_KEY", "pk_live_x")
    monkeypatch.setenv("SMTP_HOST", "smtp.example.test")
    assert cli.main(["seed"]) == 2
    assert "never loaded in production" in capsys.readouterr().err


def test_production_with_default_secret_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("JWT_SECRET", raising=False)
    assert cli.main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "refusing to start in production" in error
    assert "JWT_SECRET must be set" in error
