"""Per-request cost of representative operations through the real ASGI app, in process.

    .venv/bin/python -m bench.graphql_requests [--requests 2000] [--profile nodes]

Runs against a throw-away database on the test server (embedded, or TEST_DATABASE_URL), so the
figures include SQLAlchemy and PostgreSQL but no network or HTTP server. Operations are
interleaved round by round, so machine noise hits them alike. `--profile NAME` prints a
pyinstrument profile of that operation instead.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from app.db.engine import create_session_factory
from app.main import create_app
from app.settings import Settings
from tests import databases
from tests.factories import create_user, global_id, token_for

Operation = tuple[str, dict[str, Any], dict[str, str]]


async def build_operations(settings: Settings, url: str) -> dict[str, Operation]:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    factory = create_session_factory(engine)
    users = [await create_user(factory) for _ in range(20)]
    await engine.dispose()
    bearer = {"authorization": f"Bearer {token_for(settings, users[0])}"}
    ids = [global_id("User", user.id) for user in users]
    nodes = "query ($ids: [ID!]!) { nodes(ids: $ids) { id ... on User { displayName createdAt } } }"
    return {
        "serverInfo": ("{ serverInfo { version environment } }", {}, {}),
        "viewer": ("{ viewer { id displayName email role } }", {}, bearer),
        "nodes x20": (nodes, {"ids": ids}, {}),
    }


async def measure(
    client: httpx.AsyncClient, operations: dict[str, Operation], requests: int
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in operations}
    for _ in range(requests):
        for name, (query, variables, headers) in operations.items():
            started = time.perf_counter()
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            timings[name].append((time.perf_counter() - started) * 1e6)
            if response.status_code != 200 or "errors" in response.json():
                raise SystemExit(f"{name} failed: {response.text}")
    return timings


def report(timings: dict[str, list[float]]) -> None:
    print(
        f"{'operation':<12} {'requests':>8} {'mean µs':>9} {'p50 µs':>8} {'p95 µs':>8} {'req/s':>7}"
    )
    for name, samples in timings.items():
        ordered = sorted(samples)
        mean = statistics.fmean(ordered)
        p50, p95 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.95)]
        print(
            f"{name:<12} {len(ordered):>8} {mean:>9.0f} {p50:>8.0f} {p95:>8.0f} {1e6 / mean:>7.0f}"
        )


async def run(requests: int, profile: str | None) -> None:
    server = databases.server_url()
    name, url = await databases.create_test_database(server)
    try:
        # Limits on, but out of reach: the figures include their bookkeeping, not refusals.
        settings = Settings(
            _env_file=None,
            environment="test",
            database_url=url,
            rate_limit_ip_per_15min=10**9,
            rate_limit_user_per_minute=10**9,
        )
        operations = await build_operations(settings, url)
        app = create_app(settings, database_url=url)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                await measure(client, operations, 50)  # warm caches and the pool
                if profile:
                    await profile_one(client, operations[profile], requests)
                else:
                    report(await measure(client, operations, requests))
    finally:
        await databases.drop_database(server, name)


async def profile_one(client: httpx.AsyncClient, operation: Operation, requests: int) -> None:
    from pyinstrument import Profiler

    with Profiler(async_mode="enabled", interval=0.0002) as profiler:
        await measure(client, {"profiled": operation}, requests)
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", choices=["serverInfo", "viewer", "nodes x20"])
    args = parser.parse_args()
    runner: Callable[[], Coroutine[Any, Any, None]] = lambda: run(args.requests, args.profile)  # noqa: E731
    asyncio.run(runner())


if __name__ == "__main__":
    main()
