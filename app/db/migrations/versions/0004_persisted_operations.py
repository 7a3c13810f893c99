"""persisted operations

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-26

Automatic Persisted Queries (when REDIS_URL is unset) and the trusted-documents list.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persisted_operations",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("trusted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_used_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_persisted_operations")),
    )
    op.create_index(
        op.f("ix_persisted_operations_trusted"), "persisted_operations", ["trusted"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_persisted_operations_trusted"), table_name="persisted_operations")
    op.drop_table("persisted_operations")
