"""Transitions that move money or work: cancel, submit, review the work, disputes, expiry.

Money moves in the same transaction as the status that causes it: approving releases the held
funds (fee and hunter's wallet, a ledger posting), cancelling or expiring an OPEN bounty starts
its refund (the provider call follows in a job), cancelling a FUNDING_PENDING one cancels its
PaymentIntent (a job). Publishing, which must call the provider before it can answer, is
`services/payments/charges.py`. Actions a person asks for take an idempotency key: the same key
and input returns the first result.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import func, insert, select
from sqlmodel import col

from app.db.models import Bounty, BountyStatus, Submission
from services import idempotency
from services.bounties import lifecycle
from services.bounties.access import require_hunter, require_party, require_poster
from services.bounties.lifecycle import BountyState
from services.errors import InvalidInput, NotAllowed
from services.payments import charges, disputes, freezes, refunds, releases
from services.payments.interface import Payments
from services.risk import checks as risk_checks
from services.risk.checks import MoneyAction
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

S = BountyStatus
MAX_NOTE = 2000
MAX_ATTACHMENTS = 10


class DisputeOutcome(StrEnum):
    RELEASE_TO_HUNTER = "RELEASE_TO_HUNTER"
    REFUND_POSTER = "REFUND_POSTER"
    SPLIT = "SPLIT"  # part to the hunter (less the fee), the rest refunded to the poster


def _note(note: str | None, *, required: bool = False) -> str | None:
    text = (note or "").strip()
    if required and not text:
        raise InvalidInput("say what this is about", field="input.note")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"use at most {MAX_NOTE} characters", field="input.note")
    return text or None


async def _idempotent(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    key: str,
    operation: str,
    request: dict[str, Any],
    run: Callable[[], Awaitable[BountyState]],
) -> uuid.UUID:
    first = await idempotency.claim(
        work.session, user_id=viewer.user_id, key=key, operation=operation, request=request
    )
    if first is not None:
        return uuid.UUID(first["bountyId"])
    state = await run()
    result = {"bountyId": str(state.id), "status": state.status.value}
    await idempotency.store_result(work.session, user_id=viewer.user_id, key=key, result=result)
    return state.id


async def cancel(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    payments: Payments,
    bounty_id: uuid.UUID,
    key: str,
    note: str | None,
) -> uuid.UUID:
    """The poster withdraws a bounty nobody works on yet; held funds go back."""
    reason = _note(note)

    async def run() -> BountyState:
        state = await lifecycle.load_state(work.session, viewer, bounty_id)
        require_poster(viewer, state, "cancel it")
        if state.status not in (S.DRAFT, S.FUNDING_PENDING, S.OPEN):
            raise lifecycle.refused(state.status, S.CANCELLED)
        cancelled = await lifecycle.transition(
            work, state, S.CANCELLED, actor_id=viewer.user_id, note=reason
        )
        if state.status is S.OPEN:
            await _refund(work, payments, state)
        elif state.status is S.FUNDING_PENDING:
            await charges.cancel_pending(work, bounty_id)
        return cancelled

    request = {"bountyId": str(bounty_id), "note": reason}
    return await _idempotent(work, viewer, key=key, operation="cancel", request=request, run=run)


async def _refund(work: UnitOfWork, payments: Payments, state: BountyState) -> None:
    await refunds.begin(work, payments, bounty_id=state.id, currency=state.reward.currency)


async def submit_work(
    work: UnitOfWork, viewer: Viewer, *, bounty_id: uuid.UUID, note: str, attachments: list[str]
) -> uuid.UUID:
    text = _note(note, required=True)
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidInput(f"at most {MAX_ATTACHMENTS} attachments", field="input.attachments")
    for link in attachments:
        if not link.startswith("https://") or len(link) > 500:
            raise InvalidInput("attachments are https:// links", field="input.attachments")
    state = await lifecycle.load_state(work.session, viewer, bounty_id)
    require_hunter(viewer, state, "submit work")
    if state.status not in (S.ASSIGNED, S.CHANGES_REQUESTED):
        raise lifecycle.refused(state.status, S.SUBMITTED)
    await lifecycle.transition(work, state, S.SUBMITTED, actor_id=viewer.user_id, note=text)
    await work.session.execute(
        insert(Submission).values(
            bounty_id=bounty_id, hunter_id=viewer.user_id, note=text, attachments=attachments
        )
    )
    return bounty_id


async def request_changes(
    work: UnitOfWork, viewer: Viewer, *, bounty_id: uuid.UUID, note: str
) -> uuid.UUID:
    text = _note(note, required=True)
    state = await lifecycle.load_state(work.session, viewer, bounty_id)
    require_poster(viewer, state, "request changes")
    await lifecycle.transition(work, state, S.CHANGES_REQUESTED, actor_id=viewer.user_id, note=text)
    return bounty_id


async def approve(
    work: UnitOfWork, viewer: Viewer, *, payments: Payments, bounty_id: uuid.UUID, key: str
) -> uuid.UUID:
    """SUBMITTED -> COMPLETED; the held reward is released to the hunter."""

    async def run() -> BountyState:
        state = await lifecycle.load_state(work.session, viewer, bounty_id)
        require_poster(viewer, state, "approve the work")
        await risk_checks.check(work.session, viewer.user_id, MoneyAction.RELEASE)
        if state.status is not S.SUBMITTED:  # DISPUTED -> COMPLETED is a moderator's call
            raise lifecycle.refused(state.status, S.COMPLETED)
        completed = await lifecycle.transition(work, state, S.COMPLETED, actor_id=viewer.user_id)
        await _release(work, payments, state)
        return completed

    return await _idempotent(
        work, viewer, key=key, operation="approve", request={"bountyId": str(bounty_id)}, run=run
    )


async def _release(work: UnitOfWork, payments: Payments, state: BountyState) -> None:
    assert state.hunter_id is not None  # only assigned bounties get this far
    await releases.release(work, bounty_id=state.id, hunter_id=state.hunter_id,
                                 currency=state.reward.currency)  # fmt: skip


async def open_dispute(
    work: UnitOfWork, viewer: Viewer, *, bounty_id: uuid.UUID, reason: str, key: str
) -> uuid.UUID:
    """Either side stops the work. The held reward is frozen: HELD funds move only with a
    status, and DISPUTED allows neither release nor refund until a moderator resolves it."""
    text = _note(reason, required=True)

    async def run() -> BountyState:
        state = await lifecycle.load_state(work.session, viewer, bounty_id)
        require_party(viewer, state, "open a dispute")
        return await lifecycle.transition(
            work, state, S.DISPUTED, actor_id=viewer.user_id, note=text
        )

    request = {"bountyId": str(bounty_id), "note": text}
    return await _idempotent(work, viewer, key=key, operation="dispute", request=request, run=run)


async def resolve_dispute(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    payments: Payments,
    bounty_id: uuid.UUID,
    outcome: DisputeOutcome,
    note: str,
    key: str,
    split: tuple[int, int] | None = None,
) -> uuid.UUID:
    """Staff: pay the hunter (COMPLETED), refund the poster (CANCELLED), or split the held funds
    (`split` = (to the hunter before the fee, to the poster); COMPLETED, or CANCELLED when the
    hunter gets nothing)."""
    if not viewer.is_staff:
        raise NotAllowed("only moderators resolve disputes")
    text = _note(note, required=True)
    if (outcome is DisputeOutcome.SPLIT) != (split is not None):
        raise InvalidInput(
            "give `split` amounts exactly with the SPLIT outcome", field="input.split"
        )

    async def run() -> BountyState:
        state = await lifecycle.load_state(work.session, viewer, bounty_id)
        to_hunter = outcome is DisputeOutcome.RELEASE_TO_HUNTER or (
            split is not None and split[0] > 0
        )
        if state.status is not S.DISPUTED:
            raise lifecycle.refused(state.status, S.COMPLETED if to_hunter else S.CANCELLED)
        if split is not None:
            done = await lifecycle.transition(
                work, state, S.COMPLETED if to_hunter else S.CANCELLED, actor_id=viewer.user_id,
                note=text,
            )  # fmt: skip
            await disputes.split(
                work, payments, state=state, hunter_amount=split[0], poster_amount=split[1]
            )
        elif outcome is DisputeOutcome.RELEASE_TO_HUNTER:
            done = await lifecycle.transition(
                work, state, S.COMPLETED, actor_id=viewer.user_id, note=text
            )
            await _release(work, payments, state)
        else:
            done = await lifecycle.transition(
                work, state, S.CANCELLED, actor_id=viewer.user_id, note=text
            )
            await _refund(work, payments, state)
        return done

    request: dict[str, Any] = {"bountyId": str(bounty_id), "outcome": outcome.value, "note": text}
    if split is not None:
        request["split"] = list(split)
    return await _idempotent(work, viewer, key=key, operation="resolve", request=request, run=run)


EXPIRE_BATCH = 100


async def expire_due(work: UnitOfWork, *, payments: Payments, limit: int = EXPIRE_BATCH) -> int:
    """OPEN bounties whose deadline has passed become EXPIRED and are refunded (a schedule)."""
    rows = await work.session.scalars(
        select(col(Bounty.id))
        .where(
            col(Bounty.status) == S.OPEN,
            col(Bounty.deadline) < func.now(),
            ~freezes.frozen_clause(col(Bounty.id)),
        )
        .order_by(col(Bounty.deadline))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    expired = 0
    for bounty_id in list(rows):
        state = await lifecycle.load_state(work.session, None, bounty_id)
        await lifecycle.transition(
            work, state, S.EXPIRED, actor_id=None, note="deadline passed with no assignment"
        )
        await _refund(work, payments, state)
        expired += 1
    return expired
