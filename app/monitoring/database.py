"""SQL metrics and spans from SQLAlchemy engine events, and pool gauges from pool events.

One span per statement (`db.statement` is the parametrised SQL text, never parameter values);
it covers what asyncpg does for that statement, so no separate asyncpg instrumentation is added.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from app.monitoring import metrics

OPERATIONS = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "BEGIN", "COMMIT", "ROLLBACK", "WITH"}
)
_STATE = "_bountyexpo_query"
_QUERIES = metrics.children(metrics.DB_QUERIES)
_QUERY_DURATION = metrics.children(metrics.DB_QUERY_DURATION)


def operation_of(statement: str) -> str:
    word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
    return word if word in OPERATIONS else "OTHER"


def instrument_engine(engine: AsyncEngine, tracer: Tracer | None, *, metrics_enabled: bool) -> None:
    sync_engine = engine.sync_engine

    def before(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        operation = operation_of(statement)
        span = None
        if tracer is not None and trace.get_current_span().is_recording():
            span = tracer.start_span(
                operation,
                kind=SpanKind.CLIENT,
                attributes={
                    "db.system": "postgresql",
                    "db.statement": statement,
                    "db.operation": operation,
                },
            )
        conn.info[_STATE] = (operation, time.perf_counter(), span)

    def after(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        operation, start, span = conn.info.pop(_STATE, ("OTHER", time.perf_counter(), None))
        if metrics_enabled:
            _QUERIES(operation).inc()
            _QUERY_DURATION(operation).observe(time.perf_counter() - start)
        if span is not None:
            span.end()

    def failed(exception_context: Any) -> None:
        conn = exception_context.connection
        state = conn.info.pop(_STATE, None) if conn is not None else None
        operation = state[0] if state else operation_of(exception_context.statement or "")
        if metrics_enabled:
            metrics.DB_QUERIES.labels(operation).inc()
            metrics.DB_ERRORS.labels(operation).inc()
        if state and state[2] is not None:
            span = state[2]
            span.record_exception(exception_context.original_exception)
            span.set_status(Status(StatusCode.ERROR))
            span.end()

    event.listen(sync_engine, "before_cursor_execute", before)
    event.listen(sync_engine, "after_cursor_execute", after)
    event.listen(sync_engine, "handle_error", failed)
    if metrics_enabled:
        instrument_pool(engine)


def instrument_pool(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return
    metrics.DB_POOL_MAX.inc(pool.size() + getattr(pool, "_max_overflow", 0))
    event.listen(pool, "connect", lambda *_: metrics.DB_POOL_CONNECTIONS.inc())
    event.listen(pool, "close", lambda *_: metrics.DB_POOL_CONNECTIONS.dec())
    event.listen(pool, "close_detached", lambda *_: metrics.DB_POOL_CONNECTIONS.dec())
    event.listen(pool, "checkout", lambda *_: metrics.DB_POOL_CHECKED_OUT.inc())
    event.listen(pool, "checkin", lambda *_: metrics.DB_POOL_CHECKED_OUT.dec())
    original = pool._do_get

    def timed_get() -> Any:
        start = time.perf_counter()
        try:
            return original()
        finally:
            metrics.DB_POOL_WAIT.observe(time.perf_counter() - start)

    pool._do_get = timed_get  # type: ignore[method-assign]


def release_pool(engine: AsyncEngine) -> None:
    """Undo this engine's share of DB_POOL_MAX when it is disposed (tests open many engines)."""
    pool = engine.sync_engine.pool
    if isinstance(pool, QueuePool):
        metrics.DB_POOL_MAX.dec(pool.size() + getattr(pool, "_max_overflow", 0))
