"""Two users exchange messages over real sockets (both protocols); a third can do neither."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.db.models import Message
from app.settings import Settings
from services.messaging.events import conversation_topic
from tests.bounty_factories import count_rows
from tests.conftest import GraphQL
from tests.factories import global_id, token_for
from tests.realtime_helpers import (
    LEAVE,
    LEGACY,
    MESSAGE_ADDED,
    PROTOCOLS,
    READ,
    TRANSPORT,
    TYPING,
    conversation_between,
    data_of,
    nothing_more,
    receive,
    send,
    signed_in_socket,
    subscribe,
    until_members,
    users,
)

pytestmark = pytest.mark.asyncio


def _sample(kind: str) -> float:
    return REGISTRY.get_sample_value(f"bountyexpo_messages_{kind}_total") or 0.0


def _uuid(global_id_: str) -> str:
    from strawberry import relay

    return relay.from_base64(global_id_)[1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_two_users_talk_live_and_a_third_is_refused(
    app: Starlette,
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    protocol: str,
) -> None:
    poster, hunter, stranger = await users(session_factory, "Poppy", "Hugo", "Sly")
    tokens = {user.display_name: token_for(settings, user) for user in (poster, hunter, stranger)}
    conversation, _ = await conversation_between(
        graphql, session_factory, tokens["Poppy"], poster, hunter
    )
    topic = conversation_topic(_uuid(conversation))
    sent_before, delivered_before = _sample("sent"), _sample("delivered")
    async with (
        signed_in_socket(app, protocol, tokens["Poppy"]) as poppy,
        signed_in_socket(app, protocol, tokens["Hugo"]) as hugo,
        signed_in_socket(app, protocol, tokens["Sly"]) as sly,
    ):
        for ws in (poppy, hugo):
            await subscribe(ws, protocol, "m", MESSAGE_ADDED, {"id": conversation})
        await until_members(app, topic, 2)
        # The stranger's subscription is refused with an error and no data.
        await subscribe(sly, protocol, "m", MESSAGE_ADDED, {"id": conversation})
        refusal = await receive(sly)
        assert refusal["type"] == "error", refusal
        errors = refusal["payload"] if protocol == TRANSPORT else [refusal["payload"]]
        assert [(e["message"], e["extensions"]["code"]) for e in errors] == [
            ("no such conversation", "BAD_USER_INPUT")
        ]

        sent = await send(graphql, tokens["Hugo"], conversation, "On my way", "hugo-1")
        assert sent["__typename"] == "SendMessageSuccess"
        expected = {
            "body": "On my way",
            "sender": {"id": global_id("User", hunter.id), "displayName": "Hugo"},
        }
        for ws in (poppy, hugo):
            assert data_of(await receive(ws), protocol) == {"messageAdded": expected}
        reply = await send(graphql, tokens["Poppy"], conversation, "Thanks!", "poppy-1")
        assert reply["__typename"] == "SendMessageSuccess"
        for ws in (poppy, hugo):
            assert data_of(await receive(ws), protocol)["messageAdded"]["body"] == "Thanks!"

        # The stranger cannot send into it either, and nothing was stored.
        before = await count_rows(session_factory, Message)
        refused = await send(graphql, tokens["Sly"], conversation, "hi", "sly-1")
        assert refused == {
            "__typename": "NotFoundError",
            "code": "NOT_FOUND",
            "message": "no such conversation",
            "field": "conversationId",
        }
        assert await count_rows(session_factory, Message) == before == 2
        await nothing_more(sly)
        # The real paths count: two messages stored, each delivered to two sockets.
        assert (_sample("sent") - sent_before, _sample("delivered") - delivered_before) == (2, 4)
        assert (
            REGISTRY.get_sample_value("bountyexpo_websocket_sockets", {"protocol": protocol}) or 0
        ) >= 3
        if protocol == LEGACY:  # stop: the legacy protocol completes the operation
            await poppy.send_json({"type": "stop", "id": "m"})
            assert await receive(poppy) == {"type": "complete", "id": "m"}


async def test_reconnecting_with_after_replays_exactly_the_missed_messages_then_live(
    app: Starlette, graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter = await users(session_factory, "Poster", "Hunter")
    poster_token, hunter_token = token_for(settings, poster), token_for(settings, hunter)
    conversation, _ = await conversation_between(
        graphql, session_factory, poster_token, poster, hunter
    )
    topic = conversation_topic(_uuid(conversation))
    query = """subscription ($id: ID!, $after: ID) {
      messageAdded(conversationId: $id, after: $after) { id body }
    }"""
    async with signed_in_socket(app, TRANSPORT, poster_token) as ws:
        await subscribe(ws, TRANSPORT, "1", query, {"id": conversation})
        await until_members(app, topic, 1)
        for n in (1, 2):
            await send(graphql, hunter_token, conversation, f"m{n}", f"c{n}")
        seen = [data_of(await receive(ws), TRANSPORT)["messageAdded"] for _ in range(2)]
    assert [m["body"] for m in seen] == ["m1", "m2"]
    for n in (3, 4):  # while the phone was offline
        await send(graphql, hunter_token, conversation, f"m{n}", f"c{n}")

    async def keep_sending() -> None:
        for n in range(5, 15):
            await send(graphql, hunter_token, conversation, f"m{n}", f"c{n}")

    async with signed_in_socket(app, TRANSPORT, poster_token) as ws:
        sender = asyncio.create_task(keep_sending())  # sends race the replay
        await subscribe(ws, TRANSPORT, "1", query, {"id": conversation, "after": seen[-1]["id"]})
        bodies = [data_of(await receive(ws), TRANSPORT)["messageAdded"]["body"] for _ in range(12)]
        await sender
        await nothing_more(ws)
    assert bodies == [f"m{n}" for n in range(3, 15)]  # in order, no gap, no duplicate


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_participant_who_leaves_stops_receiving_with_a_clear_error(
    app: Starlette,
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    protocol: str,
) -> None:
    poster, hunter = await users(session_factory, "Poster", "Hunter")
    poster_token, hunter_token = token_for(settings, poster), token_for(settings, hunter)
    conversation, _ = await conversation_between(
        graphql, session_factory, poster_token, poster, hunter
    )
    topic = conversation_topic(_uuid(conversation))
    typing = "subscription ($id: ID!) { typing(conversationId: $id) { user { displayName } } }"
    read = "subscription ($id: ID!) { messageRead(conversationId: $id) { user { displayName } } }"
    async with (
        signed_in_socket(app, protocol, poster_token) as poppy,
        signed_in_socket(app, protocol, hunter_token) as hugo,
    ):
        await subscribe(hugo, protocol, "m", MESSAGE_ADDED, {"id": conversation})
        await subscribe(poppy, protocol, "m", MESSAGE_ADDED, {"id": conversation})
        await subscribe(poppy, protocol, "t", typing, {"id": conversation})
        await subscribe(poppy, protocol, "r", read, {"id": conversation})
        await until_members(app, topic, 4)
        assert (await graphql(TYPING, {"id": conversation}, token=hunter_token))["data"]
        assert data_of(await receive(poppy), protocol) == {
            "typing": {"user": {"displayName": "Hunter"}}
        }
        sent = await send(graphql, poster_token, conversation, "Still there?", "p1")
        for ws in (poppy, hugo):
            assert data_of(await receive(ws), protocol)["messageAdded"]["body"] == "Still there?"
        await graphql(
            READ,
            {"input": {"conversationId": conversation, "upToMessageId": sent["sent"]["id"]}},
            token=hunter_token,
        )
        assert data_of(await receive(poppy), protocol) == {
            "messageRead": {"user": {"displayName": "Hunter"}}
        }
        left = await graphql(LEAVE, {"id": conversation}, token=hunter_token)
        assert left["data"]["leaveConversation"]["__typename"] == "LeaveConversationSuccess"
        ended = await receive(hugo)
        assert ended["type"] == "error"
        error = ended["payload"][0] if protocol == TRANSPORT else ended["payload"]
        assert (error["message"], error["extensions"]["code"]) == (
            "you are no longer a participant of this conversation",
            "FORBIDDEN",
        )
        if protocol == LEGACY:
            assert await receive(hugo) == {"type": "complete", "id": "m"}
        await send(graphql, poster_token, conversation, "Bye then", "p2")
        assert data_of(await receive(poppy), protocol)["messageAdded"]["body"] == "Bye then"
        await nothing_more(hugo)
