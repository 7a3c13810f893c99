"""Idempotency keys for money-moving mutations.

The same key with the same input returns the first result; the same key with different input is
IDEMPOTENCY_KEY_REUSED. The key row is written in the mutation's transaction, so a failed attempt
leaves no trace and may be retried with the same key. A concurrent second use waits on the unique
key until the first commits, then sees its result.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import IdempotencyKey
from services.bounties.errors import IdempotencyKeyReused
from services.errors import InvalidInput

MAX_KEY = 100


def request_hash(operation: str, request: dict[str, Any]) -> str:
    body = orjson.dumps({"operation": operation, **request}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


async def claim(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    key: str,
    operation: str,
    request: dict[str, Any],
) -> dict[str, Any] | None:
    """None when this key is new (now claimed); else the first result under this key."""
    if not 1 <= len(key) <= MAX_KEY:
        raise InvalidInput(
            f"idempotency keys take 1 to {MAX_KEY} characters", field="idempotencyKey"
        )
    digest = request_hash(operation, request)
    inserted = await session.scalar(
        insert(IdempotencyKey)
        .values(user_id=user_id, key=key, operation=operation, request_hash=digest)
        .on_conflict_do_nothing()
        .returning(col(IdempotencyKey.key))
    )
    if inserted is not None:
        return None
    row = (
        await session.execute(
            select(col(IdempotencyKey.request_hash), col(IdempotencyKey.result)).where(
                col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key
            )
        )
    ).one()
    if row[0] != digest:
        raise IdempotencyKeyReused(
            "this idempotency key was used for a different request", field="idempotencyKey"
        )
    result: dict[str, Any] = row[1]
    return result


async def store_result(
    session: AsyncSession, *, user_id: uuid.UUID, key: str, result: dict[str, Any]
) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key)
        .values(result=result)
    )
