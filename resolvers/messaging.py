"""Root fields of messaging: conversations, messages, read receipts, typing, unread counts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from app.broker import Event
from app.realtime.live import Live, subscription
from app.security.permissions import IsAuthenticated
from resolvers.lists import connection
from resolvers.mutations import mutate, node_uuid, require_viewer, user_uuid
from schema import messaging_results as results
from schema.context import Info
from schema.errors import BAD_USER_INPUT, ApiError, Result, UserError, user_error
from schema.messaging import (
    Conversation,
    Message,
    ReadReceipt,
    TypingIndicator,
    UnreadCounts,
    conversation_gid,
    message_gid,
)
from schema.pagination import Connection
from services.errors import DomainError, InvalidInput, NotFound
from services.messaging import conversations, events, messages, reads
from services.messaging.cards import MessageCard
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

_typing_gates: dict[float, reads.TypingGate] = {}


def _gate(interval: float) -> reads.TypingGate:
    gate = _typing_gates.get(interval)
    if gate is None:
        gate = _typing_gates[interval] = reads.TypingGate(interval)
    return gate


def _conversation_id(value: relay.GlobalID, field: str = "conversationId") -> uuid.UUID:
    return node_uuid(value, "Conversation", field=field)


async def _conversation(info: Info, viewer: Viewer, conversation_id: uuid.UUID) -> Conversation:
    page = await conversations.list_conversations(
        info.context.session_factory, viewer, first=1, after=None, only=conversation_id
    )
    [(card, _)] = page.items
    return Conversation.from_card(card)


async def _require_participant(info: Info, viewer: Viewer, conversation_id: uuid.UUID) -> None:
    """Subscribe-time authorization: to non-participants a conversation does not exist."""
    try:
        async with info.context.session_factory() as session:
            await conversations.participants(session, viewer, conversation_id)
    except NotFound as error:
        raise ApiError(error.message, BAD_USER_INPUT, field="conversationId") from error


def _allowed(event: Event, viewer: Viewer | None) -> bool:
    return events.may_see(event, viewer.user_id if viewer is not None else None)


_DENIED = "you are no longer a participant of this conversation"


@strawberry.type
class MessagingQueries:
    @strawberry.field(
        description="Your conversations, most recently active first.",
        permission_classes=[IsAuthenticated],
    )
    async def conversations(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Conversation]:
        return await connection(
            info, conversations.list_conversations, Conversation.from_card, first=first, after=after
        )

    @strawberry.field(
        description="A conversation's messages, newest first; pass `pageInfo.endCursor` as "
        "`before` for older ones.",
        permission_classes=[IsAuthenticated],
    )
    async def messages(
        self,
        info: Info,
        conversation_id: relay.GlobalID,
        before: str | None = None,
        first: int | None = 50,
    ) -> Connection[Message]:
        viewer = require_viewer(info)
        try:
            page = await messages.history(
                info.context.session_factory,
                viewer,
                conversation_id=_conversation_id(conversation_id),
                before=before,
                first=first,
            )
        except (InvalidInput, NotFound) as error:
            raise ApiError(error.message, BAD_USER_INPUT, field=error.field) from error
        return Connection.from_page(page, Message.from_card)

    @strawberry.field(
        description="Unread messages and notifications.", permission_classes=[IsAuthenticated]
    )
    async def unread_counts(self, info: Info) -> UnreadCounts:
        return UnreadCounts(user_id=require_viewer(info).user_id)


@strawberry.type
class MessagingMutations:
    @strawberry.mutation(
        description="Find or start the conversation with the poster, an applicant or the "
        "hunter of a bounty (a direct one with `direct: true`).",
        permission_classes=[IsAuthenticated],
        graphql_type=results.StartConversationResult,
    )
    async def start_conversation(
        self, info: Info, input: results.StartConversationInput
    ) -> Result[results.StartConversationSuccess]:
        viewer = require_viewer(info)
        bounty_id = node_uuid(input.bounty_id, "Bounty", field="input.bountyId")
        other = (
            user_uuid(input.with_user_id, field="input.withUserId") if input.with_user_id else None
        )

        async def run(work: UnitOfWork) -> uuid.UUID:
            return await conversations.start(
                work, viewer, bounty_id=bounty_id, with_user_id=other, direct=input.direct
            )

        conversation_id = await mutate(info, run)
        if isinstance(conversation_id, UserError):
            return conversation_id
        conversation = await _conversation(info, viewer, conversation_id)
        return results.StartConversationSuccess(conversation=conversation)

    @strawberry.mutation(
        description="Send a message. Retrying with the same `clientMessageId` stores it once "
        "and returns the first message.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.SendMessageResult,
    )
    async def send_message(
        self, info: Info, input: results.SendMessageInput
    ) -> Result[results.SendMessageSuccess]:
        viewer = require_viewer(info)
        conversation_id = _conversation_id(input.conversation_id, "input.conversationId")
        max_chars = info.context.settings.message_max_chars

        async def run(work: UnitOfWork) -> MessageCard:
            return await messages.send(
                work,
                viewer,
                conversation_id=conversation_id,
                body=input.body,
                attachments=list(input.attachments),
                client_message_id=input.client_message_id,
                max_chars=max_chars,
            )

        card = await mutate(info, run)
        if isinstance(card, UserError):
            return card
        return results.SendMessageSuccess(sent=Message.from_card(card))

    @strawberry.mutation(
        description="You have read up to this message (read receipts; never moves back).",
        permission_classes=[IsAuthenticated],
        graphql_type=results.MarkConversationReadResult,
    )
    async def mark_conversation_read(
        self, info: Info, input: results.MarkConversationReadInput
    ) -> Result[results.MarkConversationReadSuccess]:
        viewer = require_viewer(info)
        conversation_id = _conversation_id(input.conversation_id, "input.conversationId")
        message_id = node_uuid(input.up_to_message_id, "Message", field="input.upToMessageId")

        async def run(work: UnitOfWork) -> reads.ReadPosition:
            return await reads.mark_read(
                work, viewer, conversation_id=conversation_id, up_to_message_id=message_id
            )

        position = await mutate(info, run)
        if isinstance(position, UserError):
            return position
        return results.MarkConversationReadSuccess(receipt=_receipt_of(position))

    @strawberry.mutation(
        description="Tell the others you are typing (live only, never stored; throttled).",
        permission_classes=[IsAuthenticated],
        graphql_type=results.SetTypingResult,
    )
    async def set_typing(
        self, info: Info, conversation_id: relay.GlobalID
    ) -> Result[results.SetTypingSuccess]:
        viewer = require_viewer(info)
        context = info.context
        try:
            published = await reads.set_typing(
                context.session_factory,
                context.broker,
                _gate(context.settings.typing_throttle_seconds),
                viewer,
                conversation_id=_conversation_id(conversation_id),
            )
        except DomainError as error:
            return user_error(error)
        return results.SetTypingSuccess(published=published)

    @strawberry.mutation(
        description="Leave a conversation: no more messages or live events for you until you "
        "start it again.",
        permission_classes=[IsAuthenticated],
        graphql_type=results.LeaveConversationResult,
    )
    async def leave_conversation(
        self, info: Info, conversation_id: relay.GlobalID
    ) -> Result[results.LeaveConversationSuccess]:
        viewer = require_viewer(info)
        target = _conversation_id(conversation_id)

        async def run(work: UnitOfWork) -> uuid.UUID:
            await conversations.leave(work, viewer, conversation_id=target)
            return target

        left = await mutate(info, run)
        if isinstance(left, UserError):
            return left
        return results.LeaveConversationSuccess(conversation_id=conversation_gid(left))


def _receipt_of(position: reads.ReadPosition) -> ReadReceipt:
    return ReadReceipt(
        conversation_id=conversation_gid(position.conversation_id),
        message_id=message_gid(position.message_id),
        read_at=position.at,
        user_id=position.user_id,
    )


def _message_root(event: Event) -> Message | None:
    if event.get("kind") != events.MESSAGE:
        return None
    return Message.from_card(MessageCard.from_fields(event["message"]))


def _message_position(event: Event) -> int | None:
    return int(event["message"]["seq"]) if event.get("kind") == events.MESSAGE else None


def _read_root(event: Event) -> ReadReceipt | None:
    if event.get("kind") != events.READ:
        return None
    return ReadReceipt(
        conversation_id=conversation_gid(event["conversationId"]),
        message_id=message_gid(event["messageId"]),
        read_at=datetime.fromisoformat(event["at"]),
        user_id=uuid.UUID(event["userId"]),
    )


def _typing_root(event: Event) -> TypingIndicator | None:
    if event.get("kind") != events.TYPING:
        return None
    return TypingIndicator(
        conversation_id=conversation_gid(event["conversationId"]),
        at=datetime.fromisoformat(event["at"]),
        user_id=uuid.UUID(event["userId"]),
    )


@strawberry.type
class MessagingSubscriptions:
    @strawberry.subscription(
        description="New messages of a conversation. With `after` (the last message you have), "
        "first the ones you missed, in order, then live ones: no gap, no duplicate."
    )
    async def message_added(
        self, info: Info, conversation_id: relay.GlobalID, after: relay.GlobalID | None = None
    ) -> AsyncGenerator[Message, None]:
        viewer = require_viewer(info)
        target = _conversation_id(conversation_id)
        await _require_participant(info, viewer, target)
        sessions = info.context.session_factory
        start = None
        if after is not None:
            message_id = node_uuid(after, "Message", field="after")
            try:
                start = await messages.position_of(sessions, target, message_id)
            except NotFound as error:
                raise ApiError(error.message, BAD_USER_INPUT, field="after") from error
        live = Live(
            field="messageAdded",
            topic=events.conversation_topic(target),
            access="participant",
            to_root=_message_root,
            allowed=_allowed,
            denied=_DENIED,
            position=_message_position,
            replay=lambda seq: messages.replay(sessions, target, seq),
            head=lambda: messages.head(sessions, target),
            start=start,
            resume_argument="after",
        )
        return await subscription(info, live)

    @strawberry.subscription(description="Read receipts of a conversation's participants.")
    async def message_read(
        self, info: Info, conversation_id: relay.GlobalID
    ) -> AsyncGenerator[ReadReceipt, None]:
        return await _conversation_live(info, conversation_id, "messageRead", _read_root)

    @strawberry.subscription(description="Who is typing in a conversation (yourself included).")
    async def typing(
        self, info: Info, conversation_id: relay.GlobalID
    ) -> AsyncGenerator[TypingIndicator, None]:
        return await _conversation_live(info, conversation_id, "typing", _typing_root)

    @strawberry.subscription(
        description="Your unread messages and notifications, whenever either changes."
    )
    async def unread_counts(self, info: Info) -> AsyncGenerator[UnreadCounts, None]:
        viewer = require_viewer(info)
        user_id = viewer.user_id
        live = Live(
            field="unreadCounts",
            topic=events.user_topic(user_id),
            access=f"user:{user_id}",
            to_root=lambda event: (
                UnreadCounts(user_id=user_id)
                if event.get("kind") in (events.UNREAD, "notification")
                else None
            ),
        )
        return await subscription(info, live)


async def _conversation_live(
    info: Info, conversation_id: relay.GlobalID, field: str, to_root: Any
) -> AsyncGenerator[Any, None]:
    viewer = require_viewer(info)
    target = _conversation_id(conversation_id)
    await _require_participant(info, viewer, target)
    live = Live(
        field=field,
        topic=events.conversation_topic(target),
        access="participant",
        to_root=to_root,
        allowed=_allowed,
        denied=_DENIED,
    )
    return await subscription(info, live)
