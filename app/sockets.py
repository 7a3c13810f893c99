"""Long-lived sockets: server pings, and an end to sockets whose credentials no longer hold.

Mobile networks and Android drop sockets that stay idle for about ten seconds, and strawberry
answers client pings but sends none of its own: so the server pings every
WS_PING_INTERVAL_SECONDS (a `ping` on graphql-transport-ws, a `ka` on the legacy protocol).
A socket authenticates once, in `connection_init`; every WS_AUTH_RECHECK_SECONDS its token is
checked again with the HTTP code path, so sign-out, suspension, a role change or expiry close
it with 4403 and the reason, and the client signs in again or refreshes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage

from app.request_bodies import message_problem
from app.security.auth import authenticate
from app.security.jwt import InvalidToken
from schema.context import Context

if TYPE_CHECKING:
    from app.graphql import GatewayView

CREDENTIALS_ENDED = 4403


async def keep_socket(
    view: GatewayView,
    context: Context,
    *,
    ping: Callable[[], Awaitable[None]],
    close: Callable[[int, str], Awaitable[None]],
) -> None:
    """Ping on schedule; close once the socket's access token is expired or revoked."""
    settings = view.settings
    loop = asyncio.get_running_loop()
    token = context.access_token
    step = settings.ws_ping_interval_seconds
    if token is not None:
        step = min(step, settings.ws_auth_recheck_seconds)
    last_ping = last_check = loop.time()
    while True:
        await asyncio.sleep(step)
        now = loop.time()
        if token is not None and now - last_check >= settings.ws_auth_recheck_seconds:
            last_check = now
            try:
                await authenticate(settings, view.identity.denylist, token)
            except InvalidToken as error:
                await close(CREDENTIALS_ENDED, str(error))
                return
        if now - last_ping >= settings.ws_ping_interval_seconds:
            last_ping = now
            await ping()


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws (the `graphql-ws` library's protocol), kept alive and re-checked."""

    keeper: asyncio.Task[None] | None = None

    async def handle_message(self, message: Message) -> None:
        # A malformed message closes with 4400 (the protocol's "invalid message"), not 1011.
        problem = message_problem(message, _gateway(self.view).variable_limits)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.keeper is None:
            self.keeper = asyncio.create_task(
                keep_socket(
                    _gateway(self.view),
                    self.context,
                    ping=lambda: self.send_message({"type": "ping"}),
                    close=lambda code, reason: self.websocket.close(code=code, reason=reason),
                )
            )

    async def shutdown(self) -> None:
        if self.keeper is not None:
            self.keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.keeper
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol: its keep-alive loop also re-checks the token."""

    async def handle_message(self, message: OperationMessage) -> None:
        # The legacy protocol has no close code for it: answer `error` and ignore the message.
        problem = message_problem(message, _gateway(self.view).variable_limits)
        if problem is not None:
            identifier = message.get("id") if isinstance(message, dict) else None
            error: dict[str, object] = {"type": "error", "payload": {"message": problem}}
            if isinstance(identifier, str):
                error["id"] = identifier
            await self.websocket.send_json(error)
            return
        await super().handle_message(message)

    async def handle_keep_alive(self) -> None:
        await keep_socket(
            _gateway(self.view),
            self.context,
            ping=lambda: self.send_message({"type": "ka"}),
            close=lambda code, reason: self.websocket.close(code=code, reason=reason),
        )


def _gateway(view: Any) -> GatewayView:
    return view  # type: ignore[no-any-return]
