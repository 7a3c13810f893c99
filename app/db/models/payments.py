"""Money: the double-entry ledger, provider operations in phases, webhooks, idempotency keys.

The ledger is `ledger_accounts` (one per kind, owner and currency, with a running balance the
database keeps), `ledger_postings` (one money movement, unique by reference) and
`ledger_entries` (signed minor units; the entries of a posting sum to zero per currency). The
migration (0010) adds the triggers that make entries and postings immutable, apply each entry to
its account's balance, refuse a negative balance where the kind forbids one, and refuse an
unbalanced posting at commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from app.db.models.base import created_at_column, enum_column, updated_at_column, utcnow


class AccountKind(StrEnum):
    """What a ledger account holds. Owner: a user, a bounty, or nobody (platform-wide)."""

    WALLET = "WALLET"  # a user's available balance (released rewards)
    PAYOUT_PENDING = "PAYOUT_PENDING"  # a user's requested payouts, not yet paid
    HELD = "HELD"  # a bounty's held funds, from funding until release or refund
    FEES = "FEES"  # the platform's fees
    CLEARING = "CLEARING"  # the payment provider: money in (negative) and out (positive)
    REFUNDS = "REFUNDS"  # refunds requested from the provider, not yet confirmed
    # The platform's own money lost to chargebacks beyond what it held (negative, like CLEARING)
    PLATFORM_LOSS = "PLATFORM_LOSS"


class PostingKind(StrEnum):
    FUNDING = "FUNDING"  # clearing -> held
    RELEASE = "RELEASE"  # held -> fees + hunter's wallet
    REFUND = "REFUND"  # held -> refunds (requested)
    REFUND_SETTLED = "REFUND_SETTLED"  # refunds -> clearing (the provider confirmed)
    PAYOUT = "PAYOUT"  # wallet -> payout pending
    PAYOUT_PAID = "PAYOUT_PAID"  # payout pending -> clearing
    PAYOUT_FAILED = "PAYOUT_FAILED"  # payout pending -> wallet
    CHARGEBACK_LOSS = "CHARGEBACK_LOSS"  # platform loss -> clearing (a chargeback beyond held)


class OperationKind(StrEnum):
    CHARGE = "CHARGE"
    REFUND = "REFUND"
    PAYOUT = "PAYOUT"


class OperationStatus(StrEnum):
    """REQUESTED: recorded, the provider not yet answered (a reconciliation re-drives it)."""

    REQUESTED = "REQUESTED"
    REQUIRES_ACTION = "REQUIRES_ACTION"  # waits for the customer (PaymentSheet, 3-D Secure)
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


class LedgerAccount(SQLModel, table=True):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        sa.UniqueConstraint(
            "kind", "owner_id", "currency", name="uq_ledger_accounts_kind_owner_currency",
            postgresql_nulls_not_distinct=True,
        ),
        sa.CheckConstraint(
            "balance >= 0 OR kind IN ('CLEARING', 'PLATFORM_LOSS')", name="balance_not_negative"
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    )  # fmt: skip

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    kind: AccountKind = Field(
        sa_column=enum_column(AccountKind, "ledger_account_kind", AccountKind.WALLET, length=16)
    )
    owner_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    balance: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class LedgerPosting(SQLModel, table=True):
    __tablename__ = "ledger_postings"
    # The analytics rollups read an hour of postings: a BRIN index finds its pages (0012).
    __table_args__ = (
        sa.Index("ix_ledger_postings_created_brin", "created_at", postgresql_using="brin"),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    kind: PostingKind = Field(
        sa_column=enum_column(PostingKind, "ledger_posting_kind", PostingKind.FUNDING, length=16)
    )
    # Derived from our ids ("release:<bounty>"): the same movement can never be posted twice.
    reference: str = Field(sa_column=sa.Column(sa.String(200), nullable=False, unique=True))
    bounty_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="amount_not_zero"),
        # An account's history, newest first (transactions, balance recomputation).
        sa.Index("ix_ledger_entries_account_id_id", "account_id", sa.text("id DESC")),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    posting_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("ledger_postings.id"), nullable=False, index=True
        )
    )
    account_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("ledger_accounts.id"), nullable=False)
    )
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class PaymentOperation(SQLModel, table=True):
    """One call to the payment provider, recorded before it is made (phase 1), its answer after
    (phase 3). The provider's idempotency key is derived from `id`, so re-driving a REQUESTED
    operation after a crash can never charge twice."""

    __tablename__ = "payment_operations"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.Index("ix_payment_operations_status_updated", "status", "updated_at"),
    )

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    kind: OperationKind = Field(
        sa_column=enum_column(OperationKind, "payment_operation_kind", OperationKind.CHARGE)
    )
    status: OperationStatus = Field(
        sa_column=enum_column(
            OperationStatus, "payment_operation_status", OperationStatus.REQUESTED, length=16
        )
    )
    bounty_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, index=True))
    user_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    amount: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    currency: str = Field(sa_column=sa.Column(sa.String(3), nullable=False))
    provider: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    # pi_... / re_... / po_...; unique per provider once known.
    provider_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(255), unique=True))
    # A saved payment method to confirm with at once (charges); kept so a re-drive repeats the
    # exact request its idempotency key was first sent with.
    payment_method: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    # The charge this refund returns (its PaymentIntent), for refunds.
    source_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    client_secret: str | None = Field(default=None, sa_column=sa.Column(sa.String(255)))
    failure_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(500)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=updated_at_column())


class PaymentCustomer(SQLModel, table=True):
    """A user's customer at the provider (cus_...), made on first funding."""

    __tablename__ = "payment_customers"

    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), primary_key=True)
    )
    provider: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    customer_id: str = Field(sa_column=sa.Column(sa.String(255), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())


class WebhookEvent(SQLModel, table=True):
    """A provider event, stored once by its id; `processed_at` is set by the one job that
    applies it."""

    __tablename__ = "webhook_events"

    id: str = Field(sa_column=sa.Column(sa.String(255), primary_key=True))
    type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    payload: dict[str, Any] = Field(sa_column=sa.Column(postgresql.JSONB, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=created_at_column())
    processed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(sa.DateTime(timezone=True))
    )


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
