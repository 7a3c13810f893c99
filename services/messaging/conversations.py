"""Conversations: one per bounty between its poster and each applicant (or the hunter), and one
direct conversation per pair of people who share a bounty. Participants only: to everyone else
a conversation does not exist (NOT_FOUND)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import (
    Application,
    ApplicationStatus,
    Bounty,
    Conversation,
    ConversationKind,
    ConversationParticipant,
    User,
    UserStatus,
)
from app.db.models.base import utcnow
from services.errors import InvalidInput, NotAllowed, NotFound
from services.messaging.cards import ConversationCard, MessageCard
from services.messaging.errors import AccountSuspended
from services.messaging.events import conversation_topic, left_event
from services.pagination import Page, decode_cursor, encode_cursor, page_size
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

NO_SUCH_CONVERSATION = "no such conversation"


async def require_active(session: AsyncSession, viewer: Viewer) -> None:
    """Tokens outlive a suspension by up to their lifetime: the account row decides."""
    status = await session.scalar(select(col(User.status)).where(col(User.id) == viewer.user_id))
    if status is not UserStatus.ACTIVE:
        raise AccountSuspended("suspended accounts cannot send messages")


async def _bounty_parties(
    session: AsyncSession, bounty_id: uuid.UUID
) -> tuple[uuid.UUID, set[uuid.UUID]]:
    """The poster, and everyone on the other side: applicants (not withdrawn) and the hunter."""
    row = (
        await session.execute(
            select(col(Bounty.poster_id), col(Bounty.hunter_id)).where(col(Bounty.id) == bounty_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no such bounty", field="input.bountyId")
    poster_id, hunter_id = row
    others = set(
        await session.scalars(
            select(col(Application.hunter_id)).where(
                col(Application.bounty_id) == bounty_id,
                col(Application.status) != ApplicationStatus.WITHDRAWN,
            )
        )
    )
    if hunter_id is not None:
        others.add(hunter_id)
    return poster_id, others


async def start(
    work: UnitOfWork,
    viewer: Viewer,
    *,
    bounty_id: uuid.UUID,
    with_user_id: uuid.UUID | None,
    direct: bool,
) -> uuid.UUID:
    """Find or create the conversation; a participant who had left joins again."""
    session = work.session
    await require_active(session, viewer)
    poster_id, others = await _bounty_parties(session, bounty_id)
    me = viewer.user_id
    if me == poster_id:
        if with_user_id is None:
            raise InvalidInput("say whom to talk to", field="input.withUserId")
        if with_user_id not in others:
            raise NotAllowed(
                "only applicants and the hunter of your bounty", field="input.withUserId"
            )
        other = with_user_id
    elif me in others:
        if with_user_id is not None and with_user_id != poster_id:
            raise NotAllowed("only with the poster of this bounty", field="input.withUserId")
        other = poster_id
    else:
        raise NotAllowed(
            "only the poster and applicants of a bounty talk about it", field="input.bountyId"
        )
    low, high = sorted((str(me), str(other)))
    kind = ConversationKind.DIRECT if direct else ConversationKind.BOUNTY
    key = f"d:{low}:{high}" if direct else f"b:{bounty_id}:{low}:{high}"
    conversation_id = await session.scalar(
        insert(Conversation)
        .values(id=uuid.uuid4(), kind=kind, key=key, bounty_id=bounty_id)
        .on_conflict_do_nothing(index_elements=[col(Conversation.key)])
        .returning(col(Conversation.id))
    )
    if conversation_id is None:
        conversation_id = await session.scalar(
            select(col(Conversation.id)).where(col(Conversation.key) == key)
        )
    assert conversation_id is not None
    for user_id in (me, other):
        statement = insert(ConversationParticipant).values(
            conversation_id=conversation_id, user_id=user_id
        )
        if user_id == me:  # coming back after leaving
            statement = statement.on_conflict_do_update(
                index_elements=["conversation_id", "user_id"], set_={"left_at": None}
            )
        else:
            statement = statement.on_conflict_do_nothing()
        await session.execute(statement)
    return uuid.UUID(str(conversation_id))


async def participants(
    session: AsyncSession, viewer: Viewer, conversation_id: uuid.UUID, *, lock: bool = False
) -> list[uuid.UUID]:
    """The conversation's current participants; NOT_FOUND unless the viewer is one of them.

    `lock` takes the conversation row's lock first: sends are numbered under it.
    """
    if lock:
        locked = await session.scalar(
            select(col(Conversation.id))
            .where(col(Conversation.id) == conversation_id)
            .with_for_update()
        )
        if locked is None:
            raise NotFound(NO_SUCH_CONVERSATION, field="conversationId")
    rows = await session.scalars(
        select(col(ConversationParticipant.user_id)).where(
            col(ConversationParticipant.conversation_id) == conversation_id,
            col(ConversationParticipant.left_at).is_(None),
        )
    )
    people = list(rows)
    if viewer.user_id not in people:
        raise NotFound(NO_SUCH_CONVERSATION, field="conversationId")
    return people


async def leave(work: UnitOfWork, viewer: Viewer, *, conversation_id: uuid.UUID) -> None:
    """No more reading, sending or live events; `startConversation` joins again."""
    await participants(work.session, viewer, conversation_id)
    await work.session.execute(
        update(ConversationParticipant)
        .where(
            col(ConversationParticipant.conversation_id) == conversation_id,
            col(ConversationParticipant.user_id) == viewer.user_id,
        )
        .values(left_at=utcnow())
    )
    work.publish(conversation_topic(conversation_id), left_event(conversation_id, viewer.user_id))


_LIST = text(
    """
SELECT c.id, c.kind, c.bounty_id, c.last_message_at, c.created_at,
       (SELECT array_agg(q.user_id ORDER BY q.joined_at, q.user_id)
          FROM conversation_participants q
         WHERE q.conversation_id = c.id AND q.left_at IS NULL) AS people,
       (SELECT count(*) FROM messages u
         WHERE u.conversation_id = c.id AND u.seq > p.last_read_seq
           AND u.sender_id <> :viewer) AS unread,
       CASE WHEN CAST(:count AS boolean) THEN (
            SELECT count(*) FROM conversation_participants t
             WHERE t.user_id = :viewer AND t.left_at IS NULL
               AND (CAST(:only AS uuid) IS NULL OR t.conversation_id = CAST(:only AS uuid))
       ) END AS total,
       m.id, m.seq, m.sender_id, m.body, m.attachments, m.client_message_id, m.created_at
  FROM conversation_participants p
  JOIN conversations c ON c.id = p.conversation_id
  LEFT JOIN LATERAL (
       SELECT * FROM messages x WHERE x.conversation_id = c.id ORDER BY x.seq DESC LIMIT 1
  ) m ON true
 WHERE p.user_id = :viewer AND p.left_at IS NULL
   AND (CAST(:only AS uuid) IS NULL OR c.id = CAST(:only AS uuid))
   AND (CAST(:after_at AS timestamptz) IS NULL
        OR (coalesce(c.last_message_at, c.created_at), c.id)
           < (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid)))
 ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC
 LIMIT :limit
"""
)


async def list_conversations(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    first: int | None,
    after: str | None,
    only: uuid.UUID | None = None,
    count: bool = False,
) -> Page[ConversationCard]:
    """Yours, most recently active first, each with its last message and unread count (with
    `count`, how many you are in): one statement whatever the page size."""
    size = page_size(first)
    after_at: datetime | None = None
    after_id: uuid.UUID | None = None
    if after is not None:
        key = decode_cursor(after)
        try:
            after_at, after_id = datetime.fromisoformat(key[0]), uuid.UUID(key[1])
        except (IndexError, TypeError, ValueError) as error:
            raise InvalidInput("not a cursor this API issued", field="after") from error
    arguments = {
        "viewer": viewer.user_id,
        "only": only,
        "after_at": after_at,
        "after_id": after_id,
        "limit": size + 1,
        "count": count,
    }
    async with session_factory() as session:
        rows = (await session.execute(_LIST, arguments)).all()
        total: int | None = None
        if count:
            if rows:
                total = int(rows[0][7])
            elif after is None:
                total = 0
            else:  # past the last page: the one case of a second statement
                total = int(await session.scalar(_COUNT, arguments) or 0)
    cards = [_card(row) for row in rows]
    return Page.from_rows(
        cards,
        size,
        lambda card: encode_cursor([card.activity.isoformat(), str(card.id)]),
        after=after,
        total=total,
    )


_COUNT = text(
    """
SELECT count(*) FROM conversation_participants t
 WHERE t.user_id = :viewer AND t.left_at IS NULL
   AND (CAST(:only AS uuid) IS NULL OR t.conversation_id = CAST(:only AS uuid))
"""
)


def _card(row: Any) -> ConversationCard:
    id_, kind, bounty_id, last_at, created_at, people, unread = row[:7]
    message = row[8:]  # after the total
    last = None
    if message[0] is not None:
        last = MessageCard(message[0], id_, *message[1:])
    return ConversationCard(
        id=id_,
        kind=ConversationKind(kind),
        bounty_id=bounty_id,
        participant_ids=list(people or ()),
        last_message=last,
        unread_count=int(unread),
        last_message_at=last_at,
        created_at=created_at,
    )
