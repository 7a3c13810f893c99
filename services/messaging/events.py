"""Broker topics and events of messaging: what `messageAdded`, `messageRead`, `typing` and
`unreadCounts` subscribers receive. Events carry the conversation's current participants, so
every event is authorized against them without a database read."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from app.db.models.base import utcnow

MESSAGE = "message"
READ = "read"
TYPING = "typing"
LEFT = "left"
UNREAD = "unread"


def conversation_topic(conversation_id: uuid.UUID | str) -> str:
    return f"conversation:{conversation_id}"


def user_topic(user_id: uuid.UUID | str) -> str:
    """A user's own stream: notifications and unread counts."""
    return f"user:{user_id}"


def message_fields(
    *,
    id: uuid.UUID,
    conversation_id: uuid.UUID,
    seq: int,
    sender_id: uuid.UUID,
    body: str,
    attachments: list[str],
    client_message_id: str,
    created_at: datetime,
) -> dict[str, Any]:
    return {
        "id": str(id),
        "conversationId": str(conversation_id),
        "seq": seq,
        "senderId": str(sender_id),
        "body": body,
        "attachments": list(attachments),
        "clientMessageId": client_message_id,
        "createdAt": created_at.isoformat(),
    }


def message_event(message: dict[str, Any], participants: list[uuid.UUID] | None) -> dict[str, Any]:
    event: dict[str, Any] = {"kind": MESSAGE, "message": message}
    if participants is not None:
        event["participants"] = [str(user) for user in participants]
    return event


def read_event(
    conversation_id: uuid.UUID,
    user_id: uuid.UUID,
    seq: int,
    message_id: uuid.UUID,
    participants: list[uuid.UUID],
) -> dict[str, Any]:
    return {
        "kind": READ,
        "conversationId": str(conversation_id),
        "userId": str(user_id),
        "seq": seq,
        "messageId": str(message_id),
        "at": utcnow().isoformat(),
        "participants": [str(user) for user in participants],
    }


def typing_event(
    conversation_id: uuid.UUID, user_id: uuid.UUID, participants: list[uuid.UUID]
) -> dict[str, Any]:
    return {
        "kind": TYPING,
        "conversationId": str(conversation_id),
        "userId": str(user_id),
        "at": utcnow().isoformat(),
        "participants": [str(user) for user in participants],
    }


def left_event(conversation_id: uuid.UUID, user_id: uuid.UUID) -> dict[str, Any]:
    return {"kind": LEFT, "conversationId": str(conversation_id), "userId": str(user_id)}


def unread_event() -> dict[str, Any]:
    return {"kind": UNREAD}


def may_see(event: dict[str, Any], user_id: uuid.UUID | None) -> bool:
    """Per-event authorization of conversation events: still a participant?"""
    if user_id is None:
        return False
    if event.get("kind") == LEFT and event.get("userId") == str(user_id):
        return False
    participants = event.get("participants")
    return participants is None or str(user_id) in participants
