"""Background jobs in PgQueuer's tables: transactional enqueue, waking workers, queue statistics.

Jobs are written on the caller's connection inside its transaction (the transactional outbox):
a job exists exactly when the change that caused it commits. Dead letters, as admins see them,
are in services/dead_jobs.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

import orjson
from opentelemetry import propagate
from pgqueuer import AsyncpgDriver, Queries
from pgqueuer.domain.models import TableChangedEvent, utc_now
from pgqueuer.domain.settings import db_settings
from pgqueuer.ports.driver import Driver
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionFactory


async def queries_for(session: AsyncSession) -> Queries:
    """PgQueuer's queries on the session's own connection, inside its transaction."""
    connection = await session.connection()
    driver_connection = (await connection.get_raw_connection()).driver_connection
    assert driver_connection is not None
    if not driver_connection.is_in_transaction():
        # SQLAlchemy sends BEGIN with the first statement, not on begin(): without one the job
        # would be autocommitted and outlive a rollback.
        await connection.exec_driver_sql("SELECT 1")
    return Queries(AsyncpgDriver(driver_connection))


async def wake_workers(driver: Driver) -> None:
    """NOTIFY workers to look for due jobs (in a transaction: at its commit).

    PgQueuer's trigger announces inserts only (it is a statement trigger, so an UPDATE's OLD and
    NEW are null), so nothing announces a job made runnable by an update: a requeue, or a retry
    whose backoff has passed. Without this, workers find those only when they next poll.
    """
    channel = db_settings().channel
    event = TableChangedEvent(
        channel=channel,
        sent_at=utc_now(),
        type="table_changed_event",
        operation="update",
        table=db_settings().queue_table,
    )
    await driver.notify(channel, event.model_dump_json())


def trace_headers() -> dict[str, str] | None:
    """The enqueuing request's W3C trace context, in PgQueuer's header layout (`otel`), so the
    job's span can link back to the request that caused it."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    # PgQueuer stores headers as JSON and reads `otel` back as a nested object.
    return cast(dict[str, str], {"otel": carrier}) if carrier else None


async def enqueue(
    session: AsyncSession,
    entrypoint: str,
    payload: Mapping[str, Any] | None = None,
    *,
    priority: int = 0,
    delay: timedelta | None = None,
    dedupe_key: str | None = None,
) -> int | None:
    """Queue a job in the session's transaction; its id, or None if `dedupe_key` is waiting.

    A duplicate key is skipped in SQL: raising it would abort the transaction behind
    SQLAlchemy's back and the commit would silently lose the business rows.
    """
    queries = await queries_for(session)
    body = orjson.dumps(dict(payload or {}))
    [job_id] = await queries.enqueue(
        entrypoint, body, priority, delay, dedupe_key, trace_headers(), on_conflict="skip"
    )
    return None if job_id is None else int(job_id)


@dataclass(frozen=True)
class QueueStat:
    entrypoint: str
    status: str  # queued, picked or failed
    jobs: int
    oldest_age_seconds: float  # of jobs due to run (queued, execute_after passed); else 0


async def queue_stats(session_factory: SessionFactory) -> list[QueueStat]:
    async with session_factory() as session:
        rows = await session.execute(
            text(
                """
                SELECT entrypoint, status::text AS status, count(*) AS jobs,
                       COALESCE(EXTRACT(EPOCH FROM now() - min(execute_after) FILTER (
                           WHERE status = 'queued' AND execute_after <= now())), 0) AS oldest
                FROM pgqueuer GROUP BY entrypoint, status ORDER BY entrypoint, status
                """
            )
        )
        return [QueueStat(row.entrypoint, row.status, row.jobs, float(row.oldest)) for row in rows]
