"""What monitoring holds per app: tracing, the snapshot recorder, alerts and health checks.

`create_app` builds it, the lifespan starts and stops it. Other work plugs in here: the jobs
worker adds a health check with `add_health_check("workers", check, required=False)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from opentelemetry.trace import Tracer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from app.monitoring.alerts import AlertEvent, Evaluator, load_rules
from app.monitoring.database import instrument_engine, release_pool
from app.monitoring.multiprocess import Leadership, mark_dead
from app.monitoring.notify import WEBHOOK_TIMEOUT_SECONDS, Notifier
from app.monitoring.outbound import traced_http_client
from app.monitoring.redis import instrument_redis
from app.monitoring.stats import Recorder
from app.monitoring.tracing import Tracing
from app.settings import Settings

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[dict[str, object]]]


@dataclass(frozen=True)
class RegisteredCheck:
    check: HealthCheck
    required: bool


class Monitoring:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started_at = time.time()
        self.tracing = Tracing(settings) if settings.tracing_enabled else None
        self.recorder = Recorder()
        self.leadership = Leadership()
        self.notifier = Notifier(
            settings.alert_webhook_url,
            client=self.http_client(timeout=WEBHOOK_TIMEOUT_SECONDS),
        )
        self.evaluator = Evaluator(
            load_rules(settings.alert_rules_file), self.recorder, self._notify
        )
        self.checks: dict[str, RegisteredCheck] = {}
        # The platform fee in force (`/health/detailed`); the lifespan sets it once the
        # database is open. Unset: PLATFORM_FEE_BPS.
        self.platform_fee_bps: Callable[[], Awaitable[int]] | None = None
        self._loop: asyncio.Task[None] | None = None

    def http_client(self, **options: Any) -> httpx.AsyncClient:
        """An HTTPX client whose calls are spans of the current trace (for Stripe, Expo, ...)."""
        return traced_http_client(self.tracing, **options)

    @property
    def tracer(self) -> Tracer | None:
        return self.tracing.tracer if self.tracing is not None else None

    def observe_engine(self, engine: AsyncEngine) -> None:
        if self.tracing is not None or self.settings.metrics_enabled:
            instrument_engine(engine, self.tracer, metrics_enabled=self.settings.metrics_enabled)

    def release_engine(self, engine: AsyncEngine) -> None:
        if self.settings.metrics_enabled:
            release_pool(engine)

    def observe_redis(self, client: Redis) -> None:
        if self.tracing is not None or self.settings.metrics_enabled:
            instrument_redis(client, self.tracer, metrics_enabled=self.settings.metrics_enabled)

    def add_health_check(self, name: str, check: HealthCheck, *, required: bool = False) -> None:
        """`check()` returns {"status": "ok" | "degraded" | "down", ...details}; raising is down."""
        self.checks[name] = RegisteredCheck(check, required)

    async def _notify(self, event: AlertEvent) -> None:
        if self.leadership.held():  # one notification per event, however many workers
            await self.notifier(event)

    async def start(self) -> None:
        self.recorder.record()  # the baseline every window is measured against at first
        if self.settings.metrics_enabled:
            self._loop = asyncio.create_task(self._evaluate_forever(), name="alert-evaluator")

    async def _evaluate_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alert_evaluation_interval_seconds)
            try:
                await self.evaluator.evaluate()
            except Exception:  # a bad rule or a broken metric must not end the loop
                logger.exception("alert evaluation failed")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        await self.notifier.close()
        self.leadership.release()
        mark_dead(os.getpid())
        if self.tracing is not None:
            self.tracing.shutdown()
