"""Accounts: every domain refers to a user."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, updated_at_column, utcnow


class Role(StrEnum):
    USER = "USER"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"


class UserStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    DELETED = "DELETED"


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored normalised (lower case); the index keeps that true in SQL too.
        sa.Index("uq_users_email_lower", sa.text("lower(email)"), unique=True),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    email: str = Field(sa_column=sa.Column(sa.String(254), nullable=False))
    password_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    display_name: str = Field(sa_column=sa.Column(sa.String(80), nullable=False))
    role: Role = Field(default=Role.USER, sa_column=enum_column(Role, "role", Role.USER))
    status: UserStatus = Field(
        default=UserStatus.ACTIVE,
        sa_column=enum_column(UserStatus, "user_status", UserStatus.ACTIVE),
    )
    # Profile. Public: bio, skills, location, avatar. Private (owner and admins): email, phone.
    bio: str | None = Field(default=None, sa_column=sa.Column(sa.String(1000)))
    skills: list[str] = Field(
        default_factory=list,
        sa_column=sa.Column(
            sa.ARRAY(sa.String(40)), nullable=False, server_default=sa.text("'{}'")
        ),
    )
    location: str | None = Field(default=None, sa_column=sa.Column(sa.String(120)))
    phone: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    avatar_key: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    # Reviews received, kept in step with `reviews` in the same transaction: rating without a join.
    rating_sum: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    rating_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=updated_at_column())
    # Set when a moderator removes the profile: bio, skills, location and avatar are then
    # hidden from everyone but staff and the user.
    profile_removed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
