"""Who is calling: one verification path for HTTP headers and WebSocket `connection_init`.

A token is checked for signature and claims, then against the denylist (its `jti`, its session
`sid`, and its user's revocation cutoff) in one lookup. Suspension, role changes, sign-out
everywhere and password changes write the user cutoff, so a suspended user's open access tokens
stop working at once without a database read of the user on every request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from app.security.jwt import InvalidToken, decode_access_token
from app.settings import Settings
from services.revocation import Denylist
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


async def authenticate(settings: Settings, denylist: Denylist, token: str | None) -> Viewer | None:
    """The viewer for `token`, None when anonymous; InvalidToken for a presented but bad token."""
    if token is None:
        return None
    claims = decode_access_token(settings, token)
    user_key = f"user:{claims.user_id}"
    keys = [f"jti:{claims.token_id}", user_key]
    if claims.session_id is not None:
        keys.append(f"sid:{claims.session_id}")
    revoked = await denylist.lookup(keys)
    cutoff = revoked.pop(user_key, None)
    if revoked:
        raise InvalidToken("access token revoked")
    # Both sides in whole milliseconds: tokens issued in the cutoff's millisecond stay valid.
    if cutoff is not None and claims.issued_at < math.floor(cutoff.timestamp() * 1000) / 1000:
        raise InvalidToken("access token revoked")
    return Viewer(
        user_id=claims.user_id,
        role=claims.role,
        token_id=claims.token_id,
        session_id=claims.session_id,
        token_expires_at=claims.expires_at,
    )
