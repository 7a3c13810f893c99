"""GraphQL over WebSocket: both protocols, authenticated in `connection_init`."""

from __future__ import annotations

import pytest
from httpx_ws import WebSocketDisconnect
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.settings import Settings
from tests.conftest import graphql_socket
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

VIEWER = "{ viewer { id displayName } }"


async def test_graphql_transport_ws_runs_an_operation_as_the_viewer(
    app: Starlette, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory, display_name="Socket Sam")
    init = {
        "type": "connection_init",
        "payload": {"authorization": f"Bearer {token_for(settings, user)}"},
    }
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        await ws.send_json(init)
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": VIEWER}})
        assert await ws.receive_json() == {
            "type": "next",
            "id": "1",
            "payload": {
                "data": {"viewer": {"id": global_id("User", user.id), "displayName": "Socket Sam"}}
            },
        }
        assert await ws.receive_json() == {"type": "complete", "id": "1"}


async def test_graphql_transport_ws_without_token_is_anonymous(app: Starlette) -> None:
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_json({"type": "subscribe", "id": "a", "payload": {"query": VIEWER}})
        assert await ws.receive_json() == {
            "type": "next",
            "id": "a",
            "payload": {"data": {"viewer": None}},
        }


@pytest.mark.parametrize("payload", [{"authorization": "Bearer forged"}, {"token": "forged"}])
async def test_graphql_transport_ws_rejects_a_bad_token_with_4403(
    app: Starlette, payload: dict[str, str]
) -> None:
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        await ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json()
    assert closed.value.code == 4403


async def test_legacy_graphql_ws_protocol_authenticates_in_connection_init(
    app: Starlette, session_factory: SessionFactory, settings: Settings
) -> None:
    # Strawberry runs only subscriptions over the legacy protocol; they arrive with the domains.
    user = await create_user(session_factory)
    token = token_for(settings, user)
    async with graphql_socket(app, "graphql-ws") as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        assert await ws.receive_json() == {"type": "connection_ack"}


async def test_legacy_graphql_ws_protocol_rejects_a_bad_token(app: Starlette) -> None:
    async with graphql_socket(app, "graphql-ws") as ws:
        await ws.send_json({"type": "connection_init", "payload": {"authorization": "Bearer x"}})
        assert await ws.receive_json() == {
            "type": "connection_error",
            "payload": {"code": "UNAUTHENTICATED", "message": "access token invalid"},
        }
        with pytest.raises(WebSocketDisconnect):
            await ws.receive_json()


async def test_unknown_subprotocol_is_closed_with_4406(app: Starlette) -> None:
    async with graphql_socket(app, "chat") as ws:
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json()
    assert (closed.value.code, closed.value.reason) == (4406, "Subprotocol not acceptable")
