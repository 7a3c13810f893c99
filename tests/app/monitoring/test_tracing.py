"""A request with a W3C traceparent continues that trace through operation, resolver, SQL."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.db.models import Role
from app.logging import TraceIdFilter
from app.monitoring.tracing import extract_trace_context, inject_trace_context, link_to
from app.settings import Settings
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"


async def spans_of(client: httpx.AsyncClient, token: str, trace_id: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/debug/traces", params={"trace_id": trace_id}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    spans: list[dict[str, Any]] = response.json()["spans"]
    return spans


async def test_traceparent_yields_request_operation_resolver_and_sql_spans(
    app: Starlette, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    other = await create_user(session_factory)
    admin = await create_user(session_factory, role=Role.ADMIN)
    app.state.monitoring.tracing.buffer.clear()
    response = await client.post(
        "/graphql",
        json={
            "query": "query Who($id: ID!) { viewer { displayName } node(id: $id) { id } }",
            "variables": {"id": global_id("User", other.id)},
        },
        headers={
            "traceparent": TRACEPARENT,
            "authorization": f"Bearer {token_for(settings, user)}",
        },
    )
    assert response.status_code == 200
    assert response.headers["x-trace-id"] == TRACE_ID
    # Without an X-Request-Id of the caller's, the trace id is the request id.
    assert response.headers["x-request-id"] == TRACE_ID

    spans = await spans_of(client, token_for(settings, admin), TRACE_ID)
    by_name = {span["name"]: span for span in spans}
    request = by_name["POST /graphql"]
    operation = by_name["query Who"]
    assert request["parentSpanId"] == PARENT_SPAN_ID
    assert request["kind"] == "SERVER"
    assert request["attributes"]["http.response.status_code"] == 200
    assert operation["parentSpanId"] == request["spanId"]
    assert operation["attributes"]["graphql.operation.type"] == "query"
    assert by_name["Query.viewer"]["parentSpanId"] == operation["spanId"]
    assert by_name["Query.viewer"]["attributes"]["graphql.field.path"] == "viewer"
    assert by_name["Query.node"]["parentSpanId"] == operation["spanId"]
    # Attribute fields (displayName, id) get no spans of their own.
    assert "User.displayName" not in by_name
    batch = by_name["dataloader user_by_id"]
    assert batch["attributes"]["dataloader.batch_size"] == 2
    select = [span for span in spans if span["name"] == "SELECT"]
    assert select, [span["name"] for span in spans]
    assert all(span["traceId"] == TRACE_ID for span in spans)
    assert batch["spanId"] in {span["parentSpanId"] for span in select}
    # Argument values never become attributes.
    raw_id = str(other.id)
    encoded = global_id("User", other.id)
    for span in spans:
        for attribute in span["attributes"].values():
            assert raw_id not in str(attribute)
            assert encoded not in str(attribute)


async def test_every_response_has_a_trace_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/health")
    second = await client.get("/nothing-here")
    assert len(first.headers["x-trace-id"]) == 32
    assert len(second.headers["x-trace-id"]) == 32
    assert first.headers["x-trace-id"] != second.headers["x-trace-id"]


async def test_debug_traces_is_for_admins_only(
    client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    anonymous = await client.get("/debug/traces")
    not_admin = await client.get(
        "/debug/traces", headers={"authorization": f"Bearer {token_for(settings, user)}"}
    )
    garbage = await client.get("/debug/traces", headers={"authorization": "Bearer nope"})
    assert (anonymous.status_code, not_admin.status_code, garbage.status_code) == (401, 403, 401)


async def test_log_records_carry_the_current_trace_id(app: Starlette) -> None:
    tracer = app.state.monitoring.tracing.tracer
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)
    with tracer.start_as_current_span("work") as span:
        TraceIdFilter().filter(record)
        expected = format(span.get_span_context().trace_id, "032x")
    assert getattr(record, "trace_id", None) == expected
    outside = logging.LogRecord("t", logging.INFO, __file__, 1, "hello", None, None)
    TraceIdFilter().filter(outside)
    assert getattr(outside, "trace_id", None) == "-"


async def test_trace_context_travels_through_a_dict_for_jobs(app: Starlette) -> None:
    tracer = app.state.monitoring.tracing.tracer
    with tracer.start_as_current_span("enqueue") as span:
        carrier = inject_trace_context()
        enqueuing = span.get_span_context()
    assert carrier["traceparent"].split("-")[1] == format(enqueuing.trace_id, "032x")
    parent = trace.get_current_span(extract_trace_context(carrier)).get_span_context()
    assert (parent.trace_id, parent.span_id) == (enqueuing.trace_id, enqueuing.span_id)
    [link] = link_to(carrier)
    assert link.context.span_id == enqueuing.span_id
    assert link_to({}) == []


async def test_outgoing_http_calls_are_client_spans_that_propagate_the_trace(
    app: Starlette,
) -> None:
    received: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    monitoring = app.state.monitoring
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, monitoring.http_client() as http:
        with monitoring.tracer.start_as_current_span("job") as span:
            response = await http.get(f"http://127.0.0.1:{port}/v1/charges")
            trace_id = format(span.get_span_context().trace_id, "032x")
    assert response.status_code == 200
    [head] = received
    traceparent = next(
        line for line in head.decode().split("\r\n") if line.lower().startswith("traceparent:")
    )
    assert traceparent.split(":", 1)[1].strip().split("-")[1] == trace_id
    [client_span] = [
        s for s in monitoring.tracing.buffer.spans(int(trace_id, 16)) if s["kind"] == "CLIENT"
    ]
    assert client_span["name"] == "GET"
    assert client_span["attributes"]["http.status_code"] == 200
