"""Worker processes for tests: the real `bountyexpo worker` against this run's database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db.engine import SessionFactory
from services.workers import worker_heartbeats

ROOT = Path(__file__).resolve().parents[2]
BOUNTYEXPO = Path(sys.executable).parent / "bountyexpo"
StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def start_worker(database_url: str, tmp_path: Path) -> Iterator[StartWorker]:
    """Start `bountyexpo worker` serving the test jobs; every one still running is killed after."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**settings: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),  # the test jobs live in tests/, which is not installed
            "ENVIRONMENT": "test",
            "DATABASE_URL": database_url,
            "LOG_LEVEL": os.environ.get("TEST_WORKER_LOG_LEVEL", "warning"),
            "WORKER_QUEUES": "testing",
            "WORKER_MODULES": "tests.workers.entrypoints",
            "WORKER_HEARTBEAT_INTERVAL_SECONDS": "0.5",
            **settings,
        }
        with (tmp_path / f"worker{len(started)}.log").open("wb") as output:
            process = subprocess.Popen(
                [str(BOUNTYEXPO), "worker"], env=env, cwd=ROOT, stdout=output, stderr=output
            )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


async def until(condition: Callable[[], object], *, within: float = 30.0) -> None:
    """Poll an (async or plain) condition until it is truthy; fail after `within` seconds."""
    async with asyncio.timeout(within):
        while True:
            result = condition()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)


async def wait_until_serving(
    session_factory: SessionFactory, process: subprocess.Popen[bytes]
) -> None:
    async def reported() -> bool:
        assert process.poll() is None, f"worker exited with {process.returncode}"
        return any(worker.pid == process.pid for worker in await worker_heartbeats(session_factory))

    await until(reported)


def stop(process: subprocess.Popen[bytes], *, timeout: float = 30.0) -> int:
    """SIGTERM, as an orchestrator stops a worker; its exit status."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=timeout)


def runs(log: Path) -> list[tuple[str, int, int, int]]:
    """(event, job id, attempt, pid) for every line the test jobs wrote."""
    if not log.exists():
        return []
    lines = [line.split() for line in log.read_text().splitlines()]
    return [(event, int(job), int(attempt), int(pid)) for event, job, attempt, pid in lines]


async def queue_rows(session_factory: SessionFactory) -> list[tuple[int, str, str, int]]:
    """(id, entrypoint, status, attempts) of every job still in PgQueuer's table."""
    async with session_factory() as session:
        rows = await session.execute(
            text("SELECT id, entrypoint, status::text, attempts FROM pgqueuer ORDER BY id")
        )
        return [(row[0], row[1], row[2], row[3]) for row in rows]


async def queue_is_empty(session_factory: SessionFactory) -> bool:
    return await queue_rows(session_factory) == []
