"""Sockets, subscriptions and messaging documents shared by the realtime tests."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from httpx_ws import AsyncWebSocketSession
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from app.db.engine import SessionFactory
from app.db.models import User
from app.realtime.hub import Hub
from tests.bounty_factories import insert_application, insert_bounty
from tests.conftest import GraphQL, graphql_socket
from tests.factories import create_user, global_id

TRANSPORT = "graphql-transport-ws"
LEGACY = "graphql-ws"
PROTOCOLS = (TRANSPORT, LEGACY)

START = """mutation ($input: StartConversationInput!) {
  startConversation(input: $input) {
    __typename
    ... on StartConversationSuccess { conversation { id kind unreadCount participants { id } } }
    ... on UserError { code message field }
  }
}"""
SEND = """mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) {
    __typename
    ... on SendMessageSuccess { sent { id body clientMessageId sender { id } } }
    ... on UserError { code message field }
  }
}"""
READ = """mutation ($input: MarkConversationReadInput!) {
  markConversationRead(input: $input) {
    __typename
    ... on MarkConversationReadSuccess { receipt { messageId user { id } } }
    ... on UserError { code message }
  }
}"""
TYPING = """mutation ($id: ID!) {
  setTyping(conversationId: $id) {
    __typename ... on SetTypingSuccess { published } ... on UserError { code }
  }
}"""
LEAVE = """mutation ($id: ID!) {
  leaveConversation(conversationId: $id) { __typename ... on UserError { code } }
}"""
MESSAGE_ADDED = """subscription ($id: ID!, $after: ID) {
  messageAdded(conversationId: $id, after: $after) { body sender { id displayName } }
}"""


def hub_of(app: Starlette) -> Hub:
    route = next(r for r in app.routes if isinstance(r, WebSocketRoute))
    hub: Hub = route.app.runtime.view.realtime.hub  # type: ignore[attr-defined]
    return hub


async def until_members(app: Starlette, topic: str, count: int, field: str | None = None) -> None:
    """Wait until `count` sockets follow `topic` (graphql-transport-ws acknowledges nothing)."""
    hub = hub_of(app)
    for _ in range(500):
        members = sum(
            len(group.members)
            for group in list(hub.groups.values())
            if group.live.topic == topic and (field is None or group.live.field == field)
        )
        if members >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} subscriber(s) of {topic} never reached the hub")


@contextlib.asynccontextmanager
async def signed_in_socket(
    app: Starlette, protocol: str, token: str | None
) -> AsyncIterator[AsyncWebSocketSession]:
    async with graphql_socket(app, protocol) as ws:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send_json({"type": "connection_init", "payload": payload})
        assert await ws.receive_json() == {"type": "connection_ack"}
        yield ws


async def subscribe(
    ws: AsyncWebSocketSession,
    protocol: str,
    operation_id: str,
    query: str,
    variables: dict[str, Any],
) -> None:
    kind = "subscribe" if protocol == TRANSPORT else "start"
    payload = {"query": query, "variables": variables}
    await ws.send_json({"type": kind, "id": operation_id, "payload": payload})


async def receive(ws: AsyncWebSocketSession, *, within: float = 5.0) -> dict[str, Any]:
    """The next message that is not a ping or keep-alive."""
    async with asyncio.timeout(within):
        while True:
            message: dict[str, Any] = await ws.receive_json()
            if message.get("type") not in ("ping", "ka"):
                return message


async def nothing_more(ws: AsyncWebSocketSession, *, within: float = 0.3) -> None:
    with contextlib.suppress(TimeoutError):
        message = await receive(ws, within=within)
        raise AssertionError(f"unexpected message: {message}")


def data_of(message: dict[str, Any], protocol: str) -> Any:
    assert message["type"] == ("next" if protocol == TRANSPORT else "data"), message
    return message["payload"]["data"]


async def conversation_between(
    graphql: GraphQL, session_factory: SessionFactory, token: str, poster: User, hunter: User
) -> tuple[str, uuid.UUID]:
    """A bounty of `poster` that `hunter` applied to, and their conversation (started by
    `token`'s owner): (conversation global id, bounty id)."""
    bounty_id = await insert_bounty(session_factory, poster)
    await insert_application(session_factory, bounty_id, hunter)
    other = hunter if token_owner_is(poster, token) else poster
    body = await graphql(
        START,
        {
            "input": {
                "bountyId": global_id("Bounty", bounty_id),
                "withUserId": global_id("User", other.id),
            }
        },
        token=token,
    )
    result = body["data"]["startConversation"]
    assert result["__typename"] == "StartConversationSuccess", body
    return result["conversation"]["id"], bounty_id


def token_owner_is(user: User, token: str) -> bool:
    from jwt import decode

    return str(decode(token, options={"verify_signature": False})["sub"]) == str(user.id)


async def users(session_factory: SessionFactory, *names: str) -> list[User]:
    return [await create_user(session_factory, display_name=name) for name in names]


async def send(graphql: GraphQL, token: str, conversation: str, body: str, client_id: str) -> Any:
    variables = {
        "input": {"conversationId": conversation, "body": body, "clientMessageId": client_id}
    }
    answer = await graphql(SEND, variables, token=token)
    assert answer.get("data"), answer
    return answer["data"]["sendMessage"]
