"""Outgoing HTTP (Stripe, Expo, alert webhooks): HTTPX clients with client spans and traceparent.

Uses the official HTTPX instrumentation on each client we build, never a global patch, so the
spans go to this app's provider and test clients stay untouched.
"""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from app.monitoring.tracing import Tracing


def traced_http_client(tracing: Tracing | None, **options: Any) -> httpx.AsyncClient:
    client = httpx.AsyncClient(**options)
    if tracing is not None:
        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=tracing.provider)
    return client
