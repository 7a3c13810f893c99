"""Which domain events notify whom, and with what: what the notification jobs run.

- `notify_transition`: a bounty's lifecycle transition (the `bounties.notify` job).
- `notify_users`: any domain's event for given users (`notifications.create`; payments use it
  for payment released or refunded, payout paid or failed).
- `notify_message`: a new message, for recipients with no open socket.
Every notification's dedupe key derives from its job, so a retried job notifies once.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from app.db.models import (
    Bounty,
    BountyStatus,
    ConversationParticipant,
    Message,
    NotificationType,
    User,
)
from services.bounties.notifications import recipients
from services.notifications.catalog import TITLES, body_for
from services.notifications.later import CREATE_JOB as CREATE_JOB
from services.notifications.store import create
from services.presence import Presence
from services.unit_of_work import UnitOfWork

S, T = BountyStatus, NotificationType
MESSAGE_PREVIEW = 140


def _types(
    status: BountyStatus, previous: BountyStatus | None, *, poster: bool, hunter: bool
) -> list[NotificationType]:
    """What a transition means to one recipient (the poster, the hunter, or an applicant)."""
    if status is S.ASSIGNED:
        return [T.APPLICATION_ACCEPTED] if hunter else [] if poster else [T.APPLICATION_REJECTED]
    if status is S.SUBMITTED:
        return [T.WORK_SUBMITTED] if poster else []
    if status is S.CHANGES_REQUESTED:
        return [T.CHANGES_REQUESTED] if hunter else []
    if status is S.DISPUTED:
        return [T.DISPUTE_OPENED] if poster or hunter else []
    if status is S.COMPLETED:
        first = T.DISPUTE_RESOLVED if previous is S.DISPUTED else T.BOUNTY_COMPLETED
        return [first, T.PAYMENT_RELEASED] if hunter else [first] if poster else []
    if status is S.CANCELLED:
        if previous is S.DISPUTED:
            return [T.DISPUTE_RESOLVED, T.PAYMENT_REFUNDED] if poster else [T.DISPUTE_RESOLVED]
        return [T.PAYMENT_REFUNDED] if poster else [T.BOUNTY_CANCELLED]
    if status is S.EXPIRED:
        return [T.BOUNTY_EXPIRED, T.PAYMENT_REFUNDED] if poster else [T.BOUNTY_EXPIRED]
    return []


async def notify_transition(work: UnitOfWork, change: dict[str, Any], job_key: str) -> int:
    bounty_id = uuid.UUID(change["bountyId"])
    row = (
        await work.session.execute(
            select(col(Bounty.title), col(Bounty.poster_id), col(Bounty.hunter_id)).where(
                col(Bounty.id) == bounty_id
            )
        )
    ).one_or_none()
    if row is None:
        return 0
    title, poster_id, hunter_id = row
    status = S(change["status"])
    previous = S(change["previousStatus"]) if change.get("previousStatus") else None
    created = 0
    for person in sorted(await recipients(work.session, change)):
        kinds = _types(status, previous, poster=person == poster_id, hunter=person == hunter_id)
        for kind in kinds:
            card = await create(
                work,
                user_id=person,
                type_=kind,
                title=TITLES[kind],
                body=body_for(kind, title),
                data={"bountyId": str(bounty_id)},
                dedupe_key=f"{job_key}:{person}:{kind.value}",
            )
            created += card is not None
    return created


async def notify_users(
    work: UnitOfWork,
    *,
    user_ids: list[uuid.UUID],
    type_: NotificationType,
    subject: str,
    data: dict[str, Any],
    job_key: str,
) -> int:
    if not subject and data.get("bountyId"):
        subject = (
            await work.session.scalar(
                select(col(Bounty.title)).where(col(Bounty.id) == uuid.UUID(data["bountyId"]))
            )
            or ""
        )
    created = 0
    for person in user_ids:
        card = await create(
            work,
            user_id=person,
            type_=type_,
            title=TITLES[type_],
            body=body_for(type_, subject),
            data=data,
            dedupe_key=f"{job_key}:{person}:{type_.value}",
        )
        created += card is not None
    return created


async def notify_message(work: UnitOfWork, message_id: uuid.UUID, presence: Presence) -> int:
    """NEW_MESSAGE for the participants (sender aside) who have no socket open right now."""
    session = work.session
    row = (
        await session.execute(
            select(
                col(Message.conversation_id),
                col(Message.sender_id),
                col(Message.body),
                col(User.display_name),
            )
            .join(User, col(User.id) == col(Message.sender_id))
            .where(col(Message.id) == message_id)
        )
    ).one_or_none()
    if row is None:
        return 0
    conversation_id, sender_id, body, sender_name = row
    people = set(
        await session.scalars(
            select(col(ConversationParticipant.user_id)).where(
                col(ConversationParticipant.conversation_id) == conversation_id,
                col(ConversationParticipant.left_at).is_(None),
            )
        )
    )
    people.discard(sender_id)
    offline = people - await presence.online(people)
    preview = body if len(body) <= MESSAGE_PREVIEW else body[: MESSAGE_PREVIEW - 1] + "…"
    created = 0
    for person in sorted(offline):
        card = await create(
            work,
            user_id=person,
            type_=T.NEW_MESSAGE,
            title=f"{sender_name}",
            body=preview,
            data={"conversationId": str(conversation_id), "messageId": str(message_id)},
            dedupe_key=f"message:{message_id}:{person}",
        )
        created += card is not None
    return created
