"""Where workers run: a process of their own (`bountyexpo worker`), or inside the gateway."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry.trace import Tracer
from prometheus_client import start_http_server

from app.broker import Broker, create_broker
from app.db.database import Database, open_database, resolve_database_url
from app.db.migrate import upgrade_to_head
from app.monitoring.tracing import Tracing
from app.settings import Environment, Settings
from workers import load_selection
from workers.registry import Selection
from workers.runner import Worker, connection_pool

logger = logging.getLogger(__name__)


def run_worker_process(settings: Settings) -> int:
    """Serve jobs until SIGTERM or SIGINT; the process's exit status."""
    selection = load_selection(settings.worker_queues, settings.worker_modules)
    url = resolve_database_url(settings)
    if settings.worker_metrics_port is not None:
        start_http_server(settings.worker_metrics_port, addr=settings.host)
    return asyncio.run(_serve(settings, selection, url))


async def _serve(settings: Settings, selection: Selection, url: str) -> int:
    async with open_database(settings, url) as database:
        if settings.environment is Environment.DEVELOPMENT:
            await upgrade_to_head(database.engine)
        tracing = Tracing(settings) if settings.tracing_enabled else None
        # The gateway's broker: expiries, payments and notifications reach subscribers live.
        broker = create_broker(settings)
        async with connection_pool(database.url) as pool:
            worker = Worker(
                settings,
                selection,
                pool=pool,
                session_factory=database.session_factory,
                broker=broker,
                tracer=tracing.tracer if tracing is not None else None,
            )
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, worker.stop)
            if not await worker.run():
                # Leaving now keeps the unfinished jobs `picked` for another worker to take over;
                # the event loop's own teardown would cancel them (PgQueuer then deletes them).
                logging.shutdown()
                os._exit(1)
        await broker.close()
    if tracing is not None:
        tracing.shutdown()  # flushes spans still batched for the OTLP exporter
    logger.info("worker stopped")
    return 0


@asynccontextmanager
async def embedded_worker(
    settings: Settings, database: Database, broker: Broker, tracer: Tracer | None = None
) -> AsyncIterator[Worker | None]:
    """One worker inside the gateway when WORKER_EMBEDDED is on (by default, in development)."""
    if not settings.embedded_worker_enabled:
        yield None
        return
    selection = load_selection(settings.worker_queues, settings.worker_modules)
    async with connection_pool(database.url) as pool:
        worker = Worker(
            settings,
            selection,
            pool=pool,
            session_factory=database.session_factory,
            broker=broker,
            tracer=tracer,
        )
        task = asyncio.create_task(worker.run())
        task.add_done_callback(_report_failure)
        try:
            yield worker
        finally:
            worker.stop()
            await asyncio.wait({task})


def _report_failure(task: asyncio.Task[bool]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("embedded worker stopped on an error", exc_info=task.exception())
