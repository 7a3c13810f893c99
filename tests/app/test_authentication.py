"""Bearer tokens on HTTP: the viewer, refusal of bad tokens, and private fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from app.db.engine import SessionFactory
from app.db.models import Role
from app.settings import Settings
from tests.conftest import GraphQL
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

VIEWER = "{ viewer { id displayName email role } }"


async def test_anonymous_viewer_is_null(graphql: GraphQL) -> None:
    assert await graphql(VIEWER) == {"data": {"viewer": None}}


async def test_signed_in_viewer_sees_own_email(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory, display_name="Ann", email="ann@example.test")
    body = await graphql(VIEWER, token=token_for(settings, user))
    assert body == {
        "data": {
            "viewer": {
                "id": global_id("User", user.id),
                "displayName": "Ann",
                "email": "ann@example.test",
                "role": "USER",
            }
        }
    }


async def test_expired_token_is_refused_with_401(
    client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    stale = token_for(settings, user, now=datetime.now(UTC) - timedelta(hours=1))
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"authorization": f"Bearer {stale}"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == {
        "data": None,
        "errors": [{"message": "access token expired", "extensions": {"code": "UNAUTHENTICATED"}}],
    }


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-jwt",
        "Basic dXNlcjpwYXNz",
        "Bearer ",
        "Bearer " + jwt.encode({"sub": "x"}, "another-secret-entirely-0123456789", "HS256"),
    ],
)
async def test_bad_credentials_are_never_treated_as_anonymous(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ serverInfo { version } }"},
        headers={"authorization": authorization},
    )
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}


async def test_email_is_private_to_owner_and_admins(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    owner = await create_user(session_factory, email="owner@example.test")
    other = await create_user(session_factory)
    moderator = await create_user(session_factory, role=Role.MODERATOR)
    admin = await create_user(session_factory, role=Role.ADMIN)
    query = "query ($id: ID!) { node(id: $id) { ... on User { email } } }"
    variables = {"id": global_id("User", owner.id)}

    async def email_seen_by(token: str | None) -> object:
        body = await graphql(query, variables, token=token)
        return body["data"]["node"]["email"]

    assert await email_seen_by(None) is None
    assert await email_seen_by(token_for(settings, other)) is None
    assert await email_seen_by(token_for(settings, moderator)) is None
    assert await email_seen_by(token_for(settings, owner)) == "owner@example.test"
    assert await email_seen_by(token_for(settings, admin)) == "owner@example.test"
