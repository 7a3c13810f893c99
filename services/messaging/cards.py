"""Read projections of messaging: plain slotted rows, built from one statement each."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db.models import ConversationKind
from services.messaging.events import message_fields


@dataclass(slots=True, frozen=True)
class MessageCard:
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    body: str
    attachments: list[str]
    client_message_id: str
    created_at: datetime

    def fields(self) -> dict[str, Any]:
        """The message as broker events carry it."""
        return message_fields(
            id=self.id,
            conversation_id=self.conversation_id,
            seq=self.seq,
            sender_id=self.sender_id,
            body=self.body,
            attachments=self.attachments,
            client_message_id=self.client_message_id,
            created_at=self.created_at,
        )

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> MessageCard:
        return cls(
            id=uuid.UUID(fields["id"]),
            conversation_id=uuid.UUID(fields["conversationId"]),
            seq=int(fields["seq"]),
            sender_id=uuid.UUID(fields["senderId"]),
            body=fields["body"],
            attachments=list(fields["attachments"]),
            client_message_id=fields["clientMessageId"],
            created_at=datetime.fromisoformat(fields["createdAt"]),
        )


@dataclass(slots=True, frozen=True)
class ConversationCard:
    id: uuid.UUID
    kind: ConversationKind
    bounty_id: uuid.UUID
    participant_ids: list[uuid.UUID]
    last_message: MessageCard | None
    unread_count: int
    last_message_at: datetime | None
    created_at: datetime

    @property
    def activity(self) -> datetime:
        return self.last_message_at or self.created_at
