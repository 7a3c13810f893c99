"""Production behaviour: masked unexpected errors, no GraphiQL, no introspection."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest

from app.main import create_app
from services import users
from tests.conftest import make_settings
from tests.factories import global_id

pytestmark = pytest.mark.asyncio

NODE = "query ($id: ID!) { node(id: $id) { id } }"


@contextlib.asynccontextmanager
async def gateway(database_url: str, environment: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        environment=environment,
        database_url=database_url,
        jwt_secret="p" * 40,
        stripe_secret_key="sk_test_x",
        stripe_webhook_secret="whsec_x",
        stripe_publishable_key="pk_test_x",
        smtp_host="smtp.example.test",
    )
    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def broken_lookup(*args: object) -> Sequence[object]:
    raise RuntimeError('relation "users_secret" does not exist')


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ("production", "Internal server error"),
        ("test", 'relation "users_secret" does not exist'),
    ],
)
async def test_unexpected_errors_are_coded_and_masked_in_production(
    database_url: str, monkeypatch: pytest.MonkeyPatch, environment: str, message: str
) -> None:
    monkeypatch.setattr(users, "users_by_id", broken_lookup)
    async with gateway(database_url, environment) as client:
        response = await client.post(
            "/graphql", json={"query": NODE, "variables": {"id": global_id("User", uuid.uuid4())}}
        )
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert response.json() == {
        "data": {"node": None},
        "errors": [
            {
                "message": message,
                "locations": [{"line": 1, "column": 20}],
                "path": ["node"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
        ],
    }


async def test_production_serves_no_graphiql_and_no_introspection(database_url: str) -> None:
    async with gateway(database_url, "production") as client:
        page = await client.get("/graphql", headers={"accept": "text/html"})
        introspection = await client.post(
            "/graphql", json={"query": "{ __schema { types { name } } }"}
        )
        plain = await client.post("/graphql", json={"query": "{ serverInfo { environment } }"})
    assert page.status_code == 404
    errors = introspection.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["GRAPHQL_VALIDATION_FAILED"] * 2
    assert errors[0]["message"].startswith("GraphQL introspection has been disabled")
    assert plain.json() == {"data": {"serverInfo": {"environment": "PRODUCTION"}}}
