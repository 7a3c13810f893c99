"""Runtime settings admins change without a deploy: typed values, every version kept."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, utcnow


class SystemSetting(SQLModel, table=True):
    """The current value of one setting; a key without a row has its registered default."""

    __tablename__ = "system_settings"

    key: str = Field(sa_column=sa.Column(sa.String(80), primary_key=True))
    value: Any = Field(sa_column=sa.Column(JSONB, nullable=False))
    version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_by: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL")),
    )


class SystemSettingVersion(SQLModel, table=True):
    """Every value a setting ever had, by version (1 is the first change from the default)."""

    __tablename__ = "system_setting_versions"

    key: str = Field(sa_column=sa.Column(sa.String(80), primary_key=True))
    version: int = Field(sa_column=sa.Column(sa.Integer, primary_key=True))
    value: Any = Field(sa_column=sa.Column(JSONB, nullable=False))
    previous: Any = Field(default=None, sa_column=sa.Column(JSONB, nullable=True))
    changed_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    changed_by: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
