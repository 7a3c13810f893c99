"""Relay object identification, batched through the per-request loaders."""

from __future__ import annotations

import uuid

import pytest

from app.db.engine import SessionFactory
from app.db.models import UserStatus
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id

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
        global_id("Bounty", uuid.UUID(int=7)),  # no such type (yet)
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
