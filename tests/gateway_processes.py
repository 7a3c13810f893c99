"""Real `bountyexpo serve` processes on free ports, and WebSocket clients for them."""

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


@contextlib.contextmanager
def gateway_process(database_url: str, log: Path, *arguments: str, **env: str) -> Iterator[Gateway]:
    """`bountyexpo serve` on a free port (extra `arguments` such as `--workers 2`)."""
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
            [str(BOUNTYEXPO), "serve", "--port", str(port), *arguments],
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
