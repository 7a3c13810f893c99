"""A user's history for admins: audit rows about them and their bounties, newest first."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select

from app.db.engine import SessionFactory
from app.db.models import AuditEvent
from services.admin.users import require_admin
from services.bounties.cards import BountyCard, b, card_of, card_query
from services.viewer import Viewer

e = AuditEvent.__table__.c  # type: ignore[attr-defined]
MAX_HISTORY = 50


def _limit(limit: int) -> int:
    return max(0, min(limit, MAX_HISTORY))


async def user_audit_events(
    session_factory: SessionFactory, viewer: Viewer, *, user_id: uuid.UUID, limit: int
) -> list[AuditEvent]:
    """What a user did and what was done to them, newest first (at most 50)."""
    require_admin(viewer)
    query = (
        select(AuditEvent)
        .where(or_(e.actor_id == user_id, e.target_id == user_id))
        .order_by(e.id.desc())
        .limit(_limit(limit))
    )
    async with session_factory() as session:
        return list(await session.scalars(query))


async def user_bounties(
    session_factory: SessionFactory, viewer: Viewer, *, user_id: uuid.UUID, limit: int
) -> list[BountyCard]:
    """Bounties the user posted or was assigned, drafts included, newest first (at most 50)."""
    require_admin(viewer)
    query = (
        card_query()
        .where(or_(b.poster_id == user_id, b.hunter_id == user_id))
        .order_by(b.created_at.desc(), b.id.desc())
        .limit(_limit(limit))
    )
    async with session_factory() as session:
        return [card_of(row) for row in await session.execute(query)]
