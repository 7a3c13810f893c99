"""The read projection of a bounty: the columns the API shows, its poster, its application count
and its images, in one statement (SQLAlchemy Core into slotted dataclasses, no ORM hydration).

Lists and the `bounty_by_id` loader both read through `card_query()`, so a page of N bounties
costs one statement whatever N is, and every Bounty in the API has its relations at hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.db.engine import SessionFactory
from app.db.models import (
    Application,
    ApplicationStatus,
    Bounty,
    BountyImage,
    BountyStatus,
    Role,
    User,
    UserStatus,
)
from services.bounties.lifecycle import PRIVATE_STATUSES
from services.viewer import Viewer

b = Bounty.__table__.c  # type: ignore[attr-defined]
u = User.__table__.c  # type: ignore[attr-defined]
a = Application.__table__.c  # type: ignore[attr-defined]
i = BountyImage.__table__.c  # type: ignore[attr-defined]
bounties_table = Bounty.__table__  # type: ignore[attr-defined]
users_table = User.__table__  # type: ignore[attr-defined]


@dataclass(slots=True)
class PersonCard:
    """The user columns the API's User type needs."""

    id: uuid.UUID
    display_name: str
    role: Role
    created_at: datetime
    bio: str | None
    skills: list[str]
    location: str | None
    avatar_key: str | None
    email: str
    phone: str | None
    status: UserStatus
    rating_sum: int
    rating_count: int
    profile_removed_at: datetime | None


@dataclass(slots=True)
class ImageCard:
    id: str
    key: str
    width: int
    height: int


@dataclass(slots=True)
class BountyCard:
    id: uuid.UUID
    poster_id: uuid.UUID
    hunter_id: uuid.UUID | None
    title: str
    description: str
    category: str
    reward_amount: int
    reward_currency: str
    latitude: float | None
    longitude: float | None
    place_name: str | None
    remote: bool
    deadline: datetime | None
    status: BountyStatus
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None
    application_count: int
    images: list[ImageCard]
    poster: PersonCard
    # The value the list was sorted by (distance, reward, ...), for its cursor.
    sort_key: Any = None

    def visible_to(self, viewer: Viewer | None) -> bool:
        if self.removed_at is not None and not (
            viewer is not None and (viewer.is_staff or viewer.owns(self.poster_id))
        ):
            return False  # removed by a moderator: staff and the poster only
        return self.status not in PRIVATE_STATUSES or (
            viewer is not None and viewer.owns(self.poster_id)
        )


BOUNTY_COLUMNS = (
    b.id, b.poster_id, b.hunter_id, b.title, b.description, b.category, b.reward_amount,
    b.reward_currency, b.latitude, b.longitude, b.place_name, b.remote, b.deadline, b.status,
    b.published_at, b.created_at, b.updated_at, b.removed_at,
)  # fmt: skip
PERSON_COLUMNS = (
    u.id, u.display_name, u.role, u.created_at, u.bio, u.skills, u.location, u.avatar_key,
    u.email, u.phone, u.status, u.rating_sum, u.rating_count, u.profile_removed_at,
)  # fmt: skip
_B, _P = len(BOUNTY_COLUMNS), len(PERSON_COLUMNS)

APPLICATION_COUNT = (
    select(func.count())
    .where(a.bounty_id == b.id, a.status != ApplicationStatus.WITHDRAWN)
    .scalar_subquery()
)
# json_agg rather than an ORM relationship: the images of a page come with the page.
IMAGES = (
    select(
        func.json_agg(
            aggregate_order_by(func.json_build_array(i.id, i.key, i.width, i.height), i.position)
        )
    )
    .where(i.bounty_id == b.id)
    .scalar_subquery()
)


def card_query(*extra: Any) -> Select[Any]:
    """Bounties with poster, count and images; deleted posters' bounties are left out."""
    return (
        select(*BOUNTY_COLUMNS, *PERSON_COLUMNS, APPLICATION_COUNT, IMAGES, *extra)
        .select_from(bounties_table.join(users_table, u.id == b.poster_id))
        .where(u.status != UserStatus.DELETED)
    )


def person_of(row: Sequence[Any], start: int = 0) -> PersonCard:
    return PersonCard(*row[start : start + _P])


def card_of(row: Sequence[Any]) -> BountyCard:
    images = row[_B + _P + 1] or ()
    if isinstance(images, str | bytes):  # drivers without a json codec hand over text
        images = orjson.loads(images)
    # Positional, in the column order above.
    return BountyCard(  # type: ignore[call-arg]
        *row[:_B],
        row[_B + _P],
        [ImageCard(str(x[0]), x[1], x[2], x[3]) for x in images],
        person_of(row, _B),
        row[_B + _P + 2] if len(row) > _B + _P + 2 else None,
    )


# Built once: SQLAlchemy then reuses its cache key and compiled form instead of building and
# hashing the whole projection on every call (the loader batch of every bounty field).
_CARDS_BY_ID = card_query().where(b.id.in_(bindparam("ids", expanding=True)))


async def cards_by_id(
    session_factory: SessionFactory, ids: Sequence[uuid.UUID]
) -> list[BountyCard | None]:
    """Batch for the `bounty_by_id` loader (visibility: `BountyCard.visible_to`)."""
    async with session_factory() as session:
        rows = await session.execute(_CARDS_BY_ID, {"ids": list(ids)})
        found = {card.id: card for card in map(card_of, rows)}
    return [found.get(bounty_id) for bounty_id in ids]
