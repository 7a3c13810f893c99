"""The README's sign-up / sign-in / refresh / sign-out sequence runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from services.identity import Identity

pytestmark = pytest.mark.asyncio

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_document() -> str:
    text = README.read_text()
    section = text[text.index("## Accounts and sessions") :]
    match = re.search(r"```graphql\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


async def test_readme_sequence(client: httpx.AsyncClient, identity: Identity) -> None:
    document = readme_document()

    async def run(name: str, token: str | None = None, **replace: str) -> dict[str, object]:
        query = document
        for placeholder, value in replace.items():
            query = query.replace(f"<{placeholder}>", value)
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await client.post(
            "/graphql", json={"query": query, "operationName": name}, headers=headers
        )
        body: dict[str, object] = response.json()
        return body

    signed_up = await run("SignUp")
    assert signed_up["data"]["signUp"]["__typename"] == "SignUpSuccess"  # type: ignore[index]
    signed_in = await run("SignIn")
    session = signed_in["data"]["signIn"]["session"]  # type: ignore[index]
    me = await run("Me", session["accessToken"])
    assert me["data"]["viewer"]["email"] == "sam@example.com"  # type: ignore[index]
    refreshed = await run("Refresh", refreshToken=session["refreshToken"])
    new = refreshed["data"]["refreshSession"]["session"]  # type: ignore[index]
    out = await run("SignOut", new["accessToken"], refreshToken=new["refreshToken"])
    assert out == {"data": {"signOut": {"__typename": "SignOutSuccess"}}}
    gone = await run("Me", new["accessToken"])
    assert gone["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"  # type: ignore[index]
