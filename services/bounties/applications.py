"""Applications: hunters apply to OPEN bounties; the poster accepts one (rejecting the rest).

One active (PENDING or ACCEPTED) application per hunter and bounty, kept by a partial unique
index; every status change is a compare-and-set like the bounty's own.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Application, ApplicationStatus, BountyStatus, NotificationType
from services import business_events, idempotency
from services.bounties import lifecycle
from services.bounties.access import require_active_status, require_poster
from services.bounties.errors import AlreadyApplied, InvalidTransition, OwnBounty, with_article
from services.errors import InvalidInput, NotAllowed, NotFound
from services.notifications.later import notify_later
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

MAX_MESSAGE = 2000
A = ApplicationStatus
ACTIVE = text("status IN ('PENDING', 'ACCEPTED')")  # uq_applications_active's predicate


# Built once (no per-call building and cache-key hashing); bound names differ from the columns'.
_APPLY = (
    insert(Application)
    .values(
        bounty_id=bindparam("the_bounty"),
        hunter_id=bindparam("the_hunter"),
        message=bindparam("the_message"),
        proposed_amount=bindparam("the_amount"),
    )
    .on_conflict_do_nothing(
        index_elements=[col(Application.bounty_id), col(Application.hunter_id)],
        # The index's own predicate, as text: with bound values PostgreSQL infers the
        # partial index only under plan_cache_mode=force_custom_plan (the app's engine).
        index_where=ACTIVE,
    )
    .returning(col(Application.id))
)


async def apply(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    bounty_id: uuid.UUID,
    message: str,
    proposed_amount: int | None,
    idempotency_key: str | None = None,
) -> uuid.UUID:
    """A PENDING application of `viewer`'s; a repeat under the same idempotency key is answered
    with the first one (services/idempotency.py)."""
    request = {"bountyId": str(bounty_id), "message": message, "proposedAmount": proposed_amount}
    return await idempotency.once(
        work,
        user_id=viewer.user_id,
        key=idempotency_key,
        operation="applyToBounty",
        request=request,
        create=lambda: _apply(work, viewer, bounty_id, message, proposed_amount),
    )


async def _apply(
    work: UnitOfWork,
    viewer: Viewer,
    bounty_id: uuid.UUID,
    message: str,
    proposed_amount: int | None,
) -> uuid.UUID:
    session = work.session
    # The bounty under a share lock and the account's status in one round trip; the checks in
    # their usual order: the account, the input, then the bounty.
    row, status = await lifecycle.load_state_and_account(session, viewer, bounty_id)
    require_active_status(status)
    text = message.strip()
    if not 1 <= len(text) <= MAX_MESSAGE:
        raise InvalidInput(f"use 1 to {MAX_MESSAGE} characters", field="input.message")
    if proposed_amount is not None and proposed_amount <= 0:
        raise InvalidInput("a proposed amount is positive", field="input.proposedAmount")
    state = lifecycle.visible_state(row, viewer)
    if viewer.owns(state.poster_id):
        raise OwnBounty("you cannot apply to your own bounty", field="input.bountyId")
    if state.status is not BountyStatus.OPEN:
        raise InvalidTransition(
            "only OPEN bounties take applications", current=state.status.value, target="APPLIED"
        )
    values = {"the_bounty": bounty_id, "the_hunter": viewer.user_id, "the_message": text}
    application_id: uuid.UUID | None = await session.scalar(
        _APPLY, {**values, "the_amount": proposed_amount}
    )
    if application_id is None:
        raise AlreadyApplied("you already applied to this bounty", field="input.bountyId")
    _changed(work, state.id, "submitted")
    await notify_later(
        work, [state.poster_id], NotificationType.APPLICATION_RECEIVED, bounty_id=state.id
    )
    return application_id


async def _application(session: AsyncSession, application_id: uuid.UUID) -> Any:
    row = (
        await session.execute(
            select(
                col(Application.bounty_id), col(Application.hunter_id), col(Application.status)
            ).where(col(Application.id) == application_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no such application", field="applicationId")
    return row


async def _set_status(
    session: AsyncSession,
    application_id: uuid.UUID,
    current: ApplicationStatus,
    to: ApplicationStatus,
) -> None:
    changed = await session.scalar(
        update(Application)
        .where(col(Application.id) == application_id, col(Application.status) == current)
        .values(status=to)
        .returning(col(Application.id))
    )
    if changed is None:
        now = await session.scalar(
            select(col(Application.status)).where(col(Application.id) == application_id)
        )
        raise InvalidTransition(
            f"{with_article(str(now))} application cannot become {to.value}",
            current=str(now),
            target=to.value,
        )


def _changed(work: UnitOfWork, bounty_id: uuid.UUID, event: str) -> None:
    lifecycle.announce(work, bounty_id, applications=event)
    work.after_commit(lambda: business_events.application_event(event))


async def withdraw(work: UnitOfWork, viewer: Viewer, *, application_id: uuid.UUID) -> uuid.UUID:
    bounty_id, hunter_id, status = await _application(work.session, application_id)
    if not viewer.owns(hunter_id):
        raise NotAllowed("only its hunter can withdraw an application", field="applicationId")
    if status is not A.PENDING:
        raise InvalidTransition(
            f"{with_article(status.value)} application cannot be withdrawn",
            current=status.value,
            target=A.WITHDRAWN.value,
        )
    await _set_status(work.session, application_id, A.PENDING, A.WITHDRAWN)
    _changed(work, bounty_id, "withdrawn")
    return application_id


async def reject(work: UnitOfWork, viewer: Viewer, *, application_id: uuid.UUID) -> uuid.UUID:
    bounty_id, _, status = await _application(work.session, application_id)
    state = await lifecycle.load_state(work.session, viewer, bounty_id)
    require_poster(viewer, state, "reject applications")
    if status is not A.PENDING:
        raise InvalidTransition(
            f"{with_article(status.value)} application cannot be rejected",
            current=status.value,
            target=A.REJECTED.value,
        )
    await _set_status(work.session, application_id, A.PENDING, A.REJECTED)
    _changed(work, bounty_id, "rejected")
    hunter_id = (await _application(work.session, application_id))[1]
    await notify_later(
        work, [hunter_id], NotificationType.APPLICATION_REJECTED, bounty_id=bounty_id
    )
    return application_id


async def accept(work: UnitOfWork, viewer: Viewer, *, application_id: uuid.UUID) -> uuid.UUID:
    """Assign the bounty to the application's hunter; every other pending one is rejected."""
    session = work.session
    bounty_id, hunter_id, status = await _application(session, application_id)
    state = await lifecycle.load_state(session, viewer, bounty_id)
    require_poster(viewer, state, "accept applications")
    if status is not A.PENDING:
        raise InvalidTransition(
            f"{with_article(status.value)} application cannot be accepted",
            current=status.value,
            target=A.ACCEPTED.value,
        )
    # The bounty's compare-and-set decides between concurrent accepts: the loser stops here.
    await lifecycle.transition(
        work,
        state,
        BountyStatus.ASSIGNED,
        actor_id=viewer.user_id,
        values={"hunter_id": hunter_id},
    )
    await _set_status(session, application_id, A.PENDING, A.ACCEPTED)
    await session.execute(
        update(Application)
        .where(
            col(Application.bounty_id) == bounty_id,
            col(Application.status) == A.PENDING,
            col(Application.id) != application_id,
        )
        .values(status=A.REJECTED)
    )
    work.after_commit(lambda: business_events.application_event("accepted"))
    return application_id
