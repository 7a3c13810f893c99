"""Held funds frozen by a chargeback: while the payer's bank disputes the charge that funded a
bounty (a `payment_disputes` row still OPEN), its held funds are neither released nor refunded."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Exists, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import DisputeStatus, PaymentDispute
from services.errors import NotAllowed


class FundsFrozen(NotAllowed):
    """NOT_ALLOWED: the held funds wait for the bank's decision on a disputed charge."""


def frozen_clause(bounty_id: Any) -> Exists:
    """SQL: the bounty has an open chargeback (for queries that skip frozen bounties)."""
    return exists().where(
        col(PaymentDispute.bounty_id) == bounty_id,
        col(PaymentDispute.status) == DisputeStatus.OPEN,
    )


async def require_not_frozen(session: AsyncSession, bounty_id: uuid.UUID) -> None:
    if await session.scalar(select(frozen_clause(bounty_id))):
        raise FundsFrozen(
            "the held funds are frozen: the payer's bank disputes the charge; they move once "
            "the bank decides"
        )
