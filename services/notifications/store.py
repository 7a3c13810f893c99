"""Creating notifications (once per domain event, numbered per user) and reading them.

`create` decides the channels (preferences, quiet hours), stores the notification, queues its
push deliveries and mail, and publishes `notificationAdded` and `unreadCounts` after commit.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import (
    Channel,
    Notification,
    NotificationSettings,
    NotificationType,
    PushDelivery,
    PushToken,
)
from app.db.models.base import utcnow
from app.monitoring.metrics import record_notification
from services.errors import InvalidInput, NotFound
from services.messaging.events import unread_event, user_topic
from services.notifications import preferences
from services.pagination import Counted, Page, decode_cursor, encode_cursor, page_size, read_page
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

PUSH_JOB = "notifications.push"
EMAIL_JOB = "notifications.email"
NOTIFICATION = "notification"
REPLAY_BATCH = 100
n = Notification.__table__.c  # type: ignore[attr-defined]
_COLUMNS = (n.id, n.user_id, n.seq, n.type, n.title, n.body, n.data, n.read_at, n.created_at)


@dataclass(frozen=True, slots=True)
class NotificationCard:
    id: uuid.UUID
    user_id: uuid.UUID
    seq: int
    type: NotificationType
    title: str
    body: str
    data: dict[str, Any]
    read_at: datetime | None
    created_at: datetime

    def fields(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "userId": str(self.user_id),
            "seq": self.seq,
            "type": self.type.value,
            "title": self.title,
            "body": self.body,
            "data": self.data,
            "readAt": self.read_at.isoformat() if self.read_at else None,
            "createdAt": self.created_at.isoformat(),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> NotificationCard:
        return cls(
            id=uuid.UUID(fields["id"]),
            user_id=uuid.UUID(fields["userId"]),
            seq=int(fields["seq"]),
            type=NotificationType(fields["type"]),
            title=fields["title"],
            body=fields["body"],
            data=dict(fields["data"]),
            read_at=datetime.fromisoformat(fields["readAt"]) if fields["readAt"] else None,
            created_at=datetime.fromisoformat(fields["createdAt"]),
        )


def _card(row: Any) -> NotificationCard:
    return NotificationCard(
        row[0], row[1], row[2], NotificationType(row[3]), row[4], row[5], row[6], row[7], row[8]
    )


def notification_event(card: NotificationCard) -> dict[str, Any]:
    return {"kind": NOTIFICATION, "notification": card.fields()}


async def create(
    work: UnitOfWork,
    *,
    user_id: uuid.UUID,
    type_: NotificationType,
    title: str,
    body: str,
    data: dict[str, Any],
    dedupe_key: str,
    now: datetime | None = None,
) -> NotificationCard | None:
    """Store and route one notification; None if `dedupe_key` was created before (a retry)."""
    session = work.session
    now = now or utcnow()
    settings_table = NotificationSettings.__table__  # type: ignore[attr-defined]
    seq = await session.scalar(  # numbered under the user's settings row lock
        insert(NotificationSettings)
        .values(user_id=user_id, last_seq=1)
        .on_conflict_do_update(
            index_elements=["user_id"], set_={"last_seq": settings_table.c.last_seq + 1}
        )
        .returning(settings_table.c.last_seq)
    )
    prefs = await preferences.load(session, user_id)
    channels = prefs.channels(type_, now)
    row = (
        await session.execute(
            insert(Notification)
            .values(
                id=uuid.uuid4(),
                user_id=user_id,
                seq=seq,
                type=type_,
                title=title[:200],
                body=body[:1000],
                data=data,
                in_app=Channel.IN_APP in channels,
                dedupe_key=dedupe_key,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(*_COLUMNS)
        )
    ).one_or_none()
    if row is None:
        return None
    card = _card(row)
    outcomes: list[tuple[str, str]] = []
    if Channel.IN_APP in channels:
        work.publish(user_topic(user_id), notification_event(card))
        work.publish(user_topic(user_id), unread_event())
        outcomes.append(("in_app", "stored"))
    else:
        outcomes.append(("in_app", "muted"))
    outcomes.append(("push", await _route_push(work, card, channels, prefs, type_)))
    if Channel.EMAIL in channels:
        await work.enqueue(EMAIL_JOB, {"notificationId": str(card.id)})
        outcomes.append(("email", "queued"))
    else:
        outcomes.append(("email", "muted"))

    def count() -> None:
        for channel, outcome in outcomes:
            record_notification(channel, outcome)

    work.after_commit(count)
    return card


async def _route_push(
    work: UnitOfWork,
    card: NotificationCard,
    channels: set[Channel],
    prefs: preferences.Preferences,
    type_: NotificationType,
) -> str:
    if Channel.PUSH not in channels:
        return "quiet_hours" if prefs.enabled(type_, Channel.PUSH) else "muted"
    tokens = list(
        await work.session.scalars(
            select(col(PushToken.id)).where(
                col(PushToken.user_id) == card.user_id, col(PushToken.active).is_(True)
            )
        )
    )
    if not tokens:
        return "no_device"
    await work.session.execute(
        insert(PushDelivery)
        .values([{"notification_id": card.id, "token_id": token} for token in tokens])
        .on_conflict_do_nothing()
    )
    # One push job drains every pending delivery in batches of 100 (Expo's limit per request).
    await work.enqueue(PUSH_JOB, {}, dedupe_key=PUSH_JOB)
    return "queued"


async def list_notifications(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    first: int | None,
    after: str | None,
    unread_only: bool,
    count: bool = False,
) -> Page[NotificationCard]:
    """Newest first (with `count`, how many in all under the filter): one statement."""
    size = page_size(first)
    conditions = [n.user_id == viewer.user_id, n.in_app.is_(True)]
    if unread_only:
        conditions.append(n.read_at.is_(None))
    query = select(*_COLUMNS).where(*conditions)
    if after is not None:
        key = decode_cursor(after)
        if len(key) != 1 or not isinstance(key[0], int):
            raise InvalidInput("not a cursor this API issued", field="after")
        query = query.where(n.seq < key[0])
    total = Counted(Notification.__table__, conditions) if count else None  # type: ignore[attr-defined]
    query = query.order_by(n.seq.desc()).limit(size + 1)
    rows, found = await read_page(session_factory, query, total=total, after=after)
    cards = [_card(row) for row in rows]
    return Page.from_rows(
        cards, size, lambda card: encode_cursor([card.seq]), after=after, total=found
    )


async def unread_count(session_factory: SessionFactory, viewer: Viewer) -> int:
    async with session_factory() as session:
        found = await session.scalar(
            select(func.count()).where(
                n.user_id == viewer.user_id, n.in_app.is_(True), n.read_at.is_(None)
            )
        )
    return int(found or 0)


async def mark_read(
    work: UnitOfWork, viewer: Viewer, *, notification_id: uuid.UUID | None
) -> list[NotificationCard]:
    """One notification (yours) or, with None, all of them; the ones that changed."""
    query = update(Notification).where(
        n.user_id == viewer.user_id, n.read_at.is_(None), n.in_app.is_(True)
    )
    if notification_id is not None:
        owned = await work.session.scalar(
            select(n.id).where(n.id == notification_id, n.user_id == viewer.user_id)
        )
        if owned is None:
            raise NotFound("no such notification", field="id")
        query = query.where(n.id == notification_id)
    rows = (await work.session.execute(query.values(read_at=utcnow()).returning(*_COLUMNS))).all()
    if rows:
        work.publish(user_topic(viewer.user_id), unread_event())
    return [_card(row) for row in rows]


async def notification_by_id(
    session_factory: SessionFactory, viewer: Viewer, notification_id: uuid.UUID
) -> NotificationCard:
    async with session_factory() as session:
        row = (
            await session.execute(
                select(*_COLUMNS).where(n.id == notification_id, n.user_id == viewer.user_id)
            )
        ).one_or_none()
    if row is None:
        raise NotFound("no such notification", field="id")
    return _card(row)


async def position_of(
    session_factory: SessionFactory, viewer: Viewer, notification_id: uuid.UUID
) -> int:
    return (await notification_by_id(session_factory, viewer, notification_id)).seq


async def head(session_factory: SessionFactory, user_id: uuid.UUID) -> int:
    async with session_factory() as session:
        seq = await session.scalar(
            select(col(NotificationSettings.last_seq)).where(
                col(NotificationSettings.user_id) == user_id
            )
        )
    return int(seq or 0)


async def replay(
    session_factory: SessionFactory, user_id: uuid.UUID, after_seq: int
) -> AsyncIterator[dict[str, Any]]:
    """In-app notifications after `after_seq`, oldest first, as live events."""
    while True:
        async with session_factory() as session:
            rows = (
                await session.execute(
                    select(*_COLUMNS)
                    .where(n.user_id == user_id, n.in_app.is_(True), n.seq > after_seq)
                    .order_by(n.seq)
                    .limit(REPLAY_BATCH)
                )
            ).all()
        for row in rows:
            card = _card(row)
            after_seq = card.seq
            yield notification_event(card)
        if len(rows) < REPLAY_BATCH:
            return
