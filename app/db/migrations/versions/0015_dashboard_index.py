"""dashboard index: server-side events by name and time, covering the user

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01

`adminDashboard` counts active posters and hunters as the distinct users of a few server-side
events in its date range. Through `(name, id)` that read fetched every such event ever recorded
and filtered by time (220 ms over 500k events); this partial index answers it from the index
alone and only for the range. The app's own events (the bulk of the table) are not in it, so
`trackEvents` pays nothing for it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_analytics_events_server_name_received",
        "analytics_events",
        ["name", "received_at"],
        unique=False,
        postgresql_include=["user_id"],
        postgresql_where=sa.text("source = 'SERVER'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_analytics_events_server_name_received",
        table_name="analytics_events",
        postgresql_include=["user_id"],
        postgresql_where=sa.text("source = 'SERVER'"),
    )
