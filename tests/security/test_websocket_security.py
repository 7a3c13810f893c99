"""graphql-transport-ws negatives, and browser handshakes from other origins."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

from services import users
from tests.factories import global_id
from tests.security.gateways import running_app

pytestmark = [pytest.mark.asyncio, pytest.mark.websocket_security]

PROTOCOL = "graphql-transport-ws"
APP_ORIGIN = "https://app.bountyexpo.dev"


@contextlib.asynccontextmanager
async def socket(
    app: Starlette, headers: dict[str, str] | None = None
) -> AsyncIterator[AsyncWebSocketSession]:
    transport = ASGIWebSocketTransport(app)
    ws: AsyncWebSocketSession
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        aconnect_ws("/graphql", client, subprotocols=[PROTOCOL], headers=headers or {}) as ws,
    ):
        yield ws


def leaves(group: BaseException) -> list[BaseException]:
    if isinstance(group, BaseExceptionGroup):
        return [leaf for inner in group.exceptions for leaf in leaves(inner)]
    return [group]


async def closed_with(ws: AsyncWebSocketSession) -> tuple[int, str]:
    """Read until the server closes; its close code and reason."""
    try:
        while True:
            await ws.receive_json()
    except WebSocketDisconnect as closed:
        return closed.code, closed.reason or ""


async def test_no_connection_init_in_time_closes_with_4408(database_url: str) -> None:
    async with running_app(database_url, ws_init_timeout_seconds=0.2) as app, socket(app) as ws:
        assert await closed_with(ws) == (4408, "Connection initialisation timeout")


async def test_subscribe_before_ack_closes_with_4401(app: Starlette) -> None:
    async with socket(app) as ws:
        await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }"}})
        assert await closed_with(ws) == (4401, "Unauthorized")


async def test_bad_token_closes_with_4403(app: Starlette) -> None:
    async with socket(app) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"authorization": "Bearer x"}})
        assert (await closed_with(ws))[0] == 4403


async def test_duplicate_operation_id_closes_with_4409(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow(*args: object) -> Sequence[object]:
        await asyncio.sleep(2)
        return []

    monkeypatch.setattr(users, "users_by_id", slow)
    some_id = global_id("User", "00000000-0000-0000-0000-000000000001")
    query = {"query": f'{{ node(id: "{some_id}") {{ id }} }}'}
    async with socket(app) as ws:
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_json({"type": "subscribe", "id": "same", "payload": query})
        await ws.send_json({"type": "subscribe", "id": "same", "payload": query})
        assert await closed_with(ws) == (4409, "Subscriber for same already exists")


async def test_oversize_frame_closes_with_1009(database_url: str) -> None:
    async with running_app(database_url, max_body_bytes=1024) as app, socket(app) as ws:
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        padding = " " * 2000
        await ws.send_text('{"type": "ping"' + padding + "}")
        assert (await closed_with(ws))[0] == 1009


async def test_cross_origin_browser_handshake_is_refused(database_url: str) -> None:
    async with running_app(database_url, cors_origins=APP_ORIGIN) as app:
        # Refused before the handshake is accepted: 1008 in process, HTTP 403 from a server.
        with pytest.raises(BaseExceptionGroup) as refused:
            async with socket(app, {"origin": "https://evil.example"}):
                pass
        [disconnect] = leaves(refused.value)
        assert isinstance(disconnect, WebSocketDisconnect)
        assert disconnect.code == 1008
        # Listed origins and non-browser clients (no Origin header) connect.
        for headers in ({"origin": APP_ORIGIN}, {}):
            async with socket(app, headers) as ws:
                await ws.send_json({"type": "connection_init"})
                assert await ws.receive_json() == {"type": "connection_ack"}
