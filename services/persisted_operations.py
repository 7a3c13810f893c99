"""Persisted operations in PostgreSQL: APQ entries (when Redis is not configured) and the
trusted-documents list registered from the app's manifest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import PersistedOperation
from app.db.models.base import utcnow


def sha256_of(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Document:
    sha256: str
    body: str
    name: str | None = None


async def find(session: AsyncSession, sha256: str, *, trusted_only: bool = False) -> str | None:
    statement = select(col(PersistedOperation.body)).where(col(PersistedOperation.sha256) == sha256)
    if trusted_only:
        statement = statement.where(col(PersistedOperation.trusted))
    body: str | None = await session.scalar(statement)
    return body


async def store(session: AsyncSession, document: Document) -> None:
    """Keep a client-sent (APQ) document; touching an existing row only refreshes its use."""
    statement = insert(PersistedOperation).values(
        sha256=document.sha256, body=document.body, trusted=False
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[col(PersistedOperation.sha256)], set_={"last_used_at": utcnow()}
        )
    )


async def register(session: AsyncSession, documents: Iterable[Document]) -> int:
    """Mark `documents` trusted (inserting those not yet stored); the number registered."""
    count = 0
    for document in documents:
        statement = insert(PersistedOperation).values(
            sha256=document.sha256, body=document.body, name=document.name, trusted=True
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[col(PersistedOperation.sha256)],
                set_={"trusted": True, "name": document.name, "body": document.body},
            )
        )
        count += 1
    return count


async def trusted_hashes(session: AsyncSession) -> frozenset[str]:
    rows = await session.scalars(
        select(col(PersistedOperation.sha256)).where(col(PersistedOperation.trusted))
    )
    return frozenset(rows)


async def prune(session: AsyncSession, *, unused_since: datetime) -> int:
    """Forget APQ entries not used since `unused_since`; trusted documents stay."""
    result = await session.execute(
        delete(PersistedOperation).where(
            ~col(PersistedOperation.trusted), col(PersistedOperation.last_used_at) < unused_since
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
