"""Rollups: each metric over each hour and day, computed from the events of that bucket.

`rollup` replaces one bucket in one statement: rows are upserted only where the value differs
and rows of metrics no longer produced are deleted, so re-running a bucket that has not changed
changes nothing (it reports 0 rows changed). Buckets use `received_at` (the server's clock): a
past window gains no events, so any past window can be re-run (`rollup_window`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from app.db.engine import SessionFactory
from app.db.models import Granularity

STEP = {Granularity.HOUR: timedelta(hours=1), Granularity.DAY: timedelta(days=1)}

# The metrics a bucket produces (see the README's "Analytics" section).
ACTIVE_USERS = "active_users"
WAU = "wau"  # DAY buckets only: distinct users over the 7 days ending with the bucket
MAU = "mau"  # DAY buckets only: over the 30 days ending with the bucket
USERS_TOTAL = "users_total"  # DAY buckets only: accounts (not deleted) at the bucket's end
SIGNUPS = "signups"
BOUNTIES_CREATED = "bounties_created"
BOUNTIES_FUNDED = "bounties_funded"
BOUNTIES_ACCEPTED = "bounties_accepted"
BOUNTIES_COMPLETED = "bounties_completed"
GMV = "gmv"  # minor units of completed bounties' rewards, one row per currency (`dimension`)
MEDIAN_SECONDS_TO_ACCEPT = "median_seconds_to_accept"  # published -> assigned
MEDIAN_SECONDS_TO_COMPLETE = "median_seconds_to_complete"  # published -> completed
BOUNTIES_ENTERED = "bounties_entered"  # transitions into each status (`dimension`)
PLATFORM_REVENUE = "platform_revenue"  # fees posted (ledger), per currency
PAYOUTS = "payouts"  # payouts paid (ledger), per currency
FUNDED = "funded"  # rewards funded into held accounts (ledger), per currency
COUNTED = (
    ACTIVE_USERS, SIGNUPS, BOUNTIES_CREATED, BOUNTIES_FUNDED, BOUNTIES_ACCEPTED, BOUNTIES_COMPLETED,
)  # fmt: skip

_ROLLUP = text("""
WITH counts AS (
    SELECT count(*) FILTER (WHERE name = 'user.signed_up') AS signups,
           count(*) FILTER (WHERE name = 'bounty.created') AS bounties_created,
           count(*) FILTER (WHERE name = 'bounty.open') AS bounties_funded,
           count(*) FILTER (WHERE name = 'bounty.assigned') AS bounties_accepted,
           count(*) FILTER (WHERE name = 'bounty.completed') AS bounties_completed
    FROM analytics_events
    WHERE received_at >= CAST(:start AS timestamptz) AND received_at < CAST(:end AS timestamptz)
      AND source = 'SERVER'
),
-- DISTINCT in a subquery hashes; count(DISTINCT ...) would sort the bucket's events.
actives AS (
    SELECT count(*) AS active_users FROM (
        SELECT DISTINCT user_id FROM analytics_events
        WHERE received_at >= CAST(:start AS timestamptz)
          AND received_at < CAST(:end AS timestamptz) AND user_id IS NOT NULL
    ) AS present
),
-- The bucket's server-side bounty events: few, with the properties the money metrics need.
ev AS (
    SELECT name, user_id, properties, received_at FROM analytics_events
    WHERE received_at >= CAST(:start AS timestamptz) AND received_at < CAST(:end AS timestamptz)
      AND source = 'SERVER' AND name LIKE 'bounty.%'
),
times AS (
    SELECT percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM ev.received_at - b.published_at)
           ) FILTER (WHERE ev.name = 'bounty.assigned') AS to_accept,
           percentile_cont(0.5) WITHIN GROUP (
               ORDER BY extract(epoch FROM ev.received_at - b.published_at)
           ) FILTER (WHERE ev.name = 'bounty.completed') AS to_complete
    FROM ev JOIN bounties AS b ON b.id = (ev.properties ->> 'bountyId')::uuid
    WHERE ev.name IN ('bounty.assigned', 'bounty.completed') AND b.published_at IS NOT NULL
),
windows AS (
    SELECT count(DISTINCT user_id) FILTER (
               WHERE received_at >= CAST(:end AS timestamptz) - interval '7 days'
           ) AS wau,
           count(DISTINCT user_id) AS mau
    FROM analytics_events
    WHERE CAST(:granularity AS text) = 'DAY'
      AND received_at >= CAST(:end AS timestamptz) - interval '30 days'
      AND received_at < CAST(:end AS timestamptz)
),
fresh AS (
    SELECT m.metric, m.dimension, m.value
    FROM counts, actives, times, windows, LATERAL (VALUES
        ('active_users', '', actives.active_users),
        ('signups', '', counts.signups),
        ('bounties_created', '', counts.bounties_created),
        ('bounties_funded', '', counts.bounties_funded),
        ('bounties_accepted', '', counts.bounties_accepted),
        ('bounties_completed', '', counts.bounties_completed),
        ('median_seconds_to_accept', '', round(times.to_accept)::bigint),
        ('median_seconds_to_complete', '', round(times.to_complete)::bigint),
        ('wau', '', CASE WHEN CAST(:granularity AS text) = 'DAY' THEN windows.wau END),
        ('users_total', '', CASE WHEN CAST(:granularity AS text) = 'DAY' THEN (
            SELECT count(*) FROM users
            WHERE status <> 'DELETED' AND created_at < CAST(:end AS timestamptz)
        ) END),
        ('mau', '', CASE WHEN CAST(:granularity AS text) = 'DAY' THEN windows.mau END)
    ) AS m (metric, dimension, value)
    WHERE m.value IS NOT NULL
    UNION ALL
    SELECT 'gmv', properties ->> 'currency', sum((properties ->> 'amount')::bigint)
    FROM ev WHERE name = 'bounty.completed' GROUP BY properties ->> 'currency'
    UNION ALL
    SELECT 'bounties_entered', upper(substr(name, 8)), count(*)
    FROM ev WHERE name LIKE 'bounty.%' GROUP BY name
    UNION ALL
    SELECT CASE WHEN p.kind = 'RELEASE' THEN 'platform_revenue'
                WHEN p.kind = 'PAYOUT_PAID' THEN 'payouts'
                ELSE 'funded' END,
           e.currency, sum(e.amount)
    FROM ledger_postings AS p
    JOIN ledger_entries AS e ON e.posting_id = p.id
    JOIN ledger_accounts AS a ON a.id = e.account_id
    WHERE p.created_at >= CAST(:start AS timestamptz) AND p.created_at < CAST(:end AS timestamptz)
      AND ((p.kind = 'RELEASE' AND a.kind = 'FEES')
        OR (p.kind = 'PAYOUT_PAID' AND a.kind = 'CLEARING')
        OR (p.kind = 'FUNDING' AND a.kind = 'HELD'))
    GROUP BY 1, e.currency
),
gone AS (
    DELETE FROM analytics_rollups AS r
    WHERE r.granularity = CAST(:granularity AS text)
      AND r.bucket_start = CAST(:start AS timestamptz)
      AND NOT EXISTS (
          SELECT 1 FROM fresh WHERE fresh.metric = r.metric AND fresh.dimension = r.dimension
      )
    RETURNING 1
),
changed AS (
    INSERT INTO analytics_rollups (metric, granularity, bucket_start, dimension, value, computed_at)
    SELECT metric, CAST(:granularity AS text), CAST(:start AS timestamptz), dimension, value,
           now()
    FROM fresh
    ON CONFLICT (metric, granularity, bucket_start, dimension) DO UPDATE
        SET value = EXCLUDED.value, computed_at = EXCLUDED.computed_at
        WHERE analytics_rollups.value IS DISTINCT FROM EXCLUDED.value
    RETURNING 1
)
SELECT (SELECT count(*) FROM changed) + (SELECT count(*) FROM gone)
""")


def bucket_of(moment: datetime, granularity: Granularity) -> datetime:
    """The start of the bucket holding `moment` (UTC)."""
    moment = moment.astimezone(UTC)
    if granularity is Granularity.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


async def rollup(session_factory: SessionFactory, granularity: Granularity, start: datetime) -> int:
    """Recompute one bucket; the number of rollup rows it changed (0 on an unchanged re-run)."""
    start = bucket_of(start, granularity)
    async with session_factory() as session, session.begin():
        # A bucket's distinct users hash in memory rather than spill to disk.
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
        changed = await session.scalar(
            _ROLLUP,
            {"granularity": granularity.value, "start": start, "end": start + STEP[granularity]},
        )
    return int(changed or 0)


async def rollup_window(
    session_factory: SessionFactory, granularity: Granularity, since: datetime, until: datetime
) -> int:
    """Every bucket from the one holding `since` up to `until` (exclusive); rows changed."""
    start, changed = bucket_of(since, granularity), 0
    while start < until:
        changed += await rollup(session_factory, granularity, start)
        start += STEP[granularity]
    return changed


def previous_bucket(now: datetime, granularity: Granularity) -> datetime:
    return bucket_of(now, granularity) - STEP[granularity]
