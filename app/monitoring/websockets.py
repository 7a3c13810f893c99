"""WebSocket metrics, wrapped around the GraphQL view's socket handling.

A connection counts from the server's `websocket.accept` until the view returns. Messages are
counted as frames; a close with code 1011 or 4000-4999 (strawberry's protocol and auth refusals:
4400, 4401, 4403, 4406, 4408, 4429, ...) counts as an error under that code.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.monitoring import metrics


def is_error_close(code: int) -> bool:
    return code == 1011 or 4000 <= code <= 4999


async def observe_websocket(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    accepted = False

    async def counting_receive() -> Message:
        message = await receive()
        if message["type"] == "websocket.receive":
            metrics.WEBSOCKET_MESSAGES_RECEIVED.inc()
        return message

    async def counting_send(message: Message) -> None:
        nonlocal accepted
        kind = message["type"]
        if kind == "websocket.send":
            metrics.WEBSOCKET_MESSAGES_SENT.inc()
        elif kind == "websocket.accept" and not accepted:
            accepted = True
            metrics.WEBSOCKET_CONNECTIONS.inc()
        elif kind == "websocket.close":
            code = int(message.get("code", 1000))
            if is_error_close(code):
                metrics.WEBSOCKET_ERRORS.labels(str(code)).inc()
        await send(message)

    try:
        await app(scope, counting_receive, counting_send)
    except Exception:
        metrics.WEBSOCKET_ERRORS.labels("exception").inc()
        raise
    finally:
        if accepted:
            metrics.WEBSOCKET_CONNECTIONS.dec()
