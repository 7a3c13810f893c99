"""GraphQL over HTTP: media types, the spec's status codes, and GraphQL-shaped refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.security.csrf import CSRF_MESSAGE

pytestmark = pytest.mark.asyncio

GRAPHQL_RESPONSE = "application/graphql-response+json"
APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"


async def post(
    client: httpx.AsyncClient, body: Any, accept: str | None = None, **headers: str
) -> httpx.Response:
    if accept is not None:
        headers["accept"] = accept
    return await client.post("/graphql", json=body, headers=headers)


def refused(response: httpx.Response, status: int, code: str) -> str:
    """Assert a GraphQL-shaped refusal; return its message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/")
    body = response.json()
    [error] = body["errors"]
    assert set(body) == {"errors"}
    assert set(error) == {"message", "extensions"}
    assert error["extensions"] == {"code": code}
    message: str = error["message"]
    return message


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, "application/json"),
        ("", "application/json"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("application/*", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (APOLLO_ACCEPT, GRAPHQL_RESPONSE),
        ("application/json;q=0.5, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json", "application/json"),
        ("text/html, application/graphql-response+json;q=0.1", GRAPHQL_RESPONSE),
    ],
)
async def test_the_response_media_type_follows_accept(
    client: httpx.AsyncClient, accept: str | None, media_type: str
) -> None:
    response = await post(client, {"query": "{ serverInfo { environment } }"}, accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
    assert response.json() == {"data": {"serverInfo": {"environment": "TEST"}}}


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ serverInfo { ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ serverInfo { uptime } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("query ($id: ID!) { node(id: $id) { id } }", {"id": None}, "BAD_USER_INPUT"),
        ("query ($n: Int) { bounties(first: $n) { totalCount } }", {"n": "x"}, "BAD_USER_INPUT"),
        ("{ a: serverInfo { version } " + "b: __typename " * 15 + "}", None, "TOO_MANY_ALIASES"),
    ],
)
async def test_request_errors_are_400_without_data_for_graphql_response_json(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None, code: str
) -> None:
    body = {"query": query, "variables": variables}
    modern = await post(client, body, APOLLO_ACCEPT)
    assert modern.status_code == 400
    assert modern.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert "data" not in modern.json()
    assert [error["extensions"]["code"] for error in modern.json()["errors"]] == [code]
    # application/json (or no Accept): 200 with `data: null`, as before.
    for accept in (None, "application/json"):
        legacy = await post(client, body, accept)
        assert legacy.status_code == 200
        assert legacy.headers["content-type"] == "application/json; charset=utf-8"
        assert legacy.json()["data"] is None
        assert legacy.json()["errors"] == modern.json()["errors"]


async def test_errors_during_execution_keep_200_and_data(client: httpx.AsyncClient) -> None:
    # A malformed global id fails in the resolver: execution ran, `data` is there.
    response = await post(client, {"query": '{ node(id: "nonsense") { id } }'}, APOLLO_ACCEPT)
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"node": None}
    assert body["errors"][0]["path"] == ["node"]


async def test_a_bad_token_is_401_in_either_media_type(client: httpx.AsyncClient) -> None:
    for accept in (APOLLO_ACCEPT, "application/json"):
        response = await post(
            client, {"query": "{ viewer { id } }"}, accept, authorization="Bearer forged"
        )
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json;q=0"])
async def test_unacceptable_media_types_get_406(client: httpx.AsyncClient, accept: str) -> None:
    response = await post(client, {"query": "{ __typename }"}, accept)
    message = refused(response, 406, "NOT_ACCEPTABLE")
    assert GRAPHQL_RESPONSE in message
    assert response.headers["content-type"] == "application/json; charset=utf-8"


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "The request body is not valid JSON: unexpected end of data."),
        (b"", "The request body is not valid JSON: Input is a zero-length, empty document."),
        (b"{}", "No GraphQL query found in the request"),
        (b'{"variables": {}}', "No GraphQL query found in the request"),
        (b'{"query": 5}', "The GraphQL operation's `query` must be a string."),
        (b'{"query": ["{ a }"]}', "The GraphQL operation's `query` must be a string."),
        (b'{"query": {"q": 1}}', "The GraphQL operation's `query` must be a string."),
        (
            b'{"query": "{ __typename }", "variables": "{}"}',
            "The GraphQL operation's `variables` must be an object or null.",
        ),
        (
            b'{"query": "{ __typename }", "variables": [1]}',
            "The GraphQL operation's `variables` must be an object or null.",
        ),
        (
            b'{"query": "{ __typename }", "operationName": 7}',
            "The GraphQL operation's `operationName` must be a string or null.",
        ),
        (
            b'{"query": "{ __typename }", "extensions": true}',
            "The GraphQL operation's `extensions` must be an object or null.",
        ),
        (b"42", "Each GraphQL request must be a JSON object."),
        (b'"{ __typename }"', "Each GraphQL request must be a JSON object."),
        (b"null", "Each GraphQL request must be a JSON object."),
        (b'[{"query": "{ __typename }"}]', "Batching is not enabled"),
    ],
)
async def test_unusable_bodies_are_400(
    client: httpx.AsyncClient, content: bytes, message: str
) -> None:
    for accept in (None, APOLLO_ACCEPT):
        headers = {**JSON, **({"accept": accept} if accept else {})}
        response = await client.post("/graphql", content=content, headers=headers)
        assert refused(response, 400, "BAD_REQUEST") == message


async def test_csrf_refusals_are_graphql_shaped(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ __typename }"})
    assert refused(response, 400, "BAD_REQUEST") == CSRF_MESSAGE


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_get_405(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, "/graphql", json={"query": "{ __typename }"})
    refused(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, POST"


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (
            "application/graphql",
            "Unsupported content type 'application/graphql': send application/json",
        ),
        ("application/xml", "Unsupported content type 'application/xml': send application/json"),
        ("application/json; charset=latin-1", "Unsupported charset 'latin-1': send UTF-8"),
    ],
)
async def test_unsupported_content_types_get_415(
    client: httpx.AsyncClient, content_type: str, message: str
) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ __typename }"}',
        headers={"content-type": content_type, "apollo-require-preflight": "1"},
    )
    assert refused(response, 415, "UNSUPPORTED_MEDIA_TYPE") == message


async def test_utf8_charset_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content='{"query": "{ __typename }", "variables": {"é": "ü"}}'.encode(),
        headers={"content-type": "application/json; charset=UTF-8"},
    )
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_get_with_bad_variables_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql",
        params={"query": "query ($n: Int) { __typename }", "variables": "{nope"},
        headers={"apollo-require-preflight": "1"},
    )
    message = refused(response, 400, "BAD_REQUEST")
    assert message == "The `variables` parameter is not valid JSON or nested too deep."


async def test_graphiql_disabled_answers_json_404(database_url: str) -> None:
    from tests.security.gateways import gateway

    async with gateway(database_url, graphiql=False) as client:
        response = await client.get("/graphql", headers={"accept": "text/html"})
    refused(response, 404, "NOT_FOUND")
