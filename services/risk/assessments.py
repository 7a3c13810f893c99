"""Assessing users: score, level and signals, recorded as each user's latest assessment."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import RiskAssessment, RiskLevel, User, UserStatus
from app.db.models.base import utcnow
from services.errors import InvalidInput, NotAllowed, NotFound
from services.pagination import Counted, Page, decode_cursor, encode_cursor, page_size, read_page
from services.risk.signals import level_of, signals_of
from services.viewer import Viewer

a = RiskAssessment.__table__.c  # type: ignore[attr-defined]
BATCH = 200


def require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise NotAllowed("admins only")


async def record(session: AsyncSession, user_id: uuid.UUID) -> RiskAssessment:
    """Compute the user's signals now and record them as their latest assessment."""
    signals = await signals_of(session, user_id)
    score = min(100, sum(signal.points for signal in signals))
    assessment = RiskAssessment(
        user_id=user_id,
        score=score,
        level=level_of(score),
        signals=[signal.as_json() for signal in signals],
        assessed_at=utcnow(),
    )
    values = {
        "score": assessment.score,
        "level": assessment.level,
        "signals": assessment.signals,
        "assessed_at": assessment.assessed_at,
    }
    await session.execute(
        insert(RiskAssessment)
        .values(user_id=user_id, **values)
        .on_conflict_do_update(index_elements=[a.user_id], set_=values)
    )
    return assessment


async def assess(
    session_factory: SessionFactory, viewer: Viewer, *, user_id: uuid.UUID
) -> RiskAssessment:
    """Admins: the user's assessment as of now (recorded; `adminUsers` filters on it)."""
    require_admin(viewer)
    async with session_factory() as session, session.begin():
        status = await session.scalar(select(col(User.status)).where(col(User.id) == user_id))
        if status is None or status is UserStatus.DELETED:
            raise NotFound("no such user", field="userId")
        return await record(session, user_id)


async def risk_assessments(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    level: RiskLevel | None,
    first: int | None,
    after: str | None,
    count: bool = False,
) -> Page[RiskAssessment]:
    """Latest assessments, riskiest first (score, then user id), with `count` how many in all:
    one statement a page."""
    require_admin(viewer)
    size = page_size(first)
    conditions = [a.level == level] if level is not None else []
    query = select(RiskAssessment).where(*conditions).order_by(a.score.desc(), a.user_id)
    query = query.limit(size + 1)
    if after is not None:
        try:
            score, last = decode_cursor(after)
            key = (int(score), uuid.UUID(last))
        except (TypeError, ValueError) as error:
            raise InvalidInput("not a cursor this API issued", field="after") from error
        # Score descending, id ascending: after (s, id) come lower scores, or s with larger ids.
        query = query.where((a.score < key[0]) | and_(a.score == key[0], a.user_id > key[1]))
    total = Counted(RiskAssessment.__table__, conditions) if count else None  # type: ignore[attr-defined]
    rows, found = await read_page(session_factory, query, total=total, after=after)
    return Page.from_rows(
        [row[0] for row in rows],
        size,
        lambda row: encode_cursor([row.score, str(row.user_id)]),
        after=after,
        total=found,
    )


_CHANGED = text("""
SELECT DISTINCT who FROM (
    SELECT b.poster_id AS who, h.at
    FROM bounty_history AS h JOIN bounties AS b ON b.id = h.bounty_id
    UNION ALL
    SELECT b.hunter_id, h.at
    FROM bounty_history AS h JOIN bounties AS b ON b.id = h.bounty_id
    UNION ALL
    SELECT user_id, updated_at FROM payment_operations
    UNION ALL
    SELECT author_id, created_at FROM content_reports
    UNION ALL
    SELECT user_id, seen_at FROM risk_fingerprints
) AS activity
LEFT JOIN risk_assessments AS r ON r.user_id = activity.who
WHERE who IS NOT NULL AND at > CAST(:since AS timestamptz)
  AND (r.assessed_at IS NULL OR at > r.assessed_at)
""")


async def reassess_changed(session_factory: SessionFactory, *, since: datetime) -> int:
    """Users whose signals moved after `since` and after their last assessment."""
    async with session_factory() as session:
        users = [row[0] for row in await session.execute(_CHANGED, {"since": since})]
    return await reassess(session_factory, users)


async def reassess(session_factory: SessionFactory, user_ids: Sequence[uuid.UUID]) -> int:
    """Assess users in batches of BATCH (one transaction each)."""
    for start in range(0, len(user_ids), BATCH):
        async with session_factory() as session, session.begin():
            for user_id in user_ids[start : start + BATCH]:
                await record(session, user_id)
    return len(user_ids)


async def reassess_active(session_factory: SessionFactory) -> int:
    """Nightly: every active user, in batches keyed by id (no long transaction)."""
    done, last = 0, uuid.UUID(int=0)
    while True:
        async with session_factory() as session:
            batch = list(
                await session.scalars(
                    select(col(User.id))
                    .where(col(User.status) == UserStatus.ACTIVE, col(User.id) > last)
                    .order_by(col(User.id))
                    .limit(BATCH)
                )
            )
        if not batch:
            return done
        done += await reassess(session_factory, batch)
        last = batch[-1]
