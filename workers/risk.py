"""Risk re-assessment: users whose signals changed, every 15 minutes; every active user nightly."""

from __future__ import annotations

import logging
from datetime import timedelta

from app.db.models.base import utcnow
from services import system_settings
from services.risk import assessments
from workers.registry import Registry, ScheduleRun

logger = logging.getLogger(__name__)

jobs = Registry("risk")
LOOKBACK = timedelta(minutes=20)  # overlaps the 15-minute period: nothing falls between runs


@jobs.schedule("risk.reassess_changed", "*/15 * * * *")
async def reassess_changed(run: ScheduleRun) -> None:
    if not await system_settings.value_of(run.session_factory, "risk.auto_reassess_enabled"):
        return
    count = await assessments.reassess_changed(run.session_factory, since=utcnow() - LOOKBACK)
    logger.info("re-assessed %d user(s) with changed signals", count)


@jobs.schedule("risk.reassess_nightly", "30 2 * * *")
async def reassess_nightly(run: ScheduleRun) -> None:
    if not await system_settings.value_of(run.session_factory, "risk.auto_reassess_enabled"):
        return
    count = await assessments.reassess_active(run.session_factory)
    logger.info("nightly: re-assessed %d active user(s)", count)
