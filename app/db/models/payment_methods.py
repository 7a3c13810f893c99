"""Saved payment methods and the provider's disputes (chargebacks) of our charges.

A `PaymentMethod` row is a card (or a wallet card: Apple Pay, Google Pay) a user saved through a
SetupIntent: what the app lists, never the card number. At most one per user is the default (a
partial unique index). A `PaymentDispute` is the payer's bank disputing a charge (Stripe's
`charge.dispute.*`): while one is OPEN the bounty's held funds are frozen (neither released nor
refunded); LOST takes them back to the payer, WON lets them move again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, utcnow


class PaymentMethod(SQLModel, table=True):
    __tablename__ = "payment_methods"
    __table_args__ = (
        sa.UniqueConstraint("provider", "provider_id", name="uq_payment_methods_provider_id"),
        # One default per user: two concurrent "set default" cannot both win.
        sa.Index(
            "uq_payment_methods_default",
            "user_id",
            unique=True,
            postgresql_where=sa.text("is_default"),
        ),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    provider: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # pm_...: what publishBounty's paymentMethodId takes.
    provider_id: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    brand: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    last4: str = Field(sa_column=sa.Column(sa.String(4), nullable=False))
    exp_month: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    exp_year: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    # Stripe's card.wallet.type: apple_pay, google_pay, ...; null for a plain card.
    wallet: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    is_default: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class DisputeStatus(StrEnum):
    OPEN = "OPEN"  # the held funds are frozen
    WON = "WON"  # the platform kept the money: the funds move again
    LOST = "LOST"  # the money went back to the payer


class PaymentDispute(SQLModel, table=True):
    __tablename__ = "payment_disputes"

    # The provider's dispute id (dp_...): each dispute is recorded once.
    id: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    bounty_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, index=True))
    # The disputed charge's PaymentIntent (pi_...).
    payment_intent_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    status: DisputeStatus = Field(
        sa_column=enum_column(DisputeStatus, "dispute_status", DisputeStatus.OPEN, length=8)
    )
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    closed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )
