"""Monitoring endpoints answer METRICS_TOKEN bearers and allowed networks only."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.asyncio

GUARDED = ["/metrics", "/metrics/json", "/metrics/alerts", "/health/detailed"]


@contextlib.asynccontextmanager
async def client_from(
    address: str, database_url: str, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url=database_url, **overrides)
    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_outside_the_allowed_networks_is_refused(database_url: str) -> None:
    async with client_from("203.0.113.9", database_url) as client:
        statuses = [(await client.get(path)).status_code for path in GUARDED]
        health = await client.get("/health")
    assert statuses == [403, 403, 403, 403]
    assert health.status_code == 200


async def test_the_token_opens_them_from_anywhere(database_url: str) -> None:
    secret = "scrape-secret-0123456789"
    async with client_from("203.0.113.9", database_url, metrics_token=secret) as client:
        good = {"authorization": f"Bearer {secret}"}
        bad = {"authorization": "Bearer wrong"}
        allowed = [(await client.get(path, headers=good)).status_code for path in GUARDED]
        refused = [(await client.get(path, headers=bad)).status_code for path in GUARDED]
    assert allowed == [200, 200, 200, 200]
    assert refused == [403, 403, 403, 403]


async def test_a_listed_network_is_allowed_without_token(database_url: str) -> None:
    async with client_from(
        "10.20.30.40", database_url, metrics_allowed_networks="10.0.0.0/8"
    ) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
