"""Conversations between people who share a bounty, their participants and messages."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, utcnow


class ConversationKind(StrEnum):
    BOUNTY = "BOUNTY"  # the poster and one applicant (or the hunter), about one bounty
    DIRECT = "DIRECT"  # two people who share a bounty, about anything


class Conversation(SQLModel, table=True):
    __tablename__ = "conversations"

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    kind: ConversationKind = Field(
        sa_column=enum_column(ConversationKind, "conversation_kind", ConversationKind.BOUNTY)
    )
    # One conversation per (bounty, pair) or per pair: `b:<bounty>:<a>:<b>` / `d:<a>:<b>`.
    key: str = Field(sa_column=sa.Column(sa.String(120), nullable=False, unique=True))
    bounty_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("bounties.id"), nullable=False, index=True)
    )
    # Messages are numbered per conversation under this row's lock: commit order is seq order,
    # so a reconnecting client that asks for "after n" never misses a late commit.
    last_seq: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    last_message_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class ConversationParticipant(SQLModel, table=True):
    __tablename__ = "conversation_participants"
    __table_args__ = (sa.Index("ix_conversation_participants_user", "user_id", "conversation_id"),)

    conversation_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
        )
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), primary_key=True)
    )
    # Read receipts: the highest message seq this participant has read.
    last_read_seq: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    last_read_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    # Set when the participant left: no more reading, sending or live events.
    left_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    joined_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        sa.UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        # A retried send (same sender, same client id) finds the first message.
        sa.UniqueConstraint("sender_id", "client_message_id", name="uq_messages_sender_client_id"),
        sa.CheckConstraint("char_length(body) BETWEEN 1 AND 4000", name="body_length"),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    conversation_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
        )
    )
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    sender_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), nullable=False)
    )
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    attachments: list[str] = Field(
        default_factory=list,
        sa_column=sa.Column(
            sa.ARRAY(sa.String(500)), nullable=False, server_default=sa.text("'{}'")
        ),
    )
    client_message_id: str = Field(sa_column=sa.Column(sa.String(100), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    # Set when a moderator removes it: hidden from everyone but staff and its author.
    removed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
