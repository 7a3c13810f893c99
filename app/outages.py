"""Telling a dependency outage from a bug: what clients should retry, and what the count says.

An error is an outage when it (or an exception it was raised from) says PostgreSQL or Redis could
not be reached: the services' own `DependencyUnavailable`, the rate limiter failing closed,
SQLAlchemy's disconnect errors, asyncpg's connection and shutdown errors, and socket errors or
timeouts raised inside the database driver. Clients get `SERVICE_UNAVAILABLE` with `retryAfter`
(and HTTP 503 with Retry-After when nothing of the operation ran, app/graphql.py); the count goes
to `bountyexpo_dependency_unavailable_total`, not to the internal errors behind the 5xx alerts.
"""

from __future__ import annotations

import asyncpg
import redis.exceptions
from graphql import GraphQLError
from sqlalchemy import exc as sa
from strawberry.types import ExecutionResult

from app.monitoring.metrics import record_dependency_unavailable
from schema.errors import ApiError
from services.outages import DEFAULT_RETRY_AFTER_SECONDS, DependencyUnavailable
from services.throttle import LimiterUnavailable

SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
_ASYNCPG_OUTAGES = (
    asyncpg.exceptions.PostgresConnectionError,  # includes CannotConnectNowError (57P03)
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,  # 57P01: the server is shutting down
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)
_REDIS_OUTAGES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_DRIVER_PATHS = ("/asyncpg/", "/sqlalchemy/")


def outage_of(error: BaseException | None) -> DependencyUnavailable | None:
    """The outage behind `error`, following `raise ... from` and implicit chaining."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        found = _classify(error)
        if found is not None:
            return found
        error = error.__cause__ or error.__context__
    return None


def _classify(error: BaseException) -> DependencyUnavailable | None:
    if isinstance(error, DependencyUnavailable):
        return error
    if isinstance(error, LimiterUnavailable):
        return DependencyUnavailable("redis", error.message, retry_after=error.retry_after)
    if isinstance(error, _REDIS_OUTAGES):
        return _unavailable("redis")
    if isinstance(error, sa.DBAPIError) and error.connection_invalidated:
        return _unavailable("postgres")
    if isinstance(error, (sa.TimeoutError, *_ASYNCPG_OUTAGES)):  # pool timeout: nothing answered
        return _unavailable("postgres")
    if isinstance(error, OSError) and _raised_in_driver(error):  # refused, reset, timed out
        return _unavailable("postgres")
    return None


def _unavailable(dependency: str) -> DependencyUnavailable:
    message = "the database" if dependency == "postgres" else "Redis"
    return DependencyUnavailable(
        dependency,
        f"{message} is unavailable; retry shortly",
        retry_after=DEFAULT_RETRY_AFTER_SECONDS,
    )


def _raised_in_driver(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if any(path in traceback.tb_frame.f_code.co_filename for path in _DRIVER_PATHS):
            return True
        traceback = traceback.tb_next
    return False


def unavailable_error(outage: DependencyUnavailable, request_id: str) -> ApiError:
    """What the client sees, counted once."""
    record_dependency_unavailable(outage.dependency)
    return ApiError(
        outage.message, SERVICE_UNAVAILABLE, retryAfter=outage.retry_after, requestId=request_id
    )


def retry_after_if_nothing_ran(result: ExecutionResult) -> int | None:
    """Retry-After seconds when the operation failed only for outages and returned no data."""
    errors = result.errors or []
    if not errors or not _empty(result.data):
        return None
    codes = [(error.extensions or {}).get("code") for error in errors]
    if any(code != SERVICE_UNAVAILABLE for code in codes):
        return None
    return max(_retry_after(error) for error in errors)


def _empty(data: object) -> bool:
    return data is None or (isinstance(data, dict) and all(v is None for v in data.values()))


def _retry_after(error: GraphQLError) -> int:
    value = (error.extensions or {}).get("retryAfter")
    return value if isinstance(value, int) else DEFAULT_RETRY_AFTER_SECONDS
