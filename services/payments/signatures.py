"""Stripe's webhook signature scheme, checked on the raw body.

`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the endpoint's
secret>[,v1=...]`. Accepted when any v1 matches any of our secrets (the current one and, during a
rotation, the previous one) and `t` is within the tolerance of now (5 minutes): a replayed old
delivery is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

TOLERANCE_SECONDS = 300


class BadSignature(ValueError):
    pass


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """A header value as Stripe would send it (tests, the sandbox, the Stripe CLI's format)."""
    at = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def verify(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise `BadSignature` unless `header` signs `body` under one of `secrets`, recently."""
    if not header:
        raise BadSignature("no Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise BadSignature("the Stripe-Signature header has no timestamp or v1 signature")
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        raise BadSignature("the signature's timestamp is outside the tolerance")
    signed = f"{timestamp}.".encode() + body
    for secret in secrets:
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return
    raise BadSignature("no signature matches")
