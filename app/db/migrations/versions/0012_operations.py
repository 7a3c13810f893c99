"""operations: system settings, moderation, analytics, risk

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01

Runtime settings with their versions; content reports and the removal marks on bounties,
messages, reviews and profiles; analytics events (append-only) and their rollups; risk
assessments, actions, remediation workflows and the category policy.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate writes sqlmodel.sql.sqltypes.AutoString)
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=False),
        sa.Column(
            "target_type",
            sa.Enum(
                "BOUNTY",
                "MESSAGE",
                "PROFILE",
                "REVIEW",
                name="report_target",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="BOUNTY",
            nullable=False,
        ),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "SPAM",
                "SCAM",
                "ABUSE",
                "INAPPROPRIATE",
                "PROHIBITED",
                "OTHER",
                name="report_reason",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="OTHER",
            nullable=False,
        ),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "RESOLVED",
                "DISMISSED",
                name="report_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="OPEN",
            nullable=False,
        ),
        sa.Column(
            "action",
            sa.Enum(
                "DISMISS",
                "REMOVE_CONTENT",
                "WARN_USER",
                "SUSPEND_USER",
                name="moderation_action",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("resolution_note", sa.String(length=1000), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_content_reports_author_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
            name=op.f("fk_content_reports_reporter_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["users.id"],
            name=op.f("fk_content_reports_resolved_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_reports")),
    )
    op.create_index(
        op.f("ix_content_reports_author_id"), "content_reports", ["author_id"], unique=False
    )
    op.create_index(
        "ix_content_reports_queue", "content_reports", ["status", "created_at", "id"], unique=False
    )
    op.create_index(
        "uq_content_reports_open_per_reporter",
        "content_reports",
        ["reporter_id", "target_type", "target_id"],
        unique=True,
        postgresql_where=sa.text("status = 'OPEN'"),
    )
    op.create_table(
        "risk_assessments",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "LOW",
                "MEDIUM",
                "HIGH",
                "CRITICAL",
                name="risk_level",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="LOW",
            nullable=False,
        ),
        sa.Column(
            "signals",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "assessed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_risk_assessments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_risk_assessments")),
    )
    op.create_index(
        "ix_risk_assessments_level_score",
        "risk_assessments",
        ["level", sa.literal_column("score DESC"), "user_id"],
        unique=False,
    )
    op.create_table(
        "system_setting_versions",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("previous", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.id"],
            name=op.f("fk_system_setting_versions_changed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("key", "version", name=op.f("pk_system_setting_versions")),
    )
    op.create_table(
        "system_settings",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_system_settings_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_system_settings")),
    )
    op.add_column("bounties", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("messages", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reviews", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "users", sa.Column("profile_removed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("users", "profile_removed_at")
    op.drop_column("reviews", "removed_at")
    op.drop_column("messages", "removed_at")
    op.drop_column("bounties", "removed_at")
    op.drop_table("system_settings")
    op.drop_table("system_setting_versions")
    op.drop_index("ix_risk_assessments_level_score", table_name="risk_assessments")
    op.drop_table("risk_assessments")
    op.drop_index(
        "uq_content_reports_open_per_reporter",
        table_name="content_reports",
        postgresql_where=sa.text("status = 'OPEN'"),
    )
    op.drop_index("ix_content_reports_queue", table_name="content_reports")
    op.drop_index(op.f("ix_content_reports_author_id"), table_name="content_reports")
    op.drop_table("content_reports")
