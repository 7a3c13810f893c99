"""Who is calling: one verification path for HTTP headers and WebSocket `connection_init`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.security.jwt import InvalidToken, decode_access_token
from app.settings import Settings
from services.viewer import Viewer


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value; None when there is no header."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("Authorization must be 'Bearer <access token>'")
    return token.strip()


def token_from_connection_params(params: Mapping[str, Any] | None) -> str | None:
    """Clients send `{"authorization": "Bearer …"}` (Apollo, urql) or `{"token": "…"}`."""
    if not params:
        return None
    for key in ("authorization", "Authorization"):
        value = params.get(key)
        if value is not None:
            return bearer_token(str(value))
    token = params.get("token")
    return str(token) if token else None


def authenticate(settings: Settings, token: str | None) -> Viewer | None:
    """The viewer for `token`, None when anonymous; InvalidToken for a presented but bad token."""
    if token is None:
        return None
    claims = decode_access_token(settings, token)
    return Viewer(user_id=claims.user_id, role=claims.role)
