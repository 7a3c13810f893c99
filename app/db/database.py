"""Where the database is (configured URL or the embedded server) and an engine over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.embedded import start_embedded_postgres
from app.db.engine import SessionFactory, create_engine, create_session_factory
from app.settings import Settings, SettingsError


@dataclass(frozen=True)
class Database:
    url: str
    engine: AsyncEngine
    session_factory: SessionFactory


def asyncpg_url(url: str) -> str:
    """Accept the URL forms operators paste (postgres://, postgresql://) and pin the driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return asyncpg_url(settings.database_url)
    if settings.is_production:
        raise SettingsError("DATABASE_URL must be set in production")
    return start_embedded_postgres(settings.embedded_pg_dir)


@asynccontextmanager
async def open_database(settings: Settings, url: str | None = None) -> AsyncIterator[Database]:
    engine = create_engine(settings, url or resolve_database_url(settings))
    try:
        yield Database(
            url=engine.url.render_as_string(hide_password=False),
            engine=engine,
            session_factory=create_session_factory(engine),
        )
    finally:
        await engine.dispose()
