"""Job entrypoints and cron schedules, declared next to their handlers, one module per domain.

    jobs = Registry("notifications")

    @jobs.job("notifications.send", max_attempts=8)
    async def send(run: JobRun) -> None: ...

    @jobs.schedule("notifications.prune", "0 3 * * *")
    async def prune(run: ScheduleRun) -> None: ...

Handlers must be idempotent: a job runs at least once (again after a crash or a timeout).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from app.broker import Broker, InProcessBroker
from app.db.engine import SessionFactory
from app.settings import Settings, get_settings

NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class JobRun:
    """One run of a job: `attempt` counts from 1 and grows with every retry."""

    id: int
    entrypoint: str
    attempt: int
    payload: dict[str, Any]
    session_factory: SessionFactory
    # The gateway's broker (Redis with REDIS_URL): events published here reach every socket.
    broker: Broker = field(default_factory=InProcessBroker)
    settings: Settings = field(default_factory=get_settings)


@dataclass(frozen=True)
class ScheduleRun:
    name: str
    session_factory: SessionFactory
    broker: Broker = field(default_factory=InProcessBroker)
    settings: Settings = field(default_factory=get_settings)


JobHandler = Callable[[JobRun], Awaitable[None]]
ScheduleHandler = Callable[[ScheduleRun], Awaitable[None]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    handler: JobHandler
    max_attempts: int  # runs in all, the first included; then the job is dead
    retry_delay: timedelta  # before the first retry; doubles each time, with jitter
    max_retry_delay: timedelta
    concurrency_limit: int  # across all workers; 0 is unlimited


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    cron: str  # 5 fields, or 6 with seconds last
    handler: ScheduleHandler


def domain_of(name: str) -> str:
    return name.partition(".")[0]


@dataclass
class Registry:
    domain: str
    jobs: dict[str, JobSpec] = field(default_factory=dict)
    schedules: dict[str, ScheduleSpec] = field(default_factory=dict)

    def _check_name(self, name: str) -> None:
        if not NAME.match(name) or domain_of(name) != self.domain:
            raise ValueError(f"job names are '{self.domain}.<verb>' in snake case, not {name!r}")
        if name in self.jobs or name in self.schedules:
            raise ValueError(f"{name!r} is already registered")

    def job(
        self,
        name: str,
        *,
        max_attempts: int = 5,
        retry_delay: timedelta = timedelta(seconds=2),
        max_retry_delay: timedelta = timedelta(minutes=10),
        concurrency_limit: int = 0,
    ) -> Callable[[JobHandler], JobHandler]:
        self._check_name(name)
        if max_attempts < 1:
            raise ValueError("max_attempts counts runs: at least 1")

        def register(handler: JobHandler) -> JobHandler:
            self.jobs[name] = JobSpec(
                name, handler, max_attempts, retry_delay, max_retry_delay, concurrency_limit
            )
            return handler

        return register

    def schedule(self, name: str, cron: str) -> Callable[[ScheduleHandler], ScheduleHandler]:
        self._check_name(name)  # PgQueuer checks `cron` when a worker registers the schedule

        def register(handler: ScheduleHandler) -> ScheduleHandler:
            self.schedules[name] = ScheduleSpec(name, cron, handler)
            return handler

        return register


@dataclass(frozen=True)
class Selection:
    """What one worker serves: the registries of the queues (domains) it was given."""

    jobs: dict[str, JobSpec]
    schedules: dict[str, ScheduleSpec]

    @classmethod
    def of(cls, registries: Iterable[Registry], queues: Iterable[str] = ()) -> Selection:
        chosen = list(registries)
        wanted = set(queues)
        unknown = wanted - {registry.domain for registry in chosen}
        if unknown:
            raise ValueError(f"no jobs are registered for queue(s) {', '.join(sorted(unknown))}")
        if wanted:
            chosen = [registry for registry in chosen if registry.domain in wanted]
        jobs: dict[str, JobSpec] = {}
        schedules: dict[str, ScheduleSpec] = {}
        for registry in chosen:
            clash = (jobs.keys() | schedules.keys()) & (
                registry.jobs.keys() | registry.schedules.keys()
            )
            if clash:
                raise ValueError(f"registered twice: {', '.join(sorted(clash))}")
            jobs.update(registry.jobs)
            schedules.update(registry.schedules)
        return cls(jobs, schedules)
