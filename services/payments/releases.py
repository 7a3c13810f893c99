"""Releasing a bounty's held funds inside the transaction that completes it (no provider call:
with separate charges and transfers the hunter's share stays on the platform's balance, in
their WALLET, until they ask for a payout)."""

from __future__ import annotations

import uuid

from services import business_events
from services.payments import held_funds
from services.unit_of_work import UnitOfWork


async def release(
    work: UnitOfWork, *, bounty_id: uuid.UUID, hunter_id: uuid.UUID, currency: str
) -> None:
    fee, payee = await held_funds.release(
        work.session, bounty_id=bounty_id, hunter_id=hunter_id, currency=currency
    )
    total = fee.amount + payee.amount
    work.after_commit(lambda: business_events.payment("transfer", "succeeded", currency, total))
