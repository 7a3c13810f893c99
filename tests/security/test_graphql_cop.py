"""The twelve graphql-cop probes, re-implemented: each must find production "not vulnerable".

Each test sends what graphql-cop sends and applies its verdict (`vulnerable(...)`), then asserts
the specific refusal, so a probe that stops reaching the server cannot pass by accident.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.security.gateways import PRODUCTION, codes, gateway

pytestmark = [pytest.mark.asyncio, pytest.mark.graphql_cop]


@pytest_asyncio.fixture
async def production(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway(database_url, **PRODUCTION) as client:
        yield client


async def post(client: httpx.AsyncClient, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query})
    body: dict[str, Any] = response.json()
    return body


def data_of(body: Any) -> Any:
    return body.get("data") if isinstance(body, dict) else None


async def test_alias_overloading(production: httpx.AsyncClient) -> None:
    aliases = "".join(f"alias{index}:__typename \n" for index in range(101))
    body = await post(production, "query cop { " + aliases + " }")
    assert not (data_of(body) or {}).get("alias100")
    assert codes(body)[0] == "TOO_MANY_ALIASES"


async def test_batch_queries(production: httpx.AsyncClient) -> None:
    batch = [{"query": "query cop { __typename }"}] * 10
    response = await production.post("/graphql", json=batch)
    assert (response.status_code, response.json()) == (
        400,
        {"errors": [{"message": "Batching is not enabled", "extensions": {"code": "BAD_REQUEST"}}]},
    )


async def test_directive_overloading(production: httpx.AsyncClient) -> None:
    body = await post(production, "query cop { __typename @aa@aa@aa@aa@aa@aa@aa@aa@aa@aa }")
    assert len(body["errors"]) != 10
    [error] = body["errors"]
    assert error["message"] == "Unknown directive '@aa'."
    assert len(error["locations"]) == 10


async def test_field_duplication(production: httpx.AsyncClient) -> None:
    body = await post(production, "query cop { " + "__typename \n" * 500 + "} ")
    assert not (data_of(body) or {}).get("__typename")
    assert codes(body) == ["TOO_MANY_ROOT_FIELDS"]


async def test_field_suggestions(production: httpx.AsyncClient) -> None:
    body = await post(production, "query cop { __schema { directive } }")
    messages = " ".join(error["message"] for error in body["errors"])
    assert "Did you mean" not in messages
    assert "Cannot query field 'directive' on type '__Schema'." in messages


async def test_get_based_queries(production: httpx.AsyncClient) -> None:
    response = await production.get("/graphql", params={"query": "query cop {__typename}"})
    assert response.status_code == 400
    assert "CSRF" in response.text


async def test_get_based_mutations(production: httpx.AsyncClient) -> None:
    # Even with the preflight header that lets a GET query through, a mutation is refused.
    response = await production.get(
        "/graphql",
        params={"query": "mutation cop {__typename}"},
        headers={"apollo-require-preflight": "true"},
    )
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert response.json() == {
        "errors": [
            {
                "message": "mutations are not allowed when using GET",
                "extensions": {"code": "METHOD_NOT_ALLOWED"},
            }
        ]
    }


async def test_graphiql_detection(production: httpx.AsyncClient) -> None:
    response = await production.get("/graphql", headers={"Accept": "text/html"})
    heuristics = ("graphiql.min.css", "GraphQL Playground", "GraphiQL", "graphql-playground")
    assert not any(word in response.text for word in heuristics)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "query cop { __schema { types { name fields { name } } } }",
        "query cop { __schema { types { fields { type { fields { type { fields { type "
        "{ fields { type { name } } } } } } } } } } }",
    ],
    ids=["introspection", "circular-introspection"],
)
async def test_introspection(production: httpx.AsyncClient, query: str) -> None:
    body = await post(production, query)
    assert data_of(body) is None
    messages = [error["message"] for error in body["errors"]]
    assert any(m.startswith("GraphQL introspection has been disabled") for m in messages)


async def test_trace_mode(production: httpx.AsyncClient) -> None:
    body = await post(production, "query cop { __typename }")
    assert body == {"data": {"__typename": "Query"}}
    assert "tracing" not in str(body).lower()


async def test_unhandled_errors(production: httpx.AsyncClient) -> None:
    body = await post(production, "qwerty cop { abc }")
    [error] = body["errors"]
    assert "exception" not in error["extensions"]
    assert error["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


async def test_post_url_encoded_csrf(production: httpx.AsyncClient) -> None:
    response = await production.post("/graphql", data={"query": "query cop { __typename }"})
    assert response.status_code == 400
    assert "CSRF" in response.text
