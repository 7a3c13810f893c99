"""Messaging over HTTP: deduplicated sends, history, read state, refusals that change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import Message, User, UserStatus
from app.settings import Settings
from tests.bounty_factories import count_rows
from tests.conftest import GraphQL, StatementCounter
from tests.factories import global_id, token_for
from tests.realtime_helpers import READ, TYPING, conversation_between, send, users

pytestmark = pytest.mark.asyncio

HISTORY = """query ($id: ID!, $before: String, $first: Int) {
  messages(conversationId: $id, before: $before, first: $first) {
    edges { node { body } } pageInfo { hasNextPage endCursor }
  }
}"""
CONVERSATIONS = """query ($first: Int) {
  conversations(first: $first) {
    edges { node { id kind unreadCount lastMessage { body } participants { displayName }
                   bounty { title } } }
  }
}"""


async def test_a_retried_send_stores_one_message_and_returns_the_first(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter = await users(session_factory, "Poster", "Hunter")
    token = token_for(settings, hunter)
    conversation, _ = await conversation_between(graphql, session_factory, token, poster, hunter)
    first = await send(graphql, token, conversation, "Hello", "client-1")
    again = await send(graphql, token, conversation, "Hello", "client-1")
    assert first["__typename"] == "SendMessageSuccess"
    assert again == first
    assert await count_rows(session_factory, Message) == 1
    # Another client id is another message.
    assert (await send(graphql, token, conversation, "Hello", "client-2"))["sent"]["id"] != (
        first["sent"]["id"]
    )
    assert await count_rows(session_factory, Message) == 2


async def test_history_pages_backwards_and_reading_clears_unread(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter = await users(session_factory, "Poster", "Hunter")
    poster_token, hunter_token = token_for(settings, poster), token_for(settings, hunter)
    conversation, _ = await conversation_between(
        graphql, session_factory, poster_token, poster, hunter
    )
    sent = [await send(graphql, hunter_token, conversation, f"m{n}", f"c{n}") for n in range(5)]
    page = (await graphql(HISTORY, {"id": conversation, "first": 2}, token=poster_token))["data"]
    assert [edge["node"]["body"] for edge in page["messages"]["edges"]] == ["m4", "m3"]
    assert page["messages"]["pageInfo"]["hasNextPage"] is True
    older = await graphql(
        HISTORY,
        {"id": conversation, "first": 5, "before": page["messages"]["pageInfo"]["endCursor"]},
        token=poster_token,
    )
    bodies = [edge["node"]["body"] for edge in older["data"]["messages"]["edges"]]
    assert bodies == ["m2", "m1", "m0"]
    assert older["data"]["messages"]["pageInfo"]["hasNextPage"] is False

    listed = await graphql(CONVERSATIONS, {"first": 10}, token=poster_token)
    [edge] = listed["data"]["conversations"]["edges"]
    assert edge["node"]["unreadCount"] == 5
    assert edge["node"]["lastMessage"] == {"body": "m4"}
    assert edge["node"]["kind"] == "BOUNTY"
    assert sorted(p["displayName"] for p in edge["node"]["participants"]) == ["Hunter", "Poster"]
    receipt = await graphql(
        READ,
        {"input": {"conversationId": conversation, "upToMessageId": sent[2]["sent"]["id"]}},
        token=poster_token,
    )
    assert receipt["data"]["markConversationRead"]["receipt"] == {
        "messageId": sent[2]["sent"]["id"],
        "user": {"id": global_id("User", poster.id)},
    }
    listed = await graphql(CONVERSATIONS, {"first": 10}, token=poster_token)
    assert listed["data"]["conversations"]["edges"][0]["node"]["unreadCount"] == 2
    # Reading an older message never moves the position back.
    await graphql(
        READ,
        {"input": {"conversationId": conversation, "upToMessageId": sent[0]["sent"]["id"]}},
        token=poster_token,
    )
    listed = await graphql(CONVERSATIONS, {"first": 10}, token=poster_token)
    assert listed["data"]["conversations"]["edges"][0]["node"]["unreadCount"] == 2
    # Your own messages never count as unread for you.
    hunter_view = await graphql(CONVERSATIONS, {"first": 10}, token=hunter_token)
    assert hunter_view["data"]["conversations"]["edges"][0]["node"]["unreadCount"] == 0


async def test_the_conversation_list_costs_the_same_statements_whatever_its_size(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    sql_statements: StatementCounter,
) -> None:
    poster, *hunters = await users(session_factory, "Poster", "H1", "H2", "H3", "H4")
    token = token_for(settings, poster)
    for hunter in hunters:
        conversation, _ = await conversation_between(
            graphql, session_factory, token, poster, hunter
        )
        await send(graphql, token, conversation, "hi", f"to-{hunter.id}")
    counts = []
    for size in (1, 4):
        before = sql_statements.count
        body = await graphql(CONVERSATIONS, {"first": size}, token=token)
        assert len(body["data"]["conversations"]["edges"]) == size
        counts.append(sql_statements.count - before)
    assert counts[0] == counts[1]
    # totalCount, asked for: the conversations you are in, in the page's own statement.
    counted = """query ($first: Int, $after: String) {
      conversations(first: $first, after: $after) {
        totalCount pageInfo { endCursor } edges { node { id } }
      }
    }"""
    for size in (1, 4):
        before = sql_statements.count
        body = await graphql(counted, {"first": size}, token=token)
        assert body["data"]["conversations"]["totalCount"] == 4
        assert sql_statements.count - before == 1
    end = body["data"]["conversations"]["pageInfo"]["endCursor"]
    past = await graphql(counted, {"after": end}, token=token)
    assert past["data"]["conversations"] == {
        "totalCount": 4,
        "pageInfo": {"endCursor": None},
        "edges": [],
    }
    alone = token_for(settings, (await users(session_factory, "Alone"))[0])
    assert (await graphql(counted, {}, token=alone))["data"]["conversations"]["totalCount"] == 0


async def test_refusals_store_nothing(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter = await users(session_factory, "Poster", "Hunter")
    token = token_for(settings, hunter)
    conversation, _ = await conversation_between(graphql, session_factory, token, poster, hunter)
    too_long = await send(graphql, token, conversation, "x" * 4001, "long")
    assert too_long == {
        "__typename": "InvalidInputError",
        "code": "INVALID_INPUT",
        "message": "at most 4000 characters",
        "field": "input.body",
    }
    blank = await send(graphql, token, conversation, "   ", "blank")
    assert blank["field"] == "input.body"
    async with session_factory() as session, session.begin():
        await session.execute(
            update(User).where(col(User.id) == hunter.id).values(status=UserStatus.SUSPENDED)
        )
    suspended = await send(graphql, token, conversation, "let me in", "late")
    assert suspended["__typename"] == "AccountSuspendedError"
    assert suspended["code"] == "ACCOUNT_SUSPENDED"
    assert await count_rows(session_factory, Message) == 0


async def test_typing_is_throttled_and_strangers_cannot_start_conversations(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter, stranger = await users(session_factory, "Poster", "Hunter", "Stranger")
    token = token_for(settings, hunter)
    conversation, bounty_id = await conversation_between(
        graphql, session_factory, token, poster, hunter
    )
    first = await graphql(TYPING, {"id": conversation}, token=token)
    again = await graphql(TYPING, {"id": conversation}, token=token)
    assert first["data"]["setTyping"] == {"__typename": "SetTypingSuccess", "published": True}
    assert again["data"]["setTyping"] == {"__typename": "SetTypingSuccess", "published": False}
    outsider = token_for(settings, stranger)
    refused = await graphql(TYPING, {"id": conversation}, token=outsider)
    assert refused["data"]["setTyping"] == {"__typename": "NotFoundError", "code": "NOT_FOUND"}
    start = """mutation ($input: StartConversationInput!) {
      startConversation(input: $input) { __typename ... on UserError { code field } }
    }"""
    body = await graphql(
        start, {"input": {"bountyId": global_id("Bounty", bounty_id)}}, token=outsider
    )
    assert body["data"]["startConversation"] == {
        "__typename": "NotAllowedError",
        "code": "NOT_ALLOWED",
        "field": "input.bountyId",
    }


async def test_strangers_and_anonymous_callers_see_and_change_nothing(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter, stranger = await users(session_factory, "Poster", "Hunter", "Stranger")
    token = token_for(settings, hunter)
    conversation, bounty_id = await conversation_between(
        graphql, session_factory, token, poster, hunter
    )
    sent = await send(graphql, token, conversation, "private", "c1")
    message_id = sent["sent"]["id"]
    calls = {
        "messages": (HISTORY, {"id": conversation}),
        "startConversation": (
            """mutation ($input: StartConversationInput!) {
              startConversation(input: $input) { __typename ... on UserError { code } } }""",
            {"input": {"bountyId": global_id("Bounty", bounty_id)}},
        ),
        "sendMessage": (
            """mutation ($input: SendMessageInput!) {
              sendMessage(input: $input) { __typename ... on UserError { code } } }""",
            {"input": {"conversationId": conversation, "body": "x", "clientMessageId": "s"}},
        ),
        "markConversationRead": (
            """mutation ($input: MarkConversationReadInput!) {
              markConversationRead(input: $input) { __typename ... on UserError { code } } }""",
            {"input": {"conversationId": conversation, "upToMessageId": message_id}},
        ),
        "setTyping": (TYPING, {"id": conversation}),
        "leaveConversation": (
            """mutation ($id: ID!) {
              leaveConversation(conversationId: $id) { __typename ... on UserError { code } } }""",
            {"id": conversation},
        ),
    }
    stranger_sees = {
        "messages": "BAD_USER_INPUT",
        "startConversation": "NOT_ALLOWED",
        "sendMessage": "NOT_FOUND",
        "markConversationRead": "NOT_FOUND",
        "setTyping": "NOT_FOUND",
        "leaveConversation": "NOT_FOUND",
    }
    before = await _state(session_factory)
    for field, (document, variables) in calls.items():
        body = await graphql(document, variables, token=token_for(settings, stranger))
        if stranger_sees[field] == "BAD_USER_INPUT":
            assert body["data"] is None
            assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
        else:
            assert body["data"][field]["code"] == stranger_sees[field], (field, body)
        anonymous = await graphql(document, variables)
        assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    assert await _state(session_factory) == before


async def _state(session_factory: SessionFactory) -> list[object]:
    async with session_factory() as session:
        rows = await session.execute(
            text(
                "SELECT (SELECT count(*) FROM messages), "
                "(SELECT count(*) FROM conversations), "
                "(SELECT array_agg(row(user_id, last_read_seq, left_at) ORDER BY user_id)::text "
                "FROM conversation_participants)"
            )
        )
        return list(rows.one())
