"""Query limits are refused before execution, with their own codes, on cached documents too."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from app.db.engine import SessionFactory
from app.security.cost import DEFAULT_LIST_SIZE
from services import users
from tests.conftest import GraphQL
from tests.factories import create_user, global_id
from tests.security.gateways import codes, gateway

pytestmark = [pytest.mark.asyncio, pytest.mark.query_limits]


def nested(depth: int) -> str:
    """`__type { ofType { ... } }` nested to `depth` levels, beside an ordinary root field (an
    introspection-only operation has limits of its own: tests/security/test_introspection.py)."""
    inner = "name"
    for _ in range(depth - 2):
        inner = f"ofType {{ {inner} }}"
    return f'{{ serverInfo {{ version }} __type(name: "User") {{ {inner} }} }}'


async def test_depth_limit(graphql: GraphQL) -> None:
    allowed = await graphql(nested(10))
    assert "errors" not in allowed
    refused = await graphql(nested(11))
    assert refused["data"] is None
    assert refused["errors"][0] == {
        "message": "The query is 11 levels deep; at most 10 are allowed.",
        "extensions": {"code": "QUERY_TOO_DEEP"},
    }


async def test_depth_counts_through_fragments(graphql: GraphQL) -> None:
    document = (
        'query { serverInfo { version } __type(name: "User") { ...A } } '
        "fragment A on __Type { ofType { ...B } } "
        "fragment B on __Type { ofType { ofType { ofType { ofType { ofType { ofType { ofType "
        "{ ofType { name } } } } } } } } }"
    )
    body = await graphql(document)
    assert codes(body) == ["QUERY_TOO_DEEP"]


async def test_alias_limit_counts_fragment_spreads_where_used(graphql: GraphQL) -> None:
    fifteen = "{ " + " ".join(f"a{i}: __typename" for i in range(15)) + " }"
    assert (await graphql(fifteen))["data"]["a14"] == "Query"
    # Four aliases in a fragment spread four times: 16.
    spread = "{ ...F ...F ...F ...F } fragment F on Query { a: __typename b: __typename c: __typename d: __typename }"  # noqa: E501
    body = await graphql(spread)
    assert body == {
        "data": None,
        "errors": [
            {
                "message": "The query uses 16 aliases; at most 15 are allowed.",
                "extensions": {"code": "TOO_MANY_ALIASES"},
            }
        ],
    }


async def test_directive_limit(graphql: GraphQL) -> None:
    fifty = "{ __typename " + "@include(if: true) " * 50 + "}"
    fifty_one = "{ __typename " + "@include(if: true) " * 51 + "}"
    assert codes(await graphql(fifty)) == ["GRAPHQL_VALIDATION_FAILED"]  # repeated, not too many
    assert codes(await graphql(fifty_one))[0] == "TOO_MANY_DIRECTIVES"


async def test_root_field_limit(graphql: GraphQL) -> None:
    twenty = "{ " + " ".join(f"f{i}: serverInfo {{ version }}" for i in range(20)) + " }"
    body = await graphql(twenty, status=200)
    assert codes(body) == ["TOO_MANY_ALIASES"]  # the tighter limit speaks first
    root = "{ " + "serverInfo { version } " * 21 + "}"
    assert codes(await graphql(root)) == ["TOO_MANY_ROOT_FIELDS"]


async def test_token_limit(graphql: GraphQL) -> None:
    many = "{ serverInfo { " + "version " * 1000 + "} }"
    body = await graphql(many)
    assert body["data"] is None
    assert codes(body) == ["TOO_MANY_TOKENS"]
    assert "more than 1000 tokens" in body["errors"][0]["message"]


async def test_document_size_limit(graphql: GraphQL) -> None:
    padded = "{ serverInfo { version } }" + "#" * 15_000
    body = await graphql(padded)
    assert body["errors"] == [
        {
            "message": f"The document has {len(padded)} characters; at most 15000 are allowed.",
            "extensions": {"code": "QUERY_TOO_LARGE"},
        }
    ]


async def test_limits_hold_for_cached_documents(graphql: GraphQL) -> None:
    """The validation cache answers the second time; the verdict must be the same."""
    for _ in range(3):
        assert codes(await graphql(nested(11))) == ["QUERY_TOO_DEEP"]
        assert "errors" not in await graphql(nested(10))


COST = {"cost": True}


async def cost_of(client: httpx.AsyncClient, query: str, variables: Any = None) -> Any:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}, "extensions": COST}
    )
    return response.json()


async def test_cost_is_reported_when_asked(client: httpx.AsyncClient) -> None:
    # serverInfo is an object (2) with two leaves (1 each).
    body = await cost_of(client, "{ serverInfo { version environment } }")
    assert body["extensions"] == {"cost": {"requestedQueryCost": 4, "maximumQueryCost": 5000}}
    plain = await client.post("/graphql", json={"query": "{ serverInfo { version } }"})
    assert "extensions" not in plain.json()


async def test_cost_multiplies_lists_by_their_size(client: httpx.AsyncClient) -> None:
    ids = [global_id("User", f"00000000-0000-0000-0000-00000000000{i}") for i in range(3)]
    query = "query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on User { displayName } } }"
    body = await cost_of(client, query, {"ids": ids})
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 3 * 2
    introspection = await cost_of(client, "{ __schema { types { name } } }")
    assert introspection["extensions"]["cost"] == {
        "requestedQueryCost": 2 + 2 + DEFAULT_LIST_SIZE,
        "maximumQueryCost": 100_000,  # introspection only: its own limit
    }


async def test_over_cost_operations_are_refused_before_they_run(
    database_url: str, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    original = users.users_by_id

    async def counting(*args: Any) -> Sequence[object]:
        calls.append(args)
        return await original(*args)

    monkeypatch.setattr(users, "users_by_id", counting)
    user = await create_user(session_factory)
    ids = [global_id("User", user.id)] * 30
    query = "query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on User { displayName bio } } }"
    async with gateway(database_url, max_query_cost=60) as client:
        body = await cost_of(client, query, {"ids": ids})
        assert body["data"] is None
        assert body["errors"] == [
            {
                "message": "The operation costs 92; at most 60 is allowed.",
                "extensions": {"code": "QUERY_TOO_COMPLEX", "cost": 92, "maximumCost": 60},
            }
        ]
        assert body["extensions"] == {"cost": {"requestedQueryCost": 92, "maximumQueryCost": 60}}
        assert calls == []
        allowed = await cost_of(client, query, {"ids": ids[:10]})
        assert allowed["data"]["nodes"][0]["id"] == ids[0]
        assert len(calls) == 1


async def test_batching_is_off_by_default_and_capped_when_on(database_url: str) -> None:
    async with gateway(database_url, batching=True) as client:
        ten = [{"query": "{ serverInfo { environment } }"}] * 10
        response = await client.post("/graphql", json=ten)
        assert response.json() == [{"data": {"serverInfo": {"environment": "TEST"}}}] * 10
        eleven = await client.post("/graphql", json=[*ten, ten[0]])
        assert (eleven.status_code, eleven.json()) == (
            400,
            {
                "errors": [
                    {
                        "message": "Too many operations: at most 10",
                        "extensions": {"code": "BAD_REQUEST"},
                    }
                ]
            },
        )


async def test_slow_operations_time_out(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def slow(*args: object) -> Sequence[object]:
        await asyncio.sleep(5)
        return []

    monkeypatch.setattr(users, "users_by_id", slow)
    async with gateway(database_url, operation_timeout_seconds=0.2) as client:
        response = await client.post(
            "/graphql",
            json={
                "query": "query ($id: ID!) { node(id: $id) { id } }",
                "variables": {"id": global_id("User", "00000000-0000-0000-0000-000000000001")},
            },
        )
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "The operation did not finish within 0.2 s.",
                "extensions": {"code": "OPERATION_TIMEOUT"},
            }
        ],
    }
