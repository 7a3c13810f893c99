"""The admin dashboard for a date range: from the daily rollups and ledger balances only.

Users total is the last DAY rollup's count in the range. Flows over the range (new users,
bounties entering each status, GMV, platform revenue, payouts, the dispute rate) are sums of
DAY rollups; held funds are the ledger's HELD balances now; active posters and hunters are
distinct users of a few server-side events in the range, read from the partial index on
(name, received_at) of server-side events alone (migration 0015) and hashed, not sorted.
Events are append-only on the server's clock, so what lies before an hour ago never changes:
a range that closed keeps its two counts in process, and a range that ends today keeps the
distinct users of its closed days and reads only today's events (see CLOSED_AFTER below).
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import text

from app.db.engine import SessionFactory
from app.db.models import Granularity
from app.db.models.base import utcnow
from services.admin.users import require_admin
from services.analytics import rollups
from services.errors import InvalidInput
from services.viewer import Viewer

MAX_DAYS = 366
T = TypeVar("T")


@dataclass
class Dashboard:
    since: datetime
    until: datetime
    users_total: int = 0
    new_users: int = 0
    active_posters: int = 0
    active_hunters: int = 0
    bounties_by_status: dict[str, int] = field(default_factory=dict)
    gmv: dict[str, int] = field(default_factory=dict)
    held_funds: dict[str, int] = field(default_factory=dict)
    platform_revenue: dict[str, int] = field(default_factory=dict)
    payouts: dict[str, int] = field(default_factory=dict)

    @property
    def dispute_rate(self) -> float | None:
        """Bounties disputed / bounties accepted in the range; null without acceptances."""
        accepted = self.bounties_by_status.get("ASSIGNED", 0)
        disputed = self.bounties_by_status.get("DISPUTED", 0)
        return round(disputed / accepted, 4) if accepted else None


# One statement: every figure, each from its rollups or its small table.
_FIGURES = """
SELECT 'rollup' AS part, metric AS name, dimension, sum(value)::bigint AS value
FROM analytics_rollups
WHERE granularity = 'DAY' AND bucket_start >= CAST(:since AS timestamptz)
  AND bucket_start < CAST(:until AS timestamptz)
  AND metric IN ('signups', 'bounties_entered', 'gmv', 'platform_revenue', 'payouts')
GROUP BY metric, dimension
UNION ALL
SELECT 'held', 'held', currency, sum(balance)::bigint FROM ledger_accounts
WHERE kind = 'HELD' GROUP BY currency
UNION ALL
SELECT 'users', 'users', '', (
    SELECT value FROM analytics_rollups
    WHERE metric = 'users_total' AND granularity = 'DAY' AND dimension = ''
      AND bucket_start < CAST(:until AS timestamptz)
    ORDER BY bucket_start DESC LIMIT 1
)
"""
# Distinct users of the server-side events of [lo, hi) (the partial index of migration 0015,
# read alone, hashed): the one part that grows with the range's activity. Counted, or listed
# (`span` "closed" or "open") where a range straddles the last closed day.
_ROLES = {
    "posters": "name IN ('bounty.created', 'bounty.open', 'bounty.completed')",
    "hunters": "name = 'bounty.submitted'",
}


def _active(lo: str, hi: str, span: str | None = None) -> str:
    """SQL text built once at import from the constants here (no input reaches it)."""
    parts = []
    for role, names in _ROLES.items():
        users = f"""SELECT DISTINCT user_id FROM analytics_events
    WHERE source = 'SERVER' AND {names}
      AND received_at >= CAST(:{lo} AS timestamptz)
      AND received_at < CAST(:{hi} AS timestamptz) AND user_id IS NOT NULL"""  # noqa: S608  # nosec B608
        if span is None:
            count = f"SELECT 'active', '{role}', '', count(*) FROM ({users}) AS {role}"  # noqa: S608  # nosec B608
            parts.append(count)
        else:
            parts.append(
                f"SELECT '{span}', '{role}', CAST(user_id AS text), NULL FROM ({users}) AS {role}"  # noqa: S608  # nosec B608
            )
    return "".join(f"\nUNION ALL\n{part}" for part in parts)


_COUNTED = text(_FIGURES + _active("since", "until"))
_KNOWN = text(_FIGURES)
_SPLIT = text(
    _FIGURES + _active("since", "boundary", "closed") + _active("boundary", "until", "open")
)
_SPLIT_KNOWN = text(_FIGURES + _active("boundary", "until", "open"))

# Events are append-only and stamped with the server's clock: what happened before any
# transaction still open could have stamped its events (CLOSED_AFTER ago) never changes. A range
# that closed keeps its two counts; a range that ends today keeps the distinct users of its
# closed days and reads only today's events again (the counts are of the union). Exact, and no
# expiry; only the cheap figures (rollups, balances) are read on every request.
CLOSED_AFTER = timedelta(hours=1)
Users = frozenset[str]
_closed_counts: OrderedDict[tuple[datetime, datetime], tuple[int, int]] = OrderedDict()
_closed_users: OrderedDict[tuple[datetime, datetime], tuple[Users, Users]] = OrderedDict()
CLOSED_COUNTS_KEPT = 256
CLOSED_USERS_KEPT = 4  # sets of user ids: a few ranges' worth
# Past this many distinct users a range's closed days are counted on every request instead:
# listing them once costs a row each, and keeping them memory.
MOST_USERS_KEPT = 200_000
_too_many: set[tuple[datetime, datetime]] = set()


def forget_closed_ranges() -> None:
    """Drop what is kept (tests that rebuild the data of a past range)."""
    _closed_counts.clear()
    _closed_users.clear()
    _too_many.clear()


def _kept(
    store: OrderedDict[tuple[datetime, datetime], T], key: tuple[datetime, datetime]
) -> T | None:
    found = store.get(key)
    if found is not None:
        store.move_to_end(key)
    return found


def _keep(
    store: OrderedDict[tuple[datetime, datetime], T],
    key: tuple[datetime, datetime],
    value: T,
    most: int,
) -> None:
    store[key] = value
    while len(store) > most:
        store.popitem(last=False)


async def dashboard(
    session_factory: SessionFactory, viewer: Viewer, *, since: datetime, until: datetime
) -> Dashboard:
    """Admins: the figures for the whole days from `since` up to `until` (UTC): one statement."""
    require_admin(viewer)
    start = rollups.bucket_of(since, Granularity.DAY)
    end = rollups.bucket_of(until, Granularity.DAY)
    if end < until:
        end += timedelta(days=1)  # a partial last day counts whole
    if end <= start:
        raise InvalidInput("`to` must be after `from`", field="to")
    if (end - start).days > MAX_DAYS:
        raise InvalidInput(f"at most {MAX_DAYS} days", field="to")
    result = Dashboard(since=start, until=end)
    closed = utcnow() - CLOSED_AFTER
    boundary = rollups.bucket_of(closed, Granularity.DAY)  # the end of the last closed day
    counts = _kept(_closed_counts, (start, end)) if end <= closed else None
    split = counts is None and start < boundary < end and (start, boundary) not in _too_many
    kept_users = _kept(_closed_users, (start, boundary)) if split else None
    if counts is not None:
        statement = _KNOWN
    elif split:
        statement = _SPLIT if kept_users is None else _SPLIT_KNOWN
    else:
        statement = _COUNTED
    flows: dict[str, dict[str, int]] = defaultdict(dict)
    listed: dict[tuple[str, str], set[str]] = defaultdict(set)
    parameters = {"since": start, "until": end, "boundary": boundary}
    async with session_factory() as session:
        rows = await session.execute(statement, parameters)
        for part, name, dimension, value in rows:
            if part in ("closed", "open"):
                listed[part, name].add(dimension)
                continue
            value = int(value or 0)
            if part == "rollup":
                flows[name][dimension] = value
            elif part == "held":
                if value:
                    result.held_funds[dimension] = value
            elif part == "users":
                result.users_total = value
            elif name == "posters":
                result.active_posters = value
            else:
                result.active_hunters = value
    if counts is not None:
        result.active_posters, result.active_hunters = counts
    elif split:
        if kept_users is None:
            kept_users = (
                frozenset(listed["closed", "posters"]),
                frozenset(listed["closed", "hunters"]),
            )
            if len(kept_users[0]) + len(kept_users[1]) <= MOST_USERS_KEPT:
                _keep(_closed_users, (start, boundary), kept_users, CLOSED_USERS_KEPT)
            elif len(_too_many) < CLOSED_COUNTS_KEPT:
                _too_many.add((start, boundary))
        result.active_posters = len(kept_users[0] | listed["open", "posters"])
        result.active_hunters = len(kept_users[1] | listed["open", "hunters"])
    elif end <= closed:
        counted = (result.active_posters, result.active_hunters)
        _keep(_closed_counts, (start, end), counted, CLOSED_COUNTS_KEPT)
    result.new_users = flows["signups"].get("", 0)
    result.bounties_by_status = flows["bounties_entered"]
    result.gmv = flows["gmv"]
    result.platform_revenue = flows["platform_revenue"]
    result.payouts = flows["payouts"]
    return result
