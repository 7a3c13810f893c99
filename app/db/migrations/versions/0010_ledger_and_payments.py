"""ledger and payments: accounts, postings, entries, provider operations, customers, webhooks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Replaces `payment_calls` (the recording stand-in) with a double-entry ledger the database itself
keeps honest:
- entries and postings are immutable (UPDATE and DELETE raise);
- each entry is applied to its account's running balance by a trigger, in the account's own
  currency; an account's balance changes no other way (a direct UPDATE raises);
- `balance >= 0` except for the provider's clearing account (a CHECK), so two concurrent
  releases of one bounty's held funds cannot both pass;
- the entries of a posting sum to zero per currency, checked at commit (a deferred constraint
  trigger), so no transaction can create or destroy money.
Bounties record the platform fee in force when they were funded and why funding last failed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCOUNT_KINDS = ("WALLET", "PAYOUT_PENDING", "HELD", "FEES", "CLEARING", "REFUNDS")
POSTING_KINDS = (
    "FUNDING", "RELEASE", "REFUND", "REFUND_SETTLED", "PAYOUT", "PAYOUT_PAID", "PAYOUT_FAILED",
)  # fmt: skip
OPERATION_KINDS = ("CHARGE", "REFUND", "PAYOUT")
OPERATION_STATUSES = ("REQUESTED", "REQUIRES_ACTION", "SUCCEEDED", "FAILED", "CANCELED")

TRIGGERS = """
CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are immutable: % on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER ledger_postings_immutable BEFORE UPDATE OR DELETE ON ledger_postings
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();

CREATE FUNCTION ledger_apply_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_accounts SET balance = balance + NEW.amount
        WHERE id = NEW.account_id AND currency = NEW.currency;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'entry in % does not match its account''s currency', NEW.currency
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_entries_apply BEFORE INSERT ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_apply_entry();

CREATE FUNCTION ledger_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger accounts are never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.kind <> OLD.kind OR NEW.owner_id IS DISTINCT FROM OLD.owner_id
            OR NEW.currency <> OLD.currency THEN
        RAISE EXCEPTION 'a ledger account keeps its kind, owner and currency'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.balance <> OLD.balance AND pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'balances change only through ledger entries'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE OR DELETE ON ledger_accounts
    FOR EACH ROW EXECUTE FUNCTION ledger_account_guard();

CREATE FUNCTION ledger_posting_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced text;
BEGIN
    SELECT currency INTO unbalanced FROM ledger_entries
        WHERE posting_id = NEW.posting_id GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'posting % does not sum to zero in %', NEW.posting_id, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_balanced();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS ledger_entries_balanced ON ledger_entries;
DROP TRIGGER IF EXISTS ledger_accounts_guard ON ledger_accounts;
DROP TRIGGER IF EXISTS ledger_entries_apply ON ledger_entries;
DROP TRIGGER IF EXISTS ledger_postings_immutable ON ledger_postings;
DROP TRIGGER IF EXISTS ledger_entries_immutable ON ledger_entries;
DROP FUNCTION IF EXISTS ledger_posting_balanced();
DROP FUNCTION IF EXISTS ledger_account_guard();
DROP FUNCTION IF EXISTS ledger_apply_entry();
DROP FUNCTION IF EXISTS ledger_immutable();
"""


def _statements(script: str) -> list[str]:
    """One statement each (asyncpg prepares statements one at a time); bodies end in `$$;`."""
    parts, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        if line.rstrip().endswith(";") and (
            line.rstrip().endswith("$$;") or "$$" not in "\n".join(current)
        ):
            parts.append("\n".join(current).strip().rstrip(";"))
            current = []
    return [part for part in parts if part]


def _enum(values: Sequence[str], name: str, length: int) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def _created_at(name: str = "created_at") -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"),
                     nullable=False)  # fmt: skip


def upgrade() -> None:
    op.drop_index(op.f("ix_payment_calls_bounty_id"), table_name="payment_calls")
    op.drop_table("payment_calls")
    op.add_column("bounties", sa.Column("platform_fee_bps", sa.Integer(), nullable=True))
    op.add_column("bounties", sa.Column("funding_failure", sa.String(length=500), nullable=True))
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "kind", _enum(ACCOUNT_KINDS, "ledger_account_kind", 16),
            server_default="WALLET", nullable=False,
        ),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "balance >= 0 OR kind = 'CLEARING'",
            name=op.f("ck_ledger_accounts_balance_not_negative"),
        ),
        sa.CheckConstraint(
            "currency ~ '^[A-Z]{3}$'", name=op.f("ck_ledger_accounts_currency_iso")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint(
            "kind", "owner_id", "currency", name="uq_ledger_accounts_kind_owner_currency",
            postgresql_nulls_not_distinct=True,
        ),
    )  # fmt: skip
    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "kind", _enum(POSTING_KINDS, "ledger_posting_kind", 16),
            server_default="FUNDING", nullable=False,
        ),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("bounty_id", sa.Uuid(), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
        sa.UniqueConstraint("reference", name=op.f("uq_ledger_postings_reference")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_ledger_postings_bounty_id"), "ledger_postings", ["bounty_id"], unique=False
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("posting_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        _created_at(),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["ledger_accounts.id"],
            name=op.f("fk_ledger_entries_account_id_ledger_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["posting_id"], ["ledger_postings.id"],
            name=op.f("fk_ledger_entries_posting_id_ledger_postings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )  # fmt: skip
    op.create_index(
        "ix_ledger_entries_account_id_id",
        "ledger_entries",
        ["account_id", sa.text("id DESC")],
        unique=False,
    )
    op.create_index(
        op.f("ix_ledger_entries_posting_id"), "ledger_entries", ["posting_id"], unique=False
    )
    op.create_table(
        "payment_operations",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "kind", _enum(OPERATION_KINDS, "payment_operation_kind", 16),
            server_default="CHARGE", nullable=False,
        ),
        sa.Column(
            "status", _enum(OPERATION_STATUSES, "payment_operation_status", 16),
            server_default="REQUESTED", nullable=False,
        ),
        sa.Column("bounty_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("payment_method", sa.String(length=255), nullable=True),
        sa.Column("source_id", sa.String(length=255), nullable=True),
        sa.Column("client_secret", sa.String(length=255), nullable=True),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        _created_at(),
        _created_at("updated_at"),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_operations_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_operations")),
        sa.UniqueConstraint("provider_id", name=op.f("uq_payment_operations_provider_id")),
    )  # fmt: skip
    op.create_index(
        op.f("ix_payment_operations_bounty_id"), "payment_operations", ["bounty_id"], unique=False
    )
    op.create_index(
        op.f("ix_payment_operations_user_id"), "payment_operations", ["user_id"], unique=False
    )
    op.create_index(
        "ix_payment_operations_status_updated",
        "payment_operations",
        ["status", "updated_at"],
        unique=False,
    )
    op.create_table(
        "payment_customers",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        _created_at(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_payment_customers_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "provider", name=op.f("pk_payment_customers")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        _created_at("received_at"),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
    )
    for statement in _statements(TRIGGERS):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(DROP_TRIGGERS):
        op.execute(statement)
    op.drop_table("webhook_events")
    op.drop_table("payment_customers")
    op.drop_index("ix_payment_operations_status_updated", table_name="payment_operations")
    op.drop_index(op.f("ix_payment_operations_user_id"), table_name="payment_operations")
    op.drop_index(op.f("ix_payment_operations_bounty_id"), table_name="payment_operations")
    op.drop_table("payment_operations")
    op.drop_index(op.f("ix_ledger_entries_posting_id"), table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_account_id_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index(op.f("ix_ledger_postings_bounty_id"), table_name="ledger_postings")
    op.drop_table("ledger_postings")
    op.drop_table("ledger_accounts")
    op.drop_column("bounties", "funding_failure")
    op.drop_column("bounties", "platform_fee_bps")
    op.create_table(
        "payment_calls",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("bounty_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("counterparty_id", sa.Uuid(), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_calls")),
        sa.UniqueConstraint("reference", name=op.f("uq_payment_calls_reference")),
    )
    op.create_index(
        op.f("ix_payment_calls_bounty_id"), "payment_calls", ["bounty_id"], unique=False
    )
