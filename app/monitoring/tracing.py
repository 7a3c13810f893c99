"""OpenTelemetry tracing: one TracerProvider per app, OTLP or an in-memory ring buffer.

The provider is not installed globally: tests and benchmarks build several apps in one process,
each with its own settings. Code that makes spans gets the app's `Tracing` (middleware, GraphQL
extension, SQL listeners, Redis, loaders). Context propagation (the current span) is global, so
log lines and outgoing requests see the right trace whichever provider made the span.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.settings import Settings

PROPAGATOR = TraceContextTextMapPropagator()
INSTRUMENTATION_NAME = "bountyexpo"


class RingBuffer(SpanProcessor):
    """Keeps the last `capacity` finished, sampled spans in memory for /debug/traces.

    Spans are kept as flat tuples of plain values, not span objects: thousands of live span
    objects (each a dozen containers) made the garbage collector's full passes cost ~200 µs per
    request, measured. JSON is made only when /debug/traces asks: encoding every span as it
    ended cost ~25 µs a span, a third of the tracing overhead of the list query.
    """

    def __init__(self, capacity: int) -> None:
        self._spans: collections.deque[FlatSpan] = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            entry = flatten(span)
            with self._lock:
                self._spans.append(entry)

    def spans(self, trace_id: int | None = None) -> list[dict[str, Any]]:
        """Finished spans as JSON objects (see `unflatten`), oldest first."""
        with self._lock:
            entries = list(self._spans)
        return [unflatten(entry) for entry in entries if trace_id in (None, entry[0])]

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()


class Tracing:
    def __init__(self, settings: Settings) -> None:
        resource = Resource.create(
            {"service.name": settings.otel_service_name, "service.version": settings.version}
        )
        ratio = settings.trace_sample_ratio
        # ALWAYS_ON skips the ratio arithmetic when every trace is kept (the default).
        root = ALWAYS_ON if ratio >= 1.0 else TraceIdRatioBased(ratio)
        self.provider = TracerProvider(resource=resource, sampler=ParentBased(root))
        self.buffer: RingBuffer | None = None
        endpoint = settings.otel_exporter_otlp_endpoint
        if endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            self.provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(traces_url(endpoint)))
            )
        else:
            self.buffer = RingBuffer(settings.trace_buffer_spans)
            self.provider.add_span_processor(self.buffer)
        self.tracer = self.provider.get_tracer(INSTRUMENTATION_NAME, settings.version)

    def shutdown(self) -> None:
        self.provider.shutdown()


def traces_url(endpoint: str) -> str:
    """OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL; the HTTP exporter wants the path."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def current_trace_id() -> str:
    """The current trace id as 32 hex digits, or "" outside any trace."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else ""


def inject_trace_context(carrier: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """The current trace as W3C headers (`traceparent`), e.g. to store with an enqueued job."""
    headers: dict[str, str] = dict(carrier or {})
    PROPAGATOR.inject(headers)
    return headers


def extract_trace_context(carrier: Mapping[str, str]) -> otel_context.Context:
    """The context of a stored `traceparent`: parent or link for the job's own span."""
    return PROPAGATOR.extract(dict(carrier))


def link_to(carrier: Mapping[str, str]) -> list[trace.Link]:
    """Links to the trace that enqueued work under `carrier` (a job starts a trace of its own)."""
    span_context = trace.get_current_span(extract_trace_context(carrier)).get_span_context()
    return [trace.Link(span_context)] if span_context.is_valid else []


# trace id, span id, parent span id, name, kind, start, end, status, attributes, events, links
FlatSpan = tuple[
    int, int, int | None, str, str, int, int, str, dict[str, Any], tuple[Any, ...], tuple[int, ...]
]


def flatten(span: ReadableSpan) -> FlatSpan:
    context, parent = span.context, span.parent
    assert context is not None
    return (
        context.trace_id,
        context.span_id,
        parent.span_id if parent else None,
        span.name,
        span.kind.name,
        span.start_time or 0,
        span.end_time or 0,
        span.status.status_code.name,
        dict(span.attributes or {}),
        tuple((event.name, dict(event.attributes or {})) for event in span.events),
        tuple(link.context.trace_id for link in span.links),
    )


def unflatten(entry: FlatSpan) -> dict[str, Any]:
    trace_id, span_id, parent_id, name, kind, start, end, status, attributes, events, links = entry
    return {
        "traceId": format(trace_id, "032x"),
        "spanId": format(span_id, "016x"),
        "parentSpanId": format(parent_id, "016x") if parent_id is not None else None,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": start,
        "durationMs": round((end - start) / 1e6, 3),
        "status": status,
        "attributes": attributes,
        "events": [{"name": event, "attributes": values} for event, values in events],
        "links": [format(link, "032x") for link in links],
    }
