"""Shared by the fault tests: sign in and out through the real app, poll until a state holds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.auth_helpers import SIGN_IN, SIGN_OUT
from tests.factories import PASSWORD

VIEWER = {"query": "{ viewer { id } }"}
# Polling, not timing: a state the code reaches on its own is waited for, at most this often.
POLL_ROUNDS = 200
POLL_SECONDS = 0.05


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], token: str | None = None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json=body, headers=headers)


async def signed_in(client: httpx.AsyncClient, email: str) -> str:
    variables = {"email": email, "password": PASSWORD}
    body = (await post(client, {"query": SIGN_IN, "variables": variables})).json()
    token: str = body["data"]["signIn"]["session"]["accessToken"]
    return token


async def sign_out(client: httpx.AsyncClient, token: str) -> None:
    body = (await post(client, {"query": SIGN_OUT, "variables": {}}, token)).json()
    assert body == {"data": {"signOut": {"__typename": "SignOutSuccess"}}}, body


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> int:
    """Poll `condition` until it holds; the number of rounds it took (fails after POLL_ROUNDS)."""
    for round_ in range(POLL_ROUNDS):
        if await condition():
            return round_
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"never happened: {what}")
