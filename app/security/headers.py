"""HTTP hardening as pure ASGI middleware: security headers and request size limits."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

# API responses are data, never a page: nothing may load, frame or run.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
WEBSOCKET_MESSAGE_TOO_BIG = 1009


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.hsts = (
            f"max-age={settings.hsts_seconds}; includeSubDomains" if settings.hsts_seconds else ""
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # GraphiQL's page sets its own policy (app/graphiql.py); all else is data.
                headers.setdefault("Content-Security-Policy", API_CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                # Only over TLS (as seen after trusted proxy headers): a browser ignores it on
                # plain HTTP, and sending it there would pin a development host to HTTPS.
                if self.hsts and scope.get("scheme") == "https":
                    headers.setdefault("Strict-Transport-Security", self.hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Request bodies over the limit get 413 (multipart uploads have their own, larger limit);
    WebSocket messages over it close the socket with 1009 (message too big)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.max_upload = settings.max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.app(scope, self._websocket_receive(receive, send), send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = self.max_upload if content_type.startswith("multipart/") else self.max_body
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(limit)(scope, receive, send)

    def _websocket_receive(self, receive: Receive, send: Send) -> Receive:
        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                size = len(message.get("text") or "") + len(message.get("bytes") or b"")
                if size > self.max_body:
                    await send(
                        {
                            "type": "websocket.close",
                            "code": WEBSOCKET_MESSAGE_TOO_BIG,
                            "reason": "message too big",
                        }
                    )
                    return {"type": "websocket.disconnect", "code": WEBSOCKET_MESSAGE_TOO_BIG}
            return message

        return limited_receive


def _too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        {
            "errors": [
                {
                    "message": f"request body over {limit} bytes",
                    "extensions": {"code": "PAYLOAD_TOO_LARGE"},
                }
            ]
        },
        status_code=413,
    )
