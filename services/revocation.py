"""The access-token denylist: PostgreSQL by default, Redis when REDIS_URL is set.

Three kinds of key, looked up together in one round trip per authenticated request:
`jti:<token id>` (one access token), `sid:<family id>` (every access token of one session) and
`user:<id>` (every access token of a user issued before the stored cutoff: sign-out everywhere,
password change, suspension, role change). Each entry lives as long as the tokens it voids.
Revoking writes to Redis at once but to PostgreSQL in the caller's transaction: a rolled-back
mutation may leave a Redis entry behind, which only ever errs on the side of refusing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import RevokedToken
from services.throttle import LimiterUnavailable

logger = logging.getLogger(__name__)
REDIS_PREFIX = "bountyexpo:revoked:"


class Denylist(Protocol):
    async def revoke(
        self, session: AsyncSession, key: str, *, revoked_at: datetime, expires_at: datetime
    ) -> None: ...

    async def lookup(self, keys: Sequence[str]) -> dict[str, datetime]:
        """The revocation time of each key that is revoked."""
        ...


class PostgresDenylist:
    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    async def revoke(
        self, session: AsyncSession, key: str, *, revoked_at: datetime, expires_at: datetime
    ) -> None:
        # Revocations are rare: sweeping expired rows here keeps the table small without a job.
        await session.execute(
            delete(RevokedToken).where(col(RevokedToken.expires_at) < datetime.now(UTC))
        )
        statement = insert(RevokedToken).values(
            key=key, revoked_at=revoked_at, expires_at=expires_at
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[col(RevokedToken.key)],
                set_={"revoked_at": revoked_at, "expires_at": expires_at},
            )
        )

    async def lookup(self, keys: Sequence[str]) -> dict[str, datetime]:
        async with self.session_factory() as session:
            rows = await session.execute(
                select(col(RevokedToken.key), col(RevokedToken.revoked_at)).where(
                    col(RevokedToken.key).in_(keys),
                    col(RevokedToken.expires_at) > datetime.now(UTC),
                )
            )
            return {key: revoked_at for key, revoked_at in rows}


class RedisDenylist:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    async def revoke(
        self, session: AsyncSession, key: str, *, revoked_at: datetime, expires_at: datetime
    ) -> None:
        ttl_ms = int((expires_at - datetime.now(UTC)).total_seconds() * 1000)
        if ttl_ms > 0:
            await self.client.set(REDIS_PREFIX + key, revoked_at.timestamp(), px=ttl_ms)

    async def lookup(self, keys: Sequence[str]) -> dict[str, datetime]:
        values = await self.client.mget([REDIS_PREFIX + key for key in keys])
        return {
            key: datetime.fromtimestamp(float(value), UTC)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }


class RedisWithPostgresDenylist:
    """Redis for the per-request lookup, PostgreSQL as the record it falls back on.

    Revocations are written to both (PostgreSQL in the caller's transaction). A Redis write that
    fails fails the revocation (auth fails closed: the client retries); a Redis lookup that fails
    is answered from PostgreSQL, so an outage of Redis neither fails authenticated requests nor
    lets a revoked token through.
    """

    def __init__(self, redis_denylist: RedisDenylist, postgres: PostgresDenylist) -> None:
        self.redis = redis_denylist
        self.postgres = postgres

    async def revoke(
        self, session: AsyncSession, key: str, *, revoked_at: datetime, expires_at: datetime
    ) -> None:
        await self.postgres.revoke(session, key, revoked_at=revoked_at, expires_at=expires_at)
        try:
            await self.redis.revoke(session, key, revoked_at=revoked_at, expires_at=expires_at)
        except RedisError as error:
            raise LimiterUnavailable from error

    async def lookup(self, keys: Sequence[str]) -> dict[str, datetime]:
        try:
            return await self.redis.lookup(keys)
        except RedisError:
            logger.warning("Redis unavailable: the denylist lookup falls back to PostgreSQL")
            return await self.postgres.lookup(keys)
