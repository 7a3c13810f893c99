"""background jobs: PgQueuer's tables and worker heartbeats

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27

PgQueuer's schema comes from PgQueuer's own install DDL (the version pinned in pyproject.toml), so
the queue tables match what its workers verify at start. A later PgQueuer release that changes
them gets a migration of its own running `Queries.upgrade()` (what `pgq upgrade` does).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment
from sqlalchemy.util import await_only

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _execute_script(sql: str) -> None:
    """Run a multi-statement script on the migration's own asyncpg connection and transaction.

    SQLAlchemy prepares every statement, and a prepared statement holds one command only.
    """
    driver_connection = op.get_bind().connection.driver_connection
    assert driver_connection is not None
    await_only(driver_connection.execute(sql))


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("queues", sa.Text(), server_default="", nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_heartbeats")),
    )
    _execute_script(QueryBuilderEnvironment().build_install_query(create_schema=False))


def downgrade() -> None:
    _execute_script(QueryBuilderEnvironment().build_uninstall_query())
    op.drop_table("worker_heartbeats")
