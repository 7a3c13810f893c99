"""Refresh-token rotation, reuse detection with its grace window, and concurrent refreshes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import RefreshToken
from services.identity import Identity
from tests.auth_helpers import VIEWER, audit_actions, refresh, sign_in
from tests.conftest import GraphQL
from tests.factories import create_user

pytestmark = pytest.mark.asyncio


async def _age_rotations(engine: AsyncEngine, seconds: float) -> None:
    """Move every rotation `seconds` into the past (past the grace window when > 10)."""
    async with engine.begin() as connection:
        await connection.execute(
            update(RefreshToken)
            .where(col(RefreshToken.rotated_at).is_not(None))
            .values(rotated_at=col(RefreshToken.rotated_at) - timedelta(seconds=seconds))
        )


async def test_refresh_rotates_the_token(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory)
    first = await sign_in(graphql, user.email)
    second = await refresh(graphql, first["refreshToken"])
    assert second["__typename"] == "RefreshSessionSuccess"
    new = second["session"]
    assert new["refreshToken"] != first["refreshToken"]
    assert new["accessToken"] != first["accessToken"]
    assert (await graphql(VIEWER, token=new["accessToken"]))["data"]["viewer"] is not None
    third = await refresh(graphql, new["refreshToken"])
    assert third["__typename"] == "RefreshSessionSuccess"
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(col(RefreshToken.family_id), col(RefreshToken.rotated_at))
            )
        ).all()
    assert len({row.family_id for row in rows}) == 1
    assert sorted(row.rotated_at is None for row in rows) == [False, False, True]


async def test_reuse_after_grace_revokes_the_whole_family(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory)
    stolen = await sign_in(graphql, user.email)
    other_device = await sign_in(graphql, user.email)
    legit = (await refresh(graphql, stolen["refreshToken"]))["session"]
    await _age_rotations(engine, 11)
    reuse = await refresh(graphql, stolen["refreshToken"])
    assert reuse == {
        "__typename": "InvalidRefreshTokenError",
        "code": "INVALID_REFRESH_TOKEN",
        "message": "this refresh token is not valid; sign in again",
    }
    # The legitimate holder's newer tokens are gone too: refresh and access alike.
    assert (await refresh(graphql, legit["refreshToken"]))["code"] == "INVALID_REFRESH_TOKEN"
    assert (await graphql(VIEWER, token=legit["accessToken"], status=401))["data"] is None
    assert (await graphql(VIEWER, token=stolen["accessToken"], status=401))["data"] is None
    # Another sign-in (another family) is untouched.
    assert (await refresh(graphql, other_device["refreshToken"]))[
        "__typename"
    ] == "RefreshSessionSuccess"
    assert "auth.refresh_token_reused" in await audit_actions(engine)


async def test_reuse_within_grace_gets_a_sibling_token(
    graphql: GraphQL, session_factory: SessionFactory, identity: Identity
) -> None:
    user = await create_user(session_factory)
    session = await sign_in(graphql, user.email)
    first = await refresh(graphql, session["refreshToken"])
    again = await refresh(graphql, session["refreshToken"])
    assert first["__typename"] == again["__typename"] == "RefreshSessionSuccess"
    assert first["session"]["refreshToken"] != again["session"]["refreshToken"]
    for result in (first, again):
        assert (await refresh(graphql, result["session"]["refreshToken"]))["__typename"] == (
            "RefreshSessionSuccess"
        )


async def test_ten_concurrent_refreshes_all_succeed_in_one_family(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    """The documented outcome: every refresh succeeds with its own new token, all in the same
    family; the presented token is rotated exactly once; nothing is revoked."""
    user = await create_user(session_factory)
    session = await sign_in(graphql, user.email)
    results = await asyncio.gather(*(refresh(graphql, session["refreshToken"]) for _ in range(10)))
    assert [result["__typename"] for result in results] == ["RefreshSessionSuccess"] * 10
    tokens = {result["session"]["refreshToken"] for result in results}
    assert len(tokens) == 10
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(
                    col(RefreshToken.family_id),
                    col(RefreshToken.rotated_at),
                    col(RefreshToken.revoked_at),
                )
            )
        ).all()
    assert len(rows) == 11
    assert len({row.family_id for row in rows}) == 1
    assert sum(row.rotated_at is not None for row in rows) == 1
    assert all(row.revoked_at is None for row in rows)
    # Once the window has passed, the original token is a reuse: the family ends.
    await _age_rotations(engine, 11)
    assert (await refresh(graphql, session["refreshToken"]))["code"] == "INVALID_REFRESH_TOKEN"
    survivors = await asyncio.gather(*(refresh(graphql, token) for token in sorted(tokens)[:3]))
    assert {result["code"] for result in survivors} == {"INVALID_REFRESH_TOKEN"}


async def test_expired_or_unknown_refresh_tokens_fail(
    graphql: GraphQL, session_factory: SessionFactory, engine: AsyncEngine, identity: Identity
) -> None:
    user = await create_user(session_factory)
    session = await sign_in(graphql, user.email)
    async with engine.begin() as connection:
        await connection.execute(
            update(RefreshToken).values(expires_at=RefreshToken.created_at - timedelta(seconds=1))
        )
    assert (await refresh(graphql, session["refreshToken"]))["code"] == "INVALID_REFRESH_TOKEN"
    assert (await refresh(graphql, "made-up"))["code"] == "INVALID_REFRESH_TOKEN"
