"""Events whose publish failed after commit, published again through the broker until it works."""

from __future__ import annotations

from datetime import timedelta

from services.unit_of_work import PUBLISH_JOB
from workers.registry import JobRun, Registry

jobs = Registry("realtime")


@jobs.job(PUBLISH_JOB, max_attempts=10, retry_delay=timedelta(seconds=1))
async def publish(run: JobRun) -> None:
    await run.broker.publish(run.payload["topic"], run.payload["event"])
