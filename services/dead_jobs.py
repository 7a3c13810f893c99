"""Dead letters: jobs that failed their last allowed attempt, listed and requeued by admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pgqueuer import JobId
from sqlalchemy import text

from app.db.engine import SessionFactory
from services.errors import InvalidInput, NotAllowed, NotFound
from services.jobs import queries_for, wake_workers
from services.pagination import Page, decode_cursor, encode_cursor, page_size
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

DEAD = "failed"  # PgQueuer's status for a job held after its last failed attempt


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


async def requeue_dead_job(work: UnitOfWork, viewer: Viewer, *, job_id: int) -> DeadJob:
    """Queue a dead job again, attempts reset; refused for any job that is not dead."""
    _require_admin(viewer)
    row = (
        await work.session.execute(
            text(_DEAD_JOB_COLUMNS + " AND job.id = :id FOR UPDATE OF job"), {"id": job_id}
        )
    ).one_or_none()
    if row is None:
        raise NotFound("no dead job has this id", field="id")
    queries = await queries_for(work.session)
    await queries.requeue_jobs([JobId(job_id)])
    await wake_workers(queries.driver)
    return _dead_job(row)
