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


# Notification types added by moderation (the column is a VARCHAR with a CHECK of its members).
_OLD_TYPES = (
    "APPLICATION_RECEIVED", "APPLICATION_ACCEPTED", "APPLICATION_REJECTED", "WORK_SUBMITTED",
    "CHANGES_REQUESTED", "BOUNTY_COMPLETED", "BOUNTY_CANCELLED", "BOUNTY_EXPIRED",
    "PAYMENT_RELEASED", "PAYMENT_REFUNDED", "PAYOUT_PAID", "PAYOUT_FAILED", "DISPUTE_OPENED",
    "DISPUTE_RESOLVED", "NEW_MESSAGE",
)  # fmt: skip
_NEW_TYPES = (*_OLD_TYPES, "REPORT_RESOLVED", "CONTENT_REMOVED", "ACCOUNT_WARNING")


def _notification_types(types: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_notifications_notification_type"), "notifications", type_="check")
    listed = ", ".join(f"'{name}'" for name in types)
    op.create_check_constraint(
        op.f("ck_notifications_notification_type"), "notifications", f"type IN ({listed})"
    )


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION analytics_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'analytics_events is append-only';
END;
$$
"""


def upgrade() -> None:
    _notification_types(_NEW_TYPES)
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "CLIENT",
                "SERVER",
                name="event_source",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            server_default="CLIENT",
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column(
            "properties",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("client_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_events")),
    )
    op.create_index("ix_analytics_events_name_id", "analytics_events", ["name", "id"], unique=False)
    op.create_index(
        "ix_analytics_events_received_brin",
        "analytics_events",
        ["received_at"],
        unique=False,
        postgresql_using="brin",
    )
    op.create_index(
        "ix_analytics_events_user_id", "analytics_events", ["user_id", "id"], unique=False
    )
    op.create_table(
        "analytics_rollups",
        sa.Column("metric", sa.String(length=48), nullable=False),
        sa.Column(
            "granularity",
            sa.Enum(
                "HOUR",
                "DAY",
                name="granularity",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dimension", sa.String(length=24), server_default="", nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "metric", "granularity", "bucket_start", "dimension", name=op.f("pk_analytics_rollups")
        ),
    )
    op.create_table(
        "category_policies",
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column(
            "policy",
            sa.Enum(
                "ALLOWED",
                "RESTRICTED",
                "PROHIBITED",
                name="category_policy",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="ALLOWED",
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["slug"],
            ["bounty_categories.slug"],
            name=op.f("fk_category_policies_slug_bounty_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_category_policies_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_category_policies")),
    )
    op.create_table(
        "content_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reporter_id", sa.Uuid(), nullable=True),
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
        "remediation_workflows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "COMPLETED",
                name="workflow_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="OPEN",
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_remediation_workflows_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_remediation_workflows_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_workflows")),
    )
    op.create_index(
        "ix_remediation_workflows_status_created",
        "remediation_workflows",
        ["status", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_remediation_workflows_user_id"), "remediation_workflows", ["user_id"], unique=False
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
        "risk_fingerprints",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "CARD",
                "DEVICE",
                name="fingerprint_kind",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("value_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_risk_fingerprints_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", "value_hash", name=op.f("pk_risk_fingerprints")),
    )
    op.create_index(
        "ix_risk_fingerprints_value", "risk_fingerprints", ["kind", "value_hash"], unique=False
    )
    op.create_table(
        "risk_restrictions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("flagged", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "verification_required", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "payments_restricted", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "payouts_restricted", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
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
            name=op.f("fk_risk_restrictions_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_risk_restrictions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_risk_restrictions")),
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
    op.create_table(
        "remediation_steps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "DONE",
                name="step_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="PENDING",
            nullable=False,
        ),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_remediation_steps_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["completed_by"],
            ["users.id"],
            name=op.f("fk_remediation_steps_completed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["remediation_workflows.id"],
            name=op.f("fk_remediation_steps_workflow_id_remediation_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_steps")),
        sa.UniqueConstraint("workflow_id", "position", name="uq_remediation_steps_position"),
    )
    op.add_column("bounties", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_ledger_postings_created_brin",
        "ledger_postings",
        ["created_at"],
        unique=False,
        postgresql_using="brin",
    )
    op.add_column("messages", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("reviews", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "users", sa.Column("profile_removed_at", sa.DateTime(timezone=True), nullable=True)
    )

    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(
        "CREATE TRIGGER analytics_events_append_only BEFORE UPDATE OR DELETE ON analytics_events "
        "FOR EACH ROW EXECUTE FUNCTION analytics_events_append_only()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS analytics_events_append_only ON analytics_events")
    op.execute("DROP FUNCTION IF EXISTS analytics_events_append_only()")
    _notification_types(_OLD_TYPES)
    op.drop_column("users", "profile_removed_at")
    op.drop_column("reviews", "removed_at")
    op.drop_column("messages", "removed_at")
    op.drop_index(
        "ix_ledger_postings_created_brin", table_name="ledger_postings", postgresql_using="brin"
    )
    op.drop_column("bounties", "removed_at")
    op.drop_table("remediation_steps")
    op.drop_table("system_settings")
    op.drop_table("system_setting_versions")
    op.drop_table("risk_restrictions")
    op.drop_index("ix_risk_fingerprints_value", table_name="risk_fingerprints")
    op.drop_table("risk_fingerprints")
    op.drop_index("ix_risk_assessments_level_score", table_name="risk_assessments")
    op.drop_table("risk_assessments")
    op.drop_index(op.f("ix_remediation_workflows_user_id"), table_name="remediation_workflows")
    op.drop_index("ix_remediation_workflows_status_created", table_name="remediation_workflows")
    op.drop_table("remediation_workflows")
    op.drop_index(
        "uq_content_reports_open_per_reporter",
        table_name="content_reports",
        postgresql_where=sa.text("status = 'OPEN'"),
    )
    op.drop_index("ix_content_reports_queue", table_name="content_reports")
    op.drop_index(op.f("ix_content_reports_author_id"), table_name="content_reports")
    op.drop_table("content_reports")
    op.drop_table("category_policies")
    op.drop_table("analytics_rollups")
    op.drop_index("ix_analytics_events_user_id", table_name="analytics_events")
    op.drop_index(
        "ix_analytics_events_received_brin", table_name="analytics_events", postgresql_using="brin"
    )
    op.drop_index("ix_analytics_events_name_id", table_name="analytics_events")
    op.drop_table("analytics_events")
