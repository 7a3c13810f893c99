"""HTTP metrics and request spans in one pure ASGI middleware (no BaseHTTPMiddleware task).

It sits outermost, so its span is current for everything below it (the request id, GraphQL, SQL)
and its timing covers the whole response body. Routes are labelled by template (`/graphql`),
never by raw path; requests that match no route are `unmatched`.
"""

from __future__ import annotations

import secrets
import time

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.monitoring import metrics
from app.monitoring.tracing import PROPAGATOR, Tracing

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
_REQUESTS = metrics.children(metrics.HTTP_REQUESTS)
_DURATION = metrics.children(metrics.HTTP_DURATION)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def extract_parent(raw_headers: list[tuple[bytes, bytes]]) -> otel_context.Context | None:
    """The caller's W3C trace context; None (a new trace) when it sent none."""
    headers = {
        key.decode("latin-1"): value.decode("latin-1")
        for key, value in raw_headers
        if key in (b"traceparent", b"tracestate")
    }
    return PROPAGATOR.extract(headers) if headers else None


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, *, tracing: Tracing | None, metrics_enabled: bool) -> None:
        self.app = app
        self.tracer = tracing.tracer if tracing is not None else None
        self.metrics_enabled = metrics_enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET") if scope["type"] == "http" else "WEBSOCKET"
        span = None
        token = None
        if self.tracer is not None:
            parent = extract_parent(scope["headers"])
            span = self.tracer.start_span(
                method,
                context=parent,
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method},
            )
            token = otel_context.attach(trace.set_span_in_context(span, parent))
            span_context = span.get_span_context()
            trace_id = format(span_context.trace_id, "032x") if span_context.is_valid else ""
        else:
            trace_id = ""
        # With tracing off (or no valid context) the header still identifies the request.
        trace_id = trace_id or secrets.token_hex(16)
        scope.setdefault("state", {})["trace_id"] = trace_id
        status = 500
        start = time.perf_counter()
        if self.metrics_enabled and scope["type"] == "http":
            metrics.HTTP_IN_FLIGHT.inc()

        async def send_with_trace_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Trace-Id"] = trace_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace_id)
        except BaseException as error:
            if span is not None:
                span.record_exception(error)
            raise
        finally:
            route = route_template(scope)
            if self.metrics_enabled and scope["type"] == "http":
                label = method if method in METHODS else metrics.OTHER
                metrics.HTTP_IN_FLIGHT.dec()
                _REQUESTS(route, label, status).inc()
                _DURATION(route, label).observe(time.perf_counter() - start)
            if span is not None and token is not None:
                span.update_name(f"{method} {route}")
                if scope["type"] == "http":
                    span.set_attributes({"http.route": route, "http.response.status_code": status})
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                else:
                    span.set_attribute("http.route", route)
                span.end()
                otel_context.detach(token)
