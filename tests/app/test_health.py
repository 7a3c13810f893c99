"""Probes: liveness never touches the database; readiness needs it reachable and at head."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from app.db.migrate import head_revision
from app.main import create_app
from app.settings import package_version
from tests import databases
from tests.conftest import make_settings

pytestmark = pytest.mark.asyncio


@contextlib.asynccontextmanager
async def client_for(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url=database_url), database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_health_reports_version_without_dependencies(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "version": package_version(),
        "environment": "test",
    }


async def test_live_is_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_when_database_is_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "migrations": "head"}


async def test_not_ready_while_migrations_are_missing(server_url: str) -> None:
    name = f"test_unmigrated_{uuid.uuid4().hex[:8]}"
    url = await databases.create_empty_database(server_url, name)
    try:
        async with client_for(url) as client:
            response = await client.get("/health/ready")
            live = await client.get("/health/live")
    finally:
        await databases.drop_database(server_url, name)
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "reason": f"database schema at nothing, this release needs {head_revision()}",
    }
    assert live.status_code == 200


async def test_not_ready_when_database_is_unreachable() -> None:
    async with client_for("postgresql+asyncpg://postgres@127.0.0.1:1/none") as client:
        response = await client.get("/health/ready")
        live = await client.get("/health/live")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["reason"].startswith("database unreachable: ")
    assert live.status_code == 200
