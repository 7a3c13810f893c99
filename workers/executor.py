"""How one job runs: our handler signature, retries with backoff and jitter, metrics, release.

Built on PgQueuer's DatabaseRetryEntrypointExecutor: a failed run is queued again in the database
(`RetryRequested`) until the attempt limit, then held with status `failed` (our dead letters).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import orjson
from opentelemetry.trace import SpanKind, Tracer
from pgqueuer import DatabaseRetryEntrypointExecutor, Job, RetryRequested
from pgqueuer.core.executors import Entrypoint, EntrypointExecutorParameters
from pgqueuer.domain.models import Context

from app.broker import Broker
from app.db.engine import SessionFactory
from app.monitoring.metrics import JOBS_DURATION, JOBS_FAILED, JOBS_PROCESSED, JOBS_RETRIED
from app.monitoring.tracing import link_to
from app.settings import Settings
from workers.registry import JobRun, JobSpec

logger = logging.getLogger(__name__)
COUNTERS = {"done": JOBS_PROCESSED, "retry": JOBS_RETRIED, "dead": JOBS_FAILED}


@dataclass
class Shutdown:
    """Set when a stopping worker gives up waiting: running jobs are then released."""

    releasing: bool = False


RetryHook = Callable[[timedelta], None]


def backoff(spec: JobSpec, retries_so_far: int) -> timedelta:
    """Exponential, capped, with equal jitter: half the delay fixed, half random.

    Jitter spreads the retries of jobs that failed together (an outage) over time.
    """
    full = min(spec.retry_delay * (1 << min(retries_so_far, 30)), spec.max_retry_delay)
    return full / 2 + full / 2 * random.random()  # noqa: S311  (not security)


class JobExecutor(DatabaseRetryEntrypointExecutor):
    def __init__(
        self,
        spec: JobSpec,
        *,
        session_factory: SessionFactory,
        shutdown: Shutdown,
        on_retry: RetryHook,
        broker: Broker,
        settings: Settings,
        tracer: Tracer | None = None,
    ) -> None:
        super().__init__(
            parameters=EntrypointExecutorParameters(
                concurrency_limit=spec.concurrency_limit,
                # Never called: `execute` below runs the handler with our own signature.
                func=cast(Entrypoint, spec.handler),
                accepts_context=True,
                on_failure="hold",  # keep the dead job (status `failed`) for requeue
            ),
            # PgQueuer counts retries: max_attempts=N allows N+1 runs.
            max_attempts=spec.max_attempts - 1,
            initial_delay=spec.retry_delay,
            max_delay=spec.max_retry_delay,
        )
        self.spec = spec
        self.session_factory = session_factory
        self.shutdown = shutdown
        self.on_retry = on_retry  # told each retry's delay: the worker wakes the queue then
        self.broker = broker
        self.settings = settings
        self.tracer = tracer

    async def execute(self, job: Job, context: Context) -> None:
        if self.tracer is None:
            await self._execute(job, context)
            return
        # A span of its own (a new trace), linked to the request that enqueued the job: the job
        # may run long after that request's trace ended, or many times over.
        carrier = {key: str(value) for key, value in (job.otel_headers() or {}).items()}
        with self.tracer.start_as_current_span(
            f"job {job.entrypoint}",
            kind=SpanKind.CONSUMER,
            links=link_to(carrier),
            attributes={
                "bountyexpo.job.id": int(job.id),
                "bountyexpo.job.entrypoint": job.entrypoint,
                "bountyexpo.job.attempt": job.attempts + 1,
            },
        ):
            await self._execute(job, context)

    async def _execute(self, job: Job, context: Context) -> None:
        run = JobRun(
            id=int(job.id),
            entrypoint=job.entrypoint,
            attempt=job.attempts + 1,
            payload=orjson.loads(job.payload) if job.payload else {},
            session_factory=self.session_factory,
            broker=self.broker,
            settings=self.settings,
        )
        started = time.perf_counter()
        try:
            # PgQueuer cancels this scope when the job is cancelled, and so do we on release.
            with context.cancellation as scope:
                await self.spec.handler(run)
        except RetryRequested as retry:  # the handler asked for it: PgQueuer retries, no limit
            self._observe(started, "retry")
            self.on_retry(retry.delay)
            raise
        except Exception as error:
            if job.attempts >= self.max_attempts:
                self._observe(started, "dead")
                logger.error(
                    "job %s %d is dead after %d run(s)", run.entrypoint, run.id, run.attempt
                )
                raise
            self._observe(started, "retry")
            delay = backoff(self.spec, job.attempts)
            self.on_retry(delay)
            raise RetryRequested(delay=delay, reason=f"{type(error).__name__}: {error}") from error
        if scope.cancelled_caught and self.shutdown.releasing:
            # Back to the queue for another worker; the interrupted run counts as an attempt.
            self._observe(started, "released")
            self.on_retry(timedelta(0))
            raise RetryRequested(delay=timedelta(0), reason="released: worker shutting down")
        self._observe(started, "canceled" if scope.cancelled_caught else "done")

    def _observe(self, started: float, status: str) -> None:
        JOBS_DURATION.labels(self.spec.name, status).observe(time.perf_counter() - started)
        counter = COUNTERS.get(status)
        if counter is not None:
            counter.labels(self.spec.name).inc()
