"""The admin dashboard for a date range: from the daily rollups and ledger balances only.

Users total is the last DAY rollup's count in the range. Flows over the range (new users,
bounties entering each status, GMV, platform revenue, payouts, the dispute rate) are sums of
DAY rollups; held funds are the ledger's HELD balances now; active posters and hunters are
distinct users of a few server-side events in the range (their (name, id) index and the BRIN
index on `received_at` bound that read to the range).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import text

from app.db.engine import SessionFactory
from app.db.models import Granularity
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
_DASHBOARD = text("""
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
UNION ALL
SELECT 'active', 'posters', '', count(DISTINCT user_id) FROM analytics_events
WHERE received_at >= CAST(:since AS timestamptz) AND received_at < CAST(:until AS timestamptz)
  AND name IN ('bounty.created', 'bounty.open', 'bounty.completed')
UNION ALL
SELECT 'active', 'hunters', '', count(DISTINCT user_id) FROM analytics_events
WHERE received_at >= CAST(:since AS timestamptz) AND received_at < CAST(:until AS timestamptz)
  AND name IN ('bounty.submitted')
""")


async def dashboard(
    session_factory: SessionFactory, viewer: Viewer, *, since: datetime, until: datetime
) -> Dashboard:
    """Admins: the figures for the whole days from `since` up to `until` (UTC)."""
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
    flows: dict[str, dict[str, int]] = defaultdict(dict)
    async with session_factory() as session:
        rows = await session.execute(_DASHBOARD, {"since": start, "until": end})
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
    result.new_users = flows["signups"].get("", 0)
    result.bounties_by_status = flows["bounties_entered"]
    result.gmv = flows["gmv"]
    result.platform_revenue = flows["platform_revenue"]
    result.payouts = flows["payouts"]
    return result
