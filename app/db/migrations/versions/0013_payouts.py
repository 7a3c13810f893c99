"""payouts: each hunter's connected account (Stripe Connect Express)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

Payouts themselves need no table: they are PAYOUT operations in `payment_operations` and
PAYOUT / PAYOUT_PAID / PAYOUT_FAILED postings in the ledger (0010).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "payout_accounts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "ENABLED",
                "RESTRICTED",
                name="payout_account_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="PENDING",
            nullable=False,
        ),
        sa.Column("payouts_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("details_submitted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "requirements_due",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payout_accounts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "provider", name=op.f("pk_payout_accounts")),
        sa.UniqueConstraint("account_id", name=op.f("uq_payout_accounts_account_id")),
    )


def downgrade() -> None:
    op.drop_table("payout_accounts")
