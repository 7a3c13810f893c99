"""Security headers, request size limits and client addresses behind trusted proxies."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import AuditEvent
from app.graphiql import GRAPHIQL_CSP
from app.security.headers import API_CSP
from tests.factories import create_user
from tests.security.gateways import client_for, gateway, running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.http_headers]

QUERY = {"query": "{ serverInfo { environment } }"}


async def test_api_responses_carry_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=QUERY)
    assert response.headers["content-security-policy"] == API_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in response.headers  # plain HTTP
    missing = await client.get("/nothing-here")
    assert missing.headers["x-content-type-options"] == "nosniff"


async def test_graphiql_gets_a_policy_it_can_run_under(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.headers["content-security-policy"] == GRAPHIQL_CSP
    assert "'unsafe-inline'" not in GRAPHIQL_CSP
    assert "https:" not in GRAPHIQL_CSP
    # Every script and stylesheet the page loads comes from this origin, with an SRI hash.
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(sources) == 10, sources  # the icon, 3 stylesheets, 6 scripts
    assert all(url.startswith(("/graphiql/", "data:")) for url in sources), sources
    assert page.text.count('integrity="sha384-') == 9
    for url in sources:
        if url.startswith("/graphiql/"):
            asset = await client.get(url)
            assert asset.status_code == 200, url


async def test_hsts_only_over_tls_as_told_by_a_trusted_proxy(database_url: str) -> None:
    forwarded = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"}
    async with running_app(database_url, trusted_proxies="10.0.0.0/8") as app:
        async with client_for(app, "10.1.2.3") as proxy:
            behind_tls = await proxy.post("/graphql", json=QUERY, headers=forwarded)
        async with client_for(app, "198.51.100.7") as stranger:
            spoofed = await stranger.post("/graphql", json=QUERY, headers=forwarded)
    assert behind_tls.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "strict-transport-security" not in spoofed.headers


async def test_bodies_over_the_limit_get_413(database_url: str) -> None:
    padding = "#" * 4096
    async with gateway(database_url, max_body_bytes=2048) as client:
        declared = await client.post("/graphql", json={"query": "{ __typename }" + padding})

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"query": "{ __typename }'
            yield padding.encode()
            yield b'"}'

        streamed = await client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
        small = await client.post("/graphql", json={"query": "{ __typename }"})
    for refused in (declared, streamed):
        assert refused.status_code == 413
        assert refused.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert small.json() == {"data": {"__typename": "Query"}}


SIGN_IN = {
    "query": "mutation ($input: SignInInput!) { signIn(input: $input) { __typename } }",
    "variables": {"input": {"email": "a@example.test", "password": "not the password"}},
}


async def audit_ips(engine: AsyncEngine) -> list[str | None]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(col(AuditEvent.ip)).order_by(col(AuditEvent.id)))
        return [ip for (ip,) in rows]


async def test_client_address_comes_from_trusted_proxies_only(
    database_url: str, session_factory: SessionFactory, engine: AsyncEngine
) -> None:
    await create_user(session_factory, email="a@example.test")
    headers = {"x-forwarded-for": "203.0.113.9, 10.0.0.5"}
    async with running_app(database_url, trusted_proxies="10.0.0.0/8,127.0.0.1") as app:
        async with client_for(app, "10.1.2.3") as proxy:
            await proxy.post("/graphql", json=SIGN_IN, headers=headers)
        async with client_for(app, "198.51.100.7") as stranger:
            await stranger.post("/graphql", json=SIGN_IN, headers=headers)
    # Behind proxies: the first address not a proxy, from the right. Otherwise: the peer.
    assert await audit_ips(engine) == ["203.0.113.9", "198.51.100.7"]
