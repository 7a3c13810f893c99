"""The access-token denylist's record: the `revoked_tokens` table in PostgreSQL.

Three kinds of key, looked up together per authenticated request: `jti:<token id>` (one access
token), `sid:<family id>` (every access token of one session) and `user:<id>` (every access token
of a user issued before the stored cutoff: sign-out everywhere, password change, suspension, role
change). Each entry lives as long as the tokens it voids. Requests read an in-memory copy of this
table (services/revocation_cache.py); this module is the table itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import RevokedToken


class Revocation(NamedTuple):
    key: str
    revoked_at: float  # epoch seconds
    expires_at: float  # epoch seconds


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

    async def load(self) -> list[Revocation]:
        """Every revocation still in force (the table holds the last access-token TTL's worth)."""
        async with self.session_factory() as session:
            rows = await session.execute(
                select(
                    col(RevokedToken.key),
                    col(RevokedToken.revoked_at),
                    col(RevokedToken.expires_at),
                ).where(col(RevokedToken.expires_at) > datetime.now(UTC))
            )
            return [
                Revocation(key, revoked_at.timestamp(), expires_at.timestamp())
                for key, revoked_at, expires_at in rows
            ]
