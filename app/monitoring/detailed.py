"""/health/detailed: every dependency and figure an operator checks first, in one JSON document.

503 when a required check (the database, or one registered as required) is down; 200 with
`"status": "degraded"` when only optional ones (Redis, workers) are. Guarded like /metrics.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.db.engine import SessionFactory
from app.db.migrate import current_revision, head_revision
from app.monitoring.access import MetricsAccess
from app.monitoring.endpoints import SUMMARY_WINDOW_SECONDS, json_response, refused
from app.monitoring.runtime import HealthCheck, Monitoring
from app.monitoring.stats import summary
from app.security.rate_limits import RateLimiter
from app.settings import Settings
from services.jobs import queue_stats
from services.revocation_cache import RevocationCache
from services.workers import worker_heartbeats

CHECK_TIMEOUT_SECONDS = 2.0


def database_check(engine: Callable[[], AsyncEngine]) -> HealthCheck:
    async def check() -> dict[str, object]:
        start = time.perf_counter()
        async with engine().connect() as connection:
            await connection.execute(text("SELECT 1"))
            latency = time.perf_counter() - start
            revision = await current_revision(connection)
        head = head_revision()
        pool = engine().sync_engine.pool
        return {
            "status": "ok" if revision == head else "down",
            "latencyMs": round(latency * 1000, 3),
            "migrations": {"current": revision, "head": head},
            "pool": {
                "size": pool.size(),
                "checkedOut": pool.checkedout(),
                "overflow": pool.overflow(),
            }
            if isinstance(pool, QueuePool)
            else None,
        }

    return check


def redis_check(client: Callable[[], redis.Redis | None]) -> HealthCheck:
    async def check() -> dict[str, object]:
        connection = client()
        if connection is None:
            return {"status": "ok", "configured": False}
        start = time.perf_counter()
        await connection.ping()
        return {"status": "ok", "latencyMs": round((time.perf_counter() - start) * 1000, 3)}

    return check


def rate_limiter_check(limiter: RateLimiter) -> HealthCheck:
    """Whether rate limits reach Redis ("paused": they fail open or closed without asking it)."""

    async def check() -> dict[str, object]:
        state = limiter.state()
        return {"status": "ok" if state in ("available", "off") else "degraded", "state": state}

    return check


def revocations_check(cache: RevocationCache) -> HealthCheck:
    """Where token revocations are answered from: memory when its copy is fresh, else PostgreSQL."""

    async def check() -> dict[str, object]:
        status = cache.status()
        return {
            "status": "ok" if status.answering == "memory" else "degraded",
            "answering": status.answering,
            "entries": status.entries,
            "syncedSecondsAgo": status.synced_seconds_ago,
            "feed": status.feed,
        }

    return check


def stripe_configuration(settings: Settings, fee_bps: int | None = None) -> dict[str, object]:
    """Which payments provider serves, from settings only: never a network call from a probe.
    `platformFeeBps` is `fee_bps` (the fee in force) when given, else PLATFORM_FEE_BPS.

    `provider` is "sandbox" (the in-memory stand-in: no money moves anywhere) or "stripe";
    `mode` is "live" or "test" for Stripe's keys, "sandbox" for the stand-in.
    """
    key = settings.stripe_secret_key.get_secret_value() if settings.stripe_secret_key else ""
    mode = "live" if key.startswith("sk_live_") else "test" if key else "sandbox"
    return {
        "provider": "stripe" if key else "sandbox",
        "standIn": not key,
        "mode": mode,
        "apiBase": settings.stripe_api_base or ("https://api.stripe.com" if key else None),
        "secretKeySet": bool(key),
        "publishableKeySet": bool(settings.stripe_publishable_key),
        "webhookSecretSet": settings.stripe_webhook_secret is not None,
        "previousWebhookSecretSet": settings.stripe_previous_webhook_secret is not None,
        "platformFeeBps": settings.platform_fee_bps if fee_bps is None else fee_bps,
    }


async def fee_in_force(monitoring: Monitoring) -> int | None:
    """The `payments.platform_fee_bps` system setting when an admin set it, else
    PLATFORM_FEE_BPS: read through the settings' short cache (one statement per few seconds at
    most, not one per probe); None, and so PLATFORM_FEE_BPS, when the database does not answer
    in time (the database check reports that)."""
    if monitoring.platform_fee_bps is None:
        return None
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await monitoring.platform_fee_bps()
    except Exception:
        return None


async def run_check(check: HealthCheck) -> dict[str, object]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            return await check()
    except TimeoutError:
        return {"status": "down", "error": f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"}
    except Exception as error:
        return {"status": "down", "error": type(error).__name__}


def detailed_health_route(monitoring: Monitoring) -> Route:
    access = MetricsAccess(monitoring.settings)
    settings = monitoring.settings

    async def detailed(request: Request) -> Response:
        if not access.allows(request):
            return refused()
        names = list(monitoring.checks)
        results = await asyncio.gather(*(run_check(monitoring.checks[n].check) for n in names))
        fee_bps = await fee_in_force(monitoring)
        checks = dict(zip(names, results, strict=True))
        required_down = any(
            checks[n]["status"] == "down" and monitoring.checks[n].required for n in names
        )
        degraded = any(result["status"] != "ok" for result in results)
        window = monitoring.recorder.window(SUMMARY_WINDOW_SECONDS)
        body: dict[str, Any] = {
            "status": "down" if required_down else "degraded" if degraded else "ok",
            "version": settings.version,
            "environment": settings.environment,
            "uptimeSeconds": round(time.time() - monitoring.started_at, 3),
            "checks": checks,
            "stripe": stripe_configuration(settings, fee_bps),
            "websocket": {
                "connections": window.value("bountyexpo_websocket_connections"),
                "subscriptions": window.value("bountyexpo_websocket_subscriptions"),
            },
            "requests": summary(window),
            "alerts": monitoring.evaluator.active(),
        }
        return json_response(body, 503 if required_down else 200)

    return Route("/health/detailed", detailed, methods=["GET"])


def workers_check(session_factory: SessionFactory) -> HealthCheck:
    """Workers that reported lately and the queue they serve. Degraded, not down, when none is
    alive: the gateway still answers, but jobs wait."""

    async def check() -> dict[str, object]:
        heartbeats = await worker_heartbeats(session_factory)
        stats = await queue_stats(session_factory)
        alive = [worker for worker in heartbeats if worker.alive]
        waiting = [stat for stat in stats if stat.status == "queued"]
        return {
            "status": "ok" if alive or not waiting else "degraded",
            "alive": len(alive),
            "lastHeartbeat": heartbeats[0].last_seen_at.isoformat() if heartbeats else None,
            "queueDepth": {
                status: sum(s.jobs for s in stats if s.status == status)
                for status in ("queued", "picked", "failed")
            },
            "oldestQueuedSeconds": max((s.oldest_age_seconds for s in waiting), default=0.0),
        }

    return check
