"""Two users exchange messages over real sockets (both protocols); a third can do neither."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.db.models import Message
from app.settings import Settings
from services.messaging.events import conversation_topic
from tests.bounty_factories import count_rows
from tests.conftest import GraphQL
from tests.factories import global_id, token_for
from tests.realtime_helpers import (
    LEGACY,
    MESSAGE_ADDED,
    PROTOCOLS,
    TRANSPORT,
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
        if protocol == LEGACY:  # stop: the legacy protocol completes the operation
            await poppy.send_json({"type": "stop", "id": "m"})
            assert await receive(poppy) == {"type": "complete", "id": "m"}
