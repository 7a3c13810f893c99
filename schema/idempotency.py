"""The `idempotencyKey` input field of creates a client may retry."""

from __future__ import annotations

from typing import Any

import strawberry

DESCRIPTION = (
    "A key you choose per intended create (a UUID is best), sent again with every retry: the "
    "same key and input returns the first result instead of creating twice; the same key with "
    "other input is IDEMPOTENCY_KEY_REUSED. Keys are per user (per email address for `signUp`)."
)


def idempotency_key_field() -> Any:
    """`idempotency_key: str | None = idempotency_key_field()` on a create's input."""
    return strawberry.field(default=None, description=DESCRIPTION)
