"""Reportable content: find its author as the reporter may see it, and mark it removed.

Removal sets `removed_at` (`profile_removed_at` for a profile); reads hide removed content
from everyone but staff and its author (`visible`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import (
    Bounty,
    ConversationParticipant,
    Message,
    ReportTarget,
    Review,
    User,
    UserStatus,
)
from services.bounties.lifecycle import PRIVATE_STATUSES
from services.errors import NotFound
from services.viewer import Viewer

b = Bounty.__table__.c  # type: ignore[attr-defined]
m = Message.__table__.c  # type: ignore[attr-defined]
p = ConversationParticipant.__table__.c  # type: ignore[attr-defined]
r = Review.__table__.c  # type: ignore[attr-defined]
u = User.__table__.c  # type: ignore[attr-defined]


def visible(viewer: Viewer | None, *, author_id: uuid.UUID, removed_at: datetime | None) -> bool:
    """Removed content: its author and staff only."""
    return removed_at is None or (
        viewer is not None and (viewer.is_staff or viewer.owns(author_id))
    )


async def author_of(
    session: AsyncSession, viewer: Viewer, target: ReportTarget, target_id: uuid.UUID
) -> uuid.UUID:
    """The author of content `viewer` can see; NOT_FOUND for unknown or invisible content."""
    if target is ReportTarget.BOUNTY:
        query = select(b.poster_id).where(
            b.id == target_id, b.status.not_in(PRIVATE_STATUSES) | (b.poster_id == viewer.user_id)
        )
    elif target is ReportTarget.MESSAGE:
        member = exists().where(p.conversation_id == m.conversation_id, p.user_id == viewer.user_id)
        query = select(m.sender_id).where(m.id == target_id, member)
    elif target is ReportTarget.PROFILE:
        query = select(u.id).where(u.id == target_id, u.status != UserStatus.DELETED)
    else:
        query = select(r.author_id).where(r.id == target_id)
    author: uuid.UUID | None = await session.scalar(query)
    if author is None:
        raise NotFound("no such content", field="input.targetId")
    return author


async def remove(
    session: AsyncSession, target: ReportTarget, target_id: uuid.UUID, now: datetime
) -> None:
    """Mark the content removed (idempotent: a second removal keeps the first time)."""
    if target is ReportTarget.BOUNTY:
        statement = update(Bounty).where(and_(b.id == target_id, b.removed_at.is_(None)))
    elif target is ReportTarget.MESSAGE:
        statement = update(Message).where(and_(m.id == target_id, m.removed_at.is_(None)))
    elif target is ReportTarget.REVIEW:
        statement = update(Review).where(and_(r.id == target_id, r.removed_at.is_(None)))
    else:
        await session.execute(
            update(User)
            .where(and_(u.id == target_id, u.profile_removed_at.is_(None)))
            .values(profile_removed_at=now)
        )
        return
    await session.execute(statement.values(removed_at=now))
