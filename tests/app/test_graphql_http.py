"""GraphQL over HTTP: POST, GET for queries, GraphiQL, error codes, request ids."""

from __future__ import annotations

import httpx
import pytest

from app.settings import package_version
from tests.conftest import GraphQL

pytestmark = pytest.mark.asyncio


async def test_server_info_over_post(graphql: GraphQL) -> None:
    body = await graphql("{ serverInfo { version environment } }")
    assert body == {"data": {"serverInfo": {"version": package_version(), "environment": "TEST"}}}


async def test_queries_run_over_get_with_a_preflight_header(client: httpx.AsyncClient) -> None:
    params = {"query": "{ serverInfo { environment } }"}
    response = await client.get("/graphql", params=params, headers={"x-apollo-operation-name": "S"})
    assert response.status_code == 200
    assert response.json() == {"data": {"serverInfo": {"environment": "TEST"}}}
    # A bare GET is what a cross-site <img> or link sends: refused (CSRF protection).
    bare = await client.get("/graphql", params=params)
    assert bare.status_code == 400
    assert "CSRF" in bare.text


async def test_browser_get_serves_graphiql(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "GraphiQL" in response.text


async def test_syntax_error_is_graphql_parse_failed(graphql: GraphQL) -> None:
    body = await graphql("{ serverInfo { ")
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}
    assert error["message"].startswith("Syntax Error")


async def test_unknown_field_is_graphql_validation_failed(graphql: GraphQL) -> None:
    body = await graphql("{ serverInfo { uptime } }")
    [error] = body["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert error["message"] == "Cannot query field 'uptime' on type 'ServerInfo'."


async def test_wrong_variable_type_is_bad_user_input(graphql: GraphQL) -> None:
    body = await graphql("query ($id: ID!) { node(id: $id) { id } }", {"id": None})
    [error] = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


async def test_request_id_is_generated_or_echoed(client: httpx.AsyncClient) -> None:
    query = {"query": "{ serverInfo { version } }"}
    generated = await client.post("/graphql", json=query)
    assert len(generated.headers["x-request-id"]) == 32
    echoed = await client.post("/graphql", json=query, headers={"x-request-id": "mobile-42"})
    assert echoed.headers["x-request-id"] == "mobile-42"
    unsafe = await client.post("/graphql", json=query, headers={"x-request-id": "a b\tc"})
    assert unsafe.headers["x-request-id"] != "a b\tc"


async def test_unknown_route_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/nothing-here")
    assert response.status_code == 404
