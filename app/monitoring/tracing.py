"""OpenTelemetry tracing: one tracer provider per app, OTLP or an in-memory ring buffer.

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
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.monitoring.spans import FlatSpan, SpanRecorderProvider, SpanSink, clean_attributes
from app.settings import Settings

PROPAGATOR = TraceContextTextMapPropagator()
INSTRUMENTATION_NAME = "bountyexpo"


class RingBuffer:
    """Keeps the last `capacity` ended, sampled spans in memory for /debug/traces.

    Spans are kept as flat tuples of plain values, not span objects: thousands of live span
    objects (each a dozen containers) made the garbage collector's full passes cost ~200 µs per
    request, measured. JSON is made only when /debug/traces asks: encoding every span as it
    ended cost ~25 µs a span, a third of the tracing overhead of the list query.
    """

    def __init__(self, capacity: int) -> None:
        self._spans: collections.deque[FlatSpan] = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()

    def append(self, entry: FlatSpan) -> None:
        with self._lock:
            self._spans.append(entry)

    def spans(self, trace_id: int | None = None) -> list[dict[str, Any]]:
        """Ended spans as JSON objects (see `unflatten`), oldest first."""
        with self._lock:
            entries = list(self._spans)
        return [unflatten(entry) for entry in entries if trace_id in (None, entry[0])]

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()


class Tracing:
    """The app's tracer: `RecordedSpan`s (app/monitoring/spans.py) into OTLP or the ring buffer."""

    def __init__(self, settings: Settings, processor: SpanProcessor | None = None) -> None:
        resource = Resource.create(
            {"service.name": settings.otel_service_name, "service.version": settings.version}
        )
        ratio = settings.trace_sample_ratio
        # Root spans only: children follow their parent's decision (see SpanRecorder).
        sampler = ALWAYS_ON if ratio >= 1.0 else TraceIdRatioBased(ratio)
        self.buffer: RingBuffer | None = None
        endpoint = settings.otel_exporter_otlp_endpoint
        if processor is None and endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            processor = BatchSpanProcessor(OTLPSpanExporter(traces_url(endpoint)))
        if processor is None:
            self.buffer = RingBuffer(settings.trace_buffer_spans)
        self.provider = SpanRecorderProvider(SpanSink(resource, self.buffer, processor), sampler)
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
        "attributes": clean_attributes(attributes),
        "events": [
            {"name": event, "attributes": clean_attributes(values)} for event, values in events
        ],
        "links": [format(link, "032x") for link in links],
    }
