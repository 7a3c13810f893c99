"""Real `bountyexpo serve` processes on free ports, WebSocket clients for them, and which of a
gateway's uvicorn worker processes holds a given connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.expo_stub import free_port

ROOT = Path(__file__).resolve().parent.parent
BOUNTYEXPO = Path(sys.executable).parent / "bountyexpo"


@dataclass
class Gateway:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.http, timeout=30) as client:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        return response.json()


def gateway_process(
    database_url: str, log: Path, **env: str
) -> contextlib.AbstractContextManager[Gateway]:
    """One `bountyexpo serve` process."""
    return gateway_workers(database_url, log, 1, **env)


@contextlib.contextmanager
def gateway_workers(database_url: str, log: Path, workers: int, **env: str) -> Iterator[Gateway]:
    """`bountyexpo serve --workers N`: N uvicorn worker processes behind one port."""
    port = free_port()
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "warning",
        "RATE_LIMITS": "false",
        **env,
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(BOUNTYEXPO), "serve", "--port", str(port), "--workers", str(workers)],
            env=environment,
            cwd=ROOT,
            stdout=output,
            stderr=output,
        )
    gateway = Gateway(port, process)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(gateway.http + "/health", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the gateway did not start"
            time.sleep(0.1)
        yield gateway
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.asynccontextmanager
async def socket_to(
    gateway: Gateway, token: str | None, protocol: str = "graphql-transport-ws"
) -> AsyncIterator[ClientConnection]:
    async with connect(
        f"ws://127.0.0.1:{gateway.port}/graphql",
        subprotocols=[protocol],  # type: ignore[list-item]
    ) as ws:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv()) == {"type": "connection_ack"}
        yield ws


async def start(ws: ClientConnection, operation_id: str, query: str, variables: Any) -> None:
    message = {
        "type": "subscribe",
        "id": operation_id,
        "payload": {"query": query, "variables": variables},
    }
    await ws.send(json.dumps(message))


async def next_for(ws: ClientConnection, operation_id: str, within: float = 20) -> Any:
    """The next result of one operation (pings and other operations' results skipped)."""
    async with asyncio.timeout(within):
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif message.get("id") == operation_id:
                return message


def worker_pids(gateway: Gateway) -> list[int]:
    """The uvicorn worker processes of a `--workers N` gateway (spawned children)."""
    pid = gateway.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children if b"spawn_main" in _cmdline(int(child))]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def serving_pid(gateway: Gateway, client_port: int) -> int:
    """Which worker process accepted the loopback connection from `client_port` (Linux: the
    socket's inode in /proc/net/tcp, found among the workers' file descriptors)."""
    wanted = f"0100007F:{gateway.port:04X} 0100007F:{client_port:04X}"
    inode = next(
        line.split()[9]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if " ".join(line.split()[1:3]) == wanted
    )
    for pid in worker_pids(gateway):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
    raise AssertionError(f"no worker of the gateway holds the connection from :{client_port}")
