"""Provider operations as rows: recorded before the call, answered after (the recovery points).

A row in REQUESTED means the provider may or may not have been called; re-driving it repeats the
call with the same idempotency key (`provider_key`), which the provider answers with the first
object. Status changes are compare-and-set from the open statuses, so a late or repeated answer
cannot undo a final one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import OperationKind, OperationStatus, PaymentOperation
from services.payments.money import Money

OPEN = (OperationStatus.REQUESTED, OperationStatus.REQUIRES_ACTION)


@dataclass(frozen=True, slots=True)
class Operation:
    id: uuid.UUID
    kind: OperationKind
    status: OperationStatus
    bounty_id: uuid.UUID | None
    user_id: uuid.UUID
    money: Money
    provider: str
    provider_id: str | None
    payment_method: str | None
    source_id: str | None
    client_secret: str | None
    failure_reason: str | None

    def provider_key(self, step: str = "") -> str:
        """The idempotency key of this operation's provider call (derived from our id)."""
        return f"{self.kind.value.lower()}{'-' + step if step else ''}:{self.id}"


_COLUMNS = (
    col(PaymentOperation.id),
    col(PaymentOperation.kind),
    col(PaymentOperation.status),
    col(PaymentOperation.bounty_id),
    col(PaymentOperation.user_id),
    col(PaymentOperation.amount),
    col(PaymentOperation.currency),
    col(PaymentOperation.provider),
    col(PaymentOperation.provider_id),
    col(PaymentOperation.payment_method),
    col(PaymentOperation.source_id),
    col(PaymentOperation.client_secret),
    col(PaymentOperation.failure_reason),
)


def _operation(row: Any) -> Operation:
    return Operation(row[0], row[1], row[2], row[3], row[4], Money(row[5], row[6]), *row[7:])


async def record(
    session: AsyncSession,
    *,
    kind: OperationKind,
    user_id: uuid.UUID,
    money: Money,
    provider: str,
    bounty_id: uuid.UUID | None = None,
    payment_method: str | None = None,
    source_id: str | None = None,
) -> Operation:
    """Phase 1: the operation, REQUESTED, before any call is made."""
    row = (
        await session.execute(
            insert(PaymentOperation)
            .values(
                kind=kind,
                status=OperationStatus.REQUESTED,
                user_id=user_id,
                amount=money.amount,
                currency=money.currency,
                provider=provider,
                bounty_id=bounty_id,
                payment_method=payment_method,
                source_id=source_id,
            )
            .returning(*_COLUMNS)
        )
    ).one()
    return _operation(row)


async def get(session: AsyncSession, operation_id: uuid.UUID, *, lock: bool = False) -> Operation:
    query = select(*_COLUMNS).where(col(PaymentOperation.id) == operation_id)
    if lock:
        query = query.with_for_update()
    return _operation((await session.execute(query)).one())


async def latest_charge(session: AsyncSession, bounty_id: uuid.UUID) -> Operation | None:
    row = (
        await session.execute(
            select(*_COLUMNS)
            .where(
                col(PaymentOperation.bounty_id) == bounty_id,
                col(PaymentOperation.kind) == OperationKind.CHARGE,
            )
            .order_by(col(PaymentOperation.created_at).desc())
            .limit(1)
        )
    ).one_or_none()
    return None if row is None else _operation(row)


async def unrefunded_charge(session: AsyncSession, bounty_id: uuid.UUID) -> Operation | None:
    """The bounty's succeeded charge that no refund names yet (the one its held funds are)."""
    refunded = select(col(PaymentOperation.source_id)).where(
        col(PaymentOperation.bounty_id) == bounty_id,
        col(PaymentOperation.kind) == OperationKind.REFUND,
        col(PaymentOperation.source_id).is_not(None),
    )
    row = (
        await session.execute(
            select(*_COLUMNS)
            .where(
                col(PaymentOperation.bounty_id) == bounty_id,
                col(PaymentOperation.kind) == OperationKind.CHARGE,
                col(PaymentOperation.status) == OperationStatus.SUCCEEDED,
                col(PaymentOperation.provider_id).not_in(refunded),
            )
            .order_by(col(PaymentOperation.created_at).desc())
        )
    ).first()
    return None if row is None else _operation(row)


async def settle(
    session: AsyncSession,
    operation: Operation,
    status: OperationStatus,
    *,
    provider_id: str | None = None,
    client_secret: str | None = None,
    failure_reason: str | None = None,
    from_statuses: tuple[OperationStatus, ...] = OPEN,
) -> bool:
    """Move to `status` if still in one of `from_statuses` (compare-and-set); whether it moved.
    The provider's ids are recorded either way."""
    values: dict[str, Any] = {}
    if provider_id is not None:
        values["provider_id"] = provider_id
    if client_secret is not None:
        values["client_secret"] = client_secret
    if values:
        await session.execute(
            update(PaymentOperation)
            .where(col(PaymentOperation.id) == operation.id)
            .values(**values)
        )
    moved = await session.scalar(
        update(PaymentOperation)
        .where(
            col(PaymentOperation.id) == operation.id,
            col(PaymentOperation.status).in_(from_statuses),
        )
        .values(status=status, failure_reason=failure_reason)
        .returning(col(PaymentOperation.id))
    )
    return moved is not None


async def stale(
    session: AsyncSession, *, older_than_seconds: float, limit: int = 100
) -> list[Operation]:
    """Open operations nobody has moved for a while: what reconciliation re-drives."""
    rows = await session.execute(
        select(*_COLUMNS)
        .where(
            col(PaymentOperation.status).in_(OPEN),
            col(PaymentOperation.updated_at) < func.now() - timedelta(seconds=older_than_seconds),
        )
        .order_by(col(PaymentOperation.updated_at))
        .limit(limit)
    )
    return [_operation(row) for row in rows]
