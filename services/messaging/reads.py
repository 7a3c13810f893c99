"""Read receipts, unread counts and typing indicators."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import ConversationParticipant, Message
from app.db.models.base import utcnow
from services.errors import NotFound
from services.messaging.conversations import participants
from services.messaging.events import (
    conversation_topic,
    read_event,
    typing_event,
    unread_event,
    user_topic,
)
from services.unit_of_work import Publisher, UnitOfWork
from services.viewer import Viewer


@dataclass(frozen=True, slots=True)
class ReadPosition:
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    message_id: uuid.UUID
    seq: int
    at: datetime


async def mark_read(
    work: UnitOfWork, viewer: Viewer, *, conversation_id: uuid.UUID, up_to_message_id: uuid.UUID
) -> ReadPosition:
    """Everything up to that message is read; the position never moves back."""
    session = work.session
    people = await participants(session, viewer, conversation_id)
    seq = await session.scalar(
        select(col(Message.seq)).where(
            col(Message.id) == up_to_message_id, col(Message.conversation_id) == conversation_id
        )
    )
    if seq is None:
        raise NotFound("no such message in this conversation", field="input.upToMessageId")
    now = utcnow()
    moved = await session.scalar(
        update(ConversationParticipant)
        .where(
            col(ConversationParticipant.conversation_id) == conversation_id,
            col(ConversationParticipant.user_id) == viewer.user_id,
            col(ConversationParticipant.last_read_seq) < seq,
        )
        .values(last_read_seq=seq, last_read_at=now)
        .returning(col(ConversationParticipant.last_read_seq))
    )
    if moved is not None:
        work.publish(
            conversation_topic(conversation_id),
            read_event(conversation_id, viewer.user_id, seq, up_to_message_id, people),
        )
        work.publish(user_topic(viewer.user_id), unread_event())
    return ReadPosition(conversation_id, viewer.user_id, up_to_message_id, seq, now)


_UNREAD = text(
    """
SELECT
  (SELECT count(*) FROM conversation_participants p
     JOIN messages m ON m.conversation_id = p.conversation_id
    WHERE p.user_id = :user AND p.left_at IS NULL
      AND m.seq > p.last_read_seq AND m.sender_id <> :user) AS messages,
  (SELECT count(*) FROM notifications n WHERE n.user_id = :user AND n.read_at IS NULL)
    AS notifications
"""
)


async def unread_counts(session_factory: SessionFactory, user_id: uuid.UUID) -> tuple[int, int]:
    """(unread messages across your conversations, unread notifications): one statement."""
    async with session_factory() as session:
        row = (await session.execute(_UNREAD, {"user": user_id})).one()
    return int(row[0]), int(row[1])


class TypingGate:
    """At most one typing indicator per user and conversation per `interval` (this process)."""

    def __init__(self, interval: float, size: int = 10_000) -> None:
        self.interval = interval
        self.size = size
        self._last: OrderedDict[tuple[uuid.UUID, uuid.UUID], float] = OrderedDict()

    def admit(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> bool:
        now = time.monotonic()
        key = (user_id, conversation_id)
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        if len(self._last) > self.size:
            self._last.popitem(last=False)
        return True


async def set_typing(
    session_factory: SessionFactory,
    publisher: Publisher,
    gate: TypingGate,
    viewer: Viewer,
    *,
    conversation_id: uuid.UUID,
) -> bool:
    """Tell the others you are typing: through the broker only, never stored. False when
    throttled (nothing published)."""
    async with session_factory() as session:
        people = await participants(session, viewer, conversation_id)
    if not gate.admit(viewer.user_id, conversation_id):
        return False
    await publisher.publish(
        conversation_topic(conversation_id), typing_event(conversation_id, viewer.user_id, people)
    )
    return True


async def count_messages(session_factory: SessionFactory, conversation_id: uuid.UUID) -> int:
    async with session_factory() as session:
        found = await session.scalar(
            select(func.count()).where(col(Message.conversation_id) == conversation_id)
        )
    return int(found or 0)
