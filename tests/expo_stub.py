"""An Expo-compatible push server for tests and local development.

    .venv/bin/python -m tests.expo_stub --port 8090     # then EXPO_PUSH_URL=http://127.0.0.1:8090

It answers /--/api/v2/push/send with a ticket per message and getReceipts with a receipt per
ticket, records every request, and can be scripted: `fail_next` (status codes to answer first,
e.g. [429]) and `unregistered` (tokens whose tickets say DeviceNotRegistered).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class ExpoStub:
    requests: list[tuple[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    unregistered: set[str] = field(default_factory=set)
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    retry_after: str | None = None  # sent with the scripted failures
    verbose: bool = False  # print every push (when run as a local development server)

    async def _body(self, request: Request) -> Any:
        raw = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        return orjson.loads(raw)

    async def send(self, request: Request) -> Response:
        messages = await self._body(request)
        self.requests.append(("send", messages))
        if self.verbose:
            for message in messages:
                print(f"push to {message['to']}: {message.get('title')}: {message.get('body')}")
        if self.fail_next:
            status = self.fail_next.pop(0)
            headers = {"retry-after": self.retry_after} if self.retry_after else None
            return JSONResponse({"errors": [{"code": "BUSY"}]}, status, headers)
        tickets = []
        for message in messages:
            if message["to"] in self.unregistered:
                tickets.append(
                    {
                        "status": "error",
                        "message": "not a registered push notification recipient",
                        "details": {"error": "DeviceNotRegistered"},
                    }
                )
                continue
            ticket = str(uuid.uuid4())
            self.receipts[ticket] = {"status": "ok"}
            tickets.append({"status": "ok", "id": ticket})
        return JSONResponse({"data": tickets})

    async def get_receipts(self, request: Request) -> Response:
        ids = (await self._body(request))["ids"]
        self.requests.append(("receipts", ids))
        return JSONResponse({"data": {i: self.receipts[i] for i in ids if i in self.receipts}})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/--/api/v2/push/send", self.send, methods=["POST"]),
                Route("/--/api/v2/push/getReceipts", self.get_receipts, methods=["POST"]),
            ]
        )

    def sends(self) -> list[Any]:
        return [body for kind, body in self.requests if kind == "send"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def running(stub: ExpoStub) -> AsyncIterator[str]:
    """Serve `stub` on a free loopback port in this event loop; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(stub.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # uvicorn has no "started" event to wait on
        if server.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    uvicorn.run(ExpoStub(verbose=True).app(), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
