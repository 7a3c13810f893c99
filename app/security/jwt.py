"""Access tokens (PyJWT): short-lived, typed, checked against an explicit algorithm list."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from app.db.models import Role
from app.settings import Settings

ACCESS_TOKEN_TTL = timedelta(minutes=15)
ALGORITHMS = ["HS256"]  # never taken from the token header: no `none`, no algorithm confusion
CLOCK_LEEWAY = timedelta(seconds=10)
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]


class InvalidToken(Exception):
    """The token cannot identify anyone; the message is safe to show the client."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    role: Role
    token_id: str
    expires_at: datetime


def issue_access_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    role: Role,
    now: datetime | None = None,
    ttl: timedelta = ACCESS_TOKEN_TTL,
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "role": role.value,
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHMS[0])


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=CLOCK_LEEWAY,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as error:
        raise InvalidToken("access token expired") from error
    except jwt.PyJWTError as error:
        raise InvalidToken("access token invalid") from error
    if claims["typ"] != "access":
        raise InvalidToken("not an access token")
    try:
        return AccessClaims(
            user_id=uuid.UUID(claims["sub"]),
            role=Role(claims.get("role", Role.USER.value)),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (ValueError, TypeError) as error:
        raise InvalidToken("access token invalid") from error
