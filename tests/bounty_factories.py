"""Bounty rows written directly (any status), and the GraphQL documents the tests share."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import (
    Application,
    ApplicationStatus,
    Bounty,
    BountyHistory,
    BountyStatus,
    LedgerEntry,
    LedgerPosting,
    OperationKind,
    OperationStatus,
    User,
)
from app.db.models.base import utcnow
from services.payments import held_funds, operations
from services.payments.money import Money

# Statuses in which a bounty holds its reward: rows inserted in one are funded in the ledger.
FUNDED = frozenset(
    {
        BountyStatus.OPEN,
        BountyStatus.ASSIGNED,
        BountyStatus.SUBMITTED,
        BountyStatus.CHANGES_REQUESTED,
        BountyStatus.DISPUTED,
    }
)
TEST_FEE_BPS = 1000

_sequence = itertools.count(1)


async def insert_bounty(
    session_factory: SessionFactory,
    poster: User,
    *,
    status: BountyStatus = BountyStatus.OPEN,
    hunter: User | None = None,
    created_at: datetime | None = None,
    **values: Any,
) -> uuid.UUID:
    number = next(_sequence)
    row = {
        "poster_id": poster.id,
        "hunter_id": hunter.id if hunter else None,
        "title": f"Bounty {number}",
        "description": f"Description of bounty {number}",
        "category": "other",
        "reward_amount": 1000 + number,
        "reward_currency": "USD",
        "status": status,
        "created_at": created_at or utcnow() - timedelta(seconds=10_000 - number),
        **values,
    }
    async with session_factory() as session, session.begin():
        bounty_id: uuid.UUID | None = await session.scalar(
            insert(Bounty).values(**row).returning(col(Bounty.id))
        )
        assert bounty_id is not None
        if status in FUNDED:
            money = Money(row["reward_amount"], row["reward_currency"])
            charge = await operations.record(
                session, kind=OperationKind.CHARGE, user_id=poster.id, money=money,
                provider="sandbox", bounty_id=bounty_id,
            )  # fmt: skip
            await operations.settle(
                session, charge, OperationStatus.SUCCEEDED, provider_id=f"pi_fixture_{bounty_id}"
            )
            await held_funds.credit_funding(
                session,
                bounty_id=bounty_id,
                money=money,
                reference=held_funds.funding_reference(charge.id),
                fee_bps=TEST_FEE_BPS,
            )
    return bounty_id


async def insert_application(
    session_factory: SessionFactory,
    bounty_id: uuid.UUID,
    hunter: User,
    *,
    status: ApplicationStatus = ApplicationStatus.PENDING,
) -> uuid.UUID:
    async with session_factory() as session, session.begin():
        application_id: uuid.UUID | None = await session.scalar(
            insert(Application)
            .values(bounty_id=bounty_id, hunter_id=hunter.id, message="I can do it", status=status)
            .returning(col(Application.id))
        )
    assert application_id is not None
    return application_id


async def bounty_snapshot(session_factory: SessionFactory, bounty_id: uuid.UUID) -> dict[str, Any]:
    """Status, hunter, history and ledger postings (kind, amount moved): what a refused action
    must leave alone."""
    async with session_factory() as session:
        row = (
            await session.execute(
                select(col(Bounty.status), col(Bounty.hunter_id), col(Bounty.updated_at)).where(
                    col(Bounty.id) == bounty_id
                )
            )
        ).one()
        history = (
            await session.execute(
                select(col(BountyHistory.from_status), col(BountyHistory.to_status))
                .where(col(BountyHistory.bounty_id) == bounty_id)
                .order_by(col(BountyHistory.id))
            )
        ).all()
        payments = (
            await session.execute(
                select(col(LedgerPosting.kind), func.sum(func.greatest(col(LedgerEntry.amount), 0)))
                .join(LedgerEntry, col(LedgerEntry.posting_id) == col(LedgerPosting.id))
                .where(col(LedgerPosting.bounty_id) == bounty_id)
                .group_by(col(LedgerPosting.id))
                .order_by(col(LedgerPosting.id))
            )
        ).all()
        applications = (
            await session.execute(
                select(col(Application.id), col(Application.status))
                .where(col(Application.bounty_id) == bounty_id)
                .order_by(col(Application.id))
            )
        ).all()
    return {
        "status": row[0],
        "hunter_id": row[1],
        "updated_at": row[2],
        "history": [tuple(entry) for entry in history],
        "payments": [(kind.value, int(amount)) for kind, amount in payments],
        "applications": [tuple(application) for application in applications],
    }


async def count_rows(session_factory: SessionFactory, model: Any) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


BOUNTY_RESULT = """
    __typename
    ... on BountySuccess { bounty { id status hunter { id } } }
    ... on UserError { code message field }
"""
TRANSITION = "... on InvalidTransitionError { currentStatus attemptedStatus }"
APPLICATION_RESULT = """
    __typename
    ... on ApplicationSuccess { application { id status } bounty { id status hunter { id } } }
    ... on UserError { code message field }
"""

CREATE = (
    f"mutation ($input: CreateBountyInput!) {{ createBounty(input: $input) {{ {BOUNTY_RESULT} }} }}"
)


def mutation(name: str, input_type: str, result: str = BOUNTY_RESULT) -> str:
    return (
        f"mutation ($input: {input_type}!) {{ {name}(input: $input) {{ {result} {TRANSITION} }} }}"
    )


PUBLISH_RESULT = """
    __typename
    ... on PublishBountySuccess {
        bounty { id status hunter { id } } payment { status failure paymentIntentId }
    }
    ... on UserError { code message field }
"""
PUBLISH = mutation("publishBounty", "PublishBountyInput", PUBLISH_RESULT)
TEST_CARD = "pm_card_visa"  # the sandbox (and Stripe test mode) charge it at once
CANCEL = mutation("cancelBounty", "CancelBountyInput")
APPLY = mutation("applyToBounty", "ApplyToBountyInput", APPLICATION_RESULT)
ACCEPT = mutation("acceptApplication", "ApplicationInput", APPLICATION_RESULT)
REJECT = mutation("rejectApplication", "ApplicationInput", APPLICATION_RESULT)
WITHDRAW = mutation("withdrawApplication", "ApplicationInput", APPLICATION_RESULT)
SUBMIT = mutation("submitWork", "SubmitWorkInput")
REQUEST_CHANGES = mutation("requestChanges", "BountyNoteInput")
APPROVE = mutation("approveCompletion", "BountyPaymentInput")
OPEN_DISPUTE = mutation("openDispute", "OpenDisputeInput")
RESOLVE_DISPUTE = mutation("resolveDispute", "ResolveDisputeInput")
UPDATE = mutation("updateBounty", "UpdateBountyInput")

NEW_BOUNTY = {
    "title": "Fix my bike",
    "description": "The rear brake squeals.\nBring your own tools.",
    "category": "handyman",
    "reward": {"amount": 2500, "currency": "USD"},
    "location": {"latitude": 52.52, "longitude": 13.405, "placeName": "Berlin"},
}
