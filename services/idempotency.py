"""Idempotency keys: a request repeated under its key is answered with the first result.

Money-moving mutations require a key; creates a client may retry (`createBounty`,
`applyToBounty`, `signUp`, ...) take one. The same key with the same input returns the first
result; the same key with different input is IDEMPOTENCY_KEY_REUSED. Keys are per user (another
user's key never collides), and the key row is written in the mutation's transaction, so a
failed attempt leaves no trace and may be retried with the same key, while an attempt that
committed but whose answer was lost is answered again. A concurrent second use waits on the
unique key until the first commits, then sees its result.

A create plugs in with one call: `return await idempotency.once(work, user_id=..., key=...,
operation="sendMessage", request={...}, create=lambda: _send(...))`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from sqlalchemy import bindparam, select, text, update
from sqlalchemy import insert as plain_insert
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import IdempotencyKey
from services.errors import IdempotencyKeyReused, InvalidInput
from services.unit_of_work import UnitOfWork

MAX_KEY = 100
# The statements every keyed create runs, built once (no per-call building and cache-key hashing;
# bound names differ from the columns', which SQLAlchemy reserves in VALUES and SET).
_CLAIM = (
    insert(IdempotencyKey)
    .values(
        user_id=bindparam("the_user_id"),
        key=bindparam("the_key"),
        operation=bindparam("the_operation"),
        request_hash=bindparam("the_request_hash"),
    )
    .on_conflict_do_nothing()
    .returning(col(IdempotencyKey.key))
)
_THIS_KEY = (
    col(IdempotencyKey.user_id) == bindparam("the_user_id"),
    col(IdempotencyKey.key) == bindparam("the_key"),
)
_FIRST = select(col(IdempotencyKey.request_hash), col(IdempotencyKey.result)).where(*_THIS_KEY)
_STORE = update(IdempotencyKey).where(*_THIS_KEY).values(result=bindparam("the_result"))


def request_hash(operation: str, request: Mapping[str, Any]) -> str:
    body = orjson.dumps({"operation": operation, **request}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY:
        raise InvalidInput(
            f"idempotency keys take 1 to {MAX_KEY} characters", field="idempotencyKey"
        )


def reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        "this idempotency key was used for a different request", field="idempotencyKey"
    )


async def claim(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    key: str,
    operation: str,
    request: Mapping[str, Any],
) -> dict[str, Any] | None:
    """None when this key is new (now claimed); else the first result under this key."""
    check_key(key)
    digest = request_hash(operation, request)
    this_key = {"the_user_id": user_id, "the_key": key}
    inserted = await session.scalar(
        _CLAIM, {**this_key, "the_operation": operation, "the_request_hash": digest}
    )
    if inserted is not None:
        return None
    row = (await session.execute(_FIRST, this_key)).one()
    if row[0] != digest:
        raise reused()
    result: dict[str, Any] = row[1]
    return result


async def store_result(
    session: AsyncSession, *, user_id: uuid.UUID, key: str, result: dict[str, Any]
) -> None:
    await session.execute(_STORE, {"the_user_id": user_id, "the_key": key, "the_result": result})


async def store_first_result(
    session: AsyncSession, *, user_id: uuid.UUID, key: str, result: dict[str, Any]
) -> dict[str, Any]:
    """Store `result` unless a concurrent repeat of the request stored one first; the stored one.

    For operations in several transactions (publishing: phase 1 claims, phase 3 answers): every
    repeat that re-drove the same attempt answers what the first one stored.
    """
    stored = await session.scalar(
        update(IdempotencyKey)
        .where(
            col(IdempotencyKey.user_id) == user_id,
            col(IdempotencyKey.key) == key,
            col(IdempotencyKey.result) == text("'{}'::jsonb"),
        )
        .values(result=result)
        .returning(col(IdempotencyKey.key))
    )
    if stored is not None:
        return result
    first: dict[str, Any] | None = await session.scalar(
        select(col(IdempotencyKey.result)).where(
            col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key
        )
    )
    assert first is not None
    return first


async def once(
    work: UnitOfWork,
    *,
    user_id: uuid.UUID,
    key: str | None,
    operation: str,
    request: Mapping[str, Any],
    create: Callable[[], Awaitable[uuid.UUID]],
) -> uuid.UUID:
    """`create()` once per (user, key): its id, or the id the first request under the key made.

    Without a key, `create()` runs every time. `request` is the input as the client sent it
    (JSON-serialisable), which a repeat must match.
    """
    if key is None:
        return await create()
    first = await claim(
        work.session, user_id=user_id, key=key, operation=operation, request=request
    )
    if first is not None:
        return uuid.UUID(first["id"])
    created = await create()
    await store_result(work.session, user_id=user_id, key=key, result={"id": str(created)})
    return created


async def remember(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    key: str,
    operation: str,
    request: Mapping[str, Any],
) -> None:
    """Record a key for a create whose owner it made (a sign-up: there was no user before)."""
    await session.execute(
        plain_insert(IdempotencyKey).values(
            user_id=owner_id,
            key=key,
            operation=operation,
            request_hash=request_hash(operation, request),
            result={"id": str(owner_id)},
        )
    )


async def recall(
    session: AsyncSession,
    *,
    owner_id: uuid.UUID,
    key: str,
    operation: str,
    request: Mapping[str, Any],
) -> bool:
    """Whether `owner_id` was made under `key` by this request; IDEMPOTENCY_KEY_REUSED when the
    key made it from another request."""
    digest = await session.scalar(
        select(col(IdempotencyKey.request_hash)).where(
            col(IdempotencyKey.user_id) == owner_id, col(IdempotencyKey.key) == key
        )
    )
    if digest is None:
        return False
    if digest != request_hash(operation, request):
        raise reused()
    return True
