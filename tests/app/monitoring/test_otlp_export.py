"""With OTEL_EXPORTER_OTLP_ENDPOINT set, a request's spans reach a collector over OTLP/HTTP.

The collector is a local HTTP server that keeps what it receives; the export is the SDK's own
BatchSpanProcessor and OTLP exporter, flushed when the app shuts down.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from app.main import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.asyncio

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


class Collector(http.server.BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    Collector.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", Collector.received
    finally:
        server.shutdown()
        server.server_close()


async def test_request_spans_are_exported_over_otlp(
    database_url: str, collector: tuple[str, list[tuple[str, bytes]]]
) -> None:
    endpoint, received = collector
    settings = make_settings(
        database_url=database_url,
        otel_exporter_otlp_endpoint=endpoint,
        otel_service_name="gateway-under-test",
    )
    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        assert app.state.monitoring.tracing.buffer is None
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/graphql",
                json={"query": "query Info { serverInfo { version } }"},
                headers={"traceparent": TRACEPARENT},
            )
        assert response.status_code == 200
        assert response.headers["x-trace-id"] == TRACE_ID
    # The lifespan's end shut the provider down, which flushed the batch.
    assert received, "the collector received nothing"
    assert {path for path, _ in received} == {"/v1/traces"}
    spans: dict[str, ProtoSpan] = {}
    services: set[str] = set()
    for _, body in received:
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            services.update(
                attribute.value.string_value
                for attribute in resource_spans.resource.attributes
                if attribute.key == "service.name"
            )
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    if span.trace_id.hex() == TRACE_ID:
                        spans[span.name] = span
    assert services == {"gateway-under-test"}
    request_span, operation_span = spans["POST /graphql"], spans["query Info"]
    assert request_span.parent_span_id.hex() == "b7ad6b7169203331"
    assert request_span.kind == ProtoSpan.SPAN_KIND_SERVER
    assert operation_span.parent_span_id == request_span.span_id
    attributes = {a.key: a.value for a in operation_span.attributes}
    assert attributes["graphql.operation.type"].string_value == "query"
    assert attributes["graphql.operation.name"].string_value == "Info"
    assert request_span.end_time_unix_nano >= operation_span.end_time_unix_nano
