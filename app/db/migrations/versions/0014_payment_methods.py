"""payment methods and disputes: saved cards, chargebacks, the PAYMENT_FAILED notification

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

`payment_methods`: the cards (and wallet cards) users saved through SetupIntents, one default
per user (a partial unique index). `payment_disputes`: the provider's disputes of our charges;
an OPEN one freezes the bounty's held funds. Notifications gain PAYMENT_FAILED (a charge that
failed after publishBounty answered).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_TYPES = (
    "APPLICATION_RECEIVED", "APPLICATION_ACCEPTED", "APPLICATION_REJECTED", "WORK_SUBMITTED",
    "CHANGES_REQUESTED", "BOUNTY_COMPLETED", "BOUNTY_CANCELLED", "BOUNTY_EXPIRED",
    "PAYMENT_RELEASED", "PAYMENT_REFUNDED", "PAYOUT_PAID", "PAYOUT_FAILED", "DISPUTE_OPENED",
    "DISPUTE_RESOLVED", "NEW_MESSAGE", "REPORT_RESOLVED", "CONTENT_REMOVED", "ACCOUNT_WARNING",
)  # fmt: skip
_NEW_TYPES = (*_OLD_TYPES, "PAYMENT_FAILED")


def _notification_types(types: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_notifications_notification_type"), "notifications", type_="check")
    listed = ", ".join(f"'{name}'" for name in types)
    op.create_check_constraint(
        op.f("ck_notifications_notification_type"), "notifications", f"type IN ({listed})"
    )


def upgrade() -> None:
    _notification_types(_NEW_TYPES)
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("wallet", sa.String(length=32), nullable=True),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_payment_methods_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
        sa.UniqueConstraint("provider", "provider_id", name="uq_payment_methods_provider_id"),
    )
    op.create_index(
        op.f("ix_payment_methods_user_id"), "payment_methods", ["user_id"], unique=False
    )
    op.create_index(
        "uq_payment_methods_default", "payment_methods", ["user_id"], unique=True,
        postgresql_where=sa.text("is_default"),
    )  # fmt: skip
    op.create_table(
        "payment_disputes",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("bounty_id", sa.Uuid(), nullable=True),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "WON",
                "LOST",
                name="dispute_status",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            server_default="OPEN",
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_disputes")),
    )
    op.create_index(
        op.f("ix_payment_disputes_bounty_id"), "payment_disputes", ["bounty_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_payment_disputes_bounty_id"), table_name="payment_disputes")
    op.drop_table("payment_disputes")
    op.drop_index("uq_payment_methods_default", table_name="payment_methods")
    op.drop_index(op.f("ix_payment_methods_user_id"), table_name="payment_methods")
    op.drop_table("payment_methods")
    op.execute("DELETE FROM notifications WHERE type = 'PAYMENT_FAILED'")
    _notification_types(_OLD_TYPES)
