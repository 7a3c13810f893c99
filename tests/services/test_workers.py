"""Worker heartbeats: what `/health/detailed` will read."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from app.db.engine import SessionFactory
from services.workers import beat, forget, prune_workers, worker_heartbeats
from workers.registry import ScheduleRun
from workers.system import heartbeat

pytestmark = pytest.mark.asyncio


async def report(session_factory: SessionFactory, *, pid: int) -> uuid.UUID:
    worker_id = uuid.uuid4()
    await beat(
        session_factory,
        worker_id=worker_id,
        hostname="box",
        pid=pid,
        queues=("system", "payments"),
        concurrency=8,
    )
    return worker_id


async def silence(session_factory: SessionFactory, worker_id: uuid.UUID, seconds: int) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(
            text(
                "UPDATE worker_heartbeats SET last_seen_at = now() - make_interval(secs => :s)"
                " WHERE id = :id"
            ),
            {"s": seconds, "id": worker_id},
        )


async def test_workers_report_and_go_stale_when_silent(session_factory: SessionFactory) -> None:
    quiet = await report(session_factory, pid=101)
    lively = await report(session_factory, pid=102)
    await silence(session_factory, quiet, 120)
    await beat(session_factory, worker_id=lively, hostname="box", pid=102, queues=(), concurrency=8)

    statuses = await worker_heartbeats(session_factory, stale_after=timedelta(seconds=60))

    assert [(s.id, s.pid, s.alive) for s in statuses] == [(lively, 102, True), (quiet, 101, False)]
    assert statuses[1].queues == ("system", "payments")
    assert statuses[1].concurrency == 8
    assert statuses[0].last_seen_at > statuses[0].started_at  # a beat refreshes, keeps the start


async def test_a_stopped_worker_is_forgotten(session_factory: SessionFactory) -> None:
    stopped = await report(session_factory, pid=101)
    running = await report(session_factory, pid=102)

    await forget(session_factory, stopped)

    assert [s.id for s in await worker_heartbeats(session_factory)] == [running]


async def test_the_heartbeat_schedule_prunes_workers_silent_for_an_hour(
    session_factory: SessionFactory,
) -> None:
    gone = await report(session_factory, pid=101)
    quiet = await report(session_factory, pid=102)
    await silence(session_factory, gone, 3601)
    await silence(session_factory, quiet, 3500)

    await heartbeat(ScheduleRun("system.heartbeat", session_factory))

    assert [s.id for s in await worker_heartbeats(session_factory)] == [quiet]
    async with session_factory() as session, session.begin():
        assert await prune_workers(session, silent_for=timedelta(minutes=1)) == 1
