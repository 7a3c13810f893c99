"""Alembic driven from code: upgrade on a live connection, and compare with the head revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant will do: it serialises concurrent migrators (several gateway processes starting).
MIGRATION_LOCK_ID = 0x626F756E7479


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Autogenerate compares only our tables: other tools (PgQueuer) keep tables here too."""
    if type_ == "table":
        from app.db.models import metadata

        return name in metadata.tables
    return True


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Revision ids are short sequence numbers given with --rev-id; files sort by them.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(connection: AsyncConnection) -> str | None:
    def read(sync_connection: Connection) -> str | None:
        return MigrationContext.configure(sync_connection).get_current_revision()

    return await connection.run_sync(read)


async def upgrade_to_head(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID}
        )
        await connection.run_sync(_upgrade)


def _upgrade(sync_connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = sync_connection
    command.upgrade(config, "head")


def make_revision(message: str, rev_id: str | None = None) -> None:
    """Autogenerate a revision from the models against the configured database (at head)."""
    rev_id = rev_id or f"{int(head_revision() or 0) + 1:04d}"
    command.revision(alembic_config(), message=message, autogenerate=True, rev_id=rev_id)
