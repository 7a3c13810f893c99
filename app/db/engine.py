"""The async engine and session factories, configured from Settings."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.settings import Settings

SessionFactory = async_sessionmaker[AsyncSession]
_IDLE_SINCE = "bountyexpo_idle_since"


def create_engine(settings: Settings, url: str) -> AsyncEngine:
    engine = create_async_engine(
        url,
        # No ping per checkout (a round trip on every request's every session): connections
        # that sat idle are pinged instead (`ping_idle_connections`), and a connection that
        # fails mid-use is recognised as a disconnect, which invalidates the whole pool.
        pool_pre_ping=False,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            # asyncpg waits 60 s by default: a dead database must fail a request fast.
            "timeout": settings.db_connect_timeout_seconds,
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "bountyexpo",
                # Plan every execution with its values: after five runs a prepared statement may
                # switch to a generic plan, which for the bounty list (a status, a small LIMIT)
                # sorted every matching row: 0.5 ms became 90 ms on 100k bounties.
                "plan_cache_mode": "force_custom_plan",
            },
        },
    )
    ping_idle_connections(engine, settings.db_ping_idle_seconds)
    return engine


def ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a connection at checkout only when it sat in the pool longer than `idle_seconds`.

    A busy gateway reuses connections within milliseconds and pays no ping; after a quiet spell
    (when a PostgreSQL restart or a proxy's idle timeout has most likely cut connections) the
    first checkout finds out, and the pool replaces the connection before any statement runs.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            # The pool discards this connection and checks out (or opens) another one.
            raise exc.DisconnectionError(str(error)) from error


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    # Objects stay readable after commit: resolvers read them once the unit of work is over.
    return async_sessionmaker(engine, expire_on_commit=False)


def create_read_session_factory(sessions: SessionFactory) -> SessionFactory:
    """Sessions for reads that write nothing: autocommit, so no BEGIN and no ROLLBACK round
    trip around their statements (each statement sees its own snapshot). Same pool."""
    engine = sessions.kw["bind"]
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
