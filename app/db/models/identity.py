"""Sessions and their revocation, password resets, and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, utcnow


def _user_fk(nullable: bool = False) -> sa.Column[uuid.UUID]:
    return sa.Column(
        sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=nullable, index=True
    )


class RefreshToken(SQLModel, table=True):
    """One opaque refresh token, stored as its SHA-256. Rotation links it to its successor.

    A family is one sign-in: every token rotated from it shares `family_id`, which access tokens
    carry as `sid`, so revoking a family ends the whole session at once.
    """

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4, sa_column=sa.Column(sa.Uuid, primary_key=True)
    )
    user_id: uuid.UUID = Field(sa_column=_user_fk())
    family_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    rotated_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
    ip: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    user_agent: str | None = Field(default=None, sa_column=sa.Column(sa.String(300)))


class RevokedToken(SQLModel, table=True):
    """The denylist in PostgreSQL (Redis holds it instead when REDIS_URL is set).

    `key` is `jti:<id>`, `sid:<family>` or `user:<id>`; for a user, `revoked_at` is the cutoff
    before which that user's access tokens are void. Rows are useless after `expires_at`.
    """

    __tablename__ = "revoked_tokens"

    key: str = Field(sa_column=sa.Column(sa.String(80), primary_key=True))
    revoked_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(
        sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False, index=True)
    )


class PasswordResetToken(SQLModel, table=True):
    __tablename__ = "password_reset_tokens"

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4, sa_column=sa.Column(sa.Uuid, primary_key=True)
    )
    user_id: uuid.UUID = Field(sa_column=_user_fk())
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    expires_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=sa.Column(sa.DateTime(timezone=True)))


class AuditEvent(SQLModel, table=True):
    """Append-only (a trigger refuses UPDATE and DELETE). Never holds secrets or tokens."""

    __tablename__ = "audit_events"

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    action: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    actor_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, index=True))
    target_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, index=True))
    ip: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    user_agent: str | None = Field(default=None, sa_column=sa.Column(sa.String(300)))
    trace_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    detail: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
