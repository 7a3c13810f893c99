"""`bountyUpdated` over WebSocket (graphql-transport-ws): transitions arrive after commit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from app.broker import InProcessBroker
from app.db.engine import SessionFactory
from app.db.models import BountyStatus
from app.settings import Settings
from services.bounties.lifecycle import topic
from tests.bounty_factories import PUBLISH, TEST_CARD, insert_bounty
from tests.conftest import GraphQL, graphql_socket
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

SUBSCRIBE = """subscription ($id: ID!) { bountyUpdated(id: $id) {
  status previousStatus bounty { status title }
} }"""


def _broker(app: Starlette) -> Any:
    route = next(r for r in app.routes if isinstance(r, WebSocketRoute))
    return route.app.runtime.view.broker  # type: ignore[attr-defined]


async def _subscribed(app: Starlette, bounty_topic: str) -> None:
    """graphql-transport-ws does not acknowledge a subscribe: wait until the broker has it."""
    broker = _broker(app)
    assert isinstance(broker, InProcessBroker)
    for _ in range(200):
        if bounty_topic in broker._fanout.topics():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscription never reached the broker")


async def test_the_poster_sees_publishing_as_two_transitions(
    app: Starlette, graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    token = token_for(settings, poster)
    bounty_id = await insert_bounty(
        session_factory, poster, status=BountyStatus.DRAFT, title="Paint a fence"
    )
    bounty = global_id("Bounty", bounty_id)
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_json(
            {
                "type": "subscribe",
                "id": "1",
                "payload": {"query": SUBSCRIBE, "variables": {"id": bounty}},
            }
        )
        await _subscribed(app, topic(bounty_id))
        result = await graphql(
            PUBLISH,
            {"input": {"bountyId": bounty, "idempotencyKey": "p1", "paymentMethodId": TEST_CARD}},
            token=token,
        )
        assert result["data"]["publishBounty"]["bounty"]["status"] == "OPEN"
        first, second = await ws.receive_json(), await ws.receive_json()
    # Publishing commits FUNDING_PENDING before it calls the payment provider and OPEN after:
    # the first event's bounty is read when the event arrives, at either point.
    seen = first["payload"]["data"]["bountyUpdated"].pop("bounty")
    assert seen["title"] == "Paint a fence"
    assert seen["status"] in ("FUNDING_PENDING", "OPEN")
    assert first == {
        "type": "next",
        "id": "1",
        "payload": {
            "data": {"bountyUpdated": {"status": "FUNDING_PENDING", "previousStatus": "DRAFT"}}
        },
    }
    assert second["payload"]["data"]["bountyUpdated"]["status"] == "OPEN"
    assert second["payload"]["data"]["bountyUpdated"]["previousStatus"] == "FUNDING_PENDING"


async def test_someone_elses_draft_cannot_be_watched(
    app: Starlette, session_factory: SessionFactory
) -> None:
    poster = await create_user(session_factory)
    bounty_id = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        variables = {"id": global_id("Bounty", bounty_id)}
        await ws.send_json(
            {
                "type": "subscribe",
                "id": "1",
                "payload": {"query": SUBSCRIBE, "variables": variables},
            }
        )
        message = await ws.receive_json()
    assert message["type"] in ("next", "error")
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["message"] == "no such bounty"
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
