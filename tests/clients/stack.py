"""The whole system an app talks to, as separate processes: a gateway (uvicorn on a free port)
on a database of its own, a worker, a private Redis (the broker through which the worker's
notifications reach the gateway's sockets), a local Expo push server and a local SMTP server.

The gateway runs with PERSISTED_OPERATIONS=trusted after `bountyexpo operations register` of
the committed manifest: a client that sends anything but the app's documents, byte for byte as
Apollo Client sends them, is refused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import databases
from tests.expo_stub import ExpoStub, running
from tests.gateway_processes import BOUNTYEXPO, ROOT, Gateway, gateway_process
from tests.redis_server import private_redis
from tests.smtp_inbox import Inbox, smtp_inbox

MANIFEST = ROOT / "clients" / "persisted-operations.json"


@dataclass
class Stack:
    gateway: Gateway
    expo: ExpoStub
    inbox: Inbox
    database_url: str
    logs: Path


def _environment(
    database_url: str, redis_url: str, expo_url: str, smtp_port: int, logs: Path
) -> dict[str, Any]:  # Any: gateway_process(**env) also has an int keyword
    return {
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "warning",
        "MEDIA_DIR": str(logs / "media"),
        "PERSISTED_OPERATIONS": "trusted",
        "TYPING_THROTTLE_SECONDS": "0",
        "PUSH_BACKEND": "expo",
        "EXPO_PUSH_URL": expo_url,
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_SECURITY": "none",
        "WORKER_POLL_INTERVAL_SECONDS": "0.5",
        "WORKER_HEARTBEAT_INTERVAL_SECONDS": "1",
    }


def _register_manifest(environment: dict[str, Any], logs: Path) -> None:
    registered = subprocess.run(
        [str(BOUNTYEXPO), "operations", "register", str(MANIFEST)],
        env={**os.environ, "PYTHONPATH": str(ROOT), **environment},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    (logs / "register.log").write_text(registered.stdout + registered.stderr)
    assert registered.returncode == 0, registered.stderr


def _start_worker(environment: dict[str, Any], logs: Path) -> subprocess.Popen[bytes]:
    with (logs / "worker.log").open("wb") as output:
        return subprocess.Popen(
            [str(BOUNTYEXPO), "worker"],
            env={**os.environ, "PYTHONPATH": str(ROOT), **environment},
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )


@contextlib.asynccontextmanager
async def client_stack(server_url: str, logs: Path) -> AsyncIterator[Stack]:
    name, database_url = await databases.create_test_database(server_url)
    expo = ExpoStub()
    try:
        async with running(expo) as expo_url:
            with private_redis() as redis_url, smtp_inbox() as (inbox, smtp_port):
                environment = _environment(database_url, redis_url, expo_url, smtp_port, logs)
                _register_manifest(environment, logs)
                worker = _start_worker(environment, logs)
                try:
                    with gateway_process(
                        database_url, logs / "gateway.log", **environment
                    ) as gateway:
                        yield Stack(gateway, expo, inbox, database_url, logs)
                finally:
                    worker.send_signal(signal.SIGTERM)
                    try:
                        worker.wait(30)
                    except subprocess.TimeoutExpired:
                        worker.kill()
                        worker.wait()
    finally:
        await databases.drop_database(server_url, name)
