"""The system's own jobs: a no-op to check the pipeline, and the scheduler's heartbeat."""

from __future__ import annotations

import logging
from datetime import timedelta

from services import workers
from workers.registry import JobRun, Registry, ScheduleRun

logger = logging.getLogger(__name__)

jobs = Registry("system")

# A worker not seen for this long is gone for good (killed ones never remove their row).
FORGET_WORKERS_AFTER = timedelta(hours=1)


@jobs.job("system.noop", max_attempts=1)
async def noop(run: JobRun) -> None:
    """Does nothing: enqueue it to check that workers pick jobs up (and for benchmarks)."""


@jobs.schedule("system.heartbeat", "* * * * *")
async def heartbeat(run: ScheduleRun) -> None:
    """Every minute: proves schedules fire (PgQueuer records `last_run`), prunes dead workers."""
    async with run.session_factory() as session, session.begin():
        pruned = await workers.prune_workers(session, silent_for=FORGET_WORKERS_AFTER)
    if pruned:
        logger.info("forgot %d worker(s) silent for over %s", pruned, FORGET_WORKERS_AFTER)
