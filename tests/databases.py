"""One database per test run, cloned from a migrated template (built once per migrations hash).

The server is TEST_DATABASE_URL's, or an embedded one under var/test-pgdata (never the development
server: a test run would stop it on exit). Concurrent runs are safe: the template is built under an
advisory lock and renamed into place, and each run clones a database of its own name.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.db.database import asyncpg_url
from app.db.embedded import start_embedded_postgres
from app.db.migrate import MIGRATIONS_DIR, upgrade_to_head

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_LOCK_ID = 0x7465737470


def server_url() -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return asyncpg_url(configured)
    return start_embedded_postgres(ROOT / "var" / "test-pgdata")


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def admin_engine(url: str) -> AsyncEngine:
    # CREATE/DROP DATABASE cannot run inside a transaction.
    return create_async_engine(
        with_database(url, "postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )


def migrations_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(MIGRATIONS_DIR.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


async def database_exists(admin: AsyncEngine, name: str) -> bool:
    async with admin.connect() as connection:
        found = await connection.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
    return found is not None


async def run_admin(url: str, statement: str) -> None:
    admin = admin_engine(url)
    try:
        async with admin.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


async def create_empty_database(url: str, name: str) -> str:
    await run_admin(url, f'CREATE DATABASE "{name}"')
    return with_database(url, name)


async def drop_database(url: str, name: str) -> None:
    await run_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def ensure_template(url: str) -> str:
    template = f"bountyexpo_tpl_{migrations_hash()}"
    admin = admin_engine(url)
    try:
        if await database_exists(admin, template):
            return template
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": TEMPLATE_LOCK_ID})
            try:
                if not await database_exists(admin, template):
                    await _build_template(url, template, connection)
            finally:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:id)"), {"id": TEMPLATE_LOCK_ID}
                )
    finally:
        await admin.dispose()
    return template


async def _build_template(url: str, template: str, connection: AsyncConnection) -> None:
    building = f"{template}_building_{uuid.uuid4().hex[:8]}"
    execute = connection.execute
    await execute(text(f'CREATE DATABASE "{building}"'))
    engine = create_async_engine(with_database(url, building), poolclass=NullPool)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
    await execute(text(f'ALTER DATABASE "{building}" RENAME TO "{template}"'))
    await execute(text(f'ALTER DATABASE "{template}" WITH ALLOW_CONNECTIONS false'))


async def create_test_database(url: str) -> tuple[str, str]:
    """Clone the template into a database of this run's own; return (name, url)."""
    template = await ensure_template(url)
    name = f"test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:10]}"
    await run_admin(url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name, with_database(url, name)
