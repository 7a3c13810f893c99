"""Probes for load balancers and Kubernetes.

/health and /health/live never touch a dependency (a slow database must not get pods restarted);
/health/ready answers 503 with a reason until the database answers and its schema is at head,
and, with READINESS_REQUIRES_REDIS, while Redis does not answer a PING.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import redis.asyncio as redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.db.migrate import current_revision, head_revision
from app.settings import Settings

READY_CHECK_TIMEOUT_SECONDS = 2.0


async def database_problem(engine: AsyncEngine) -> str | None:
    """Why the database cannot serve this release, or None when it can."""
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            revision = await current_revision(connection)
    except TimeoutError:
        return "database did not answer within 2 s"
    except Exception as error:  # any failure to reach it means "not ready", with the reason
        return f"database unreachable: {type(error).__name__}"
    head = head_revision()
    if revision != head:
        return f"database schema at {revision or 'nothing'}, this release needs {head}"
    return None


async def redis_problem(client: redis.Redis | None) -> str | None:
    if client is None:
        return None
    try:
        async with asyncio.timeout(READY_CHECK_TIMEOUT_SECONDS):
            await client.ping()
    except TimeoutError:
        return "redis did not answer within 2 s"
    except Exception as error:
        return f"redis unreachable: {type(error).__name__}"
    return None


def health_routes(
    settings: Settings,
    engine: Callable[[], AsyncEngine],
    redis_client: Callable[[], redis.Redis | None] = lambda: None,
) -> list[Route]:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse(
            {"status": "ok", "version": settings.version, "environment": settings.environment}
        )

    async def live(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        problem = await database_problem(engine())
        if problem is None and settings.readiness_requires_redis:
            problem = await redis_problem(redis_client())
        if problem is not None:
            return JSONResponse({"status": "unavailable", "reason": problem}, status_code=503)
        body = {"status": "ok", "database": "ok", "migrations": "head"}
        if settings.readiness_requires_redis and settings.redis_url:
            body["redis"] = "ok"
        return JSONResponse(body)

    return [
        Route("/health", health, methods=["GET"]),
        Route("/health/live", live, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
    ]
