"""Filters and sorts of the bounty list, as SQL: full text (GIN), distance, keyset order."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, literal, or_, tuple_

from app.db.models import BountyStatus
from services.bounties.cards import b
from services.bounties.lifecycle import PRIVATE_STATUSES
from services.errors import InvalidInput
from services.viewer import Viewer

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = 111.195
MAX_RADIUS_KM = 20_000.0
MAX_QUERY = 200
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)  # sorts after every real deadline


class BountySort(StrEnum):
    NEWEST = "NEWEST"
    REWARD = "REWARD"  # highest first
    DEADLINE = "DEADLINE"  # soonest first; none last
    DISTANCE = "DISTANCE"  # nearest first; needs `near`


@dataclass(frozen=True, slots=True)
class Near:
    latitude: float
    longitude: float
    radius_km: float


@dataclass(frozen=True, slots=True)
class BountyFilter:
    statuses: tuple[BountyStatus, ...] = ()  # none: OPEN
    category: str | None = None
    min_reward: int | None = None
    max_reward: int | None = None
    currency: str | None = None
    text: str | None = None
    near: Near | None = None
    remote_only: bool = False
    poster_id: uuid.UUID | None = None


def conditions(viewer: Viewer | None, where: BountyFilter) -> list[ColumnElement[bool]]:
    statuses = where.statuses or (BountyStatus.OPEN,)
    found: list[ColumnElement[bool]] = [
        b.status == statuses[0] if len(statuses) == 1 else b.status.in_(statuses)
    ]
    if PRIVATE_STATUSES & set(statuses):
        # Drafts and unfunded bounties: their poster's only.
        mine = b.poster_id == viewer.user_id if viewer is not None else false()
        found.append(or_(b.status.not_in(PRIVATE_STATUSES), mine))
    if viewer is None or not viewer.is_staff:
        # Removed by a moderator: staff and the poster only.
        own = b.poster_id == viewer.user_id if viewer is not None else false()
        found.append(or_(b.removed_at.is_(None), own))
    if where.category is not None:
        found.append(b.category == where.category)
    if where.min_reward is not None:
        found.append(b.reward_amount >= where.min_reward)
    if where.max_reward is not None:
        found.append(b.reward_amount <= where.max_reward)
    if where.currency is not None:
        found.append(b.reward_currency == where.currency)
    if where.remote_only:
        found.append(b.remote.is_(True))
    if where.poster_id is not None:
        found.append(b.poster_id == where.poster_id)
    if where.text is not None:
        text = where.text.strip()
        if not 1 <= len(text) <= MAX_QUERY:
            raise InvalidInput(
                f"search text takes 1 to {MAX_QUERY} characters", field="filter.text"
            )
        found.append(b.search.op("@@")(func.websearch_to_tsquery("english", text)))
    if where.near is not None:
        found.extend(_within(where.near))
    return found


def _within(near: Near) -> list[ColumnElement[bool]]:
    if not (-90 <= near.latitude <= 90 and -180 <= near.longitude <= 180):
        raise InvalidInput("latitude is -90..90 and longitude -180..180", field="filter.near")
    if not 0 < near.radius_km <= MAX_RADIUS_KM:
        raise InvalidInput(f"radius is 0 to {MAX_RADIUS_KM:.0f} km", field="filter.near.radiusKm")
    # A bounding box the (latitude, longitude) index can use, then the exact great circle.
    span = near.radius_km / KM_PER_DEGREE
    box = [b.latitude.between(near.latitude - span, near.latitude + span)]
    cos_lat = math.cos(math.radians(near.latitude))
    if cos_lat > 1e-6 and span / cos_lat < 180:
        lng_span = span / cos_lat
        low, high = near.longitude - lng_span, near.longitude + lng_span
        if low >= -180 and high <= 180:
            box.append(b.longitude.between(low, high))
        else:  # the box crosses the antimeridian
            box.append(
                or_(b.longitude >= (low + 540) % 360 - 180, b.longitude <= (high + 540) % 360 - 180)
            )
    return [*box, distance_km(near) <= near.radius_km]


def distance_km(near: Near) -> ColumnElement[float]:
    """Haversine distance from `near` to the bounty, in km (no PostGIS needed)."""
    lat1, lng1 = math.radians(near.latitude), math.radians(near.longitude)
    lat2, lng2 = func.radians(b.latitude), func.radians(b.longitude)
    half = func.power(func.sin((lat2 - lat1) / 2), 2) + math.cos(lat1) * func.cos(
        lat2
    ) * func.power(func.sin((lng2 - lng1) / 2), 2)
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(func.least(literal(1.0), half)))


def sort_key(sort: BountySort, where: BountyFilter) -> tuple[ColumnElement[Any], bool]:
    """(expression, descending) of the sort; the id breaks ties in the same direction."""
    if sort is BountySort.NEWEST:
        return b.created_at, True
    if sort is BountySort.REWARD:
        return b.reward_amount, True
    if sort is BountySort.DEADLINE:
        return func.coalesce(b.deadline, literal(NO_DEADLINE)), False
    if where.near is None:
        raise InvalidInput("sorting by distance needs filter.near", field="sort")
    return distance_km(where.near), False


def keyset(
    expression: ColumnElement[Any], descending: bool, cursor: list[Any], sort: BountySort
) -> ColumnElement[bool]:
    try:
        value, last_id = cursor
        if sort in (BountySort.NEWEST, BountySort.DEADLINE):
            value = datetime.fromisoformat(value)
        elif sort is BountySort.REWARD:
            value = int(value)
        else:
            value = float(value)
        last = uuid.UUID(last_id)
    except (TypeError, ValueError) as error:
        raise InvalidInput("not a cursor of this sort", field="after") from error
    pair = tuple_(expression, b.id)
    return and_(pair < (value, last)) if descending else and_(pair > (value, last))


def cursor_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
