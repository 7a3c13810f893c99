"""Redis command metrics and spans, by wrapping a client's `execute_command`.

Covers every command sent through the client (publish, get, set, ping, ...); pub/sub reads on a
dedicated connection are not commands and are not counted.
"""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as redis
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from app.monitoring import metrics


def command_name(args: tuple[Any, ...]) -> str:
    first = args[0] if args else "?"
    name = first.decode() if isinstance(first, bytes) else str(first)
    return metrics.REDIS_COMMAND_NAMES(name.split(" ", 1)[0].upper())


def instrument_redis(client: redis.Redis, tracer: Tracer | None, *, metrics_enabled: bool) -> None:
    original = client.execute_command

    async def execute_command(*args: Any, **options: Any) -> Any:
        name = command_name(args)
        span = None
        if tracer is not None and trace.get_current_span().is_recording():
            span = tracer.start_span(
                name, kind=SpanKind.CLIENT, attributes={"db.system": "redis", "db.operation": name}
            )
        start = time.perf_counter()
        try:
            return await original(*args, **options)  # type: ignore[no-untyped-call]
        except Exception as error:
            if metrics_enabled:
                metrics.REDIS_ERRORS.labels(name).inc()
            if span is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR))
            raise
        finally:
            if metrics_enabled:
                metrics.REDIS_COMMANDS.labels(name).inc()
                metrics.REDIS_DURATION.labels(name).observe(time.perf_counter() - start)
            if span is not None:
                span.end()

    client.execute_command = execute_command  # type: ignore[method-assign]
