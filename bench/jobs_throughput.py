"""No-op jobs through the queue: jobs/s with one and with two `bountyexpo worker` processes.

    .venv/bin/python -m bench.jobs_throughput [--jobs 3000] [--concurrency 10]

Uses BENCH_DATABASE_URL, or an embedded PostgreSQL under var/bench-pgdata; each run works in a
scratch database of its own (migrated, then dropped). Workers are started and ready before the
jobs are written in one transaction; the clock stops when the queue table is empty again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from pgqueuer import AsyncpgDriver, Queries
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.database import asyncpg_url
from app.db.embedded import start_embedded_postgres
from app.db.engine import create_session_factory
from app.db.migrate import upgrade_to_head
from app.db.models import WorkerHeartbeat
from tests.databases import create_empty_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
BOUNTYEXPO = Path(sys.executable).parent / "bountyexpo"


def server_url() -> str:
    configured = os.environ.get("BENCH_DATABASE_URL")
    return (
        asyncpg_url(configured)
        if configured
        else start_embedded_postgres(ROOT / "var" / "bench-pgdata")
    )


def start_workers(url: str, count: int, concurrency: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": url,
        "LOG_LEVEL": "warning",
        "WORKER_QUEUES": "system",
        "WORKER_CONCURRENCY": str(concurrency),
    }
    command = [str(BOUNTYEXPO), "worker"]
    return [subprocess.Popen(command, env=env, cwd=ROOT) for _ in range(count)]


async def measure(url: str, *, workers: int, jobs: int, concurrency: int) -> float:
    engine = create_async_engine(url)
    sessions = create_session_factory(engine)
    processes = start_workers(url, workers, concurrency)
    try:
        async with asyncio.timeout(30):
            while True:
                async with sessions() as session:
                    ready = await session.scalar(select(func.count()).select_from(WorkerHeartbeat))
                if ready == workers:
                    break
                await asyncio.sleep(0.05)
        async with engine.begin() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            started = time.perf_counter()
            await Queries(AsyncpgDriver(raw)).enqueue(
                ["system.noop"] * jobs, [b"{}"] * jobs, [0] * jobs
            )
        async with asyncio.timeout(120):
            while True:
                async with sessions() as session:
                    left = await session.scalar(text("SELECT count(*) FROM pgqueuer"))
                if left == 0:
                    break
                await asyncio.sleep(0.02)
        return jobs / (time.perf_counter() - started)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=10, help="WORKER_CONCURRENCY")
    args = parser.parse_args()
    server = server_url()
    name = f"bench_jobs_{uuid.uuid4().hex[:8]}"
    url = await create_empty_database(server, name)
    try:
        engine = create_async_engine(url)
        await upgrade_to_head(engine)
        await engine.dispose()
        print(f"{args.jobs} no-op jobs (system.noop), WORKER_CONCURRENCY={args.concurrency}")
        for workers in (1, 2):
            rate = await measure(url, workers=workers, jobs=args.jobs, concurrency=args.concurrency)
            print(f"  {workers} worker process{'es' if workers > 1 else ''}: {rate:,.0f} jobs/s")
    finally:
        await drop_database(server, name)


if __name__ == "__main__":
    asyncio.run(main())
