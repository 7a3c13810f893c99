"""WebSocket connections, messages and refusals are counted around the GraphQL view."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator

import pytest
import strawberry
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect
from starlette.applications import Starlette

from app.monitoring.extensions import MonitoringExtension
from tests.app.monitoring.helpers import deltas, value
from tests.conftest import graphql_socket

pytestmark = pytest.mark.asyncio


async def receive(socket: AsyncWebSocketSession) -> object:
    message: object = await socket.receive_json()  # text frames, as graphql-ws clients require
    return message


async def test_a_socket_counts_while_open_and_its_messages_both_ways(app: Starlette) -> None:
    open_before = value("bountyexpo_websocket_connections")
    with deltas(
        ("bountyexpo_websocket_messages_received_total", {}),
        ("bountyexpo_websocket_messages_sent_total", {}),
    ) as moved:
        async with graphql_socket(app, "graphql-transport-ws") as socket:
            await socket.send_json({"type": "connection_init"})
            assert await receive(socket) == {"type": "connection_ack"}
            await socket.send_json({"type": "ping"})
            assert await receive(socket) == {"type": "pong"}
            open_during = value("bountyexpo_websocket_connections")
    assert open_during - open_before == 1
    assert value("bountyexpo_websocket_connections") == open_before
    assert moved.all() == [2, 2]


async def test_a_refused_token_counts_as_a_4403_error(app: Starlette) -> None:
    with deltas(("bountyexpo_websocket_errors_total", {"code": "4403"})) as moved:
        async with graphql_socket(app, "graphql-transport-ws") as socket:
            await socket.send_json(
                {"type": "connection_init", "payload": {"authorization": "Bearer nope"}}
            )
            with pytest.raises(WebSocketDisconnect) as closed:
                await receive(socket)
    assert closed.value.code == 4403
    assert moved.all() == [1]


@strawberry.type
class TickQuery:
    @strawberry.field
    def ok(self) -> bool:
        return True


@strawberry.type
class TickSubscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[int, None]:
        for tick in range(3):
            yield tick


async def test_active_subscriptions_are_counted_by_root_field() -> None:
    # No domain has a subscription yet: a schema of its own, with the gateway's extension.
    extension = functools.partial(
        MonitoringExtension, tracer=None, metrics_enabled=True, sample_rate=1.0
    )
    schema = strawberry.Schema(TickQuery, subscription=TickSubscription, extensions=[extension])
    before = value("bountyexpo_websocket_subscriptions", field="ticks")
    stream = await schema.subscribe("subscription Ticks { ticks }")
    assert isinstance(stream, AsyncGenerator)
    first = await anext(stream)
    during = value("bountyexpo_websocket_subscriptions", field="ticks")
    await stream.aclose()
    assert first.data == {"ticks": 0}
    assert during - before == 1
    assert value("bountyexpo_websocket_subscriptions", field="ticks") == before
