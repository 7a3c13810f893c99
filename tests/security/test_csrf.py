"""Apollo's CSRF rule on every HTTP request; no mutations over GET."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.models import User
from app.security.csrf import CSRF_MESSAGE
from tests.auth_helpers import count_rows

pytestmark = [pytest.mark.asyncio, pytest.mark.csrf]

QUERY = '{"query": "{ serverInfo { environment } }"}'
SIGN_UP = (
    '{"query": "mutation { signUp(input: {email: \\"csrf@example.test\\", '
    'password: \\"a long passphrase\\", displayName: \\"C\\"}) { __typename } }"}'
)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded"],
)
@pytest.mark.parametrize("preflight", [None, {"apollo-require-preflight": " "}])
async def test_simple_requests_without_a_preflight_header_are_refused(
    client: httpx.AsyncClient,
    engine: AsyncEngine,
    content_type: str | None,
    preflight: dict[str, str] | None,
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(
        "/graphql", content=SIGN_UP, headers={**headers, **(preflight or {})}
    )
    assert response.status_code == 400
    error = {"message": CSRF_MESSAGE, "extensions": {"code": "BAD_REQUEST"}}
    assert response.json() == {"errors": [error]}
    assert await count_rows(engine, User) == 0


@pytest.mark.parametrize("header", ["x-apollo-operation-name", "apollo-require-preflight"])
async def test_a_preflight_header_lets_a_simple_request_through(
    client: httpx.AsyncClient, header: str
) -> None:
    # The rule passes it on; the content type is then refused (it is not JSON).
    response = await client.post(
        "/graphql", content=QUERY, headers={"content-type": "text/plain", header: "Q"}
    )
    assert (response.status_code, response.json()) == (
        415,
        {
            "errors": [
                {
                    "message": "Unsupported content type 'text/plain': send application/json",
                    "extensions": {"code": "UNSUPPORTED_MEDIA_TYPE"},
                }
            ]
        },
    )


async def test_json_posts_need_no_header(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=QUERY, headers={"content-type": "application/json"}
    )
    assert response.json() == {"data": {"serverInfo": {"environment": "TEST"}}}


async def test_multipart_without_a_header_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        files={"operations": (None, QUERY), "map": (None, "{}")},
    )
    assert response.status_code == 400
    assert "CSRF protection" in response.text


async def test_mutations_never_run_over_get(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    mutation = (
        'mutation { signUp(input: {email: "get@example.test", password: "a long passphrase", '
        'displayName: "G"}) { __typename } }'
    )
    response = await client.get(
        "/graphql", params={"query": mutation}, headers={"apollo-require-preflight": "1"}
    )
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    assert response.json()["errors"] == [
        {
            "message": "mutations are not allowed when using GET",
            "extensions": {"code": "METHOD_NOT_ALLOWED"},
        }
    ]
    assert await count_rows(engine, User) == 0
