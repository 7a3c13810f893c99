"""Access tokens (PyJWT): short-lived, typed, checked against an explicit algorithm list.

The algorithm is configured (HS256 by default; RS256 or EdDSA with a private key), never taken
from the token: each key id maps to one key object and the one algorithm it may verify, so
`alg: none` and HS/RS confusion fail before any signature is checked. `kid` in the header picks the
key, so a rotated-out key (JWT_PREVIOUS_KEYS) keeps verifying until its tokens have expired.
`iat` carries milliseconds (RFC 7519 allows non-integer NumericDates) so a per-user revocation
cutoff (sign-out everywhere, suspension) separates tokens issued in the same second.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms

from app.db.models import Role
from app.settings import Settings

ACCESS_TOKEN_TTL = timedelta(minutes=15)
CLOCK_LEEWAY = timedelta(seconds=10)
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]


class InvalidToken(Exception):
    """The token cannot identify anyone; the message is safe to show the client."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    role: Role
    token_id: str
    issued_at: float
    expires_at: datetime
    session_id: str | None = None


# Tokens whose signature and claims were verified, by token string: a mobile app sends the same
# access token with every request for 15 minutes, and PyJWT was ~80% of what authentication cost.
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class KeySet:
    algorithm: str
    key_id: str
    signing_key: Any
    verifying_keys: dict[str, Any]
    # token -> (claims, epoch seconds after which jwt.decode would refuse it as expired)
    verified: dict[str, tuple[AccessClaims, float]] = field(default_factory=dict)


_key_sets: dict[int, tuple[Settings, KeySet]] = {}


def key_set(settings: Settings) -> KeySet:
    """Parsed once per Settings object: PEM parsing costs far more than a signature check."""
    cached = _key_sets.get(id(settings))
    if cached is not None and cached[0] is settings:
        return cached[1]
    if len(_key_sets) > 16:  # tests build many Settings; production builds one
        _key_sets.clear()
    keys = _parse_keys(settings)
    _key_sets[id(settings)] = (settings, keys)
    return keys


def _parse_keys(settings: Settings) -> KeySet:
    algorithm = settings.jwt_algorithm
    implementation = get_default_algorithms()[algorithm]
    if algorithm == "HS256":
        signing = implementation.prepare_key(settings.jwt_secret.get_secret_value())
        verifying = signing
    else:
        if settings.jwt_private_key is None:
            raise ValueError(f"JWT_PRIVATE_KEY is required for {algorithm}")
        signing = implementation.prepare_key(settings.jwt_private_key.get_secret_value())
        verifying = signing.public_key()
    keys = {kid: implementation.prepare_key(key) for kid, key in settings.jwt_previous_keys.items()}
    keys[settings.jwt_key_id] = verifying
    return KeySet(algorithm, settings.jwt_key_id, signing, keys)


def issue_access_token(
    settings: Settings,
    *,
    user_id: uuid.UUID,
    role: Role,
    session_id: uuid.UUID | None = None,
    now: datetime | None = None,
    ttl: timedelta | None = None,
) -> str:
    issued = now or datetime.now(UTC)
    lifetime = ttl if ttl is not None else timedelta(seconds=settings.access_token_ttl_seconds)
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": str(user_id),
        "role": role.value,
        "typ": "access",
        "jti": uuid.uuid4().hex,
        "iat": math.floor(issued.timestamp() * 1000) / 1000,
        "nbf": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
    }
    if session_id is not None:
        claims["sid"] = str(session_id)
    keys = key_set(settings)
    return jwt.encode(
        claims, keys.signing_key, algorithm=keys.algorithm, headers={"kid": keys.key_id}
    )


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """The token's claims once its signature and claims check out (revocation is checked apart).

    A token verified before is answered from `KeySet.verified` until its expiry (plus the same
    leeway jwt.decode allows): only signed tokens get there, and the cache is bounded."""
    keys = key_set(settings)
    cached = keys.verified.get(token)
    if cached is not None:
        if time.time() <= cached[1]:
            return cached[0]
        del keys.verified[token]
    claims = _verify(settings, keys, token)
    if len(keys.verified) >= VERIFIED_CACHE_SIZE:
        del keys.verified[next(iter(keys.verified))]  # the oldest entry
    keys.verified[token] = (claims, claims.expires_at.timestamp() + CLOCK_LEEWAY.total_seconds())
    return claims


def _verify(settings: Settings, keys: KeySet, token: str) -> AccessClaims:
    try:
        kid = jwt.get_unverified_header(token).get("kid", keys.key_id)
        key = keys.verifying_keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("access token signed with an unknown key")
        claims = jwt.decode(
            token,
            key,
            algorithms=[keys.algorithm],
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
            issued_at=float(claims["iat"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            session_id=str(claims["sid"]) if "sid" in claims else None,
        )
    except (ValueError, TypeError) as error:
        raise InvalidToken("access token invalid") from error
