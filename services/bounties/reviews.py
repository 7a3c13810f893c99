"""Reviews: once a bounty is COMPLETED, poster and hunter each rate the other once (1-5 + text).

The subject's running totals (`users.rating_sum`, `rating_count`) change in the same transaction,
so a rating average costs no join or aggregate on read.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, Review, User
from services import business_events
from services.bounties import lifecycle
from services.bounties.access import require_party
from services.bounties.errors import AlreadyReviewed
from services.errors import InvalidInput
from services.unit_of_work import UnitOfWork
from services.viewer import Viewer

MAX_TEXT = 2000
REVIEWS_PER_USER = 50


async def review(
    work: UnitOfWork, viewer: Viewer, *, bounty_id: uuid.UUID, rating: int, text: str
) -> uuid.UUID:
    if not 1 <= rating <= 5:
        raise InvalidInput("a rating is 1 to 5", field="input.rating")
    body = text.strip()
    if len(body) > MAX_TEXT:
        raise InvalidInput(f"use at most {MAX_TEXT} characters", field="input.text")
    state = await lifecycle.load_state(work.session, viewer, bounty_id)
    require_party(viewer, state, "review this bounty")
    if state.status is not BountyStatus.COMPLETED:
        raise lifecycle.refused(state.status, BountyStatus.COMPLETED)
    subject = state.hunter_id if viewer.owns(state.poster_id) else state.poster_id
    assert subject is not None
    review_id: uuid.UUID | None = await work.session.scalar(
        insert(Review)
        .values(
            bounty_id=bounty_id,
            author_id=viewer.user_id,
            subject_id=subject,
            rating=rating,
            text=body,
        )
        .on_conflict_do_nothing(constraint="uq_reviews_bounty_author")
        .returning(col(Review.id))
    )
    if review_id is None:
        raise AlreadyReviewed("you already reviewed this bounty", field="input.bountyId")
    await work.session.execute(
        update(User)
        .where(col(User.id) == subject)
        .values(rating_sum=col(User.rating_sum) + rating, rating_count=col(User.rating_count) + 1)
    )
    work.after_commit(business_events.review_written)
    return review_id


@dataclass(slots=True)
class ReviewCard:
    id: uuid.UUID
    bounty_id: uuid.UUID
    author_id: uuid.UUID
    subject_id: uuid.UUID
    rating: int
    text: str
    created_at: datetime
    removed_at: datetime | None  # by a moderator: shown to staff and the author only

    def visible_to(self, viewer: Viewer | None) -> bool:
        return self.removed_at is None or (
            viewer is not None and (viewer.is_staff or viewer.owns(self.author_id))
        )


async def reviews_by_subject(
    session_factory: SessionFactory, user_ids: Sequence[uuid.UUID]
) -> list[list[ReviewCard]]:
    """Batch for the loader: each user's newest reviews (at most REVIEWS_PER_USER)."""
    r = Review.__table__.c  # type: ignore[attr-defined]
    ranked = (
        select(
            r.id,
            r.bounty_id,
            r.author_id,
            r.subject_id,
            r.rating,
            r.text,
            r.created_at,
            r.removed_at,
            func.row_number()
            .over(partition_by=r.subject_id, order_by=(r.created_at.desc(), r.id.desc()))
            .label("rank"),
        )
        .where(r.subject_id.in_(user_ids))
        .subquery()
    )
    async with session_factory() as session:
        rows = await session.execute(
            select(*list(ranked.c)[:8])
            .where(ranked.c.rank <= REVIEWS_PER_USER)
            .order_by(ranked.c.subject_id, ranked.c.rank)
        )
        grouped: dict[uuid.UUID, list[ReviewCard]] = defaultdict(list)
        for row in rows:
            grouped[row[3]].append(ReviewCard(*row))
    return [grouped.get(user_id, []) for user_id in user_ids]


async def review_by_id(session_factory: SessionFactory, review_id: uuid.UUID) -> ReviewCard:
    r = Review.__table__.c  # type: ignore[attr-defined]
    async with session_factory() as session:
        row = (
            await session.execute(
                select(
                    r.id,
                    r.bounty_id,
                    r.author_id,
                    r.subject_id,
                    r.rating,
                    r.text,
                    r.created_at,
                    r.removed_at,
                ).where(r.id == review_id)
            )
        ).one()
    return ReviewCard(*row)
