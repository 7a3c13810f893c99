"""Analytics rollups: the last hour every hour, the last day every night, any window on demand."""

from __future__ import annotations

import logging
from datetime import datetime

from app.db.models import Granularity
from app.db.models.base import utcnow
from services.analytics import rollups
from workers.registry import JobRun, Registry, ScheduleRun

logger = logging.getLogger(__name__)

jobs = Registry("analytics")


@jobs.schedule("analytics.rollup_hourly", "5 * * * *")
async def rollup_hourly(run: ScheduleRun) -> None:
    """Five past each hour: the hour before (and the one before it, for events that were
    still in flight when that one last ran)."""
    now = utcnow()
    last = rollups.previous_bucket(now, Granularity.HOUR)
    changed = await rollups.rollup_window(
        run.session_factory, Granularity.HOUR, last - rollups.STEP[Granularity.HOUR], now
    )
    logger.info("hourly rollup up to %s: %d row(s) changed", last.isoformat(), changed)


@jobs.schedule("analytics.rollup_daily", "15 0 * * *")
async def rollup_daily(run: ScheduleRun) -> None:
    """At 00:15 UTC: yesterday (DAU, WAU, MAU and every daily count)."""
    day = rollups.previous_bucket(utcnow(), Granularity.DAY)
    changed = await rollups.rollup(run.session_factory, Granularity.DAY, day)
    logger.info("daily rollup of %s: %d row(s) changed", day.date().isoformat(), changed)


@jobs.job("analytics.rollup", max_attempts=3)
async def rollup_window(run: JobRun) -> None:
    """Re-run a past window: payload {"granularity": "HOUR"|"DAY", "from": iso, "to": iso}."""
    granularity = Granularity(run.payload["granularity"])
    since = datetime.fromisoformat(run.payload["from"])
    until = datetime.fromisoformat(run.payload["to"])
    changed = await rollups.rollup_window(run.session_factory, granularity, since, until)
    logger.info("rollup %s %s..%s: %d row(s) changed", granularity, since, until, changed)
