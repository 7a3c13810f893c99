"""Operations benchmarks (issue 13): trackEvents ingest, the hourly rollup over 1M events, and
adminDashboard latency.

    .venv/bin/python -m bench.operations ingest [--duration 15] [--connections 16] [--batch 50]
    .venv/bin/python -m bench.operations rollup [--events 1000000]
    .venv/bin/python -m bench.operations dashboard [--duration 15] [--connections 4]

`ingest` and `dashboard` start `bountyexpo serve` (one uvicorn process) on the seeded data set
of `bench.marketplace_data` and drive it with wrk; `ingest` prints events/s (requests/s x batch),
`dashboard` p50/p95/p99 of a 30-day dashboard over 90 days of daily rollups and 500k
server-side bounty events (its active counts kept after the first request: a closed range),
then the service call alone with those counts read again each time, and for a range that ends
today (its closed days' users kept, today's events read each time). `rollup` loads
`--events` events into one hour of a scratch database with COPY and times that hour's rollup,
then its re-run (which changes nothing). Targets: 10,000 events/s, a rollup hour over 1M events
under 5 s, dashboard p95 under 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from app.db.engine import create_session_factory
from app.db.models import Granularity, Role
from app.security.jwt import issue_access_token
from app.settings import Environment, Settings
from bench.marketplace_data import ensure_data_set
from bench.marketplace_read import _free_port, gateway
from services.analytics import rollups
from tests import databases

HOUR = datetime(2026, 11, 20, 10, tzinfo=UTC)
SERVER_EVENTS = 500_000  # bounty events over the dashboard's 90 days (5 per bounty of 100k)
LUA = """
wrk.method = "POST"
wrk.body = [[%s]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.3f %%d %%d %%d\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
# Limits on but out of reach: the figures include their bookkeeping, not refusals.
UNLIMITED = {
    "RATE_LIMIT_EVENTS_PER_MINUTE": "1000000000",
    "RATE_LIMIT_USER_PER_MINUTE": "1000000000",
}


def _token(role: Role) -> str:
    settings = Settings(_env_file=None, environment=Environment.TEST)
    return issue_access_token(settings, user_id=uuid.uuid4(), role=role, session_id=uuid.uuid4())


def _wrk(base: str, body: bytes, token: str, duration: int, connections: int) -> tuple[float, ...]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % (body.decode(), token))
    try:
        command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", script.name]
        output = subprocess.run(
            [*command, f"{base}/graphql"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    requests, errors, seconds, p50, p95, p99 = (float(x) for x in line.split()[1:])
    return requests / seconds, errors, p50 / 1000, p95 / 1000, p99 / 1000


def ingest(duration: int, connections: int, batch: int) -> None:
    url = asyncio.run(ensure_data_set())
    events = [
        {"name": "screen.viewed", "properties": {"screen": f"s{i % 7}", "ms": i}}
        for i in range(batch)
    ]
    body = orjson.dumps({"query": TRACK, "variables": {"events": events}})
    token = _token(Role.USER)
    with gateway(url, _free_port(), UNLIMITED) as base:
        import httpx

        answer = httpx.post(
            f"{base}/graphql",
            content=body,
            headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
        ).json()
        assert answer["data"]["trackEvents"]["accepted"] == batch, answer
        throughput, errors, p50, p95, p99 = _wrk(base, body, token, duration, connections)
    print(
        f"trackEvents, batches of {batch}, 1 process, wrk -t2 -c{connections} -d{duration}s: "
        f"{throughput:.0f} req/s = {throughput * batch:,.0f} events/s, p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, p99 {p99:.1f} ms, errors {errors:.0f}",
        flush=True,
    )


TRACK = "mutation T($events: [TrackEventInput!]!) { trackEvents(events: $events) { __typename ... on TrackEventsSuccess { accepted } } }"  # noqa: E501
DASHBOARD = """query D($from: DateTime!, $to: DateTime!) { adminDashboard(from: $from, to: $to) {
  usersTotal newUsers activePosters activeHunters bountiesByStatus { status count }
  gmv { amount currency } heldFunds { amount currency } platformRevenue { amount currency }
  payouts { amount currency } disputeRate } }"""


async def _rollup(count: int) -> None:
    server = databases.server_url()
    name, url = await databases.create_test_database(server)
    try:
        raw = url.replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(raw)
        rng = random.Random(13)
        users = [uuid.uuid4() for _ in range(50_000)]
        names = ["screen.viewed", "app.opened", "bounty.viewed", "search.run", "tap"]
        started = time.perf_counter()
        step = 3_600_000_000 / count  # µs of the hour per event
        records = (
            (
                names[i % len(names)],
                "CLIENT",
                rng.choice(users),
                '{"k": 1}',
                HOUR + timedelta(microseconds=int(i * step)),
            )
            for i in range(count)
        )
        await connection.copy_records_to_table(
            "analytics_events",
            records=records,
            columns=["name", "source", "user_id", "properties", "received_at"],
        )
        await connection.execute("ANALYZE analytics_events")
        await connection.close()
        print(f"loaded {count:,} events into one hour in {time.perf_counter() - started:.1f} s")
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url)
        factory = create_session_factory(engine)
        for label in ("first run", "re-run", "re-run"):
            started = time.perf_counter()
            changed = await rollups.rollup(factory, Granularity.HOUR, HOUR)
            print(
                f"hourly rollup over {count:,} events ({label}): "
                f"{time.perf_counter() - started:.2f} s, {changed} row(s) changed",
                flush=True,
            )
        await engine.dispose()
    finally:
        await databases.drop_database(server, name)


async def _seed_rollups(url: str, days: int) -> None:
    raw = url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(raw)
    try:
        await connection.execute("DELETE FROM analytics_rollups")
        end = datetime(2026, 11, 1, tzinfo=UTC)
        rows = []
        rng = random.Random(7)
        for day in range(days):
            start = end - timedelta(days=day + 1)
            for metric in ("signups", "gmv", "platform_revenue", "payouts", "users_total"):
                plain = metric in ("signups", "users_total")
                for dimension in ("",) if plain else ("USD", "EUR"):
                    rows.append((metric, "DAY", start, dimension, rng.randrange(1, 10**6)))
            for status in ("CREATED", "OPEN", "ASSIGNED", "SUBMITTED", "COMPLETED", "DISPUTED"):
                rows.append(("bounties_entered", "DAY", start, status, rng.randrange(1, 500)))
        await connection.copy_records_to_table(
            "analytics_rollups",
            records=rows,
            columns=["metric", "granularity", "bucket_start", "dimension", "value"],
        )
        # The server-side bounty events the dashboard counts active posters and hunters from:
        # SERVER_EVENTS spread over the same days, among the data set's users (loaded once).
        seeded = await connection.fetchval(
            "SELECT count(*) FROM analytics_events WHERE source = 'SERVER' AND name LIKE 'bounty.%'"
        )
        if seeded < SERVER_EVENTS:
            users = [row[0] for row in await connection.fetch("SELECT id FROM users")]
            names = [f"bounty.{s}" for s in ("created", "open", "assigned", "submitted")]
            names.append("bounty.completed")
            step = timedelta(days=days) / SERVER_EVENTS
            records = [
                (
                    names[i % len(names)],
                    "SERVER",
                    rng.choice(users),
                    "{}",
                    end - timedelta(days=days) + step * i,
                )
                for i in range(SERVER_EVENTS - seeded)
            ]
            await connection.copy_records_to_table(
                "analytics_events",
                records=records,
                columns=["name", "source", "user_id", "properties", "received_at"],
            )
            await connection.execute("ANALYZE analytics_events")
    finally:
        await connection.close()


def dashboard(duration: int, connections: int) -> None:
    url = asyncio.run(ensure_data_set())
    asyncio.run(_seed_rollups(url, 90))
    variables = {"from": "2026-10-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    body = orjson.dumps({"query": DASHBOARD, "variables": variables})
    token = _token(Role.ADMIN)
    with gateway(url, _free_port(), UNLIMITED) as base:
        import httpx

        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        answer = httpx.post(f"{base}/graphql", content=body, headers=headers).json()
        assert answer["data"]["adminDashboard"]["usersTotal"] > 0, answer
        for _ in range(100):
            httpx.post(f"{base}/graphql", content=body, headers=headers)
        throughput, errors, p50, p95, p99 = _wrk(base, body, token, duration, connections)
    print(
        f"adminDashboard (30 days of 90 seeded, bench data set), 1 process, wrk -t2 "
        f"-c{connections} -d{duration}s: {throughput:.0f} req/s, p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, p99 {p99:.1f} ms, errors {errors:.0f}",
        flush=True,
    )
    cold = sorted(asyncio.run(_uncounted(url, variables, 20)))
    print(
        f"adminDashboard service call with its active users counted again each time (a range "
        f"not yet kept), 20 in a row: p50 {cold[9]:.1f} ms, p95 {cold[18]:.1f} ms, "
        f"max {cold[-1]:.1f} ms",
        flush=True,
    )
    first, *rest = asyncio.run(_straddling(url, 21))
    rest.sort()
    print(
        f"adminDashboard service call from the seeded days to tomorrow (ends today): first "
        f"{first:.1f} ms (lists the closed days' users), then 20 in a row: p50 {rest[9]:.1f} "
        f"ms, p95 {rest[18]:.1f} ms",
        flush=True,
    )


async def _straddling(url: str, rounds: int) -> list[float]:
    """Milliseconds per dashboard read of the 30 seeded days up to tomorrow (a range that ends
    today): the first lists its closed days' users, the others read only today's events."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db.engine import create_read_session_factory
    from services.admin import dashboard
    from services.viewer import Viewer

    engine = create_async_engine(url)
    reads = create_read_session_factory(create_session_factory(engine))
    admin = Viewer(user_id=uuid.uuid4(), role=Role.ADMIN)
    since = datetime(2026, 10, 2, tzinfo=UTC)
    until = datetime.now(UTC) + timedelta(days=1)
    dashboard.forget_closed_ranges()
    took = []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            await dashboard.dashboard(reads, admin, since=since, until=until)
            took.append((time.perf_counter() - started) * 1000)
    finally:
        dashboard.forget_closed_ranges()
        await engine.dispose()
    return took


async def _uncounted(url: str, variables: dict[str, str], rounds: int) -> list[float]:
    """Milliseconds per dashboard read when the closed range's active counts are not kept."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db.engine import create_read_session_factory
    from services.admin import dashboard
    from services.viewer import Viewer

    engine = create_async_engine(url)
    reads = create_read_session_factory(create_session_factory(engine))
    admin = Viewer(user_id=uuid.uuid4(), role=Role.ADMIN)
    since, until = (datetime.fromisoformat(variables[key]) for key in ("from", "to"))
    took = []
    try:
        for _ in range(rounds):
            dashboard.forget_closed_ranges()
            started = time.perf_counter()
            await dashboard.dashboard(reads, admin, since=since, until=until)
            took.append((time.perf_counter() - started) * 1000)
    finally:
        await engine.dispose()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["ingest", "rollup", "dashboard"])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=0)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.mode == "ingest":
        ingest(args.duration, args.connections or 16, args.batch)
    elif args.mode == "rollup":
        asyncio.run(_rollup(args.events))
    else:
        dashboard(args.duration, args.connections or 4)


if __name__ == "__main__":
    main()
