"""Worker processes sharing one queue: each job runs once, a killed worker's job is taken over."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import pytest

from app.db.engine import SessionFactory
from services.jobs import enqueue
from services.workers import worker_heartbeats
from tests.workers.conftest import (
    StartWorker,
    queue_is_empty,
    queue_rows,
    runs,
    stop,
    until,
    wait_until_serving,
)

pytestmark = pytest.mark.asyncio


async def test_two_workers_run_500_jobs_each_exactly_once(
    start_worker: StartWorker, session_factory: SessionFactory, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    workers = [start_worker(), start_worker()]
    for worker in workers:
        await wait_until_serving(session_factory, worker)

    async with session_factory() as session, session.begin():
        ids = [
            await enqueue(session, "testing.record", {"log": str(log), "seconds": 0.01})
            for _ in range(500)
        ]

    await until(lambda: len(runs(log)) >= 500, within=120)
    await until(lambda: queue_is_empty(session_factory))
    done = runs(log)
    assert len(done) == 500
    assert Counter(job for _, job, _, _ in done) == Counter(ids)  # none twice, none lost
    assert {attempt for _, _, attempt, _ in done} == {1}
    assert {pid for _, _, _, pid in done} == {worker.pid for worker in workers}
    assert [stop(worker) for worker in workers] == [0, 0]


async def test_a_job_of_a_killed_worker_is_taken_over_by_another(
    start_worker: StartWorker, session_factory: SessionFactory, tmp_path: Path
) -> None:
    log, marker = tmp_path / "runs.log", tmp_path / "first-run-started"
    quick_takeover = {
        "WORKER_HEARTBEAT_TIMEOUT_SECONDS": "1",
        "WORKER_POLL_INTERVAL_SECONDS": "0.5",
    }
    doomed = start_worker(**quick_takeover)
    await wait_until_serving(session_factory, doomed)
    async with session_factory() as session, session.begin():
        job = await enqueue(session, "testing.hang_once", {"log": str(log), "marker": str(marker)})

    await until(lambda: runs(log) == [("start", job, 1, doomed.pid)])
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    assert await queue_rows(session_factory) == [(job, "testing.hang_once", "picked", 0)]

    rescuer = start_worker(**quick_takeover)
    await until(lambda: any(event == "done" for event, *_ in runs(log)))
    assert runs(log)[1:] == [("start", job, 1, rescuer.pid), ("done", job, 1, rescuer.pid)]
    await until(lambda: queue_is_empty(session_factory))
    assert stop(rescuer) == 0
    # A killed worker never removes its heartbeat row; one that stops cleanly does.
    assert [worker.pid for worker in await worker_heartbeats(session_factory)] == [doomed.pid]
