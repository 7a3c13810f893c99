"""Cost of metrics + tracing: the same query through the app in-process, monitoring on and off.

    .venv/bin/python -m bench.monitoring_overhead [--rounds 6] [--requests 150] [--profile]

Apps share one throwaway database (cloned like the tests' one: TEST_DATABASE_URL or the embedded
server under var/test-pgdata) holding 20 users. "on" has metrics, every resolver timed (sample
rate 1.0) and every request traced into the ring buffer (resolver, dataloader and SQL spans);
"off" has METRICS_ENABLED=false and TRACING_ENABLED=false. Requests go straight to the ASGI app
(no socket, no client); rounds alternate between the apps. Wall time includes PostgreSQL and the
noise of a shared machine (median round); the gateway's own CPU time per request (best round) is
the steadier measure of the overhead. With --profile, pyinstrument profiles requests of "on".
Last, the marketplace's hot list query (`bounties(first: 20)` with poster, count and images) runs
against the bench data set (bench/marketplace_data.py, built on first use and kept).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import statistics
import time
from typing import Any

import orjson
from starlette.applications import Starlette

from app.db.engine import create_session_factory
from app.main import create_app
from bench.callgrind import call
from tests import databases
from tests.conftest import make_settings
from tests.factories import create_user, global_id

NODES = """query Users($ids: [ID!]!) {
  nodes(ids: $ids) { id ... on User { displayName role createdAt } }
}"""
SERVER_INFO = "query Info { serverInfo { version environment } }"


async def round_us(app: Starlette, body: bytes, requests: int) -> tuple[float, float]:
    """(wall, CPU) µs per request. CPU is this process's only: PostgreSQL's time is excluded, so
    it shows the gateway's own cost and is much less disturbed by other load on the machine."""
    gc.collect()  # every round starts from the same heap state
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        await call(app, body)
    wall = (time.perf_counter() - start) / requests * 1e6
    return wall, (time.process_time() - cpu) / requests * 1e6


async def compare(apps: dict[str, Starlette], name: str, body: bytes, args: Any) -> None:
    for app in apps.values():  # warm caches (parser, validation, pool)
        status, answer = await call(app, body)
        assert status == 200, answer
        assert b'"errors"' not in answer, answer
        await round_us(app, body, 20)
    walls: dict[str, list[float]] = {label: [] for label in apps}
    cpus: dict[str, list[float]] = {label: [] for label in apps}
    for _ in range(args.rounds):
        for label, app in apps.items():
            wall, cpu = await round_us(app, body, args.requests)
            walls[label].append(wall)
            cpus[label].append(cpu)
    print(f"{name}  ({args.rounds} interleaved rounds of {args.requests} requests)")
    base_wall, base_cpu = statistics.median(walls["off"]), min(cpus["off"])
    for label in apps:
        wall, cpu = statistics.median(walls[label]), min(cpus[label])
        print(
            f"  {label:<22} wall median {wall:6.0f} µs/req ({1e6 / wall:5.0f} req/s, "
            f"x{base_wall / wall:.3f})   CPU best {cpu:6.0f} µs/req "
            f"(overhead {cpu - base_cpu:+4.0f} µs, {(cpu / base_cpu - 1) * 100:+5.1f}%; "
            f"throughput ratio {base_cpu / cpu:.3f})"
        )


CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "off": {"metrics_enabled": False, "tracing_enabled": False},
    "metrics only": {"tracing_enabled": False},
    "on (every trace kept)": {},
    "on, 10% of traces": {"trace_sample_ratio": 0.1},
}


def apps_on(url: str) -> dict[str, Starlette]:
    return {
        label: create_app(make_settings(database_url=url, **overrides), database_url=url)
        for label, overrides in CONFIGURATIONS.items()
    }


async def marketplace_list(args: Any) -> None:
    """The marketplace's hot list query (issue's target) on the bench data set (100k bounties)."""
    from bench.marketplace_data import ensure_data_set
    from bench.marketplace_read import BODY

    apps = apps_on(await ensure_data_set())
    async with contextlib.AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        await compare(apps, "bounties(first: 20) + poster, count, images (1 SQL)", BODY, args)


async def main(args: Any) -> None:
    server = databases.server_url()
    name, url = await databases.create_test_database(server)
    try:
        apps = apps_on(url)
        async with contextlib.AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            from sqlalchemy.ext.asyncio import create_async_engine

            engine = create_async_engine(url)
            users = [await create_user(create_session_factory(engine)) for _ in range(20)]
            await engine.dispose()
            ids = [global_id("User", user.id) for user in users]
            nodes = orjson.dumps({"query": NODES, "variables": {"ids": ids}})
            info = orjson.dumps({"query": SERVER_INFO})
            await compare(apps, "serverInfo (no database)", info, args)
            await compare(apps, "nodes: 20 users (1 SQL)", nodes, args)
            if args.profile:
                await profile(apps["on (every trace kept)"], nodes)
    finally:
        await databases.drop_database(server, name)
    await marketplace_list(args)


async def profile(app: Starlette, body: bytes) -> None:
    from pyinstrument import Profiler
    from pyinstrument.renderers import ConsoleRenderer

    profiler = Profiler(interval=0.0001, async_mode="enabled")
    profiler.start()
    for _ in range(200):
        await call(app, body)
    profiler.stop()
    print(profiler.output_text(unicode=True, show_all=False))
    # Self time per function, to read where the time goes without the call tree's nesting.
    flat = ConsoleRenderer(unicode=True, flat=True, flat_time="self", show_all=True)
    lines = profiler.output(flat).splitlines()
    print("\n".join(lines[:40]))
    print("\nself time by library (ms over the profiled requests):")
    totals: dict[str, float] = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 3 or not parts[0].replace(".", "").isdigit():
            continue
        where = parts[-1]
        library = "app/monitoring" if where.startswith("app/monitoring") else where.split("/")[0]
        totals[library] = totals.get(library, 0.0) + float(parts[0]) * 1000
    for library, ms in sorted(totals.items(), key=lambda item: -item[1])[:16]:
        print(f"  {ms:8.1f}  {library}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--profile", action="store_true")
    asyncio.run(main(parser.parse_args()))
