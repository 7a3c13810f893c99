"""The risk check money flows call before they move money: funding, release and payout.

A user with payments restricted cannot fund or release; with payouts restricted cannot
withdraw. The refusal is a typed error saying which restriction applies.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import RiskRestriction
from services.errors import DomainError


class MoneyAction(StrEnum):
    FUND = "FUND"
    RELEASE = "RELEASE"
    PAYOUT = "PAYOUT"


class PaymentsRestricted(DomainError):
    code = "PAYMENTS_RESTRICTED"


class PayoutsRestricted(DomainError):
    code = "PAYOUTS_RESTRICTED"


r = RiskRestriction.__table__.c  # type: ignore[attr-defined]


async def check(session: AsyncSession, user_id: uuid.UUID, action: MoneyAction) -> None:
    """Raise when a risk restriction forbids `action` to `user_id`: one indexed read."""
    row = (
        await session.execute(
            select(r.payments_restricted, r.payouts_restricted).where(r.user_id == user_id)
        )
    ).first()
    if row is None:
        return
    payments, payouts = row
    if payments and action in (MoneyAction.FUND, MoneyAction.RELEASE):
        raise PaymentsRestricted(
            "payments are restricted on this account after a risk review: contact support",
            field=None,
        )
    if payouts and action is MoneyAction.PAYOUT:
        raise PayoutsRestricted(
            "payouts are restricted on this account after a risk review: contact support",
            field=None,
        )
