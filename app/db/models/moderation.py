"""Moderation: reports of content by users, and what staff decided about each."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, utcnow


class ReportTarget(StrEnum):
    BOUNTY = "BOUNTY"
    MESSAGE = "MESSAGE"
    PROFILE = "PROFILE"
    REVIEW = "REVIEW"


class ReportReason(StrEnum):
    SPAM = "SPAM"
    SCAM = "SCAM"
    ABUSE = "ABUSE"
    INAPPROPRIATE = "INAPPROPRIATE"
    PROHIBITED = "PROHIBITED"
    OTHER = "OTHER"


class ReportStatus(StrEnum):
    OPEN = "OPEN"
    RESOLVED = "RESOLVED"  # acted on: content removed, author warned or suspended
    DISMISSED = "DISMISSED"


class ModerationAction(StrEnum):
    DISMISS = "DISMISS"
    REMOVE_CONTENT = "REMOVE_CONTENT"
    WARN_USER = "WARN_USER"
    SUSPEND_USER = "SUSPEND_USER"


class ContentReport(SQLModel, table=True):
    """One user's report of one piece of content; at most one OPEN per reporter and target."""

    __tablename__ = "content_reports"
    __table_args__ = (
        sa.Index(
            "uq_content_reports_open_per_reporter",
            "reporter_id",
            "target_type",
            "target_id",
            unique=True,
            postgresql_where=sa.text("status = 'OPEN'"),
        ),
        # The review queue: by status, oldest first.
        sa.Index("ix_content_reports_queue", "status", "created_at", "id"),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4, sa_column=sa.Column(sa.Uuid, primary_key=True)
    )
    # None: raised by the system (a bounty in a RESTRICTED category awaiting review).
    reporter_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE")),
    )
    target_type: ReportTarget = Field(
        sa_column=enum_column(ReportTarget, "report_target", ReportTarget.BOUNTY)
    )
    target_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    # Who wrote the content: the person a WARN_USER or SUSPEND_USER acts on.
    author_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    reason: ReportReason = Field(
        sa_column=enum_column(ReportReason, "report_reason", ReportReason.OTHER)
    )
    note: str | None = Field(default=None, sa_column=sa.Column(sa.String(1000)))
    status: ReportStatus = Field(
        default=ReportStatus.OPEN,
        sa_column=enum_column(ReportStatus, "report_status", ReportStatus.OPEN),
    )
    action: ModerationAction | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Enum(
                ModerationAction,
                native_enum=False,
                create_constraint=True,
                length=16,
                name="moderation_action",
            )
        ),
    )
    resolution_note: str | None = Field(default=None, sa_column=sa.Column(sa.String(1000)))
    resolved_by: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"))
    )
    resolved_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
