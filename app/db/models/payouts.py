"""Payouts: each hunter's connected account at the payment provider (Stripe Connect Express).

A payout itself is a `payment_operations` row of kind PAYOUT (its `provider_id` the payout,
`source_id` the transfer to the connected account) and postings in the ledger (PAYOUT,
PAYOUT_PAID, PAYOUT_FAILED); this table only says where a user's payouts go and whether the
provider lets them go there yet, as the last `account.updated` (or an onboarding link) told us.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, updated_at_column, utcnow


class PayoutAccountStatus(StrEnum):
    """PENDING: onboarding not finished; ENABLED: payouts allowed; RESTRICTED: the provider
    disabled payouts until requirements are met. (No row: NOT_STARTED.)"""

    PENDING = "PENDING"
    ENABLED = "ENABLED"
    RESTRICTED = "RESTRICTED"


class PayoutAccount(SQLModel, table=True):
    __tablename__ = "payout_accounts"

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
        )
    )
    provider: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    # acct_...: made once per user and provider (key "connect-account:<user id>").
    account_id: str = Field(sa_column=sa.Column(sa.String(255), nullable=False, unique=True))
    status: PayoutAccountStatus = Field(
        sa_column=enum_column(
            PayoutAccountStatus, "payout_account_status", PayoutAccountStatus.PENDING
        )
    )
    payouts_enabled: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    details_submitted: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    # What the provider still needs from the user (Stripe's requirements.currently_due + past_due).
    requirements_due: list[str] = Field(
        default_factory=list,
        sa_column=sa.Column(
            postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")
        ),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=updated_at_column())
