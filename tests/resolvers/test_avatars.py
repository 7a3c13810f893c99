"""Avatar uploads over the GraphQL multipart request spec, and how they are served."""

from __future__ import annotations

import io
import json
import struct
import zlib

import httpx
import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import User
from app.settings import Settings
from tests.conftest import TEST_MEDIA_DIR, GraphQL
from tests.factories import create_user, token_for

pytestmark = pytest.mark.asyncio

UPLOAD = """mutation ($file: Upload!) {
  uploadAvatar(file: $file) {
    __typename
    ... on UploadAvatarSuccess { user { avatarUrl } }
    ... on UserError { code message field }
  }
}"""


async def upload(
    client: httpx.AsyncClient,
    token: str | None,
    filename: str,
    data: bytes,
    content_type: str,
    *,
    preflight: bool = True,
) -> httpx.Response:
    headers = {"apollo-require-preflight": "true"} if preflight else {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (filename, data, content_type)},
        headers=headers,
    )


def png(width: int = 64, height: int = 48, *, comment: str | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (200, 40, 90))
    info = PngImagePlugin.PngInfo()
    if comment:
        info.add_text("Comment", comment)
    output = io.BytesIO()
    image.save(output, format="PNG", pnginfo=info)
    return output.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0)}  # GPSInfo
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif)
    return output.getvalue()


def png_bomb(side: int = 20_000) -> bytes:
    """A 1-bit PNG declaring side x side pixels of zeros: ~50 MB inflated from a few KB."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\x00" * (1 + side // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * 500) for _ in range(side // 500)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


async def stored(engine: AsyncEngine, user: User) -> tuple[str | None, list[str]]:
    async with engine.connect() as connection:
        key = await connection.scalar(select(col(User.avatar_key)).where(User.id == user.id))  # type: ignore[arg-type]
    folder = TEST_MEDIA_DIR / "avatars" / str(user.id)
    files = sorted(path.name for path in folder.iterdir()) if folder.exists() else []
    return key, files


async def test_png_upload_is_reencoded_stored_and_served_safely(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
) -> None:
    user = await create_user(session_factory)
    response = await upload(
        client, token_for(settings, user), "me.png", png(comment="secret"), "image/png"
    )
    result = response.json()["data"]["uploadAvatar"]
    assert result["__typename"] == "UploadAvatarSuccess"
    url = result["user"]["avatarUrl"]
    key, files = await stored(engine, user)
    assert url == f"http://testserver/media/{key}"
    assert files == [key.rsplit("/", 1)[1]] if key else False
    served = await client.get(url)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-disposition"] == "inline"
    assert served.headers["content-security-policy"].startswith("default-src 'none'")
    with Image.open(io.BytesIO(served.content)) as image:
        assert (image.format, image.size) == ("PNG", (64, 48))
        assert "Comment" not in image.info
    assert b"secret" not in served.content


async def test_a_new_avatar_replaces_the_old_file(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
) -> None:
    user = await create_user(session_factory)
    token = token_for(settings, user)
    await upload(client, token, "one.png", png(), "image/png")
    await upload(client, token, "two.jpg", jpeg_with_gps(), "image/jpeg")
    key, files = await stored(engine, user)
    assert key is not None
    assert key.endswith(".jpg")
    assert files == [key.rsplit("/", 1)[1]]
    served = await client.get(f"/media/{key}")
    assert served.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.getexif() == {}
    assert b"SecretCam" not in served.content


async def test_png_named_jpg_is_accepted_as_png(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
) -> None:
    user = await create_user(session_factory)
    response = await upload(client, token_for(settings, user), "photo.jpg", png(), "image/jpeg")
    assert response.json()["data"]["uploadAvatar"]["__typename"] == "UploadAvatarSuccess"
    key, _ = await stored(engine, user)
    assert key is not None
    assert key.endswith(".png")
    assert (await client.get(f"/media/{key}")).headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("case", "filename", "data", "content_type", "code"),
    [
        (
            "html renamed .png",
            "avatar.png",
            b"<html><script>alert(1)</script></html>",
            "image/png",
            "UNSUPPORTED_IMAGE",
        ),
        (
            "svg",
            "avatar.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"/>',
            "image/svg+xml",
            "UNSUPPORTED_IMAGE",
        ),
        (
            "gif",
            "avatar.gif",
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
            "image/gif",
            "UNSUPPORTED_IMAGE",
        ),
        ("truncated png", "avatar.png", png()[:60], "image/png", "UNSUPPORTED_IMAGE"),
        ("6 MB", "big.png", png() + b"\x00" * (6 * 1024 * 1024), "image/png", "IMAGE_TOO_LARGE"),
        ("too wide", "wide.png", png(4097, 2), "image/png", "IMAGE_DIMENSIONS_TOO_LARGE"),
        ("decompression bomb", "bomb.png", png_bomb(), "image/png", "IMAGE_DIMENSIONS_TOO_LARGE"),
    ],
)
async def test_bad_uploads_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
    case: str,
    filename: str,
    data: bytes,
    content_type: str,
    code: str,
) -> None:
    user = await create_user(session_factory)
    response = await upload(client, token_for(settings, user), filename, data, content_type)
    result = response.json()["data"]["uploadAvatar"]
    assert result["__typename"] == "InvalidImageError"
    assert (result["code"], result["field"]) == (code, "file")
    assert await stored(engine, user) == (None, [])


async def test_multipart_without_preflight_header_is_refused(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: SessionFactory,
    engine: AsyncEngine,
) -> None:
    user = await create_user(session_factory)
    response = await upload(
        client, token_for(settings, user), "me.png", png(), "image/png", preflight=False
    )
    assert response.status_code == 400
    assert "apollo-require-preflight" in response.text
    assert await stored(engine, user) == (None, [])


async def test_anonymous_upload_is_unauthenticated(client: httpx.AsyncClient) -> None:
    response = await upload(client, None, "me.png", png(), "image/png")
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_media_route_serves_only_our_keys(client: httpx.AsyncClient) -> None:
    for path in (
        "/media/../pyproject.toml",
        "/media/avatars/x/y.html",
        "/media/avatars/%2e%2e/etc",
    ):
        assert (await client.get(path)).status_code == 404


async def test_a_json_value_for_the_file_is_bad_user_input(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    """Found by the schemathesis suite: `Upload` takes any JSON value; only a file part works."""
    user = await create_user(session_factory)
    body = await graphql(UPLOAD, {"file": "not a file"}, token=token_for(settings, user))
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    assert body["errors"][0]["message"] == "`file` must be a file part of a multipart request"
