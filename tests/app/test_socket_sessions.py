"""Open sockets: server pings on both protocols, and closing when credentials end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.db.models import Role
from app.main import create_app
from tests.auth_helpers import SIGN_OUT, sign_in
from tests.conftest import graphql_socket, make_settings
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

FAST = {"ws_ping_interval_seconds": 0.1, "ws_auth_recheck_seconds": 0.1}
SUSPEND = """mutation ($id: ID!) {
  setUserStatus(input: {userId: $id, status: SUSPENDED}) { __typename }
}"""


@contextlib.asynccontextmanager
async def fast_gateway(database_url: str, **overrides: Any) -> AsyncIterator[tuple[Starlette, Any]]:
    settings = make_settings(database_url=database_url, **{**FAST, **overrides})
    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:

            async def graphql(
                query: str, variables: Any = None, *, token: str | None = None
            ) -> Any:
                headers = {"authorization": f"Bearer {token}"} if token else {}
                body = {"query": query, "variables": variables or {}}
                return (await client.post("/graphql", json=body, headers=headers)).json()

            yield app, graphql


async def init(socket: AsyncWebSocketSession, token: str | None = None) -> None:
    payload = {"authorization": f"Bearer {token}"} if token else {}
    await socket.send_json({"type": "connection_init", "payload": payload})
    assert await socket.receive_json() == {"type": "connection_ack"}


async def closed_with(socket: AsyncWebSocketSession) -> tuple[int, str]:
    async def read_until_closed() -> None:
        async with asyncio.timeout(5):
            while True:  # pings may arrive before the close
                await socket.receive_json()

    with pytest.raises(WebSocketDisconnect) as closed:
        await read_until_closed()
    return closed.value.code, closed.value.reason


async def test_server_pings_on_graphql_transport_ws(database_url: str) -> None:
    async with (
        fast_gateway(database_url) as (app, _),
        graphql_socket(app, "graphql-transport-ws") as socket,
    ):
        await init(socket)
        assert await asyncio.wait_for(socket.receive_json(), 5) == {"type": "ping"}
        await socket.send_json({"type": "pong"})
        assert await asyncio.wait_for(socket.receive_json(), 5) == {"type": "ping"}


async def test_server_keep_alives_on_the_legacy_protocol(database_url: str) -> None:
    async with fast_gateway(database_url) as (app, _), graphql_socket(app, "graphql-ws") as socket:
        await init(socket)
        assert await asyncio.wait_for(socket.receive_json(), 5) == {"type": "ka"}


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_signing_out_closes_the_open_socket(
    database_url: str, session_factory: SessionFactory, protocol: str
) -> None:
    user = await create_user(session_factory)
    async with fast_gateway(database_url) as (app, graphql):
        session = await sign_in(graphql, user.email)
        async with graphql_socket(app, protocol) as socket:
            await init(socket, session["accessToken"])
            await graphql(SIGN_OUT, token=session["accessToken"])
            assert await closed_with(socket) == (4403, "access token revoked")


async def test_suspension_closes_the_suspended_users_sockets_only(
    database_url: str, session_factory: SessionFactory
) -> None:
    suspended = await create_user(session_factory)
    bystander = await create_user(session_factory)
    admin = await create_user(session_factory, role=Role.ADMIN)
    async with fast_gateway(database_url) as (app, graphql):
        settings = app.state.monitoring.settings
        async with (
            graphql_socket(app, "graphql-transport-ws") as doomed,
            graphql_socket(app, "graphql-transport-ws") as spared,
        ):
            await init(doomed, token_for(settings, suspended))
            await init(spared, token_for(settings, bystander))
            body = await graphql(
                SUSPEND, {"id": global_id("User", suspended.id)}, token=token_for(settings, admin)
            )
            assert body == {"data": {"setUserStatus": {"__typename": "SetUserStatusSuccess"}}}
            assert await closed_with(doomed) == (4403, "access token revoked")
            # The bystander's socket lives on: it keeps getting pings and answers operations.
            await spared.send_json(
                {"type": "subscribe", "id": "1", "payload": {"query": "{ viewer { id } }"}}
            )
            messages: list[Any] = []
            async with asyncio.timeout(10):  # pings every 0.1 s come in between, however many
                while {"type": "complete", "id": "1"} not in messages:
                    messages.append(await spared.receive_json())
            assert [m["type"] for m in messages if m["type"] != "ping"] == ["next", "complete"]
            viewer = {"viewer": {"id": global_id("User", bystander.id)}}
            assert {"type": "next", "id": "1", "payload": {"data": viewer}} in messages
