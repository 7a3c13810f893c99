"""Disputes and their money: a moderator's split of the held funds, and chargebacks.

- `split` (`resolveDispute` with `SPLIT`): part of the held funds to the hunter, net of the fee
  recorded at funding (one RELEASE posting, reference "release:<bounty>", so at most once), the
  rest refunded to the poster (HELD -> REFUNDS and a refund job, as a cancellation). The two
  amounts must sum to exactly what the bounty holds. It runs in the transaction whose
  compare-and-set moves the bounty out of DISPUTED: of concurrent resolutions one moves money.
- `apply_event` (`charge.dispute.created` / `charge.dispute.closed` webhooks): the payer's bank
  disputes the charge that funded a bounty. Created: the dispute is recorded OPEN, which freezes
  the bounty's held funds (`freezes`), and a bounty under way (ASSIGNED, SUBMITTED,
  CHANGES_REQUESTED) becomes DISPUTED so a moderator sees it. Closed as won: the funds move
  again. Closed as lost: the bank took the money back, so the disputed part of the held funds
  leaves the ledger to the provider (REFUND then REFUND_SETTLED, references "chargeback:<id>")
  and an OPEN or DISPUTED bounty is CANCELLED. Whatever the bank took beyond what the bounty
  still held (released or refunded before it decided) is the platform's loss: posted
  PLATFORM_LOSS -> CLEARING (CHARGEBACK_LOSS, reference "chargeback-loss:<id>"). Each dispute
  row changes state once (compare-and-set from OPEN; a `closed` arriving before its `created`
  records the final state and a late `created` changes nothing), so duplicates and reordering
  converge.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.db.models import (
    Bounty,
    BountyStatus,
    DisputeStatus,
    NotificationType,
    OperationKind,
    PaymentDispute,
    PaymentOperation,
    PostingKind,
)
from app.db.models.base import utcnow
from services import business_events
from services.bounties import lifecycle
from services.bounties.lifecycle import BountyState
from services.errors import InvalidInput
from services.notifications.later import notify_later
from services.payments import freezes, held_funds, ledger, refunds
from services.payments.interface import Payments
from services.payments.money import Money
from services.unit_of_work import UnitOfWork

logger = logging.getLogger(__name__)
S = BountyStatus
UNDER_WAY = frozenset({S.ASSIGNED, S.SUBMITTED, S.CHANGES_REQUESTED})


async def split(
    work: UnitOfWork,
    payments: Payments,
    *,
    state: BountyState,
    hunter_amount: int,
    poster_amount: int,
) -> tuple[Money, Money, Money]:
    """Pay `hunter_amount` (less the fee) to the hunter and refund `poster_amount` to the poster:
    (fee, hunter's net, refunded)."""
    assert state.hunter_id is not None  # only assigned bounties can be disputed
    session = work.session
    currency = state.reward.currency
    held = await held_funds.held_amount(session, state.id, currency)
    if hunter_amount < 0 or poster_amount < 0 or hunter_amount + poster_amount != held.amount:
        raise InvalidInput(
            f"hunterAmount and posterAmount must be at least 0 and sum to the {held.amount} "
            f"{currency} held",
            field="input.split",
        )
    await freezes.require_not_frozen(session, state.id)
    fee_bps = await session.scalar(
        select(col(Bounty.platform_fee_bps)).where(col(Bounty.id) == state.id)
    )
    gross = Money(hunter_amount, currency)
    fee = gross.fee(fee_bps or 0)
    net = gross - fee
    if gross.amount:
        legs = [ledger.Leg(ledger.held(state.id, currency), -gross.amount)]
        if fee.amount:
            legs.append(ledger.Leg(ledger.fees(currency), fee.amount))
        if net.amount:
            legs.append(ledger.Leg(ledger.wallet(state.hunter_id, currency), net.amount))
        await ledger.post(
            session, kind=PostingKind.RELEASE, reference=f"release:{state.id}",
            bounty_id=state.id, legs=legs,
        )  # fmt: skip
        work.after_commit(
            lambda: business_events.payment("transfer", "succeeded", currency, gross.amount)
        )
    refunded = Money(poster_amount, currency)
    if refunded.amount:
        await refunds.begin(work, payments, bounty_id=state.id, currency=currency, amount=refunded)
        if gross.amount:  # a COMPLETED bounty tells the poster only that the dispute was resolved
            await notify_later(work, [state.poster_id], NotificationType.PAYMENT_REFUNDED,
                               bounty_id=state.id)  # fmt: skip
    return fee, net, refunded


def _intent_id(dispute: dict[str, Any]) -> str | None:
    found = dispute.get("payment_intent")
    if isinstance(found, dict):
        found = found.get("id")
    return found if isinstance(found, str) else None


async def apply_event(
    work: UnitOfWork, payments: Payments, event_type: str, dispute: dict[str, Any]
) -> bool:
    """Apply a `charge.dispute.*` event (the dispute object as sent); whether it changed
    anything. Disputes of charges we do not know are ignored."""
    dispute_id, intent_id = dispute.get("id"), _intent_id(dispute)
    amount, currency = dispute.get("amount"), dispute.get("currency")
    if not isinstance(dispute_id, str) or intent_id is None:
        return False
    if not isinstance(amount, int) or not isinstance(currency, str):
        return False
    session = work.session
    bounty_id = await session.scalar(
        select(col(PaymentOperation.bounty_id)).where(
            col(PaymentOperation.provider_id) == intent_id,
            col(PaymentOperation.kind) == OperationKind.CHARGE,
        )
    )
    if bounty_id is None:
        return False
    # Serialise with the bounty's own transitions (a release or refund in flight).
    await session.execute(
        select(col(Bounty.id)).where(col(Bounty.id) == bounty_id).with_for_update()
    )
    closing = event_type == "charge.dispute.closed"
    status = dispute.get("status")
    final = DisputeStatus.LOST if status == "lost" else DisputeStatus.WON
    values = {
        "id": dispute_id[:255], "bounty_id": bounty_id, "payment_intent_id": intent_id[:255],
        "amount": amount, "currency": currency.upper()[:3],
        "reason": str(dispute.get("reason") or "")[:64] or None,
    }  # fmt: skip
    if not closing:
        created = await session.scalar(
            insert(PaymentDispute)
            .values(**values, status=DisputeStatus.OPEN)
            .on_conflict_do_nothing()
            .returning(col(PaymentDispute.id))
        )
        if created is None:
            return False
        state = await lifecycle.load_for_system(session, bounty_id)
        if state.status in UNDER_WAY:
            await lifecycle.transition(
                work, state, S.DISPUTED, actor_id=None,
                note="the payer's bank disputes the charge (chargeback)",
            )  # fmt: skip
        return True
    inserted = await session.scalar(
        insert(PaymentDispute)
        .values(**values, status=final, closed_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(PaymentDispute.id))
    )
    if inserted is None:
        closed = await session.scalar(
            update(PaymentDispute)
            .where(
                col(PaymentDispute.id) == dispute_id,
                col(PaymentDispute.status) == DisputeStatus.OPEN,
            )
            .values(status=final, closed_at=utcnow())
            .returning(col(PaymentDispute.id))
        )
        if closed is None:
            return False
    if final is DisputeStatus.LOST:
        await _lost(work, payments, bounty_id, dispute_id, Money(amount, currency.upper()))
    return True


async def _lost(
    work: UnitOfWork, payments: Payments, bounty_id: uuid.UUID, dispute_id: str, money: Money
) -> None:
    """The bank returned the money to the payer: it leaves the held funds to the provider; a
    bounty that cannot go on is cancelled and whatever it still holds refunded."""
    session = work.session
    held = await held_funds.held_amount(session, bounty_id, money.currency)
    taken = Money(min(money.amount, held.amount), money.currency)
    beyond = money - taken
    if beyond.amount > 0:  # released or refunded before the bank decided
        # The provider took it from the platform all the same: CLEARING records what it moved,
        # and the platform's own PLATFORM_LOSS pays for it (once per dispute).
        logger.warning(
            "chargeback %s of bounty %s lost: %d %s beyond the held funds is the platform's loss",
            dispute_id, bounty_id, beyond.amount, beyond.currency,
        )  # fmt: skip
        await ledger.post(
            session, kind=PostingKind.CHARGEBACK_LOSS, reference=f"chargeback-loss:{dispute_id}",
            bounty_id=bounty_id,
            legs=ledger.transfer(
                ledger.platform_loss(beyond.currency), ledger.clearing(beyond.currency), beyond
            ),
        )  # fmt: skip
    if taken.amount > 0:
        await ledger.post(
            session, kind=PostingKind.REFUND, reference=f"chargeback:{dispute_id}",
            bounty_id=bounty_id,
            legs=ledger.transfer(
                ledger.held(bounty_id, taken.currency), ledger.refunds(taken.currency), taken
            ),
        )  # fmt: skip
        await held_funds.settle_refund(
            session, bounty_id=bounty_id, money=taken, reference=f"chargeback-settled:{dispute_id}"
        )
    state = await lifecycle.load_for_system(session, bounty_id)
    if state.status in (S.OPEN, S.DISPUTED):
        await lifecycle.transition(
            work, state, S.CANCELLED, actor_id=None,
            note="the payer's bank returned the payment (chargeback lost)",
        )  # fmt: skip
        rest = held - taken
        if rest.amount > 0:
            await refunds.begin(
                work, payments, bounty_id=bounty_id, currency=rest.currency, amount=rest
            )
