"""The payments interface the marketplace calls to move money: fund, release, refund, freeze.

Amounts are integer minor units with an ISO 4217 currency, never floats. Every call is keyed by
our ids: calling twice for one bounty moves money once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from services import business_events
from services.payments.money import Money


class PaymentStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    PENDING = "PENDING"  # e.g. a card needing 3-D Secure: a webhook finishes it later


@dataclass(frozen=True, slots=True)
class PaymentResult:
    status: PaymentStatus
    reference: str


class Payments(Protocol):
    async def fund(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payer_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        """Charge the poster and hold the reward for the bounty."""

    async def release(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payee_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        """Pay the held reward out to the hunter."""

    async def refund(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payee_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        """Return the held reward to the poster."""

    async def freeze(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        """Keep the held reward from moving while a dispute is open."""


class MeteredPayments:
    """Any provider, with each answer counted in `bountyexpo_payments_total` (and, once
    succeeded, the amount): `payments_for` wraps whichever provider is configured, so no call
    site counts for itself. Funding is a `charge`, a release to the hunter a `transfer`; an
    exception from the provider counts as `failed` and goes on up. A freeze moves no money and
    is not counted. Counted when the provider answers, as attempts are: with the instant
    stand-in, an answer whose transaction then rolls back is still counted."""

    def __init__(self, provider: Payments) -> None:
        self.provider = provider

    async def fund(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payer_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        answer = self.provider.fund(session, bounty_id=bounty_id, payer_id=payer_id, money=money)
        return await _counted("charge", money, answer)

    async def release(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payee_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        answer = self.provider.release(session, bounty_id=bounty_id, payee_id=payee_id, money=money)
        return await _counted("transfer", money, answer)

    async def refund(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payee_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        answer = self.provider.refund(session, bounty_id=bounty_id, payee_id=payee_id, money=money)
        return await _counted("refund", money, answer)

    async def freeze(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        return await self.provider.freeze(session, bounty_id=bounty_id, money=money)


async def _counted(kind: str, money: Money, answer: Awaitable[PaymentResult]) -> PaymentResult:
    try:
        result = await answer
    except Exception:
        business_events.payment(kind, "failed", money.currency, money.amount)
        raise
    business_events.payment(kind, result.status.value.lower(), money.currency, money.amount)
    return result


def payments_for(settings: Settings) -> Payments:
    """The configured payments, metered."""
    from services.payments.instant import InstantLedgerPayments

    return MeteredPayments(InstantLedgerPayments(fee_bps=settings.platform_fee_bps))
