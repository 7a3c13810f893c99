"""SIGTERM: claim nothing more, finish running jobs, release those that outlive the timeout."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from app.db.engine import SessionFactory
from services.jobs import enqueue
from tests.workers.conftest import StartWorker, queue_is_empty, queue_rows, runs, until

pytestmark = pytest.mark.asyncio


async def picked(session_factory: SessionFactory, job: int | None) -> bool:
    return any(row[0] == job and row[2] == "picked" for row in await queue_rows(session_factory))


async def test_a_stopping_worker_finishes_its_job_and_claims_no_more(
    start_worker: StartWorker, session_factory: SessionFactory, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    worker = start_worker()
    async with session_factory() as session, session.begin():
        running = await enqueue(session, "testing.record", {"log": str(log), "seconds": 3})
    await until(lambda: picked(session_factory, running))

    worker.send_signal(signal.SIGTERM)
    await asyncio.sleep(0.5)
    async with session_factory() as session, session.begin():
        late = await enqueue(session, "testing.record", {"log": str(log)})

    assert await asyncio.to_thread(worker.wait, 30) == 0
    assert [(event, job) for event, job, _, _ in runs(log)] == [("run", running)]
    assert await queue_rows(session_factory) == [(late, "testing.record", "queued", 0)]


async def test_jobs_outliving_the_shutdown_timeout_are_released_for_another_worker(
    start_worker: StartWorker, session_factory: SessionFactory, tmp_path: Path
) -> None:
    log, marker = tmp_path / "runs.log", tmp_path / "first-run-started"
    impatient = start_worker(WORKER_SHUTDOWN_TIMEOUT_SECONDS="0.5")
    async with session_factory() as session, session.begin():
        job = await enqueue(session, "testing.hang_once", {"log": str(log), "marker": str(marker)})
    await until(lambda: runs(log) == [("start", job, 1, impatient.pid)])

    impatient.send_signal(signal.SIGTERM)

    assert await asyncio.to_thread(impatient.wait, 30) == 0
    # Queued again at once; the interrupted run counts as an attempt.
    assert await queue_rows(session_factory) == [(job, "testing.hang_once", "queued", 1)]
    successor = start_worker()
    await until(lambda: queue_is_empty(session_factory))
    assert runs(log)[1:] == [("start", job, 2, successor.pid), ("done", job, 2, successor.pid)]
