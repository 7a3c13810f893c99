"""The admin dashboard for a date range: from the daily rollups and ledger balances only.

Users total is the last DAY rollup's count in the range. Flows over the range (new users,
bounties entering each status, GMV, platform revenue, payouts, the dispute rate) are sums of
DAY rollups; held funds are the ledger's HELD balances now; active posters and hunters are
distinct users of a few server-side events in the range, read from the partial index on
(name, received_at) of server-side events alone (migration 0015) and hashed, not sorted.
Those counts are kept in process for ranges that closed over an hour ago: events are
append-only on the server's clock, so such a range's counts never change.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text

from app.db.engine import SessionFactory
from app.db.models import Granularity
from app.db.models.base import utcnow
from services.admin.users import require_admin
from services.analytics import rollups
from services.errors import InvalidInput
from services.viewer import Viewer

MAX_DAYS = 366


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
# Distinct users of the range's server-side events (the partial index of migration 0015, read
# alone, hashed): the one part that grows with the range's activity.
_ACTIVE = """
UNION ALL
SELECT 'active', 'posters', '', count(*) FROM (
    SELECT DISTINCT user_id FROM analytics_events
    WHERE source = 'SERVER' AND name IN ('bounty.created', 'bounty.open', 'bounty.completed')
      AND received_at >= CAST(:since AS timestamptz)
      AND received_at < CAST(:until AS timestamptz) AND user_id IS NOT NULL
) AS posters
UNION ALL
SELECT 'active', 'hunters', '', count(*) FROM (
    SELECT DISTINCT user_id FROM analytics_events
    WHERE source = 'SERVER' AND name = 'bounty.submitted'
      AND received_at >= CAST(:since AS timestamptz)
      AND received_at < CAST(:until AS timestamptz) AND user_id IS NOT NULL
) AS hunters
"""
_DASHBOARD = text(_FIGURES + _ACTIVE)
_DASHBOARD_KNOWN_ACTIVE = text(_FIGURES)

# Events are append-only and stamped with the server's clock, so a range that ended before
# any transaction still open could have stamped its events has fixed active counts: they are
# kept (exact, not expiring) and only the cheap figures are read again.
CLOSED_AFTER = timedelta(hours=1)
_closed_ranges: OrderedDict[tuple[datetime, datetime], tuple[int, int]] = OrderedDict()
CLOSED_RANGES_KEPT = 256


def forget_closed_ranges() -> None:
    """Drop the kept counts (tests that rebuild the data of a past range)."""
    _closed_ranges.clear()


def _known_active(since: datetime, until: datetime) -> tuple[int, int] | None:
    found = _closed_ranges.get((since, until))
    if found is not None:
        _closed_ranges.move_to_end((since, until))
    return found


def _keep_active(since: datetime, until: datetime, counts: tuple[int, int]) -> None:
    if until > utcnow() - CLOSED_AFTER:
        return  # still open: a later request must count again
    _closed_ranges[(since, until)] = counts
    while len(_closed_ranges) > CLOSED_RANGES_KEPT:
        _closed_ranges.popitem(last=False)


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
    known = _known_active(start, end)
    if known is not None:
        result.active_posters, result.active_hunters = known
    flows: dict[str, dict[str, int]] = defaultdict(dict)
    statement = _DASHBOARD if known is None else _DASHBOARD_KNOWN_ACTIVE
    async with session_factory() as session:
        rows = await session.execute(statement, {"since": start, "until": end})
        for part, name, dimension, value in rows:
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
    if known is None:
        _keep_active(start, end, (result.active_posters, result.active_hunters))
    result.new_users = flows["signups"].get("", 0)
    result.bounties_by_status = flows["bounties_entered"]
    result.gmv = flows["gmv"]
    result.platform_revenue = flows["platform_revenue"]
    result.payouts = flows["payouts"]
    return result
