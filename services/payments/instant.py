"""NOT A PAYMENT PROVIDER: the ledger side of each call, with the provider's part taken as done.

Funding credits the bounty's HELD account as if the charge had succeeded; a refund is settled at
once. Every money movement is a real, balanced ledger posting, keyed by the bounty, so calling
twice moves money once. It stands in until the provider flow (PaymentIntents, webhooks) lands.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.payments import held_funds
from services.payments.interface import PaymentResult, PaymentStatus
from services.payments.money import Money


class InstantLedgerPayments:
    def __init__(self, *, fee_bps: int) -> None:
        self.fee_bps = fee_bps

    async def fund(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payer_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        reference = held_funds.funding_reference(bounty_id)
        await held_funds.credit_funding(
            session, bounty_id=bounty_id, money=money, reference=reference, fee_bps=self.fee_bps
        )
        return PaymentResult(PaymentStatus.SUCCEEDED, reference)

    async def release(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payee_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        await held_funds.release(
            session, bounty_id=bounty_id, hunter_id=payee_id, currency=money.currency
        )
        return PaymentResult(PaymentStatus.SUCCEEDED, f"release:{bounty_id}")

    async def refund(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, payee_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        moved = await held_funds.start_refund(session, bounty_id=bounty_id, currency=money.currency)
        reference = f"refund:{bounty_id}"
        await held_funds.settle_refund(
            session, bounty_id=bounty_id, money=moved, reference=f"settled:{reference}"
        )
        return PaymentResult(PaymentStatus.SUCCEEDED, reference)

    async def freeze(
        self, session: AsyncSession, *, bounty_id: uuid.UUID, money: Money
    ) -> PaymentResult:
        # Held funds move only with the bounty's status; DISPUTED allows neither release nor
        # refund until a moderator resolves it, so there is nothing to write.
        return PaymentResult(PaymentStatus.SUCCEEDED, f"freeze:{bounty_id}")
