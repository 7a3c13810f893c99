"""Introspection that tools can use: the documents GraphiQL, graphql-core and rover really send
run while introspection is on, over HTTP and WebSocket, measured against the introspection
limits; mixed operations keep every ordinary limit; abuse past the generous limits is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.settings import Settings
from tests.conftest import GraphQL, graphql_socket
from tests.factories import create_user, token_for
from tests.security.gateways import PRODUCTION, codes, gateway

pytestmark = [pytest.mark.asyncio, pytest.mark.query_limits]

DOCUMENTS = Path(__file__).parent / "introspection"
TOOLS = sorted(path.name for path in DOCUMENTS.glob("*.graphql"))


def document(name: str) -> str:
    return (DOCUMENTS / name).read_text()


def type_names(body: dict[str, Any]) -> set[str]:
    return {entry["name"] for entry in body["data"]["__schema"]["types"]}


async def test_every_tool_document_is_kept() -> None:
    assert TOOLS == [
        "graphql-core-get_introspection_query.graphql",
        "graphql-js-getIntrospectionQuery.graphql",
        "rover-graph-introspect-legacy.graphql",
        "rover-graph-introspect.graphql",
    ]


@pytest.mark.parametrize("name", TOOLS)
async def test_tool_introspection_runs_over_http(client: httpx.AsyncClient, name: str) -> None:
    response = await client.post(
        "/graphql", json={"query": document(name), "extensions": {"cost": True}}
    )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body["errors"]
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    assert {"Query", "Mutation", "Subscription", "Bounty", "User"} <= type_names(body)
    cost = body["extensions"]["cost"]
    assert cost["maximumQueryCost"] == 100_000
    assert 50_000 < cost["requestedQueryCost"] <= 100_000  # far past the ordinary 5,000


async def test_graphiql_introspection_runs_over_websocket(app: Starlette) -> None:
    query = document("graphql-js-getIntrospectionQuery.graphql")
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_json({"type": "subscribe", "id": "i", "payload": {"query": query}})
        message = await ws.receive_json()
        assert (message["type"], message["id"]) == ("next", "i")
        assert "errors" not in message["payload"], message["payload"]
        assert "Bounty" in type_names(message["payload"])
        assert await ws.receive_json() == {"type": "complete", "id": "i"}


async def test_mixing_in_an_ordinary_field_brings_back_every_limit(graphql: GraphQL) -> None:
    introspection = document("graphql-js-getIntrospectionQuery.graphql")
    mixed = introspection.replace("__schema {", "serverInfo { version }\n      __schema {", 1)
    assert codes(await graphql(mixed)) == ["QUERY_TOO_DEEP"]
    # Shallow enough for the depth limit, too costly for the ordinary cost limit.
    wide = "__schema { types { fields { args { type { fields { name } } } } } }"
    assert "errors" not in await graphql(f"{{ {wide} }}")  # introspection only: cost 14,224
    body = await graphql(f"{{ serverInfo {{ version }} {wide} }}")
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "The operation costs 14227; at most 5000 is allowed.",
            "extensions": {"code": "QUERY_TOO_COMPLEX", "cost": 14227, "maximumCost": 5000},
        }
    ]


async def test_fragments_on_query_count_as_what_they_select(graphql: GraphQL) -> None:
    deep = "ofType { " * 12 + "name" + " }" * 12
    hidden = f'{{ ...Q }} fragment Q on Query {{ serverInfo {{ version }} __type(name: "User") {{ {deep} }} }}'  # noqa: E501
    assert codes(await graphql(hidden)) == ["QUERY_TOO_DEEP"]
    plain = f'{{ ...Q }} fragment Q on Query {{ __typename __type(name: "User") {{ {deep} }} }}'
    assert "errors" not in await graphql(plain)


async def test_the_ordinary_token_limit_holds_for_mixed_documents(graphql: GraphQL) -> None:
    padding = "#\n" * 1_200  # a comment is a token to graphql-core's parser
    only = f"{{ __schema {{ queryType {{ name }} }} }}\n{padding}"
    assert "errors" not in await graphql(only)
    mixed = f"{{ serverInfo {{ version }} __schema {{ queryType {{ name }} }} }}\n{padding}"
    body = await graphql(mixed)
    assert body["data"] is None
    assert body["errors"] == [
        {
            "message": "Syntax Error: Document contains more than 1000 tokens. Parsing aborted.",
            "extensions": {"code": "TOO_MANY_TOKENS"},
        }
    ]
    # Past the introspection limit the parser itself stops.
    huge = f"{{ __schema {{ queryType {{ name }} }} }}\n{padding * 2}"
    assert codes(await graphql(huge)) == ["TOO_MANY_TOKENS"]


def of_type_chain(depth: int) -> str:
    inner = "name"
    for _ in range(depth - 2):
        inner = f"ofType {{ {inner} }}"
    return f'{{ __type(name: "User") {{ {inner} }} }}'


async def test_nesting_past_the_introspection_depth_is_refused(graphql: GraphQL) -> None:
    assert "errors" not in await graphql(of_type_chain(20))
    refused = await graphql(of_type_chain(21))
    assert refused == {
        "data": None,
        "errors": [
            {
                "message": "The query is 21 levels deep; at most 20 are allowed.",
                "extensions": {"code": "QUERY_TOO_DEEP"},
            }
        ],
    }


async def test_multiplying_introspection_is_refused(graphql: GraphQL) -> None:
    # graphql-core's own rule stops lists of types nested in lists of types ...
    fan_out = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    assert (await graphql(fan_out))["errors"] == [
        {
            "message": "Maximum introspection depth exceeded",
            "locations": [{"line": 1, "column": 3}],
            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
        }
    ]
    # ... and the cost limit the same schema asked for twice under aliases.
    introspection = document("graphql-js-getIntrospectionQuery.graphql")
    fragments = introspection[introspection.index("fragment FullType") :]
    twice = f"{{ a: __schema {{ types {{ ...FullType }} }} b: __schema {{ types {{ ...FullType }} }} }} {fragments}"  # noqa: E501
    body = await graphql(twice)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["maximumCost"] == 100_000
    assert error["extensions"]["cost"] > 100_000


async def test_introspection_costs_a_signed_in_user_one_unit(
    database_url: str, session_factory: SessionFactory, settings: Settings
) -> None:
    user = await create_user(session_factory)
    headers = {"authorization": f"Bearer {token_for(settings, user)}"}
    query = {"query": document("graphql-js-getIntrospectionQuery.graphql")}
    async with gateway(database_url, rate_limits=True, rate_limit_user_per_minute=3) as client:
        for _ in range(3):  # at one unit per 100 of cost this would be 669 units each
            response = await client.post("/graphql", json=query, headers=headers)
            assert response.status_code == 200
            assert "errors" not in response.json()
        refused = await client.post("/graphql", json=query, headers=headers)
        assert refused.status_code == 429
        assert codes(refused.json()) == ["RATE_LIMITED"]


async def test_limits_apply_unchanged_where_introspection_is_off(database_url: str) -> None:
    async with gateway(database_url, **PRODUCTION) as client:
        response = await client.post(
            "/graphql", json={"query": document("graphql-js-getIntrospectionQuery.graphql")}
        )
        body = response.json()
        assert body["data"] is None
        assert "QUERY_TOO_DEEP" in codes(body)  # no exemption: the ordinary limits
        assert "GRAPHQL_VALIDATION_FAILED" in codes(body)  # introspection itself is refused
        assert not any("__schema" in str(error.get("path")) for error in body["errors"])
