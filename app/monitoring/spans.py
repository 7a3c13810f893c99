"""Spans recorded through the OpenTelemetry API at a fraction of the SDK span's cost.

Everything that makes spans (middleware, GraphQL extension, SQL, Redis, loaders, jobs, HTTPX
instrumentation) talks to the `opentelemetry.trace` API; the current span, W3C propagation and log
correlation are the API's own. What differs is the span object: the SDK's `Span` validates every
attribute, takes locks, wraps events and links in bounded lists and goes through processor
chains, about 30 µs from start to end on this machine; the list query makes four, which cost
about half of the whole monitoring overhead, measured. A `RecordedSpan` is a small object that
keeps plain values and ends into the `SpanSink`: a flat tuple for the ring buffer or, when
an OTLP exporter is configured, an SDK `ReadableSpan` for the SDK's BatchSpanProcessor. The SDK
still provides the sampler, resource, id generator, span model and exporters.

Sampling is parent-based: a span with a parent follows the parent's sampled flag (remote or
local); only a root span asks the configured sampler. Unsampled spans are API
`NonRecordingSpan`s that still carry valid ids, so `traceparent` and `X-Trace-Id` go on.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping, Sequence
from time import time_ns
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision, Sampler
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
)
from opentelemetry.util import types
from opentelemetry.util._decorator import _agnosticcontextmanager

SAMPLED = TraceFlags(TraceFlags.SAMPLED)
NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_PRIMITIVES = (str, bool, int, float)

# trace id, span id, parent span id, name, kind, start, end, status, attributes, events, links
FlatSpan = tuple[
    int, int, int | None, str, str, int, int, str, dict[str, Any], tuple[Any, ...], tuple[int, ...]
]


class FlatSpanBuffer(Protocol):
    def append(self, entry: FlatSpan) -> None: ...


class SpanSink:
    """Where ended spans go: the ring buffer (flat tuples) and/or an SDK span processor."""

    def __init__(
        self,
        resource: Resource,
        buffer: FlatSpanBuffer | None = None,
        processor: SpanProcessor | None = None,
    ) -> None:
        self.resource = resource
        self.buffer = buffer
        self.processor = processor

    def finish(self, span: RecordedSpan) -> None:
        if self.buffer is not None:
            self.buffer.append(span.flat())
        if self.processor is not None:
            self.processor.on_end(span.readable(self.resource))

    def shutdown(self) -> None:
        if self.processor is not None:
            self.processor.shutdown()


class RecordedSpan(trace.Span):
    __slots__ = (
        "_attributes",
        "_context",
        "_end",
        "_events",
        "_kind",
        "_links",
        "_name",
        "_parent",
        "_scope",
        "_sink",
        "_start",
        "_status",
    )

    def __init__(
        self,
        sink: SpanSink,
        scope: InstrumentationScope,
        name: str,
        context: SpanContext,
        parent: SpanContext | None,
        kind: SpanKind,
        attributes: types.Attributes,
        links: Sequence[Link] | None,
        start: int,
    ) -> None:
        self._sink = sink
        self._scope = scope
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._start = start
        self._end = 0
        self._status = Status(StatusCode.UNSET)
        self._attributes: dict[str, Any] = dict(attributes) if attributes else {}
        self._events: list[tuple[str, dict[str, Any], int]] = []
        self._links: list[Link] = list(links) if links else []

    # --- the API --------------------------------------------------------------------------------
    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return not self._end

    def update_name(self, name: str) -> None:
        if not self._end:
            self._name = name

    def set_attribute(self, key: str, value: types.AttributeValue) -> None:
        if not self._end:
            self._attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
        if not self._end:
            self._attributes.update(attributes)

    def add_event(
        self, name: str, attributes: types.Attributes = None, timestamp: int | None = None
    ) -> None:
        if not self._end:
            self._events.append((name, dict(attributes or {}), timestamp or time_ns()))

    def add_link(self, context: SpanContext, attributes: types.Attributes = None) -> None:
        if not self._end and context.is_valid:
            self._links.append(Link(context, attributes))

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        # As the SDK: OK is final, and UNSET never overwrites a status already set.
        if self._end or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, StatusCode):
            status = Status(status, description)
        if status.status_code is not StatusCode.UNSET:
            self._status = status

    def record_exception(
        self,
        exception: BaseException,
        attributes: types.Attributes = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        values: dict[str, Any] = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        values.update(attributes or {})
        self.add_event("exception", values, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end:
            return
        self._end = end_time or time_ns()
        self._sink.finish(self)

    # --- what the sink keeps ----------------------------------------------------------------------
    def flat(self) -> FlatSpan:
        parent = self._parent
        return (
            self._context.trace_id,
            self._context.span_id,
            parent.span_id if parent is not None else None,
            self._name,
            self._kind.name,
            self._start,
            self._end,
            self._status.status_code.name,
            # The span has ended, so its dict is final: kept as it is, cleaned when read.
            self._attributes,
            tuple((name, values) for name, values, _ in self._events) if self._events else (),
            tuple(link.context.trace_id for link in self._links) if self._links else (),
        )

    def readable(self, resource: Resource) -> ReadableSpan:
        """The span as the SDK's model, for its processors and exporters (OTLP)."""
        return ReadableSpan(
            name=self._name,
            context=self._context,
            parent=self._parent,
            resource=resource,
            attributes=clean_attributes(self._attributes),
            events=[Event(name, clean_attributes(values), at) for name, values, at in self._events],
            links=self._links,
            kind=self._kind,
            status=self._status,
            start_time=self._start,
            end_time=self._end,
            instrumentation_scope=self._scope,
        )


def clean_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Attribute values as OpenTelemetry allows them: primitives or sequences of them.

    Done when an ended span is read or exported, not on every `set_attribute`; a value of
    another type is dropped, as the SDK drops it.
    """
    if all(isinstance(value, _PRIMITIVES) for value in attributes.values()):
        return attributes
    clean: dict[str, Any] = {}
    for key, value in attributes.items():
        if isinstance(value, _PRIMITIVES):
            clean[key] = value
        elif isinstance(value, Sequence) and all(isinstance(item, _PRIMITIVES) for item in value):
            clean[key] = tuple(value)
    return clean


class SpanRecorder(trace.Tracer):
    """An API `Tracer` that makes `RecordedSpan`s (see the module's docstring)."""

    def __init__(self, sink: SpanSink, sampler: Sampler, scope: InstrumentationScope) -> None:
        self._sink = sink
        self._sampler = sampler
        self._scope = scope
        self._ids = RandomIdGenerator()

    def start_span(
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        span_id = self._ids.generate_span_id()
        trace_state: TraceState | None
        if parent.is_valid:
            trace_id, sampled = parent.trace_id, parent.trace_flags.sampled
            trace_state = parent.trace_state
        else:
            trace_id = self._ids.generate_trace_id()
            result = self._sampler.should_sample(None, trace_id, name, kind, attributes, links)
            sampled = result.decision is Decision.RECORD_AND_SAMPLE
            trace_state = result.trace_state
        span_context = SpanContext(
            trace_id, span_id, False, SAMPLED if sampled else NOT_SAMPLED, trace_state
        )
        if not sampled:
            return NonRecordingSpan(span_context)
        return RecordedSpan(
            self._sink,
            self._scope,
            name,
            span_context,
            parent if parent.is_valid else None,
            kind,
            attributes,
            links,
            start_time or time_ns(),
        )

    @_agnosticcontextmanager  # what the API's tracers use: a context manager and a decorator
    def start_as_current_span(
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with trace.use_span(
            span,
            end_on_exit=end_on_exit,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
        ) as current:
            yield current


class SpanRecorderProvider(trace.TracerProvider):
    """Hands out `SpanRecorder`s sharing one sink and sampler (HTTPX instrumentation asks here)."""

    def __init__(self, sink: SpanSink, sampler: Sampler) -> None:
        self.sink = sink
        self.sampler = sampler

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: types.Attributes = None,
    ) -> trace.Tracer:
        scope = InstrumentationScope(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )
        return SpanRecorder(self.sink, self.sampler, scope)

    def shutdown(self) -> None:
        self.sink.shutdown()
