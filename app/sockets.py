"""Our handlers of both WebSocket protocols: admission, socket cap, and the realtime hub.

Sockets authenticate once, in `connection_init`, with the HTTP code path; a presented but bad
token closes the socket with 4403 and the reason on both protocols, an account past
WS_MAX_SOCKETS_PER_USER open sockets gets 4429, and a socket that never sends
`connection_init` is closed with 4408 after WS_INIT_TIMEOUT_SECONDS (the legacy protocol too).
Pings and token re-checks are the supervisor's (app/realtime/supervisor.py), for all sockets at
once. Subscriptions are offered to the hub (app/realtime/): the hub then serves them in groups.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import (
    ConnectionInitMessage as LegacyInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.types import OperationMessage

from app.realtime.connection import Connection, SocketView
from app.realtime.frames import LEGACY_WS, TRANSPORT_WS
from app.realtime.live import ADOPTION
from app.request_bodies import message_problem
from schema.context import Context

CREDENTIALS_ENDED = 4403
INIT_TIMEOUT = 4408


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws (the `graphql-ws` library's protocol)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = Connection(_gateway(self.view), self.websocket, TRANSPORT_WS)

    async def handle_message(self, message: Message) -> None:
        # A malformed message closes with 4400 (the protocol's "invalid message"), not 1011.
        problem = message_problem(message, _gateway(self.view).variable_limits)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload", {})
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(code=4429, reason="Too many initialisation requests")
            return
        self.connection_init_received = True
        refusal = await self.connection.open(self.context, payload)
        if refusal is not None:
            await self.websocket.close(code=refusal[0], reason=refusal[1])
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        ADOPTION.set(
            self.connection.adoption(
                operation.id,
                operation.query,
                operation.variables,
                operation.operation_name,
                self._ended,
            )
        )
        await super().run_operation(operation)

    def _ended(self, operation_id: str) -> None:
        self.connection.adoptions.pop(operation_id, None)
        self.operations.pop(operation_id, None)

    def forget_id(self, id: str) -> None:
        if not self.connection.adopted(id):  # the hub serves it: it is not over
            self.connection.adoptions.pop(id, None)
            super().forget_id(id)

    async def send_message(self, message: Message) -> None:
        if message["type"] == "complete" and self.connection.adopted(message["id"]):
            return  # the operation's stream ended because the hub took it over
        await super().send_message(message)

    async def cleanup_operation(self, operation_id: str) -> None:
        self.connection.release(operation_id)
        await super().cleanup_operation(operation_id)

    async def shutdown(self) -> None:
        await self.connection.close()
        await super().shutdown()


class LegacyWSHandler(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol (subscriptions-transport-ws)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = Connection(_gateway(self.view), self.websocket, LEGACY_WS)
        self.init_timer: asyncio.Task[None] | None = None

    async def handle(self) -> None:
        self.init_timer = asyncio.create_task(self._init_timeout())
        try:
            await super().handle()
        finally:
            self.init_timer.cancel()
            await self.connection.close()

    async def _init_timeout(self) -> None:
        await asyncio.sleep(_gateway(self.view).settings.ws_init_timeout_seconds)
        if not self.connection_acknowledged:
            await self.websocket.close(
                code=INIT_TIMEOUT, reason="Connection initialisation timeout"
            )

    async def handle_connection_init(self, message: LegacyInitMessage) -> None:
        if self.init_timer is not None:
            self.init_timer.cancel()
        payload = message.get("payload")
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            await self.send_message({"type": "connection_error"})
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        refusal = await self.connection.open(self.context, payload)
        if refusal is not None:
            if refusal[0] == CREDENTIALS_ENDED:
                error: dict[str, object] = {"code": "UNAUTHENTICATED", "message": refusal[1]}
                await self.send_message({"type": "connection_error", "payload": error})
            await self.websocket.close(code=refusal[0], reason=refusal[1])
            return
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

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
        return None  # the supervisor sends `ka` on every legacy socket

    async def handle_async_results(
        self,
        operation_id: str,
        query: str,
        operation_name: str | None,
        variables: dict[str, object] | None,
    ) -> None:
        ADOPTION.set(
            self.connection.adoption(operation_id, query, variables, operation_name, self._ended)
        )
        await super().handle_async_results(operation_id, query, operation_name, variables)

    def _ended(self, operation_id: str) -> None:
        self.connection.adoptions.pop(operation_id, None)

    async def send_message(self, message: OperationMessage) -> None:
        if message["type"] == "complete" and self.connection.adopted(message["id"]):
            return
        await super().send_message(message)

    async def cleanup_operation(self, operation_id: str) -> None:
        if self.connection.release(operation_id):
            with contextlib.suppress(Exception):
                await super().send_message({"type": "complete", "id": operation_id})
        await super().cleanup_operation(operation_id)


def _gateway(view: Any) -> SocketView:
    """strawberry types the handler's view loosely; ours is always a SocketView."""
    return view  # type: ignore[no-any-return]
