"""The bounty lifecycle as an explicit state machine.

    DRAFT -> FUNDING_PENDING -> OPEN -> ASSIGNED -> SUBMITTED <-> CHANGES_REQUESTED -> COMPLETED
    plus CANCELLED, EXPIRED (deadline passed with no assignment) and DISPUTED; a failed payment
    takes FUNDING_PENDING back to DRAFT.

Every transition is a compare-and-set in SQL (`UPDATE ... WHERE status = :expected`): of two
concurrent transitions from one state exactly one wins, the other gets INVALID_TRANSITION. Each
writes a history row and registers after-commit effects: a `bountyUpdated` event, a notification
job and a business counter.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.models import Bounty, BountyHistory, BountyStatus, User, UserStatus
from app.db.models.base import utcnow
from services import business_events
from services.analytics import events as analytics
from services.bounties.errors import InvalidTransition, with_article
from services.errors import NotFound
from services.payments.money import Money
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

S = BountyStatus
TRANSITIONS: dict[BountyStatus, frozenset[BountyStatus]] = {
    S.DRAFT: frozenset({S.FUNDING_PENDING, S.CANCELLED}),
    # Back to DRAFT when the payment fails (with the reason in `funding_failure`).
    S.FUNDING_PENDING: frozenset({S.OPEN, S.CANCELLED, S.DRAFT}),
    S.OPEN: frozenset({S.ASSIGNED, S.CANCELLED, S.EXPIRED}),
    S.ASSIGNED: frozenset({S.SUBMITTED, S.DISPUTED}),
    S.SUBMITTED: frozenset({S.CHANGES_REQUESTED, S.COMPLETED, S.DISPUTED}),
    S.CHANGES_REQUESTED: frozenset({S.SUBMITTED, S.DISPUTED}),
    S.DISPUTED: frozenset({S.COMPLETED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}
# Drafts and bounties awaiting funds are their poster's business only.
PRIVATE_STATUSES = frozenset({S.DRAFT, S.FUNDING_PENDING})
_COUNTED = {
    S.OPEN: "published",
    S.ASSIGNED: "accepted",
    S.COMPLETED: "completed",
    S.CANCELLED: "cancelled",
    S.EXPIRED: "expired",
    S.DISPUTED: "disputed",
}
NOTIFY_JOB = "bounties.notify"


def topic(bounty_id: uuid.UUID | str) -> str:
    return f"bounty:{bounty_id}"


def announce(work: UnitOfWork, bounty_id: uuid.UUID, **fields: Any) -> None:
    """A `bountyUpdated` event, delivered after commit."""
    event = {"bountyId": str(bounty_id), "at": utcnow().isoformat(), **fields}
    work.publish(topic(bounty_id), event)


@dataclass(frozen=True, slots=True)
class BountyState:
    """What rules about a bounty need: who, which state, how much."""

    id: uuid.UUID
    poster_id: uuid.UUID
    hunter_id: uuid.UUID | None
    status: BountyStatus
    reward: Money
    deadline: datetime | None
    removed_at: datetime | None = None  # by a moderator: staff and the poster only

    def visible_to(self, viewer: Viewer | None) -> bool:
        if self.removed_at is not None and not (
            viewer is not None and (viewer.is_staff or viewer.owns(self.poster_id))
        ):
            return False
        return self.status not in PRIVATE_STATUSES or (
            viewer is not None and viewer.owns(self.poster_id)
        )


_STATE_COLUMNS = (
    col(Bounty.id),
    col(Bounty.poster_id),
    col(Bounty.hunter_id),
    col(Bounty.status),
    col(Bounty.reward_amount),
    col(Bounty.reward_currency),
    col(Bounty.deadline),
    col(Bounty.removed_at),
)


_STATE = select(*_STATE_COLUMNS).where(col(Bounty.id) == bindparam("bounty_id"))
_STATE_SHARED = _STATE.with_for_update(read=True)


def _state(row: Any) -> BountyState:
    return BountyState(row[0], row[1], row[2], row[3], Money(row[4], row[5]), row[6], row[7])


# The state under a share lock and, in the same statement, the acting user's account status
# (apply checks both: one round trip instead of two). Only the bounty's row is locked.
_STATE_AND_ACCOUNT = (
    select(
        *_STATE_COLUMNS,
        select(col(User.status)).where(col(User.id) == bindparam("user_id")).scalar_subquery(),
    )
    .where(col(Bounty.id) == bindparam("bounty_id"))
    .with_for_update(read=True, of=Bounty)
)


async def load_state_and_account(
    session: AsyncSession, viewer: Viewer, bounty_id: uuid.UUID
) -> tuple[Any, UserStatus | None]:
    """`load_state(..., lock=True)`'s row (None: no such bounty) and `viewer`'s account status
    (None: no account), in one statement when the bounty exists. `visible_state` turns the row
    into the state, so callers may check the account first, as before."""
    found = await session.execute(
        _STATE_AND_ACCOUNT, {"bounty_id": bounty_id, "user_id": viewer.user_id}
    )
    row = found.one_or_none()
    if row is not None:
        return row, row[len(_STATE_COLUMNS)]
    status = await session.scalar(select(col(User.status)).where(col(User.id) == viewer.user_id))
    return None, status


def visible_state(row: Any, viewer: Viewer | None) -> BountyState:
    """The state of a row `load_state_and_account` read; NOT_FOUND as `load_state` says."""
    if row is None or not (state := _state(row)).visible_to(viewer):
        raise NotFound("no such bounty", field="bountyId")
    return state


async def load_state(
    session: AsyncSession, viewer: Viewer | None, bounty_id: uuid.UUID, *, lock: bool = False
) -> BountyState:
    """The bounty as `viewer` may see it; NOT_FOUND when unknown or another poster's draft.

    `lock` takes a share lock: transitions wait until this transaction ends (used by apply, so
    an application cannot slip in after the bounty was assigned).
    """
    query = _STATE_SHARED if lock else _STATE
    row = (await session.execute(query, {"bounty_id": bounty_id})).one_or_none()
    if row is None or not (state := _state(row)).visible_to(viewer):
        raise NotFound("no such bounty", field="bountyId")
    return state


async def load_for_system(session: AsyncSession, bounty_id: uuid.UUID) -> BountyState:
    """The bounty whatever its status, for the system's own actors (payments, schedules)."""
    row = (await session.execute(select(*_STATE_COLUMNS).where(col(Bounty.id) == bounty_id))).one()
    return _state(row)


async def transition(
    work: UnitOfWork,
    state: BountyState,
    to: BountyStatus,
    *,
    actor_id: uuid.UUID | None,
    note: str | None = None,
    values: dict[str, Any] | None = None,
) -> BountyState:
    """Move `state` to `to` if it still is in `state.status`; history and effects included."""
    if to not in TRANSITIONS[state.status]:
        raise refused(state.status, to)
    row = (
        await work.session.execute(
            update(Bounty)
            .where(col(Bounty.id) == state.id, col(Bounty.status) == state.status)
            .values(status=to, **(values or {}))
            .returning(*_STATE_COLUMNS)
        )
    ).one_or_none()
    if row is None:  # someone else moved it first
        current = await work.session.scalar(
            select(col(Bounty.status)).where(col(Bounty.id) == state.id)
        )
        raise refused(current, to)
    await work.session.execute(
        insert(BountyHistory).values(
            bounty_id=state.id, actor_id=actor_id, from_status=state.status, to_status=to, note=note
        )
    )
    analytics.record(
        work.session,
        analytics.bounty_event(to.value),
        actor_id,
        bountyId=str(state.id),
        amount=state.reward.amount,
        currency=state.reward.currency,
    )
    await _effects(work, state, to, actor_id)
    return _state(row)


def refused(current: BountyStatus | None, to: BountyStatus) -> InvalidTransition:
    if current is None:
        return InvalidTransition("this bounty no longer exists", current=None, target=to.value)
    return InvalidTransition(
        f"{with_article(current.value)} bounty cannot become {to.value}",
        current=current.value,
        target=to.value,
    )


async def record_creation(work: UnitOfWork, bounty_id: uuid.UUID, actor_id: uuid.UUID) -> None:
    await work.session.execute(
        insert(BountyHistory).values(
            bounty_id=bounty_id, actor_id=actor_id, from_status=None, to_status=S.DRAFT
        )
    )
    analytics.record(work.session, analytics.BOUNTY_CREATED, actor_id, bountyId=str(bounty_id))
    work.after_commit(lambda: business_events.bounty_event("created"))


async def _effects(
    work: UnitOfWork, state: BountyState, to: BountyStatus, actor_id: uuid.UUID | None
) -> None:
    change = {
        "bountyId": str(state.id),
        "status": to.value,
        "previousStatus": state.status.value,
        "actorId": str(actor_id) if actor_id else None,
    }
    announce(work, state.id, **change)
    await work.enqueue(NOTIFY_JOB, change)
    event = _COUNTED.get(to)
    if event is not None:
        work.after_commit(lambda: business_events.bounty_event(event))
