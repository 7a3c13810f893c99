"""Calls into the payments interface, and the idempotency keys of money-moving mutations."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, utcnow


class PaymentCall(SQLModel, table=True):
    """What the recording payments provider was asked to do (until the real ledger lands)."""

    __tablename__ = "payment_calls"

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    operation: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    bounty_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    counterparty_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    reference: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class IdempotencyKey(SQLModel, table=True):
    """The first outcome of a money-moving mutation per (user, key)."""

    __tablename__ = "idempotency_keys"

    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    key: str = Field(sa_column=sa.Column(sa.String(100), primary_key=True))
    operation: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    request_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    result: dict[str, object] = Field(
        default_factory=dict,
        sa_column=sa.Column(
            postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
