"""What both WebSocket protocols do alike: admit a socket, and hand subscriptions to the hub.

`Connection` belongs to one socket handler. `open` authenticates the `connection_init` payload
with the HTTP code path (4403 and the reason when refused), applies the per-account socket cap
(4429) and registers the socket with the supervisor (pings, token re-checks). `adoption` offers
an operation to the hub; `adopted` tells the handler whether the hub serves it now, so the
handler neither completes nor forgets it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from strawberry.exceptions import ConnectionRejectionError

from app.realtime.hub import Adoption, Hub
from app.realtime.outbox import Outbox
from app.realtime.runtime import Realtime
from app.realtime.supervisor import (
    CREDENTIALS_ENDED,
    TOO_MANY_SOCKETS,
    TRY_AGAIN_LATER,
    OpenSocket,
    Supervisor,
)
from app.request_bodies import VariableLimits
from app.security.jwt import InvalidToken, decode_access_token
from app.settings import Settings
from services.outages import DependencyUnavailable

logger = logging.getLogger(__name__)


class SocketView(Protocol):
    """What a socket takes from the view serving it; app/graphql.py's view is one."""

    settings: Settings
    realtime: Realtime
    variable_limits: VariableLimits

    async def on_ws_connect(self, context: Any) -> Any: ...


class Connection:
    def __init__(self, view: SocketView, websocket: Any, protocol: str) -> None:
        self.view = view
        self.protocol = protocol
        ws = websocket.ws  # strawberry's adapter around Starlette's WebSocket
        # The raw ASGI send (monitoring's counting wrapper included): frames are ready messages.
        self.outbox = Outbox(ws._send, self._close)
        self._ws = ws
        self.socket: OpenSocket | None = None
        self.adoptions: dict[str, Adoption] = {}

    async def _close(self, code: int, reason: str) -> None:
        await self._ws.close(code=code, reason=reason)

    @property
    def hub(self) -> Hub:
        return self.view.realtime.hub

    @property
    def supervisor(self) -> Supervisor:
        return self.view.realtime.supervisor

    async def open(self, context: Any, payload: dict[str, Any]) -> tuple[int, str] | None:
        """Authenticate and admit; the (code, reason) to close with when refused."""
        context.connection_params = payload
        try:
            await self.view.on_ws_connect(context)
        except ConnectionRejectionError as error:
            message = getattr(error, "payload", {}) or {}
            return CREDENTIALS_ENDED, str(message.get("message", "Forbidden"))
        except DependencyUnavailable as error:  # revocations cannot be checked: reconnect later
            return TRY_AGAIN_LATER, error.message
        token = context.access_token
        try:
            claims = decode_access_token(self.view.settings, token) if token else None
        except InvalidToken as error:  # expired between the two reads
            return CREDENTIALS_ENDED, str(error)
        socket = OpenSocket(self.protocol, self.outbox, self._close, claims)
        if not await self.supervisor.admit(socket):
            limit = self.view.settings.ws_max_sockets_per_user
            return TOO_MANY_SOCKETS, f"too many open sockets for this account (at most {limit})"
        self.socket = socket
        return None

    def adoption(
        self,
        operation_id: str,
        query: str,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        on_end: Callable[[str], None],
    ) -> Adoption:
        adoption = Adoption(
            self.hub,
            self.outbox,
            self.protocol,
            operation_id,
            query,
            variables,
            operation_name,
            on_end,
        )
        self.adoptions[operation_id] = adoption
        return adoption

    def adopted(self, operation_id: str) -> bool:
        adoption = self.adoptions.get(operation_id)
        return adoption is not None and adoption.member is not None and not adoption.member.ended

    def release(self, operation_id: str) -> bool:
        """The client stopped `operation_id`: True if the hub was serving it."""
        adoption = self.adoptions.pop(operation_id, None)
        if adoption is None or adoption.member is None:
            return False
        self.hub.leave(adoption.member)
        return True

    async def close(self) -> None:
        for operation_id in list(self.adoptions):
            self.release(operation_id)
        if self.socket is not None:
            await self.supervisor.remove(self.socket)
        await self.outbox.aclose()
