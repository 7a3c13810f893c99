"""Test-only jobs, served by worker processes started with WORKER_MODULES=tests.workers.entrypoints.

Each run appends `<event> <job id> <attempt> <pid>` to the file named in its payload's `log`, so a
test sees exactly which process ran which job, how many times.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

from workers.registry import JobRun, Registry

jobs = Registry("testing")
QUICK_RETRY = timedelta(milliseconds=50)


def record(run: JobRun, event: str = "run") -> None:
    with Path(run.payload["log"]).open("a") as log:
        log.write(f"{event} {run.id} {run.attempt} {os.getpid()}\n")


def exists(path: str) -> bool:
    return Path(path).exists()


def first_time(marker: str) -> bool:
    """True for the first caller only (across processes): it creates `marker`."""
    try:
        Path(marker).touch(exist_ok=False)
    except FileExistsError:
        return False
    return True


@jobs.job("testing.record", max_attempts=1)
async def record_run(run: JobRun) -> None:
    await asyncio.sleep(run.payload.get("seconds", 0))
    record(run)


@jobs.job("testing.flaky", max_attempts=3, retry_delay=QUICK_RETRY)
async def flaky(run: JobRun) -> None:
    """Fails its first `failures` runs."""
    record(run)
    if run.attempt <= run.payload["failures"]:
        raise RuntimeError(f"failure {run.attempt}")


@jobs.job("testing.fail_until_fixed", max_attempts=3, retry_delay=QUICK_RETRY)
async def fail_until_fixed(run: JobRun) -> None:
    """Fails until the file named `fixed` exists."""
    record(run)
    if not exists(run.payload["fixed"]):
        raise RuntimeError("not fixed yet")


@jobs.job("testing.hang_once", max_attempts=3)
async def hang_once(run: JobRun) -> None:
    """The first run (whichever process) hangs until killed or released; later runs finish."""
    record(run, "start")
    if first_time(run.payload["marker"]):
        await asyncio.sleep(600)
    record(run, "done")


@jobs.job("testing.expire", max_attempts=1)
async def expire(run: JobRun) -> None:
    """The `bounties.expire` schedule, run now (its cron waits for the next minute)."""
    from workers.bounties import expire as expire_due
    from workers.registry import ScheduleRun

    await expire_due(ScheduleRun("bounties.expire", run.session_factory, run.broker, run.settings))
