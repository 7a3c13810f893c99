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
