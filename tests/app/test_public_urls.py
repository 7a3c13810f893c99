"""Media URLs are absolute: on PUBLIC_BASE_URL, else on the origin the client asked."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, update
from sqlmodel import col
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.db.models import BountyImage, User
from app.settings import Settings
from tests.bounty_factories import insert_bounty
from tests.conftest import graphql_socket, make_settings
from tests.factories import create_user, global_id, token_for
from tests.security.gateways import client_for, running_app

QUERY = """query ($user: ID!, $bounty: ID!) {
  profile(id: $user) { avatarUrl }
  bounty(id: $bounty) { images { url } poster { avatarUrl } }
}"""


async def media_rows(session_factory: SessionFactory) -> tuple[dict[str, str], str, str]:
    """A poster with an avatar and an OPEN bounty with one image: (variables, avatar, image)."""
    poster = await create_user(session_factory)
    avatar = f"avatars/{poster.id}/a1.png"
    bounty_id = await insert_bounty(session_factory, poster)
    image = f"bounties/{bounty_id}/{uuid.uuid4().hex}.jpg"
    async with session_factory() as session, session.begin():
        await session.execute(
            update(User).where(col(User.id) == poster.id).values(avatar_key=avatar)
        )
        await session.execute(
            insert(BountyImage).values(
                bounty_id=bounty_id, key=image, position=0, width=10, height=10
            )
        )
    variables = {"user": global_id("User", poster.id), "bounty": global_id("Bounty", bounty_id)}
    return variables, avatar, image


def expected(base: str, avatar: str, image: str) -> dict[str, object]:
    return {
        "profile": {"avatarUrl": f"{base}/media/{avatar}"},
        "bounty": {
            "images": [{"url": f"{base}/media/{image}"}],
            "poster": {"avatarUrl": f"{base}/media/{avatar}"},
        },
    }


@pytest.mark.asyncio
async def test_urls_use_the_origin_the_client_asked_for(
    database_url: str, session_factory: SessionFactory
) -> None:
    variables, avatar, image = await media_rows(session_factory)
    body = {"query": QUERY, "variables": variables}
    async with running_app(database_url) as app, client_for(app) as client:
        lan = await client.post("/graphql", json=body, headers={"host": "192.168.1.20:8000"})
        assert lan.json()["data"] == expected("http://192.168.1.20:8000", avatar, image)
        # A forwarded scheme counts only from TRUSTED_PROXIES (none here); a broken Host header
        # gives way to the address the server answered on.
        spoofed = {"host": "api.test", "x-forwarded-proto": "https"}
        plain = await client.post("/graphql", json=body, headers=spoofed)
        assert plain.json()["data"] == expected("http://api.test", avatar, image)
        broken = await client.post("/graphql", json=body, headers={"host": "a/b?c"})
        assert broken.json()["data"] == expected("http://gateway", avatar, image)
    async with (
        running_app(database_url, trusted_proxies=("127.0.0.1",)) as app,
        client_for(app) as client,
    ):
        proxied = await client.post("/graphql", json=body, headers=spoofed)
        assert proxied.json()["data"] == expected("https://api.test", avatar, image)


@pytest.mark.asyncio
async def test_public_base_url_wins_over_the_request(
    database_url: str, session_factory: SessionFactory
) -> None:
    variables, avatar, image = await media_rows(session_factory)
    body = {"query": QUERY, "variables": variables}
    base = "https://cdn.bountyexpo.test/api"
    async with (
        running_app(database_url, public_base_url=base + "/") as app,
        client_for(app) as client,
    ):
        answer = await client.post("/graphql", json=body, headers={"host": "10.0.0.7:8000"})
        assert answer.json()["data"] == expected(base, avatar, image)


@pytest.mark.asyncio
async def test_sockets_get_http_urls_of_their_own_origin(
    app: Starlette, session_factory: SessionFactory, settings: Settings
) -> None:
    variables, avatar, image = await media_rows(session_factory)
    token = token_for(settings, await create_user(session_factory))
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        init = {"authorization": f"Bearer {token}"}
        await ws.send_json({"type": "connection_init", "payload": init})
        assert (await ws.receive_json())["type"] == "connection_ack"
        payload = {"query": QUERY, "variables": variables}
        await ws.send_json({"type": "subscribe", "id": "1", "payload": payload})
        answer = await ws.receive_json()
    assert answer["payload"]["data"] == expected("http://testserver", avatar, image)


@pytest.mark.parametrize(
    ("value", "stored"),
    [("https://api.example.com/", "https://api.example.com"), ("", None)],
)
def test_public_base_url_is_normalised(value: str, stored: str | None) -> None:
    assert make_settings(public_base_url=value).public_base_url == stored


@pytest.mark.parametrize("value", ["api.example.com", "ftp://x.test", "https://x.test/?q=1"])
def test_public_base_url_must_be_an_absolute_http_url(value: str) -> None:
    with pytest.raises(ValueError, match="PUBLIC_BASE_URL must be an absolute http"):
        make_settings(public_base_url=value)
