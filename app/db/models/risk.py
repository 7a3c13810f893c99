"""Risk: each user's latest assessment (score, level and the weighted signals behind it)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, utcnow


class RiskLevel(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


class RiskAssessment(SQLModel, table=True):
    """The latest assessment per user; `signals` is a list of {name, value, weight, points}."""

    __tablename__ = "risk_assessments"
    __table_args__ = (
        sa.Index("ix_risk_assessments_level_score", "level", sa.text("score DESC"), "user_id"),
    )

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        )
    )
    score: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    level: RiskLevel = Field(
        default=RiskLevel.LOW, sa_column=enum_column(RiskLevel, "risk_level", RiskLevel.LOW)
    )
    signals: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=sa.Column(JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    assessed_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class RiskRestriction(SQLModel, table=True):
    """What risk actions left in force on a user (CLEAR resets them all). No row: nothing."""

    __tablename__ = "risk_restrictions"

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        )
    )
    flagged: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    verification_required: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    payments_restricted: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    payouts_restricted: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_by: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"))
    )


class FingerprintKind(StrEnum):
    CARD = "CARD"  # the provider's card fingerprint (Stripe `card.fingerprint`)
    DEVICE = "DEVICE"  # the app's device id


class RiskFingerprint(SQLModel, table=True):
    """A payment card or device seen for a user, as a SHA-256 (never the raw value)."""

    __tablename__ = "risk_fingerprints"
    __table_args__ = (sa.Index("ix_risk_fingerprints_value", "kind", "value_hash"),)

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        )
    )
    kind: FingerprintKind = Field(
        sa_column=sa.Column(
            sa.Enum(
                FingerprintKind,
                native_enum=False,
                create_constraint=True,
                length=8,
                name="fingerprint_kind",
            ),
            primary_key=True,
        )
    )
    value_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    seen_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class CategoryPolicy(StrEnum):
    ALLOWED = "ALLOWED"
    RESTRICTED = "RESTRICTED"  # a moderator reviews each bounty before it is published
    PROHIBITED = "PROHIBITED"  # refused


class CategoryRule(SQLModel, table=True):
    """An admin's policy for a bounty category; a category without a row is ALLOWED."""

    __tablename__ = "category_policies"

    slug: str = Field(
        sa_column=sa.Column(
            sa.String(40), sa.ForeignKey("bounty_categories.slug"), primary_key=True
        )
    )
    policy: CategoryPolicy = Field(
        default=CategoryPolicy.ALLOWED,
        sa_column=enum_column(CategoryPolicy, "category_policy", CategoryPolicy.ALLOWED),
    )
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_by: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"))
    )


class WorkflowStatus(StrEnum):
    OPEN = "OPEN"
    COMPLETED = "COMPLETED"


class StepStatus(StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"


class RemediationWorkflow(SQLModel, table=True):
    """A remediation for a risky user: ordered steps, each with an assignee and a due date."""

    __tablename__ = "remediation_workflows"
    __table_args__ = (
        sa.Index("ix_remediation_workflows_status_created", "status", "created_at", "id"),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4, sa_column=sa.Column(sa.Uuid, primary_key=True)
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    status: WorkflowStatus = Field(
        default=WorkflowStatus.OPEN,
        sa_column=enum_column(WorkflowStatus, "workflow_status", WorkflowStatus.OPEN),
    )
    reason: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    created_by: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    completed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )


class RemediationStep(SQLModel, table=True):
    __tablename__ = "remediation_steps"
    __table_args__ = (
        sa.UniqueConstraint("workflow_id", "position", name="uq_remediation_steps_position"),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4, sa_column=sa.Column(sa.Uuid, primary_key=True)
    )
    workflow_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("remediation_workflows.id", ondelete="CASCADE"), nullable=False
        )
    )
    position: int = Field(sa_column=sa.Column(sa.SmallInteger, nullable=False))
    title: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    status: StepStatus = Field(
        default=StepStatus.PENDING,
        sa_column=enum_column(StepStatus, "step_status", StepStatus.PENDING),
    )
    assignee_id: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"))
    )
    due_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.String(1000)))
    completed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    completed_by: uuid.UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL"))
    )
