"""Malformed bodies are 400s: every byte sequence, JSON depth, JSON type and size answers a
GraphQL-shaped 4xx, never 500; variables are limited in number and size; WebSocket messages that
strawberry cannot read close with 4400 (graphql-transport-ws) instead of crashing with 1011."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from app.db.models import User
from app.request_bodies import MAX_JSON_DEPTH
from tests.auth_helpers import count_rows
from tests.conftest import graphql_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.http_headers]

JSON = {"content-type": "application/json"}
QUERY = "query ($n: Int) { bounties(first: $n) { totalCount } }"
PLAIN = "{ serverInfo { environment } }"


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


async def refused_400(client: httpx.AsyncClient, content: bytes) -> str:
    response = await client.post("/graphql", content=content, headers=JSON)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    message: str = error["message"]
    return message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\xfd", "str is not valid UTF-8: surrogates not allowed"),
        (b'{"query": "\xed\xa0\x80"}', "str is not valid UTF-8: surrogates not allowed"),
        (b'{"query": "\\ud800"}', "no low surrogate in string"),
        (b"\xef\xbb\xbf{}", "UTF-8 byte order mark (BOM) is not supported"),
        (b"\x00" * 64, "unexpected character"),
        (b'{"query": "{ __typename }", "variables": {"n": NaN}}', "unexpected character"),
        (b'{"query": "{ __typename }", "variables": {"n": 1e999}}', "number is infinity"),
        (b'{"query": "{ __typename }", "variables": {"n": ' + b"9" * 5000 + b"}}", "infinity"),
        (nested(5_000), "depth limit exceeded"),
        (b'{"a":' * 20_000 + b"1" + b"}" * 20_000, "depth limit exceeded"),
    ],
)
async def test_undecodable_bodies_are_400(
    client: httpx.AsyncClient, content: bytes, message: str
) -> None:
    assert message in await refused_400(client, content)


async def test_json_past_the_depth_limit_is_400(client: httpx.AsyncClient) -> None:
    def body(depth: int) -> bytes:
        value: Any = 1
        for _ in range(depth - 2):  # the body and `variables` are two levels
            value = [value]
        return json.dumps({"query": QUERY, "variables": {"n": value}}).encode()

    allowed = await client.post("/graphql", content=body(MAX_JSON_DEPTH), headers=JSON)
    assert allowed.status_code == 200
    assert allowed.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # not an Int
    message = await refused_400(client, body(MAX_JSON_DEPTH + 1))
    assert message == "The request body is JSON nested deeper than 64 levels."


async def test_variables_are_limited_in_number(client: httpx.AsyncClient) -> None:
    hundred = {f"v{i}": i for i in range(100)}
    allowed = await client.post("/graphql", json={"query": PLAIN, "variables": hundred})
    assert allowed.json() == {"data": {"serverInfo": {"environment": "TEST"}}}
    many = {f"v{i}": i for i in range(100_000)}
    response = await client.post("/graphql", json={"query": PLAIN, "variables": many})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "message": "The operation has 100000 variables; at most 100 are allowed.",
            "extensions": {"code": "BAD_REQUEST"},
        }
    ]


async def test_variables_are_limited_in_size(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    mutation = "mutation ($input: SignUpInput!) { signUp(input: $input) { __typename } }"
    sign_up = {"email": "big@example.test", "password": "a long passphrase", "displayName": "B"}
    big = {"input": {**sign_up, "bio": "x" * 300_000}}
    response = await client.post("/graphql", json={"query": mutation, "variables": big})
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"].endswith("bytes; at most 262144 are allowed.")
    assert await count_rows(engine, User) == 0  # nothing ran


async def test_batches_are_checked_item_by_item(database_url: str) -> None:
    from tests.security.gateways import gateway

    async with gateway(database_url, batching=True) as client:
        response = await client.post("/graphql", json=[{"query": "{ __typename }"}, 5])
        assert response.status_code == 400
        assert response.json()["errors"][0]["message"] == (
            "Each GraphQL request must be a JSON object."
        )


@pytest.mark.parametrize(
    ("operations", "files_map"),
    [
        ("{", "{}"),
        ('{"query": 5}', "{}"),
        ('"just a string"', '{"0": ["variables.f"]}'),
        ('{"query": "{ __typename }", "variables": {"f": null}}', '{"0": "variables.f"}'),
        ('{"query": "{ __typename }", "variables": {"f": null}}', '{"0": ["variables.f.x.y"]}'),
        ('{"query": "{ __typename }", "variables": {"f": null}}', "[1, 2]"),
    ],
)
async def test_malformed_multipart_requests_are_400(
    client: httpx.AsyncClient, operations: str, files_map: str
) -> None:
    response = await client.post(
        "/graphql",
        headers={"apollo-require-preflight": "1"},
        files={"operations": (None, operations), "map": (None, files_map), "0": ("a", b"x")},
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


async def test_get_variables_are_decoded_strictly(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": QUERY, "variables": "[" * 2_000 + "]" * 2_000},
        headers={"apollo-require-preflight": "1"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


MALFORMED_MESSAGES: list[Any] = [
    [1, 2],
    "connection_init",
    42,
    {"payload": {}},
    {"type": 7},
    {"type": "subscribe", "payload": {"query": "{ __typename }"}},
    {"type": "subscribe", "id": 1, "payload": {"query": "{ __typename }"}},
    {"type": "subscribe", "id": "1", "payload": "{ __typename }"},
    {"type": "subscribe", "id": "1", "payload": {"query": 5}},
    {"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }", "variables": []}},
    {"type": "subscribe", "id": "1", "payload": {"query": "{ a }", "operationName": 1}},
    {
        "type": "subscribe",
        "id": "1",
        "payload": {"query": QUERY, "variables": {f"v{i}": i for i in range(101)}},
    },
    {"type": "complete"},
]


@pytest.mark.parametrize("message", MALFORMED_MESSAGES)
async def test_malformed_transport_ws_messages_close_with_4400(
    app: Starlette, message: Any
) -> None:
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_text(json.dumps(message))
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json()
    assert closed.value.code == 4400


async def test_deep_json_over_websocket_closes_with_4400(app: Starlette) -> None:
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        await ws.send_text("[" * 5_000 + "]" * 5_000)
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json()
    assert closed.value.code == 4400
    assert closed.value.reason == "WebSocket message must be valid JSON"


async def test_malformed_legacy_messages_get_an_error_and_the_socket_stays(
    app: Starlette,
) -> None:
    async with graphql_socket(app, "graphql-ws") as ws:
        await ws.send_json({"type": "connection_init"})
        assert await ws.receive_json() == {"type": "connection_ack"}
        await ws.send_json({"type": "start", "id": "s", "payload": {"query": 5}})
        assert await ws.receive_json() == {
            "type": "error",
            "id": "s",
            "payload": {"message": "A `start` payload must be an object with a string `query`"},
        }
        await ws.send_json([1])
        assert await ws.receive_json() == {
            "type": "error",
            "payload": {"message": "WebSocket messages must be JSON objects"},
        }
        await ws.send_json({"type": "connection_terminate"})
