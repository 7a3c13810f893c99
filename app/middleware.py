"""Pure ASGI middleware (no per-request task or body copying, unlike BaseHTTPMiddleware)."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logging import REQUEST_ID

# A caller's id is echoed only when it looks like one: it ends up in logs and headers.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_of(connection: HTTPConnection) -> str:
    return str(connection.scope.get("state", {}).get("request_id", ""))


class RequestIdMiddleware:
    """Every request gets an id (the caller's `X-Request-Id` if sane), echoed in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        state = scope.setdefault("state", {})
        # Without an id of the caller's, the trace id (set by ObservabilityMiddleware) is the id.
        fallback = state.get("trace_id") or uuid.uuid4().hex
        request_id = given if _SAFE_REQUEST_ID.match(given) else fallback
        state["request_id"] = request_id
        REQUEST_ID.set(request_id)  # for log lines (app/logging.py)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)
