"""A bounty's money in the ledger: funding credits its HELD account, a release splits it between
the platform's FEES and the hunter's WALLET, a refund moves it to REFUNDS until the provider
confirms. No network here: these run inside the transaction that changes the bounty's status, so
the status and the money move together or not at all.

What a release pays: everything the bounty holds (the reward as funded), less the platform fee
recorded on the bounty when it was funded. An accepted application's `proposedAmount` is a
conversation between poster and hunter, not a price change: it never changes what is paid.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Bounty, PostingKind
from services.payments import freezes, ledger
from services.payments.money import Money


class NothingHeld(RuntimeError):
    """A release or refund of a bounty that holds nothing: the ledger and the status disagree."""


def funding_reference(operation_id: uuid.UUID | str) -> str:
    return f"funding:{operation_id}"


async def credit_funding(
    session: AsyncSession,
    *,
    bounty_id: uuid.UUID,
    money: Money,
    reference: str,
    fee_bps: int,
) -> bool:
    """Hold `money` for the bounty (CLEARING -> HELD) and record the fee in force; False when
    `reference` was credited before (a repeated confirmation)."""
    posted = await ledger.post(
        session,
        kind=PostingKind.FUNDING,
        reference=reference,
        bounty_id=bounty_id,
        legs=ledger.transfer(
            ledger.clearing(money.currency), ledger.held(bounty_id, money.currency), money
        ),
    )
    if posted is None:
        return False
    await session.execute(
        update(Bounty)
        .where(col(Bounty.id) == bounty_id)
        .values(platform_fee_bps=fee_bps, funding_failure=None)
    )
    return True


async def held_amount(session: AsyncSession, bounty_id: uuid.UUID, currency: str) -> Money:
    return Money(await ledger.balance(session, ledger.held(bounty_id, currency)), currency)


async def release(
    session: AsyncSession, *, bounty_id: uuid.UUID, hunter_id: uuid.UUID, currency: str
) -> tuple[Money, Money]:
    """Pay out what the bounty holds: (fee to FEES, rest to the hunter's WALLET)."""
    await freezes.require_not_frozen(session, bounty_id)
    row = (
        await session.execute(
            select(col(Bounty.platform_fee_bps)).where(col(Bounty.id) == bounty_id)
        )
    ).one()
    held = await held_amount(session, bounty_id, currency)
    if held.amount <= 0:
        raise NothingHeld(f"bounty {bounty_id} holds nothing to release")
    fee = held.fee(row[0] or 0)
    payee = held - fee
    legs = [ledger.Leg(ledger.held(bounty_id, currency), -held.amount)]
    if fee.amount:
        legs.append(ledger.Leg(ledger.fees(currency), fee.amount))
    if payee.amount:
        legs.append(ledger.Leg(ledger.wallet(hunter_id, currency), payee.amount))
    await ledger.post(
        session,
        kind=PostingKind.RELEASE,
        reference=f"release:{bounty_id}",
        bounty_id=bounty_id,
        legs=legs,
    )
    return fee, payee


async def start_refund(
    session: AsyncSession, *, bounty_id: uuid.UUID, money: Money, reference: str
) -> bool:
    """Move `money` of the bounty's held funds to REFUNDS (the provider refund follows), once
    per `reference`; whether it moved now."""
    if money.amount <= 0:
        raise NothingHeld(f"bounty {bounty_id} holds nothing to refund")
    await freezes.require_not_frozen(session, bounty_id)
    posted = await ledger.post(
        session,
        kind=PostingKind.REFUND,
        reference=reference,
        bounty_id=bounty_id,
        legs=ledger.transfer(
            ledger.held(bounty_id, money.currency), ledger.refunds(money.currency), money
        ),
    )
    return posted is not None


async def settle_refund(
    session: AsyncSession, *, bounty_id: uuid.UUID | None, money: Money, reference: str
) -> bool:
    """The provider confirmed a refund: REFUNDS -> CLEARING (once per `reference`)."""
    posted = await ledger.post(
        session,
        kind=PostingKind.REFUND_SETTLED,
        reference=reference,
        bounty_id=bounty_id,
        legs=ledger.transfer(
            ledger.refunds(money.currency), ledger.clearing(money.currency), money
        ),
    )
    return posted is not None
