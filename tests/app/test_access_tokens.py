"""Access tokens: every way a token can be wrong is refused as UNAUTHENTICATED, on any transport."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from httpx_ws import WebSocketDisconnect
from starlette.applications import Starlette

from app.db.engine import SessionFactory
from app.db.models import Role, UserStatus
from app.security.jwt import InvalidToken, decode_access_token, issue_access_token
from app.settings import Settings
from services.identity import Identity
from tests.auth_helpers import SIGN_OUT, VIEWER, sign_in
from tests.conftest import GraphQL, graphql_socket, make_settings
from tests.factories import create_user, global_id, token_for

pytestmark = pytest.mark.asyncio


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(settings: Settings, user_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "role": "USER",
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    for name, value in overrides.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    return claims


def hs256(settings: Settings, claims: dict[str, Any], secret: str | None = None) -> str:
    key = secret or settings.jwt_secret.get_secret_value()
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": "k1"})


def unsigned(claims: dict[str, Any]) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


async def refused(graphql: GraphQL, token: str) -> str:
    body = await graphql(VIEWER, token=token, status=401)
    [error] = body["errors"]
    assert body["data"] is None
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    message: str = error["message"]
    return message


async def test_valid_token_identifies_the_viewer(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory
) -> None:
    user = await create_user(session_factory, email="valid@example.test")
    body = await graphql(VIEWER, token=token_for(settings, user))
    assert body == {
        "data": {"viewer": {"id": global_id("User", user.id), "email": "valid@example.test"}}
    }


@pytest.mark.parametrize(
    ("case", "overrides", "message"),
    [
        ("expired", {"exp": -60, "iat": -1000, "nbf": -1000}, "access token expired"),
        ("not yet valid", {"nbf": 600}, "access token invalid"),
        ("issued in the future", {"iat": 600}, "access token invalid"),
        ("wrong audience", {"aud": "someone-else"}, "access token invalid"),
        ("wrong issuer", {"iss": "evil"}, "access token invalid"),
        ("missing exp", {"exp": None}, "access token invalid"),
        ("missing jti", {"jti": None}, "access token invalid"),
        ("refresh typ", {"typ": "refresh"}, "not an access token"),
    ],
)
async def test_bad_claims_are_unauthenticated(
    graphql: GraphQL,
    settings: Settings,
    session_factory: SessionFactory,
    case: str,
    overrides: dict[str, Any],
    message: str,
) -> None:
    user = await create_user(session_factory)
    now = int(datetime.now(UTC).timestamp())
    relative = {
        k: (now + v if k in ("exp", "iat", "nbf") and v is not None else v)
        for k, v in overrides.items()
    }
    token = hs256(settings, claims_for(settings, user.id, **relative))
    assert await refused(graphql, token) == message


async def test_wrong_signature_alg_none_and_rs256_are_refused(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory
) -> None:
    user = await create_user(session_factory)
    claims = claims_for(settings, user.id)
    assert (
        await refused(graphql, hs256(settings, claims, secret="x" * 40)) == "access token invalid"
    )
    assert await refused(graphql, unsigned(claims)) == "access token invalid"
    rs256 = jwt.encode(claims, rsa_pem(), algorithm="RS256", headers={"kid": "k1"})
    assert await refused(graphql, rs256) == "access token invalid"
    assert await refused(graphql, "not.a.jwt") == "access token invalid"


async def test_opaque_refresh_token_is_not_an_access_token(
    graphql: GraphQL, session_factory: SessionFactory, identity: Identity
) -> None:
    user = await create_user(session_factory)
    session = await sign_in(graphql, user.email)
    assert await refused(graphql, session["refreshToken"]) == "access token invalid"


async def test_algorithm_confusion_hs256_signed_with_the_rsa_public_key() -> None:
    private = rsa_pem()
    settings = make_settings(jwt_algorithm="RS256", jwt_private_key=private)
    user_id = uuid.uuid4()
    genuine = issue_access_token(settings, user_id=user_id, role=Role.USER)
    assert decode_access_token(settings, genuine).user_id == user_id
    public_pem = (
        serialization.load_pem_private_key(private.encode(), None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    payload = b64(json.dumps(claims_for(settings, user_id)).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    forged = f"{header}.{payload}.{b64(signature)}"
    with pytest.raises(InvalidToken, match="access token invalid"):
        decode_access_token(settings, forged)
    with pytest.raises(InvalidToken, match="access token invalid"):
        decode_access_token(settings, unsigned(claims_for(settings, user_id)))


async def test_eddsa_and_key_rotation_by_kid() -> None:
    old_key = ed25519.Ed25519PrivateKey.generate()
    old_pem = old_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    old_public = (
        old_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    new_key = ed25519.Ed25519PrivateKey.generate()
    new_pem = new_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    before = make_settings(jwt_algorithm="EdDSA", jwt_private_key=old_pem, jwt_key_id="2026-01")
    after = make_settings(
        jwt_algorithm="EdDSA",
        jwt_private_key=new_pem,
        jwt_key_id="2026-02",
        jwt_previous_keys={"2026-01": old_public},
    )
    user_id = uuid.uuid4()
    old_token = issue_access_token(before, user_id=user_id, role=Role.USER)
    new_token = issue_access_token(after, user_id=user_id, role=Role.USER)
    assert jwt.get_unverified_header(new_token)["kid"] == "2026-02"
    assert decode_access_token(after, old_token).user_id == user_id
    assert decode_access_token(after, new_token).user_id == user_id
    with pytest.raises(InvalidToken, match="unknown key"):
        decode_access_token(before, new_token)


async def test_signed_out_token_is_revoked_but_other_sessions_live(
    graphql: GraphQL, session_factory: SessionFactory, identity: Identity
) -> None:
    user = await create_user(session_factory)
    phone = await sign_in(graphql, user.email)
    laptop = await sign_in(graphql, user.email)
    body = await graphql(SIGN_OUT, token=phone["accessToken"])
    assert body == {"data": {"signOut": {"__typename": "SignOutSuccess"}}}
    assert await refused(graphql, phone["accessToken"]) == "access token revoked"
    still = await graphql(VIEWER, token=laptop["accessToken"])
    assert still["data"]["viewer"]["id"] == global_id("User", user.id)


async def test_suspension_ends_open_tokens_at_once(
    graphql: GraphQL, settings: Settings, session_factory: SessionFactory, identity: Identity
) -> None:
    user = await create_user(session_factory)
    admin = await create_user(session_factory, role=Role.ADMIN)
    session = await sign_in(graphql, user.email)
    factory_token = token_for(settings, user)  # no session id: only the user cutoff can void it
    suspend = """mutation ($id: ID!) { setUserStatus(input: {userId: $id, status: SUSPENDED}) {
        __typename ... on SetUserStatusSuccess { user { status } } } }"""
    body = await graphql(
        suspend, {"id": global_id("User", user.id)}, token=token_for(settings, admin)
    )
    assert body == {
        "data": {
            "setUserStatus": {"__typename": "SetUserStatusSuccess", "user": {"status": "SUSPENDED"}}
        }
    }
    assert await refused(graphql, session["accessToken"]) == "access token revoked"
    assert await refused(graphql, factory_token) == "access token revoked"


async def test_websocket_refuses_bad_and_revoked_tokens(
    app: Starlette, graphql: GraphQL, session_factory: SessionFactory, identity: Identity
) -> None:
    user = await create_user(session_factory)
    session = await sign_in(graphql, user.email)
    assert await ws_init(app, session["accessToken"]) == "connection_ack"
    await graphql(SIGN_OUT, token=session["accessToken"])
    assert await ws_init(app, session["accessToken"]) == 4403
    assert await ws_init(app, "garbage") == 4403


async def ws_init(app: Starlette, token: str) -> str | int:
    """The server's answer to connection_init: its message type, or the close code."""
    async with graphql_socket(app, "graphql-transport-ws") as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        )
        try:
            message = await ws.receive_json()
        except WebSocketDisconnect as closed:
            return int(closed.code)
        return str(message["type"])


async def test_suspended_status_blocks_sign_in(
    graphql: GraphQL, session_factory: SessionFactory, identity: Identity
) -> None:
    user = await create_user(session_factory, status=UserStatus.SUSPENDED)
    body = await graphql(
        'mutation ($e: String!) { signIn(input: {email: $e, password: "correct-horse-battery"}) '
        "{ __typename ... on UserError { code } } }",
        {"e": user.email},
    )
    assert body == {
        "data": {"signIn": {"__typename": "AccountSuspendedError", "code": "ACCOUNT_SUSPENDED"}}
    }
