"""Socket admission on both protocols: the per-account cap, the init timeout, bad credentials."""

from __future__ import annotations

import pytest
from httpx_ws import WebSocketDisconnect

from app.db.engine import SessionFactory
from tests.app.test_socket_sessions import closed_with, fast_gateway, init
from tests.conftest import graphql_socket
from tests.factories import create_user, token_for
from tests.realtime_helpers import LEGACY, PROTOCOLS

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_the_socket_past_the_cap_is_refused_with_4429(
    database_url: str, session_factory: SessionFactory, protocol: str
) -> None:
    user = await create_user(session_factory)
    other = await create_user(session_factory)
    async with fast_gateway(database_url, ws_max_sockets_per_user=2) as (app, _):
        token = token_for(app.state.monitoring.settings, user)
        async with graphql_socket(app, protocol) as one, graphql_socket(app, protocol) as two:
            await init(one, token)
            await init(two, token)
            async with graphql_socket(app, protocol) as three:
                await three.send_json(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                )
                assert await closed_with(three) == (
                    4429,
                    "too many open sockets for this account (at most 2)",
                )
            # Someone else is not affected, and a closed socket frees its place.
            async with graphql_socket(app, protocol) as theirs:
                await init(theirs, token_for(app.state.monitoring.settings, other))
        async with graphql_socket(app, protocol) as again:
            await init(again, token)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_socket_without_connection_init_is_closed_with_4408(
    database_url: str, protocol: str
) -> None:
    async with (
        fast_gateway(database_url, ws_init_timeout_seconds=0.2) as (app, _),
        graphql_socket(app, protocol) as socket,
    ):
        assert await closed_with(socket) == (4408, "Connection initialisation timeout")


async def test_the_legacy_protocol_closes_bad_credentials_with_4403(database_url: str) -> None:
    async with fast_gateway(database_url) as (app, _), graphql_socket(app, LEGACY) as socket:
        await socket.send_json(
            {"type": "connection_init", "payload": {"authorization": "Bearer forged"}}
        )
        assert await socket.receive_json() == {
            "type": "connection_error",
            "payload": {"code": "UNAUTHENTICATED", "message": "access token invalid"},
        }
        with pytest.raises(WebSocketDisconnect) as closed:
            await socket.receive_json()
    assert (closed.value.code, closed.value.reason) == (4403, "access token invalid")
