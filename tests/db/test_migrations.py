"""Migrations and models agree, and every migration can be undone."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.db.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    include_name,
    upgrade_to_head,
)
from app.db.models import metadata
from tests import databases

pytestmark = pytest.mark.asyncio


async def test_models_match_the_migrated_schema(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "compare_type": True}
        )
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []
        assert await current_revision(connection) == head_revision()


async def test_downgrade_to_base_and_upgrade_again(server_url: str) -> None:
    name = f"test_migrations_{uuid.uuid4().hex[:8]}"
    url = await databases.create_empty_database(server_url, name)
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        await upgrade_to_head(engine)

        def downgrade(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")

        async with engine.begin() as connection:
            await connection.run_sync(downgrade)
        async with engine.connect() as connection:
            assert await current_revision(connection) is None
            users_table = await connection.scalar(text("SELECT to_regclass('public.users')"))
            assert users_table is None
        await upgrade_to_head(engine)
        async with engine.connect() as connection:
            assert await current_revision(connection) == head_revision()
    finally:
        await engine.dispose()
        await databases.drop_database(server_url, name)
