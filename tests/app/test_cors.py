"""Browsers: the Expo dev servers may call a development gateway; elsewhere only CORS_ORIGINS."""

from __future__ import annotations

import pytest

from app.settings import EXPO_DEV_ORIGINS
from tests.conftest import make_settings
from tests.security.gateways import client_for, running_app

DEVELOPMENT = {"environment": "development", "worker_embedded": False}


def preflight(origin: str) -> dict[str, str]:
    return {
        "origin": origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }


@pytest.mark.asyncio
async def test_development_lets_the_expo_dev_servers_in(database_url: str) -> None:
    async with running_app(database_url, **DEVELOPMENT) as app, client_for(app) as client:
        for origin in ("http://localhost:8081", "http://127.0.0.1:8081", "http://localhost:19006"):
            answer = await client.options("/graphql", headers=preflight(origin))
            assert answer.status_code == 200, origin
            assert answer.headers["access-control-allow-origin"] == origin
            assert "authorization" in answer.headers["access-control-allow-headers"].lower()
            posted = await client.post(
                "/graphql",
                json={"query": "{ serverInfo { environment } }"},
                headers={"origin": origin},
            )
            assert posted.json() == {"data": {"serverInfo": {"environment": "DEVELOPMENT"}}}
            assert posted.headers["access-control-allow-origin"] == origin
        stranger = await client.options("/graphql", headers=preflight("http://evil.example"))
        assert stranger.status_code == 400
        assert "access-control-allow-origin" not in stranger.headers


@pytest.mark.asyncio
async def test_cors_origins_replaces_the_development_defaults(database_url: str) -> None:
    overrides = DEVELOPMENT | {"cors_origins": "https://app.example"}
    async with running_app(database_url, **overrides) as app, client_for(app) as client:
        listed = await client.options("/graphql", headers=preflight("https://app.example"))
        assert listed.headers["access-control-allow-origin"] == "https://app.example"
        expo = await client.options("/graphql", headers=preflight("http://localhost:8081"))
        assert expo.status_code == 400


def test_only_development_has_default_origins() -> None:
    assert make_settings(environment="development").allowed_origins == EXPO_DEV_ORIGINS
    assert make_settings(environment="test").allowed_origins == ()
    assert make_settings(environment="development", cors_origins="").allowed_origins == ()
    production = make_settings(
        environment="production",
        jwt_secret="p" * 40,
        stripe_secret_key="sk_test_x",
        stripe_webhook_secret="whsec_x",
        stripe_publishable_key="pk_test_x",
        database_url="postgresql://db/x",
        smtp_host="smtp.example.test",
    )
    assert production.allowed_origins == ()
