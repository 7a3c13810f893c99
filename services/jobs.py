"""Background jobs in PgQueuer's tables: transactional enqueue, dead letters, queue statistics.

Jobs are written on the caller's connection inside its transaction (the transactional outbox):
a job exists exactly when the change that caused it commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from opentelemetry import propagate
from pgqueuer import AsyncpgDriver, JobId, Queries
from pgqueuer.domain.models import TableChangedEvent, utc_now
from pgqueuer.domain.settings import db_settings
from pgqueuer.ports.driver import Driver
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionFactory
from services.errors import InvalidInput, NotAllowed, NotFound
from services.pagination import Page, decode_cursor, encode_cursor, page_size
from services.viewer import Viewer

DEAD = "failed"  # PgQueuer's status for a job held after its last failed attempt


async def _queries(session: AsyncSession) -> Queries:
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
    queries = await _queries(session)
    body = orjson.dumps(dict(payload or {}))
    [job_id] = await queries.enqueue(
        entrypoint, body, priority, delay, dedupe_key, trace_headers(), on_conflict="skip"
    )
    return None if job_id is None else int(job_id)


@dataclass(frozen=True)
class DeadJob:
    id: int
    entrypoint: str
    runs: int
    payload: dict[str, Any]
    created_at: datetime
    failed_at: datetime
    error: str | None


_DEAD_JOB_COLUMNS = """
    SELECT job.id, job.entrypoint, job.attempts, job.payload, job.created, job.updated,
           failure.traceback ->> 'exception_type' AS error_type,
           failure.traceback ->> 'exception_message' AS error_message
    FROM pgqueuer AS job
    LEFT JOIN LATERAL (
        SELECT traceback FROM pgqueuer_log
        WHERE job_id = job.id AND status = 'failed' ORDER BY created DESC LIMIT 1
    ) AS failure ON true
    WHERE job.status = 'failed'
"""


def _dead_job(row: Any) -> DeadJob:
    error = f"{row.error_type}: {row.error_message}" if row.error_type else None
    return DeadJob(
        id=row.id,
        entrypoint=row.entrypoint,
        runs=row.attempts + 1,  # `attempts` counts retries
        payload=orjson.loads(row.payload) if row.payload else {},
        created_at=row.created,
        failed_at=row.updated,
        error=error,
    )


def _require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise NotAllowed("only admins manage background jobs")


async def dead_jobs(
    session_factory: SessionFactory, viewer: Viewer, *, first: int | None, after: str | None
) -> Page[DeadJob]:
    """Jobs that failed their last allowed attempt, oldest first."""
    _require_admin(viewer)
    size = page_size(first)
    after_id = 0
    if after is not None:
        key = decode_cursor(after)
        if len(key) != 1 or not isinstance(key[0], int):
            raise InvalidInput("not a cursor this API issued", field="after")
        after_id = key[0]
    async with session_factory() as session:
        rows = await session.execute(
            text(_DEAD_JOB_COLUMNS + " AND job.id > :after ORDER BY job.id LIMIT :limit"),
            {"after": after_id, "limit": size + 1},
        )
        total = await session.scalar(text("SELECT count(*) FROM pgqueuer WHERE status = 'failed'"))
    return Page.from_rows(
        [_dead_job(row) for row in rows],
        size,
        lambda job: encode_cursor([job.id]),
        after=after,
        total=total,
    )


async def requeue_dead_job(session: AsyncSession, viewer: Viewer, *, job_id: int) -> DeadJob:
    """Queue a dead job again, attempts reset; refused for any job that is not dead."""
    _require_admin(viewer)
    row = (
        await session.execute(
            text(_DEAD_JOB_COLUMNS + " AND job.id = :id FOR UPDATE OF job"), {"id": job_id}
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no dead job has this id", field="id")
    queries = await _queries(session)
    await queries.requeue_jobs([JobId(job_id)])
    await wake_workers(queries.driver)
    return _dead_job(row)


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
