"""Worker liveness: each worker process refreshes a row; `/health/detailed` reads them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import WorkerHeartbeat


@dataclass(frozen=True)
class WorkerStatus:
    id: uuid.UUID
    hostname: str
    pid: int
    queues: tuple[str, ...]  # empty: every queue
    concurrency: int
    started_at: datetime
    last_seen_at: datetime
    alive: bool


async def beat(
    session_factory: SessionFactory,
    *,
    worker_id: uuid.UUID,
    hostname: str,
    pid: int,
    queues: Sequence[str],
    concurrency: int,
) -> None:
    row = {
        "id": worker_id,
        "hostname": hostname,
        "pid": pid,
        "queues": ",".join(queues),
        "concurrency": concurrency,
    }
    statement = insert(WorkerHeartbeat).values(row)
    statement = statement.on_conflict_do_update(
        index_elements=[col(WorkerHeartbeat.id)], set_={"last_seen_at": func.now()}
    )
    async with session_factory() as session, session.begin():
        await session.execute(statement)


async def forget(session_factory: SessionFactory, worker_id: uuid.UUID) -> None:
    """A worker that stops cleanly removes its row; a killed one goes stale, then is pruned."""
    async with session_factory() as session, session.begin():
        await session.execute(delete(WorkerHeartbeat).where(col(WorkerHeartbeat.id) == worker_id))


async def worker_heartbeats(
    session_factory: SessionFactory, *, stale_after: timedelta = timedelta(seconds=60)
) -> list[WorkerStatus]:
    """Every worker that reported, newest first; `alive` when seen within `stale_after`."""
    async with session_factory() as session:
        now = await session.scalar(select(func.now()))
        rows = (
            await session.scalars(
                select(WorkerHeartbeat).order_by(col(WorkerHeartbeat.last_seen_at).desc())
            )
        ).all()
    assert now is not None
    return [
        WorkerStatus(
            id=row.id,
            hostname=row.hostname,
            pid=row.pid,
            queues=tuple(name for name in row.queues.split(",") if name),
            concurrency=row.concurrency,
            started_at=row.started_at,
            last_seen_at=row.last_seen_at,
            alive=now - row.last_seen_at <= stale_after,
        )
        for row in rows
    ]


async def prune_workers(session: AsyncSession, *, silent_for: timedelta) -> int:
    """Forget workers not seen for `silent_for` (killed ones never remove their row)."""
    result = await session.execute(
        delete(WorkerHeartbeat).where(col(WorkerHeartbeat.last_seen_at) < func.now() - silent_for)
    )
    return int(getattr(result, "rowcount", 0) or 0)
