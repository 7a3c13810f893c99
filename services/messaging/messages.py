"""Messages: sending (numbered per conversation, deduplicated per sender), history, replay."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import Conversation, Message
from app.db.models.base import utcnow
from app.monitoring import metrics
from services.errors import InvalidInput, NotFound
from services.messaging.cards import MessageCard
from services.messaging.conversations import participants, require_active
from services.messaging.events import (
    conversation_topic,
    message_event,
    unread_event,
    user_topic,
)
from services.pagination import Page, decode_cursor, encode_cursor, page_size
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

MAX_ATTACHMENTS = 5
MAX_CLIENT_ID = 100
REPLAY_BATCH = 100
NOTIFY_JOB = "notifications.message"
_COLUMNS = (
    col(Message.id),
    col(Message.conversation_id),
    col(Message.seq),
    col(Message.sender_id),
    col(Message.body),
    col(Message.attachments),
    col(Message.client_message_id),
    col(Message.created_at),
)


def _check(body: str, attachments: list[str], client_message_id: str, max_chars: int) -> None:
    if not body.strip():
        raise InvalidInput("a message needs some text", field="input.body")
    if len(body) > max_chars:
        raise InvalidInput(f"at most {max_chars} characters", field="input.body")
    if len(attachments) > MAX_ATTACHMENTS:
        raise InvalidInput(f"at most {MAX_ATTACHMENTS} attachments", field="input.attachments")
    for link in attachments:
        if not link.startswith("https://") or len(link) > 500:
            raise InvalidInput("attachments are https:// links", field="input.attachments")
    if not client_message_id.strip() or len(client_message_id) > MAX_CLIENT_ID:
        raise InvalidInput(
            f"clientMessageId: 1 to {MAX_CLIENT_ID} characters", field="input.clientMessageId"
        )


async def send(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    conversation_id: uuid.UUID,
    body: str,
    attachments: list[str],
    client_message_id: str,
    max_chars: int,
) -> MessageCard:
    """Store and announce a message. Plain text, never rendered as HTML. A retried send (same
    sender, same `client_message_id`) returns the first message and stores nothing."""
    _check(body, attachments, client_message_id, max_chars)
    session = work.session
    await require_active(session, viewer)
    # The conversation's lock: sends are numbered in commit order, retries are seen.
    people = await participants(session, viewer, conversation_id, lock=True)
    first = (
        await session.execute(
            select(*_COLUMNS).where(
                col(Message.sender_id) == viewer.user_id,
                col(Message.client_message_id) == client_message_id,
            )
        )
    ).one_or_none()
    if first is not None:
        card = MessageCard(*first)
        if card.conversation_id != conversation_id:
            raise InvalidInput(
                "this clientMessageId was used in another conversation",
                field="input.clientMessageId",
            )
        return card
    now = utcnow()
    seq = await session.scalar(
        update(Conversation)
        .where(col(Conversation.id) == conversation_id)
        .values(last_seq=col(Conversation.last_seq) + 1, last_message_at=now)
        .returning(col(Conversation.last_seq))
    )
    assert seq is not None
    row = (
        await session.execute(
            insert(Message)
            .values(
                id=uuid.uuid4(),
                conversation_id=conversation_id,
                seq=seq,
                sender_id=viewer.user_id,
                body=body,
                attachments=attachments,
                client_message_id=client_message_id,
                created_at=now,
            )
            .returning(*_COLUMNS)
        )
    ).one()
    card = MessageCard(*row)  # type: ignore[call-arg]
    work.publish(conversation_topic(conversation_id), message_event(card.fields(), people))
    for person in people:
        if person != viewer.user_id:
            work.publish(user_topic(person), unread_event())
    await work.enqueue(NOTIFY_JOB, {"messageId": str(card.id)})
    work.after_commit(metrics.MESSAGES_SENT.inc)
    return card


async def history(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    conversation_id: uuid.UUID,
    before: str | None,
    first: int | None,
) -> Page[MessageCard]:
    """Newest first; pass `pageInfo.endCursor` as `before` for the older ones."""
    size = page_size(first)
    below: int | None = None
    if before is not None:
        key = decode_cursor(before, field="before")
        if len(key) != 1 or not isinstance(key[0], int):
            raise InvalidInput("not a cursor this API issued", field="before")
        below = key[0]
    async with session_factory() as session:
        await participants(session, viewer, conversation_id)
        query = select(*_COLUMNS).where(
            col(Message.conversation_id) == conversation_id,
            # Removed by a moderator: hidden from everyone in the conversation but its sender.
            or_(col(Message.removed_at).is_(None), col(Message.sender_id) == viewer.user_id),
        )
        if below is not None:
            query = query.where(col(Message.seq) < below)
        rows = (
            await session.execute(query.order_by(col(Message.seq).desc()).limit(size + 1))
        ).all()
    cards = [MessageCard(*row) for row in rows]
    return Page.from_rows(
        cards, size, lambda card: encode_cursor([card.seq]), after=before, total=None
    )


async def position_of(
    session_factory: SessionFactory, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> int:
    """A message's number in its conversation (a client's resume cursor)."""
    async with session_factory() as session:
        seq = await session.scalar(
            select(col(Message.seq)).where(
                col(Message.id) == message_id, col(Message.conversation_id) == conversation_id
            )
        )
    if seq is None:
        raise NotFound("no such message in this conversation", field="after")
    return int(seq)


async def head(session_factory: SessionFactory, conversation_id: uuid.UUID) -> int:
    async with session_factory() as session:
        seq = await session.scalar(
            select(col(Conversation.last_seq)).where(col(Conversation.id) == conversation_id)
        )
    return int(seq or 0)


async def replay(
    session_factory: SessionFactory, conversation_id: uuid.UUID, after_seq: int
) -> AsyncIterator[dict[str, Any]]:
    """Every message after `after_seq`, oldest first, as the events live subscribers got."""
    while True:
        async with session_factory() as session:  # short reads: no session held while sending
            rows = (
                await session.execute(
                    select(*_COLUMNS)
                    .where(
                        col(Message.conversation_id) == conversation_id,
                        col(Message.seq) > after_seq,
                        col(Message.removed_at).is_(None),
                    )
                    .order_by(col(Message.seq))
                    .limit(REPLAY_BATCH)
                )
            ).all()
        for row in rows:
            card = MessageCard(*row)
            after_seq = card.seq
            yield message_event(card.fields(), None)
        if len(rows) < REPLAY_BATCH:
            return


async def messages_by_id(
    session_factory: SessionFactory, ids: list[uuid.UUID]
) -> list[MessageCard | None]:
    async with session_factory() as session:
        rows = (await session.execute(select(*_COLUMNS).where(col(Message.id).in_(ids)))).all()
    found = {row[0]: MessageCard(*row) for row in rows}
    return [found.get(message_id) for message_id in ids]
