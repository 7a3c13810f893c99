"""Relay object identification, batched through the per-request loaders."""

from __future__ import annotations

import uuid

import pytest

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, UserStatus
from app.settings import Settings
from tests.bounty_factories import insert_bounty
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio

NODE = "query ($id: ID!) { node(id: $id) { __typename id ... on User { displayName } } }"
NODES = "query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on User { displayName } } }"


async def test_node_fetches_a_user_by_global_id(
    graphql: GraphQL, session_factory: SessionFactory
) -> None:
    user = await create_user(session_factory, display_name="Bo")
    body = await graphql(NODE, {"id": global_id("User", user.id)})
    assert body == {
        "data": {
            "node": {"__typename": "User", "id": global_id("User", user.id), "displayName": "Bo"}
        }
    }


@pytest.mark.parametrize(
    "node_id",
    [
        global_id("User", uuid.UUID(int=7)),  # no such user
        global_id("User", "not-a-uuid"),
        global_id("Bounty", uuid.UUID(int=7)),  # no such bounty
        global_id("Bounty", "not-a-uuid"),
        global_id("Nothing", "x"),  # no such type
        global_id("Query", "x"),  # a type that is not a Node
    ],
)
async def test_unknown_ids_resolve_to_null(graphql: GraphQL, node_id: str) -> None:
    assert await graphql(NODE, {"id": node_id}) == {"data": {"node": None}}


async def test_deleted_users_are_invisible(
    graphql: GraphQL, session_factory: SessionFactory
) -> None:
    user = await create_user(session_factory, status=UserStatus.DELETED)
    assert await graphql(NODE, {"id": global_id("User", user.id)}) == {"data": {"node": None}}


async def test_malformed_global_id_is_bad_user_input(graphql: GraphQL) -> None:
    body = await graphql(NODE, {"id": "definitely not base64 of Type:id"})
    assert body["data"] == {"node": None}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert error["path"] == ["node"]


async def test_nodes_keep_the_order_asked_with_nulls_for_unknown(
    graphql: GraphQL, session_factory: SessionFactory
) -> None:
    first = await create_user(session_factory, display_name="First")
    second = await create_user(session_factory, display_name="Second")
    missing = global_id("User", uuid.UUID(int=1))
    ids = [global_id("User", second.id), missing, global_id("User", first.id)]
    body = await graphql(NODES, {"ids": ids})
    assert body == {
        "data": {
            "nodes": [
                {"id": ids[0], "displayName": "Second"},
                None,
                {"id": ids[2], "displayName": "First"},
            ]
        }
    }


async def test_nodes_refuses_more_than_a_hundred_ids(graphql: GraphQL) -> None:
    ids = [global_id("User", uuid.UUID(int=number)) for number in range(101)]
    body = await graphql(NODES, {"ids": ids})
    [error] = body["errors"]
    assert error["message"] == "at most 100 ids per request"
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "ids"}


async def test_statements_per_request_do_not_grow_with_the_number_of_ids(
    graphql: GraphQL, session_factory: SessionFactory, sql_statements: StatementCounter
) -> None:
    users = [await create_user(session_factory) for _ in range(20)]

    async def statements_for(count: int) -> int:
        before = sql_statements.count
        body = await graphql(NODES, {"ids": [global_id("User", u.id) for u in users[:count]]})
        assert len(body["data"]["nodes"]) == count
        assert None not in body["data"]["nodes"]
        return sql_statements.count - before

    assert await statements_for(1) == await statements_for(20) == 1


BOUNTY_NODES = """
query ($ids: [ID!]!) {
  nodes(ids: $ids) { id ... on Bounty { title poster { id } applicationCount images { url } } }
}"""


async def test_bounty_nodes_cost_one_statement_whatever_their_number(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    sql_statements: StatementCounter,
) -> None:
    poster, other = await create_user(session_factory), await create_user(session_factory)
    bounties = [await insert_bounty(session_factory, poster) for _ in range(20)]
    draft = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)

    async def statements_for(count: int) -> int:
        before = sql_statements.count
        ids = [global_id("Bounty", bounty_id) for bounty_id in bounties[:count]]
        body = await graphql(BOUNTY_NODES, {"ids": ids})
        assert [node["id"] for node in body["data"]["nodes"]] == ids
        return sql_statements.count - before

    assert await statements_for(1) == await statements_for(20) == 1
    # Visibility holds in the batch: someone else's draft is null, in its place.
    ids = [
        global_id("Bounty", bounties[0]),
        global_id("Bounty", draft),
        global_id("User", other.id),
    ]
    body = await graphql(BOUNTY_NODES, {"ids": ids}, token=token_for(settings, other))
    assert [node and node["id"] for node in body["data"]["nodes"]] == [ids[0], None, ids[2]]
    mine = await graphql(BOUNTY_NODES, {"ids": ids[1:2]}, token=token_for(settings, poster))
    assert mine["data"]["nodes"][0]["id"] == ids[1]
