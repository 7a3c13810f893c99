"""A worker: PgQueuer's queue and schedule managers over our registry, with graceful shutdown.

`bountyexpo worker` runs one per process (production: as many processes and machines as load
needs); in development the gateway runs one inside its own process (`embedded_worker`).

Stopping (SIGTERM): claim nothing more, let running jobs finish for
WORKER_SHUTDOWN_TIMEOUT_SECONDS, then release the rest back to the queue. A worker that dies
without stopping leaves its jobs `picked`; their heartbeat goes stale and another worker takes
them over after WORKER_HEARTBEAT_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta

import asyncpg
from opentelemetry.trace import Tracer
from pgqueuer import PgQueuer
from pgqueuer.domain.models import Schedule
from sqlalchemy import make_url

from app.broker import Broker
from app.db.engine import SessionFactory
from app.monitoring.metrics import JOBS_OLDEST_AGE, JOBS_QUEUE_DEPTH
from app.settings import Settings
from services import jobs, workers
from workers.executor import JobExecutor, Shutdown
from workers.registry import ScheduleRun, ScheduleSpec, Selection

logger = logging.getLogger(__name__)

# After the shutdown timeout, how long released jobs get to record their release.
RELEASE_TIMEOUT_SECONDS = 5.0
# After a retry's delay, time for PgQueuer to have written it before workers are woken for it.
WAKE_MARGIN_SECONDS = 0.1


class Worker:
    def __init__(
        self,
        settings: Settings,
        selection: Selection,
        *,
        pool: asyncpg.Pool,
        session_factory: SessionFactory,
        broker: Broker,
        tracer: Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.selection = selection
        self.session_factory = session_factory
        self.id = uuid.uuid4()
        self.shutdown = Shutdown()
        self.stopping = asyncio.Event()
        self.wake_ups: set[asyncio.Task[None]] = set()
        self.pgq = PgQueuer.from_asyncpg_pool(pool)
        for spec in selection.jobs.values():
            executor = JobExecutor(
                spec,
                session_factory=session_factory,
                shutdown=self.shutdown,
                on_retry=self._wake_after,
                broker=broker,
                settings=settings,
                tracer=tracer,
            )
            self.pgq.qm.register_executor(spec.name, executor)
        for schedule in selection.schedules.values():
            self.pgq.schedule(schedule.name, schedule.cron, accepts_context=False)(
                self._schedule_handler(schedule)
            )

    def _schedule_handler(self, spec: ScheduleSpec) -> Callable[[Schedule], Awaitable[None]]:
        async def run(schedule: Schedule) -> None:
            await spec.handler(
                ScheduleRun(spec.name, self.session_factory, self.broker, self.settings)
            )

        return run

    def _wake_after(self, delay: timedelta) -> None:
        """Wake the queue once a retry is due: PgQueuer's retry UPDATE announces nothing."""
        task = asyncio.create_task(self._wake(delay.total_seconds() + WAKE_MARGIN_SECONDS))
        self.wake_ups.add(task)
        task.add_done_callback(self.wake_ups.discard)

    async def _wake(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        try:
            await jobs.wake_workers(self.pgq.connection)
        except Exception:  # polling finds the job anyway
            logger.warning("could not wake workers for a retry", exc_info=True)

    def stop(self) -> None:
        """Begin a graceful stop (safe to call from a signal handler on the loop)."""
        self.stopping.set()

    async def run(self) -> bool:
        """Serve until stopped; False if running jobs outlived the shutdown and release timeouts."""
        concurrency = self.settings.worker_concurrency
        await self._beat()
        logger.info(
            "worker %s serving %s (concurrency %d)",
            self.id,
            ", ".join(sorted(self.selection.jobs)) or "no jobs",
            concurrency,
        )
        heartbeat_timeout = timedelta(seconds=self.settings.worker_heartbeat_timeout_seconds)
        serving = asyncio.create_task(
            self.pgq.run(
                batch_size=max(1, concurrency // 2),
                max_concurrent_tasks=concurrency,
                heartbeat_timeout=heartbeat_timeout,
                # NOTIFY wakes workers, but nothing announces a stale job (a dead worker's):
                # polling finds those within heartbeat timeout + poll interval.
                dequeue_timeout=timedelta(seconds=self.settings.worker_poll_interval_seconds),
            )
        )
        keep_alive = asyncio.create_task(self._keep_alive())
        stop_requested = asyncio.create_task(self.stopping.wait())
        try:
            await asyncio.wait({serving, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
            return await self._drain(serving)
        finally:
            for task in (keep_alive, stop_requested, *self.wake_ups):
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            with suppress(Exception):
                await workers.forget(self.session_factory, self.id)

    async def _drain(self, serving: asyncio.Task[None]) -> bool:
        self.pgq.shutdown.set()  # stop claiming; PgQueuer then waits for running jobs
        timeout = self.settings.worker_shutdown_timeout_seconds
        done, _ = await asyncio.wait({serving}, timeout=timeout)
        if not done:
            running = list(self.pgq.qm.job_context.values())
            logger.warning("%d job(s) still running after %.0f s: releasing", len(running), timeout)
            self.shutdown.releasing = True
            for context in running:
                context.cancellation.cancel()
            done, _ = await asyncio.wait({serving}, timeout=RELEASE_TIMEOUT_SECONDS)
        if not done:
            # Cancelling now would record the jobs as cancelled (deleted): leave them picked,
            # to be taken over once their heartbeat is stale.
            logger.error("jobs ignored cancellation; leaving them to another worker")
            return False
        serving.result()  # a crash of PgQueuer's managers surfaces here
        return True

    async def _beat(self) -> None:
        await workers.beat(
            self.session_factory,
            worker_id=self.id,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            queues=self.settings.worker_queues,
            concurrency=self.settings.worker_concurrency,
        )

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.settings.worker_heartbeat_interval_seconds)
            try:
                await self._beat()
                await sample_queue_metrics(self.session_factory)
            except Exception:
                logger.exception("worker heartbeat failed")


async def sample_queue_metrics(session_factory: SessionFactory) -> None:
    stats = await jobs.queue_stats(session_factory)
    JOBS_QUEUE_DEPTH.clear()
    JOBS_OLDEST_AGE.clear()
    for stat in stats:
        JOBS_QUEUE_DEPTH.labels(stat.entrypoint, stat.status).set(stat.jobs)
        if stat.status == "queued":
            JOBS_OLDEST_AGE.labels(stat.entrypoint).set(stat.oldest_age_seconds)


@asynccontextmanager
async def connection_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """PgQueuer's own connections: one holds LISTEN, the others dequeue and log."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(
        dsn, min_size=2, max_size=4, server_settings={"application_name": "bountyexpo-worker"}
    )
    try:
        yield pool
    finally:
        try:
            await asyncio.wait_for(pool.close(), timeout=RELEASE_TIMEOUT_SECONDS)
        except TimeoutError:
            pool.terminate()
