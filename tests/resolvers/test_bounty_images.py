"""Bounty images: the avatar checks, at most 8, poster only, removable, served from /media."""

from __future__ import annotations

import json

import httpx
import pytest

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, Role
from app.settings import Settings
from tests.bounty_factories import insert_bounty
from tests.conftest import GraphQL
from tests.factories import create_user, global_id, token_for
from tests.resolvers.test_avatars import png

pytestmark = pytest.mark.asyncio

ADD = """mutation ($id: ID!, $file: Upload!) { addBountyImage(bountyId: $id, file: $file) {
  __typename
  ... on BountyImageSuccess { image { id url width height } bounty { images { url } } }
  ... on UserError { code field }
} }"""
REMOVE = """mutation ($id: ID!) { removeBountyImage(imageId: $id) {
  __typename ... on BountyImageSuccess { bounty { images { id } } } ... on UserError { code }
} }"""


async def add(client: httpx.AsyncClient, token: str, bounty: str, data: bytes) -> dict[str, object]:
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": ADD, "variables": {"id": bounty, "file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": ("photo.png", data, "image/png")},
        headers={"authorization": f"Bearer {token}", "apollo-require-preflight": "true"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()["data"]["addBountyImage"]
    return result


async def test_images_are_checked_bounded_and_poster_only(
    client: httpx.AsyncClient,
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
) -> None:
    poster, other = await create_user(session_factory), await create_user(session_factory)
    token = token_for(settings, poster)
    bounty_id = await insert_bounty(session_factory, poster, status=BountyStatus.DRAFT)
    bounty = global_id("Bounty", bounty_id)

    first = await add(client, token, bounty, png(40, 30))
    assert first["__typename"] == "BountyImageSuccess"
    image = first["image"]
    assert isinstance(image, dict)
    assert (image["width"], image["height"]) == (40, 30)
    assert image["url"].startswith(f"http://testserver/media/bounties/{bounty_id}/")
    served = await client.get(image["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"

    assert await add(client, token, bounty, b"<svg onload=alert(1)>") == {
        "__typename": "InvalidImageError",
        "code": "UNSUPPORTED_IMAGE",
        "field": "file",
    }
    theirs = await add(client, token_for(settings, other), bounty, png())
    assert theirs["code"] == "NOT_FOUND"  # a draft is invisible to others
    for _ in range(7):
        assert (await add(client, token, bounty, png()))["__typename"] == "BountyImageSuccess"
    ninth = await add(client, token, bounty, png())
    assert ninth == {"__typename": "TooManyImagesError", "code": "TOO_MANY_IMAGES", "field": "file"}

    removed = await graphql(REMOVE, {"id": image["id"]}, token=token)
    images = removed["data"]["removeBountyImage"]["bounty"]["images"]
    assert len(images) == 7
    assert image["id"] not in [i["id"] for i in images]
    assert (await client.get(image["url"])).status_code == 404
    gone = await graphql(REMOVE, {"id": image["id"]}, token=token)
    assert gone["data"]["removeBountyImage"] == {"__typename": "NotFoundError", "code": "NOT_FOUND"}


async def test_only_the_poster_removes_an_image(
    client: httpx.AsyncClient,
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
) -> None:
    poster = await create_user(session_factory)
    stranger = await create_user(session_factory)
    admin = await create_user(session_factory, role=Role.ADMIN)
    bounty_id = await insert_bounty(session_factory, poster, status=BountyStatus.OPEN)
    added = await add(client, token_for(settings, poster), global_id("Bounty", bounty_id), png())
    image = added["image"]
    assert isinstance(image, dict)

    anonymous = await graphql(REMOVE, {"id": image["id"]})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    for other in (stranger, admin):
        refused = await graphql(REMOVE, {"id": image["id"]}, token=token_for(settings, other))
        assert refused["data"]["removeBountyImage"] == {
            "__typename": "NotAllowedError",
            "code": "NOT_ALLOWED",
        }
    assert (await client.get(image["url"])).status_code == 200  # still stored and served
    shown = await graphql(
        "query ($id: ID!) { bounty(id: $id) { images { id } } }",
        {"id": global_id("Bounty", bounty_id)},
    )
    assert shown["data"]["bounty"]["images"] == [{"id": image["id"]}]
