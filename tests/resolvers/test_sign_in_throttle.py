"""Sign-in throttling: per account and per client address, counted per signIn field."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.db.models import RevokedToken
from app.main import create_app
from app.settings import Settings
from services.identity import Identity
from tests.auth_helpers import audit_actions, count_rows, sign_in
from tests.conftest import GraphQL, make_settings
from tests.factories import PASSWORD, create_user

pytestmark = pytest.mark.asyncio


def aliased_sign_ins(count: int, email: str, password: str) -> str:
    fields = "\n".join(
        f'a{index}: signIn(input: {{email: "{email}", password: "{password}"}}) '
        "{ __typename ... on UserError { code } }"
        for index in range(count)
    )
    return f"mutation {{ {fields} }}"


async def test_aliased_sign_ins_are_counted_one_by_one(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory)
    four = await graphql(aliased_sign_ins(4, user.email, "wrong password!"))
    failure = {"__typename": "InvalidCredentialsError", "code": "INVALID_CREDENTIALS"}
    assert four == {"data": {f"a{index}": failure for index in range(4)}}
    body = await graphql(aliased_sign_ins(15, user.email, "wrong password!"))  # alias limit: 15
    # Mutation fields run in order; the sixth attempt is refused and, the result being non-null,
    # nulls `data` and ends the operation: at most 5 passwords were ever checked.
    assert body["data"] is None
    [error] = body["errors"]
    assert error["path"] == ["a1"]
    assert error["extensions"] == {
        "code": "RATE_LIMITED",
        "retryAfter": error["extensions"]["retryAfter"],
    }
    assert 890 <= error["extensions"]["retryAfter"] <= 900
    assert error["message"].startswith("too many sign-in attempts; retry in ")
    actions = await audit_actions(engine)
    assert actions == ["auth.sign_in_failed"] * 5 + ["auth.sign_in_throttled"]
    # Even the right password is refused now, for this account.
    right = await graphql(aliased_sign_ins(1, user.email, PASSWORD))
    assert right["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_per_address_limit_spans_accounts(
    graphql: GraphQL, session_factory: SessionFactory, identity: Identity
) -> None:
    users = [await create_user(session_factory) for _ in range(6)]
    for user in users[:5]:
        body = await graphql(aliased_sign_ins(1, user.email, "wrong password!"))
        assert body["data"]["a0"]["code"] == "INVALID_CREDENTIALS"
    body = await graphql(aliased_sign_ins(1, users[5].email, PASSWORD))
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_successful_sign_ins_are_not_counted(
    graphql: GraphQL, session_factory: SessionFactory, identity: Identity
) -> None:
    user = await create_user(session_factory)
    for _ in range(4):
        body = await graphql(aliased_sign_ins(1, user.email, "wrong password!"))
        assert body["data"]["a0"]["code"] == "INVALID_CREDENTIALS"
    for _ in range(3):  # each success clears the account and takes back its own attempt
        await sign_in(graphql, user.email)
    body = await graphql(aliased_sign_ins(1, user.email, "wrong password!"))
    assert body["data"]["a0"]["code"] == "INVALID_CREDENTIALS"


@pytest_asyncio.fixture
async def redis_app(redis_url: str, database_url: str) -> AsyncIterator[tuple[Starlette, Settings]]:
    settings = make_settings(database_url=database_url, redis_url=redis_url)
    await forget_identity_keys(redis_url)
    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app, settings
    await forget_identity_keys(redis_url)


async def forget_identity_keys(redis_url: str) -> None:
    """Only our keys: other suites may share this Redis database."""
    client = redis.Redis.from_url(redis_url)
    for pattern in ("bountyexpo:throttle:*", "bountyexpo:revoked:*"):
        keys = await client.keys(pattern)
        if keys:
            await client.delete(*keys)
    await client.aclose()


async def test_redis_throttle_and_denylist_are_shared(
    redis_app: tuple[Starlette, Settings],
    session_factory: SessionFactory,
    engine: AsyncEngine,
    redis_url: str,
) -> None:
    """Two app instances on one Redis: attempts and revocations on one bind the other."""
    app, settings = redis_app
    other = create_app(settings, database_url=str(settings.database_url))
    user = await create_user(session_factory)
    async with (
        other.router.lifespan_context(other),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://a") as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(other), base_url="http://b") as two,
    ):

        async def post(
            client: httpx.AsyncClient, query: str, token: str | None = None
        ) -> httpx.Response:
            headers = {"authorization": f"Bearer {token}"} if token else {}
            return await client.post("/graphql", json={"query": query}, headers=headers)

        for client in (one, two, one, two, one):
            response = await post(client, aliased_sign_ins(1, user.email, "wrong password!"))
            assert response.json()["data"]["a0"]["code"] == "INVALID_CREDENTIALS"
        refused = (await post(two, aliased_sign_ins(1, user.email, PASSWORD))).json()
        assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        await forget_identity_keys(redis_url)  # lift the throttle
        signed = (
            await post(
                one,
                aliased_sign_ins(1, user.email, PASSWORD).replace(
                    "{ __typename ... on UserError { code } }",
                    "{ ... on SignInSuccess { session { accessToken } } }",
                ),
            )
        ).json()
        token = signed["data"]["a0"]["session"]["accessToken"]
        assert (await post(two, "{ viewer { id } }", token)).status_code == 200
        out = await post(one, "mutation { signOut { __typename } }", token)
        assert out.json() == {"data": {"signOut": {"__typename": "SignOutSuccess"}}}
        assert (await post(two, "{ viewer { id } }", token)).status_code == 401
        # PostgreSQL holds the revocation (jti: and sid:); `two` learnt it through the Redis
        # feed and answers from memory, without asking PostgreSQL or Redis per request.
        assert await count_rows(engine, RevokedToken) == 2
        assert other.state.identity.denylist.status().answering == "memory"
