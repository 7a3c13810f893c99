"""Conversations, messages, read receipts, typing indicators and unread counts.

Ids are global ids (`Conversation:<uuid>`, `Message:<uuid>`). Bodies are plain text, never HTML.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from app.db.models import ConversationKind
from schema.bounties import Bounty, load_bounty
from schema.context import Info
from schema.users import User
from services.messaging import reads
from services.messaging.cards import ConversationCard, MessageCard

strawberry.enum(
    ConversationKind,
    description="BOUNTY: the poster and one applicant (or the hunter) about one bounty; "
    "DIRECT: two people who share a bounty, about anything.",
)


def conversation_gid(conversation_id: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(relay.to_base64("Conversation", str(conversation_id)))


def message_gid(message_id: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(relay.to_base64("Message", str(message_id)))


async def _user(info: Info, user_id: uuid.UUID) -> User | None:
    row = await info.context.loaders.user_by_id.load(user_id)
    return User.from_row(row) if row is not None else None


@strawberry.type(description="One message: plain text and up to 5 https links.")
class Message:
    id: strawberry.ID
    conversation_id: strawberry.ID
    body: str = strawberry.field(description="Plain text, never rendered as HTML.")
    attachments: list[str]
    client_message_id: str = strawberry.field(
        description="The sender's own id for the send: a retried send returns this message."
    )
    sent_at: datetime
    sender_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def sender(self, info: Info) -> User | None:
        return await _user(info, self.sender_id)

    @classmethod
    def from_card(cls, card: MessageCard) -> Self:
        return cls(
            id=message_gid(card.id),
            conversation_id=conversation_gid(card.conversation_id),
            body=card.body,
            attachments=list(card.attachments),
            client_message_id=card.client_message_id,
            sent_at=card.created_at,
            sender_id=card.sender_id,
        )


@strawberry.type(description="A conversation you take part in.")
class Conversation:
    id: strawberry.ID
    kind: ConversationKind
    created_at: datetime
    last_message_at: datetime | None
    last_message: Message | None
    unread_count: int = strawberry.field(description="Messages from others you have not read.")
    participant_ids: strawberry.Private[list[uuid.UUID]]
    bounty_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Everyone still in the conversation, you included.")
    async def participants(self, info: Info) -> list[User]:
        rows = await info.context.loaders.user_by_id.load_many(self.participant_ids)
        return [User.from_row(row) for row in rows if row is not None]

    @strawberry.field(description="The bounty it is about (DIRECT: the one that connected you).")
    async def bounty(self, info: Info) -> Bounty | None:
        return await load_bounty(info, self.bounty_id)

    @classmethod
    def from_card(cls, card: ConversationCard) -> Self:
        return cls(
            id=conversation_gid(card.id),
            kind=card.kind,
            created_at=card.created_at,
            last_message_at=card.last_message_at,
            last_message=Message.from_card(card.last_message) if card.last_message else None,
            unread_count=card.unread_count,
            participant_ids=card.participant_ids,
            bounty_id=card.bounty_id,
        )


@strawberry.type(description="Someone read a conversation up to a message.")
class ReadReceipt:
    conversation_id: strawberry.ID
    message_id: strawberry.ID = strawberry.field(description="Read up to (and including) this.")
    read_at: datetime
    user_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await _user(info, self.user_id)


@strawberry.type(description="Someone is typing; show it for a few seconds.")
class TypingIndicator:
    conversation_id: strawberry.ID
    at: datetime
    user_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def user(self, info: Info) -> User | None:
        return await _user(info, self.user_id)


@strawberry.type(description="What you have not read yet: messages and notifications.")
class UnreadCounts:
    user_id: strawberry.Private[uuid.UUID]
    loaded: strawberry.Private[asyncio.Future[tuple[int, int]] | None] = None

    async def _counts(self, info: Info) -> tuple[int, int]:
        if self.loaded is None:  # both fields, one statement
            self.loaded = asyncio.ensure_future(
                reads.unread_counts(info.context.session_factory, self.user_id)
            )
        return await self.loaded

    @strawberry.field(description="Messages from others in your conversations, not yet read.")
    async def messages(self, info: Info) -> int:
        return (await self._counts(info))[0]

    @strawberry.field(description="Notifications not yet read.")
    async def notifications(self, info: Info) -> int:
        return (await self._counts(info))[1]
