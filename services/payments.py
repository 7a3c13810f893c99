"""The payments interface the marketplace calls to move money: fund, release, refund, freeze.

Amounts are integer minor units with an ISO 4217 currency, never floats. Every call carries a
`reference` derived from our ids: calling twice with one reference moves money once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import PaymentCall
from app.settings import Settings
from services import business_events


class PaymentStatus(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    PENDING = "PENDING"  # e.g. a card needing 3-D Secure: a webhook finishes it later


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str


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


class RecordingPayments:
    """NOT A LEDGER: records each call in `payment_calls` and succeeds at once.

    It stands in until the payments work (double-entry ledger, Stripe) lands; that replaces this
    class, not its callers. A repeated reference records nothing new and succeeds again.
    """

    async def _record(
        self,
        session: AsyncSession,
        operation: str,
        bounty_id: uuid.UUID,
        money: Money,
        counterparty_id: uuid.UUID | None,
    ) -> PaymentResult:
        reference = f"{operation}:{bounty_id}"
        await session.execute(
            insert(PaymentCall)
            .values(
                operation=operation,
                bounty_id=bounty_id,
                amount=money.amount,
                currency=money.currency,
                counterparty_id=counterparty_id,
                reference=reference,
            )
            .on_conflict_do_nothing(index_elements=[col(PaymentCall.reference)])
        )
        return PaymentResult(PaymentStatus.SUCCEEDED, reference)

    async def fund(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payer_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        return await self._record(session, "fund", bounty_id, money, payer_id)

    async def release(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payee_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        return await self._record(session, "release", bounty_id, money, payee_id)

    async def refund(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payee_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        return await self._record(session, "refund", bounty_id, money, payee_id)

    async def freeze(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        return await self._record(session, "freeze", bounty_id, money, None)


async def calls_for(session: AsyncSession, bounty_id: uuid.UUID) -> list[tuple[str, int, str]]:
    """(operation, amount, currency) recorded for a bounty, oldest first."""
    rows = await session.execute(
        select(col(PaymentCall.operation), col(PaymentCall.amount), col(PaymentCall.currency))
        .where(col(PaymentCall.bounty_id) == bounty_id)
        .order_by(col(PaymentCall.id))
    )
    return [(row[0], row[1], row[2]) for row in rows]


class MeteredPayments:
    """Any provider, with each answer counted in `bountyexpo_payments_total` (and, once
    succeeded, the amount): `payments_for` wraps whichever provider is configured, so no call
    site counts for itself. Funding is a `charge`, a release to the hunter a `transfer`; an
    exception from the provider counts as `failed` and goes on up. A freeze moves no money and
    is not counted. Counted when the provider answers, as attempts are: with the recording
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


_CONFIGURED = MeteredPayments(RecordingPayments())


def payments_for(settings: Settings) -> Payments:
    """The configured provider, metered. Until the ledger lands there is one provider: the
    recording stand-in."""
    return _CONFIGURED
