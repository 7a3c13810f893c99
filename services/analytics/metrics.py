"""Reading analytics: a metric's series and the conversion funnel, from the rollups only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import text

from app.db.engine import SessionFactory
from app.db.models import Granularity
from services.analytics import rollups
from services.errors import InvalidInput, NotAllowed
from services.viewer import Viewer

MAX_POINTS = 2_000


class Metric(StrEnum):
    DAU = "DAU"
    WAU = "WAU"
    MAU = "MAU"
    ACTIVE_USERS = "ACTIVE_USERS"
    SIGNUPS = "SIGNUPS"
    BOUNTIES_CREATED = "BOUNTIES_CREATED"
    BOUNTIES_FUNDED = "BOUNTIES_FUNDED"
    BOUNTIES_ACCEPTED = "BOUNTIES_ACCEPTED"
    BOUNTIES_COMPLETED = "BOUNTIES_COMPLETED"
    GMV = "GMV"
    MEDIAN_SECONDS_TO_ACCEPT = "MEDIAN_SECONDS_TO_ACCEPT"
    MEDIAN_SECONDS_TO_COMPLETE = "MEDIAN_SECONDS_TO_COMPLETE"


# metric -> (rollup metric, granularity it is fixed to or None)
_SOURCES: dict[Metric, tuple[str, Granularity | None]] = {
    Metric.DAU: (rollups.ACTIVE_USERS, Granularity.DAY),
    Metric.WAU: (rollups.WAU, Granularity.DAY),
    Metric.MAU: (rollups.MAU, Granularity.DAY),
    Metric.ACTIVE_USERS: (rollups.ACTIVE_USERS, None),
    Metric.SIGNUPS: (rollups.SIGNUPS, None),
    Metric.BOUNTIES_CREATED: (rollups.BOUNTIES_CREATED, None),
    Metric.BOUNTIES_FUNDED: (rollups.BOUNTIES_FUNDED, None),
    Metric.BOUNTIES_ACCEPTED: (rollups.BOUNTIES_ACCEPTED, None),
    Metric.BOUNTIES_COMPLETED: (rollups.BOUNTIES_COMPLETED, None),
    Metric.GMV: (rollups.GMV, None),
    Metric.MEDIAN_SECONDS_TO_ACCEPT: (rollups.MEDIAN_SECONDS_TO_ACCEPT, None),
    Metric.MEDIAN_SECONDS_TO_COMPLETE: (rollups.MEDIAN_SECONDS_TO_COMPLETE, None),
}
_COUNTS = {Metric.SIGNUPS, Metric.BOUNTIES_CREATED, Metric.BOUNTIES_FUNDED}
_COUNTS |= {Metric.BOUNTIES_ACCEPTED, Metric.BOUNTIES_COMPLETED, Metric.ACTIVE_USERS, Metric.DAU}


@dataclass(frozen=True, slots=True)
class Point:
    start: datetime
    dimension: str  # the currency for GMV; "" otherwise
    value: int | None  # None: nothing to measure in that bucket (a median without events)


@dataclass(frozen=True, slots=True)
class Series:
    metric: Metric
    granularity: Granularity
    points: list[Point]


def _require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise NotAllowed("admins only")


def _range(since: datetime, until: datetime, granularity: Granularity) -> tuple[datetime, datetime]:
    start = rollups.bucket_of(since, granularity)
    if until <= start:
        raise InvalidInput("`to` must be after `from`", field="to")
    if (until - start) / rollups.STEP[granularity] > MAX_POINTS:
        raise InvalidInput(f"at most {MAX_POINTS} buckets a query", field="to")
    return start, until


# Every bucket of the range (zero-filled for counts), left-joined to its rollup rows.
_SERIES = text("""
SELECT s.start, coalesce(r.dimension, '') AS dimension, r.value
FROM generate_series(
    CAST(:start AS timestamptz),
    CAST(:until AS timestamptz) - CAST(:step AS interval),
    CAST(:step AS interval)
) AS s (start)
LEFT JOIN analytics_rollups AS r
  ON r.metric = :metric AND r.granularity = :granularity AND r.bucket_start = s.start
ORDER BY s.start, dimension
""")


async def analytics_metrics(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    metric: Metric,
    since: datetime,
    until: datetime,
    granularity: Granularity,
) -> Series:
    """One statement: a point per bucket in [since, until) (and per currency for GMV)."""
    _require_admin(viewer)
    source, fixed = _SOURCES[metric]
    if fixed is not None and granularity is not fixed:
        raise InvalidInput(f"{metric.value} is measured by {fixed.value}", field="granularity")
    start, until = _range(since, until, granularity)
    step = rollups.STEP[granularity]
    async with session_factory() as session:
        rows = await session.execute(
            _SERIES,
            {
                "start": start,
                "until": until,
                "step": step,
                "metric": source,
                "granularity": granularity.value,
            },
        )
        zero = 0 if metric in _COUNTS else None
        if metric is Metric.GMV:
            zero = 0  # a bucket without sales shows once, as zero in no currency
        points = [
            Point(row.start, row.dimension, row.value if row.value is not None else zero)
            for row in rows
        ]
    return Series(metric, granularity, points)


@dataclass(frozen=True, slots=True)
class Funnel:
    created: int
    funded: int
    accepted: int
    completed: int


_FUNNEL = text("""
SELECT coalesce(sum(value) FILTER (WHERE metric = 'bounties_created'), 0),
       coalesce(sum(value) FILTER (WHERE metric = 'bounties_funded'), 0),
       coalesce(sum(value) FILTER (WHERE metric = 'bounties_accepted'), 0),
       coalesce(sum(value) FILTER (WHERE metric = 'bounties_completed'), 0)
FROM analytics_rollups
WHERE granularity = :granularity AND bucket_start >= :start AND bucket_start < :until
  AND metric IN ('bounties_created', 'bounties_funded', 'bounties_accepted', 'bounties_completed')
""")


async def funnel(
    session_factory: SessionFactory,
    viewer: Viewer,
    *,
    since: datetime,
    until: datetime,
    granularity: Granularity = Granularity.DAY,
) -> Funnel:
    """Bounties created -> funded -> accepted -> completed in the range (one statement)."""
    _require_admin(viewer)
    start, until = _range(since, until, granularity)
    async with session_factory() as session:
        row = (
            await session.execute(
                _FUNNEL, {"granularity": granularity.value, "start": start, "until": until}
            )
        ).one()
    return Funnel(*(int(value) for value in row))
