"""In-app notifications, per-user preferences and quiet hours, Expo push tokens and tickets."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, updated_at_column, utcnow


class NotificationType(StrEnum):
    APPLICATION_RECEIVED = "APPLICATION_RECEIVED"
    APPLICATION_ACCEPTED = "APPLICATION_ACCEPTED"
    APPLICATION_REJECTED = "APPLICATION_REJECTED"
    WORK_SUBMITTED = "WORK_SUBMITTED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    BOUNTY_COMPLETED = "BOUNTY_COMPLETED"
    BOUNTY_CANCELLED = "BOUNTY_CANCELLED"
    BOUNTY_EXPIRED = "BOUNTY_EXPIRED"
    PAYMENT_RELEASED = "PAYMENT_RELEASED"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    PAYOUT_PAID = "PAYOUT_PAID"
    PAYOUT_FAILED = "PAYOUT_FAILED"
    PAYMENT_FAILED = "PAYMENT_FAILED"
    DISPUTE_OPENED = "DISPUTE_OPENED"
    DISPUTE_RESOLVED = "DISPUTE_RESOLVED"
    NEW_MESSAGE = "NEW_MESSAGE"
    REPORT_RESOLVED = "REPORT_RESOLVED"
    CONTENT_REMOVED = "CONTENT_REMOVED"
    ACCOUNT_WARNING = "ACCOUNT_WARNING"


class Channel(StrEnum):
    IN_APP = "IN_APP"
    PUSH = "PUSH"
    EMAIL = "EMAIL"


class Platform(StrEnum):
    IOS = "IOS"
    ANDROID = "ANDROID"
    WEB = "WEB"


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        # A user's notifications are numbered under their settings row's lock (see there).
        sa.UniqueConstraint("user_id", "seq", name="uq_notifications_user_seq"),
        sa.Index("ix_notifications_user_created", "user_id", sa.text("created_at DESC"), "id"),
        sa.Index(
            "ix_notifications_user_unread",
            "user_id",
            postgresql_where=sa.text("read_at IS NULL"),
        ),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), nullable=False)
    )
    seq: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    type: NotificationType = Field(
        sa_column=enum_column(
            NotificationType, "notification_type", NotificationType.NEW_MESSAGE, length=32
        )
    )
    title: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    body: str = Field(sa_column=sa.Column(sa.String(1000), nullable=False))
    # Deep-link data for the app: {"bountyId": ..., "conversationId": ...}.
    data: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(postgresql.JSONB, nullable=False, server_default=sa.text("'{}'")),
    )
    read_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    # False when the user turned the in-app channel off for this type: kept as the record that
    # push and email refer to, never listed or counted.
    in_app: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    # The domain event it came from: a retried job creates it once.
    dedupe_key: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class NotificationPreference(SQLModel, table=True):
    """One type x channel switch; a missing row means the default (`services.notifications`)."""

    __tablename__ = "notification_preferences"

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        )
    )
    type: NotificationType = Field(
        sa_column=sa.Column(sa.String(32), primary_key=True),
    )
    channel: Channel = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    enabled: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))


class NotificationSettings(SQLModel, table=True):
    """Quiet hours, in the user's own time zone (an IANA name), and the notification counter.

    `last_seq` numbers the user's notifications under this row's lock: commit order is number
    order, so `notificationAdded(after:)` replays exactly what a reconnecting client missed.
    """

    __tablename__ = "notification_settings"

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        )
    )
    time_zone: str = Field(
        default="UTC", sa_column=sa.Column(sa.String(64), nullable=False, server_default="UTC")
    )
    quiet_start: time | None = Field(default=None, sa_column=sa.Column(sa.Time))
    quiet_end: time | None = Field(default=None, sa_column=sa.Column(sa.Time))
    last_seq: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_column=updated_at_column())


class PushToken(SQLModel, table=True):
    """One row per device: registering again from a device moves its row (new token or user)."""

    __tablename__ = "push_tokens"
    __table_args__ = (sa.Index("ix_push_tokens_user_active", "user_id", "active"),)

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    device_id: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    token: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    platform: Platform = Field(sa_column=enum_column(Platform, "push_platform", Platform.IOS))
    active: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    # Why it stopped: unregistered, or Expo's DeviceNotRegistered.
    deactivated_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=updated_at_column())


class PushStatus(StrEnum):
    PENDING = "PENDING"  # waiting for the push job
    SENDING = "SENDING"  # claimed by a push job (back to PENDING if the request fails)
    SENT = "SENT"  # Expo answered with an ok ticket: a receipt comes later
    DELIVERED = "DELIVERED"  # the receipt said ok
    FAILED = "FAILED"  # an error ticket or receipt (see `error`)


class PushDelivery(SQLModel, table=True):
    """One push of one notification to one device: the outbox row, then its Expo ticket."""

    __tablename__ = "push_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("notification_id", "token_id", name="uq_push_deliveries_once"),
        sa.Index("ix_push_deliveries_status", "status", "id"),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    notification_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False
        )
    )
    token_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("push_tokens.id", ondelete="CASCADE"), nullable=False
        )
    )
    status: PushStatus = Field(
        default=PushStatus.PENDING,
        sa_column=enum_column(PushStatus, "push_status", PushStatus.PENDING),
    )
    ticket_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.String(100)))
    sent_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
