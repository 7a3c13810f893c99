"""Real gateway processes: Redis fan-out across instances, and every socket closed gracefully on
SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from app.db.engine import SessionFactory
from app.db.models import Role
from app.settings import Settings
from tests.bounty_factories import insert_application, insert_bounty
from tests.factories import create_user, global_id, token_for
from tests.gateway_processes import gateway_process, next_for, socket_to, start
from tests.realtime_helpers import MESSAGE_ADDED, SEND, START, TYPING

pytestmark = pytest.mark.asyncio

FAST = {
    "WS_AUTH_RECHECK_SECONDS": "0.3",
    "WS_PING_INTERVAL_SECONDS": "5",
    "TYPING_THROTTLE_SECONDS": "0",
}
TYPING_SUB = "subscription ($id: ID!) { typing(conversationId: $id) { user { displayName } } }"
SUSPEND = """mutation ($id: ID!) {
  setUserStatus(input: {userId: $id, status: SUSPENDED}) { __typename }
}"""


async def _read_until_closed(ws: ClientConnection) -> None:
    async with asyncio.timeout(20):
        while True:
            await ws.recv()


async def _closed_code(ws: ClientConnection) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        await _read_until_closed(ws)
    assert closed.value.rcvd is not None
    return int(closed.value.rcvd.code)


async def test_two_gateways_share_messages_typing_and_suspensions(
    database_url: str,
    redis_url: str,
    session_factory: SessionFactory,
    settings: Settings,
    tmp_path: Path,
) -> None:
    poster = await create_user(session_factory, display_name="Poster")
    hunter = await create_user(session_factory, display_name="Hunter")
    admin = await create_user(session_factory, role=Role.ADMIN)
    bounty_id = await insert_bounty(session_factory, poster)
    await insert_application(session_factory, bounty_id, hunter)
    poster_token, hunter_token = token_for(settings, poster), token_for(settings, hunter)
    env = {**FAST, "REDIS_URL": redis_url}
    with (
        gateway_process(database_url, tmp_path / "one.log", **env) as one,
        gateway_process(database_url, tmp_path / "two.log", **env) as two,
    ):
        started = await one.graphql(
            START,
            {
                "input": {
                    "bountyId": global_id("Bounty", bounty_id),
                    "withUserId": global_id("User", hunter.id),
                }
            },
            token=poster_token,
        )
        conversation = started["data"]["startConversation"]["conversation"]["id"]
        async with (
            socket_to(two, poster_token) as watcher,
            socket_to(one, hunter_token) as hunter_on_one,
            socket_to(two, hunter_token) as hunter_on_two,
        ):
            await start(watcher, "t", TYPING_SUB, {"id": conversation})
            await start(watcher, "m", MESSAGE_ADDED, {"id": conversation})

            async def typing_arrives() -> object:
                while True:  # until the subscription is live on gateway two
                    await one.graphql(TYPING, {"id": conversation}, token=hunter_token)
                    try:
                        return await next_for(watcher, "t", within=0.5)
                    except TimeoutError:
                        continue

            typed: Any = await asyncio.wait_for(typing_arrives(), 30)
            assert typed["payload"]["data"] == {"typing": {"user": {"displayName": "Hunter"}}}
            sent = await one.graphql(
                SEND,
                {
                    "input": {
                        "conversationId": conversation,
                        "body": "Across instances",
                        "clientMessageId": "x-1",
                    }
                },
                token=hunter_token,
            )
            assert sent["data"]["sendMessage"]["__typename"] == "SendMessageSuccess"
            message = await next_for(watcher, "m")
            assert message["payload"]["data"]["messageAdded"]["body"] == "Across instances"

            suspended = await two.graphql(
                SUSPEND, {"id": global_id("User", hunter.id)}, token=token_for(settings, admin)
            )
            assert suspended["data"]["setUserStatus"]["__typename"] == "SetUserStatusSuccess"
            assert await _closed_code(hunter_on_one) == 4403
            assert await _closed_code(hunter_on_two) == 4403


async def test_sigterm_closes_every_socket_gracefully(
    database_url: str, session_factory: SessionFactory, settings: Settings, tmp_path: Path
) -> None:
    user = await create_user(session_factory)
    with gateway_process(database_url, tmp_path / "gw.log") as gateway:
        async with (
            socket_to(gateway, token_for(settings, user)) as modern,
            socket_to(gateway, None, "graphql-ws") as legacy,
        ):
            await start(modern, "v", "{ viewer { id } }", {})
            assert (await next_for(modern, "v"))["payload"]["data"]["viewer"]["id"]
            gateway.process.send_signal(signal.SIGTERM)
            codes = [await _closed_code(modern), await _closed_code(legacy)]
        assert codes == [1012, 1012]  # "service restart": clients reconnect elsewhere
        assert gateway.process.wait(30) == 0
