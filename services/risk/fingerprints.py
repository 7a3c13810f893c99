"""Cards and devices seen for a user, stored as SHA-256: the shared-fingerprint signal."""

from __future__ import annotations

import hashlib
import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import FingerprintKind, RiskFingerprint


async def record_fingerprint(
    session: AsyncSession, user_id: uuid.UUID, kind: FingerprintKind, value: str
) -> None:
    """Note that `user_id` used this card (the provider's fingerprint) or device (idempotent).

    Payments call it with the card fingerprint the provider reports for a funding."""
    digest = hashlib.sha256(f"{kind.value}:{value}".encode()).hexdigest()
    await session.execute(
        insert(RiskFingerprint)
        .values(user_id=user_id, kind=kind, value_hash=digest)
        .on_conflict_do_nothing()
    )
