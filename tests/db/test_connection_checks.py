"""Connections are checked only when they sat idle: a busy pool pays no ping per checkout, and
connections PostgreSQL has cut are replaced before a request uses them (or, if they were in use
moments before, found on first use: at most that request fails and the pool is renewed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.asyncio

QUERY = {"query": "{ bounties(first: 1) { edges { node { id } } } bountyCategories }"}


@asynccontextmanager
async def _client(database_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(make_settings(**settings), database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Backend pids of pinged connections (any engine's: filter with `_mine`)."""
    counted: list[int] = []
    original: Callable[..., Any] = AsyncAdapt_asyncpg_connection.ping

    def ping(self: AsyncAdapt_asyncpg_connection) -> Any:
        counted.append(cast(Any, self._connection).get_server_pid())
        return original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", ping)
    return counted


async def _now(engine: AsyncEngine) -> datetime:
    async with engine.connect() as connection:
        now: datetime = await connection.scalar(text("SELECT clock_timestamp()"))
    return now


async def _cut_connections(engine: AsyncEngine, database_url: str, since: datetime) -> None:
    """Terminate the gateway sessions opened since `since` (this test's app, not the suite's
    shared one), as a PostgreSQL restart would."""
    mine = (
        "FROM pg_stat_activity WHERE datname = :name AND application_name = 'bountyexpo' "
        "AND backend_start >= :since AND pid <> pg_backend_pid()"
    )
    arguments = {"name": make_url(database_url).database, "since": since}
    async with engine.connect() as connection:
        killed = await connection.scalar(
            text(f"SELECT count(pg_terminate_backend(pid)) {mine}"), arguments
        )
        assert killed
        for _ in range(100):
            if not await connection.scalar(text(f"SELECT count(*) {mine}"), arguments):
                return
            await asyncio.sleep(0.05)


async def _mine(engine: AsyncEngine, pids: list[int], since: datetime) -> list[int]:
    """The pids among `pids` that belong to gateway connections opened since `since`."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'bountyexpo' "
                "AND backend_start >= :since"
            ),
            {"since": since},
        )
        ours = {row[0] for row in rows}
    return [pid for pid in pids if pid in ours]


async def test_a_busy_pool_pings_nothing(
    database_url: str, engine: AsyncEngine, pings: list[int]
) -> None:
    since = await _now(engine)
    async with _client(database_url, db_ping_idle_seconds=60) as client:
        await client.post("/graphql", json=QUERY)  # opens the connections
        pings.clear()

        for _ in range(5):
            response = await client.post("/graphql", json=QUERY)
            assert response.status_code == 200
            assert "errors" not in response.json()

        # The suite's shared app may ping its own idle connections meanwhile: not counted.
        assert await _mine(engine, pings, since) == []


async def test_idle_connections_are_checked_and_replaced(
    database_url: str, engine: AsyncEngine, pings: list[int]
) -> None:
    since = await _now(engine)
    async with _client(database_url, db_ping_idle_seconds=0) as client:
        assert "errors" not in (await client.post("/graphql", json=QUERY)).json()
        await _cut_connections(engine, database_url, since)
        pings.clear()

        response = await client.post("/graphql", json=QUERY)

    assert response.status_code == 200
    assert "errors" not in response.json(), response.text
    assert pings  # the dead connections were found by their ping, not by a failed query


async def test_without_the_check_at_most_one_request_fails(
    database_url: str, engine: AsyncEngine
) -> None:
    since = await _now(engine)
    async with _client(database_url, db_ping_idle_seconds=3600) as client:
        assert "errors" not in (await client.post("/graphql", json=QUERY)).json()
        await _cut_connections(engine, database_url, since)

        first = (await client.post("/graphql", json=QUERY)).json()
        second = (await client.post("/graphql", json=QUERY)).json()

    # The first request may meet a dead connection (asyncpg often notices the closed socket
    # before it is used, and SQLAlchemy then opens a new one): if it fails, it fails coded.
    if "errors" in first:
        codes = {error["extensions"]["code"] for error in first["errors"]}
        assert codes <= {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"}, first
    assert "errors" not in second, second
