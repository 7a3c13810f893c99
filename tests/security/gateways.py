"""Gateways with their own settings (production, small limits), each with its own lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette

from app.main import create_app
from tests.conftest import make_settings

PRODUCTION = {
    "environment": "production",
    "jwt_secret": "p" * 40,
    "stripe_secret_key": "sk_test_x",
    "stripe_webhook_secret": "whsec_x",
    "stripe_publishable_key": "pk_test_x",
    "smtp_host": "smtp.example.test",
}


@contextlib.asynccontextmanager
async def running_app(database_url: str, **overrides: Any) -> AsyncIterator[Starlette]:
    settings = make_settings(database_url=database_url, **overrides)
    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app


def client_for(app: Starlette, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An httpx client on `app` whose requests come from peer `address`."""
    transport = httpx.ASGITransport(app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@contextlib.asynccontextmanager
async def gateway(
    database_url: str, *, client_address: str = "127.0.0.1", **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on a fresh app; `client_address` is the socket's peer address."""
    async with (
        running_app(database_url, **overrides) as app,
        client_for(app, client_address) as client,
    ):
        yield client


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]
