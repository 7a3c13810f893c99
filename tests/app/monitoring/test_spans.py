"""The span recorder: API-compatible spans, parent-based sampling, ring buffer and SDK export."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from app.monitoring.tracing import Tracing, extract_trace_context
from tests.conftest import make_settings

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def tracing(**overrides: object) -> Tracing:
    return Tracing(make_settings(database_url="postgresql://unused/none", **overrides))


def test_nested_spans_share_the_trace_and_name_their_parent() -> None:
    traced = tracing()
    assert traced.buffer is not None
    with traced.tracer.start_as_current_span("outer", kind=SpanKind.SERVER) as outer:
        with traced.tracer.start_as_current_span("inner", attributes={"k": "v"}) as inner:
            assert trace.get_current_span() is inner
        assert trace.get_current_span() is outer
    inner_json, outer_json = traced.buffer.spans()
    assert outer_json["parentSpanId"] is None
    assert outer_json["kind"] == "SERVER"
    assert inner_json["parentSpanId"] == outer_json["spanId"]
    assert inner_json["traceId"] == outer_json["traceId"]
    assert inner_json["attributes"] == {"k": "v"}
    assert inner_json["status"] == "UNSET"


def test_an_unsampled_root_records_nothing_but_keeps_valid_ids() -> None:
    traced = tracing(trace_sample_ratio=0.0)
    assert traced.buffer is not None
    with traced.tracer.start_as_current_span("root") as root:
        context = root.get_span_context()
        assert context.is_valid
        assert not context.trace_flags.sampled
        assert not root.is_recording()
        with traced.tracer.start_as_current_span("child") as child:
            assert child.get_span_context().trace_id == context.trace_id
            assert not child.is_recording()
    assert traced.buffer.spans() == []


@pytest.mark.parametrize(("flags", "recorded"), [("01", 1), ("00", 0)])
def test_a_remote_parent_decides_whatever_the_ratio(flags: str, recorded: int) -> None:
    traced = tracing(trace_sample_ratio=0.0 if flags == "01" else 1.0)
    assert traced.buffer is not None
    parent = extract_trace_context({"traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-{flags}"})
    traced.tracer.start_span("request", context=parent).end()
    spans = traced.buffer.spans()
    assert len(spans) == recorded
    if recorded:
        assert spans[0]["traceId"] == TRACE_ID
        assert spans[0]["parentSpanId"] == "00f067aa0ba902b7"


def test_an_escaping_exception_is_an_error_event_and_status() -> None:
    traced = tracing()
    assert traced.buffer is not None
    with pytest.raises(ValueError, match="boom"), traced.tracer.start_as_current_span("work"):
        raise ValueError("boom")
    (span,) = traced.buffer.spans()
    assert span["status"] == "ERROR"
    (event,) = span["events"]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == "ValueError"
    assert event["attributes"]["exception.message"] == "boom"


def test_ending_twice_keeps_one_span_and_late_changes_are_ignored() -> None:
    traced = tracing()
    assert traced.buffer is not None
    span = traced.tracer.start_span("once")
    span.end()
    span.set_attribute("late", 1)
    span.update_name("renamed")
    span.end()
    (kept,) = traced.buffer.spans()
    assert (kept["name"], kept["attributes"]) == ("once", {})


def test_attribute_values_are_cleaned_as_opentelemetry_allows() -> None:
    traced = tracing()
    assert traced.buffer is not None
    span = traced.tracer.start_span("typed")
    span.set_attributes({"text": "a", "ids": [1, 2], "bad": object(), "mixed": [1, object()]})  # type: ignore[dict-item,list-item]
    span.end()
    (kept,) = traced.buffer.spans()
    assert kept["attributes"] == {"text": "a", "ids": (1, 2)}


def test_with_an_sdk_processor_spans_reach_its_exporter_as_sdk_spans() -> None:
    exporter = InMemorySpanExporter()
    traced = Tracing(
        make_settings(database_url="postgresql://unused/none", otel_service_name="gw-test"),
        processor=SimpleSpanProcessor(exporter),
    )
    assert traced.buffer is None  # an exporter replaces the ring buffer, as OTLP does
    with traced.tracer.start_as_current_span("parent") as parent:
        child = traced.tracer.start_span("child", kind=SpanKind.CLIENT, attributes={"n": 3})
        child.set_status(StatusCode.ERROR, "failed")
        child.end()
    exported_child, exported_parent = exporter.get_finished_spans()
    assert exported_child.name == "child"
    assert exported_child.kind is SpanKind.CLIENT
    assert exported_child.parent is not None
    assert exported_child.parent.span_id == parent.get_span_context().span_id
    assert dict(exported_child.attributes or {}) == {"n": 3}
    assert exported_child.status.status_code is StatusCode.ERROR
    assert exported_child.status.description == "failed"
    assert exported_child.resource.attributes["service.name"] == "gw-test"
    assert exported_child.instrumentation_scope is not None
    assert exported_child.instrumentation_scope.name == "bountyexpo"
    assert exported_parent.parent is None
    assert exported_parent.end_time is not None
    assert exported_parent.start_time is not None
    assert exported_parent.end_time >= exported_parent.start_time
    traced.shutdown()
