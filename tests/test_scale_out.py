"""Two gateway processes behind one port (`bountyexpo serve --workers 2`) and a worker process,
with Redis, act as one: events, revocations, rate limits and jobs cross process boundaries.

Each step says which process serves it: a connection's owner is read from /proc (the worker
holding its socket), and requests go over connections pinned to the process they are meant for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from app.db.engine import SessionFactory
from app.settings import Settings
from tests.auth_helpers import SIGN_IN, SIGN_OUT
from tests.bounty_factories import insert_bounty
from tests.factories import PASSWORD, create_user, global_id, token_for
from tests.gateway_processes import (
    Gateway,
    gateway_workers,
    next_for,
    serving_pid,
    socket_to,
    start,
    worker_pids,
)
from tests.workers.conftest import StartWorker, start_worker, wait_until_serving

pytestmark = pytest.mark.asyncio
__all__ = ["start_worker"]  # the fixture, imported for this module

USER_LIMIT_PER_MINUTE = 6
ENV = {
    "RATE_LIMITS": "true",
    "RATE_LIMIT_USER_PER_MINUTE": str(USER_LIMIT_PER_MINUTE),
    "WS_AUTH_RECHECK_SECONDS": "0.3",
}
VIEWER = {"query": "{ viewer { id } }"}
APPLY = """mutation ($input: ApplyToBountyInput!) {
  applyToBounty(input: $input) { __typename }
}"""
BOUNTY_UPDATED = "subscription ($id: ID!) { bountyUpdated(id: $id) { applications } }"
# `after: null` spelled out: without any argument the subscription fails on main (reported).
NOTIFICATION_ADDED = "subscription { notificationAdded(after: null) { type title } }"
ATTEMPTS = 30
BATCH = 4


class Processes:
    """HTTP and WebSocket connections to a chosen worker process of one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.pids = sorted(worker_pids(gateway))
        self._clients: dict[int, httpx.AsyncClient] = {}

    async def client(self, pid: int) -> httpx.AsyncClient:
        """A keep-alive client whose connection `pid` holds (checked just before each use:
        uvicorn drops idle connections after 5 s, and a new one may land elsewhere)."""
        kept = self._clients.pop(pid, None)
        if kept is not None and await self._holder(kept) == pid:
            self._clients[pid] = kept
            return kept
        if kept is not None:
            await kept.aclose()
        for _ in range(ATTEMPTS):
            # Connections made at once are spread by the kernel; one after another often are not.
            batch = [self._new_client() for _ in range(BATCH)]
            holders = await asyncio.gather(*(self._holder(client) for client in batch))
            for client, holder in zip(batch, holders, strict=True):
                if holder == pid and pid not in self._clients:
                    self._clients[pid] = client
                else:
                    await client.aclose()
            if pid in self._clients:
                return self._clients[pid]
        raise AssertionError(f"no connection reached process {pid}")

    def _new_client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return httpx.AsyncClient(base_url=self.gateway.http, limits=limits, timeout=30)

    async def _holder(self, client: httpx.AsyncClient) -> int:
        probe = await client.get("/health")
        return serving_pid(
            self.gateway, probe.extensions["network_stream"].get_extra_info("client_addr")[1]
        )

    async def graphql(
        self, pid: int, query: str, variables: Any = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        client = await self.client(pid)
        return await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )

    @contextlib.asynccontextmanager
    async def socket(self, pid: int, token: str | None) -> AsyncIterator[ClientConnection]:
        for _ in range(ATTEMPTS):
            async with contextlib.AsyncExitStack() as stack:
                opened = await asyncio.gather(
                    *(stack.enter_async_context(socket_to(self.gateway, token)) for _ in range(2))
                )
                for ws in opened:
                    if serving_pid(self.gateway, ws.local_address[1]) == pid:
                        yield ws
                        return
        raise AssertionError(f"no socket reached process {pid}")

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


async def _answer_pings_until_closed(ws: ClientConnection) -> None:
    async with asyncio.timeout(20):
        while True:
            message = json.loads(await ws.recv())
            if message.get("type") == "ping":
                await ws.send(json.dumps({"type": "pong"}))


async def closed_code(ws: ClientConnection) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        await _answer_pings_until_closed(ws)
    assert closed.value.rcvd is not None
    return int(closed.value.rcvd.code)


async def test_two_gateway_processes_and_a_worker_act_as_one(
    database_url: str,
    redis_url: str,
    session_factory: SessionFactory,
    settings: Settings,
    start_worker: StartWorker,
    tmp_path: Path,
) -> None:
    poster = await create_user(session_factory, display_name="Poster")
    hunter = await create_user(session_factory, display_name="Hunter")
    counter = await create_user(session_factory, display_name="Counter")
    bounty_id = await insert_bounty(session_factory, poster, title="Fix the fence")
    poster_token = token_for(settings, poster)
    worker = start_worker(REDIS_URL=redis_url, WORKER_QUEUES="")  # every queue
    await wait_until_serving(session_factory, worker)
    with gateway_workers(
        database_url, tmp_path / "gateway.log", 2, REDIS_URL=redis_url, **ENV
    ) as gateway:
        processes = Processes(gateway)
        one, two = processes.pids
        try:
            # A mutation served by process two reaches subscribers on both processes, and the
            # job it enqueued, run by the worker process, reaches the subscriber on process one.
            async with (
                processes.socket(one, poster_token) as on_one,
                processes.socket(two, poster_token) as on_two,
            ):
                variables = {"id": global_id("Bounty", bounty_id)}
                await start(on_one, "b", BOUNTY_UPDATED, variables)
                await start(on_one, "n", NOTIFICATION_ADDED, {})
                await start(on_two, "b", BOUNTY_UPDATED, variables)
                await asyncio.sleep(0.5)  # let the subscribes reach Redis (no protocol ack)
                application = {"bountyId": variables["id"], "message": "I have the tools"}
                applied = await processes.graphql(
                    two, APPLY, {"input": application}, token_for(settings, hunter)
                )
                assert applied.json() == {
                    "data": {"applyToBounty": {"__typename": "ApplicationSuccess"}}
                }
                updates = [await next_for(on_one, "b"), await next_for(on_two, "b")]
                notification = await next_for(on_one, "n", within=30)
            for update in updates:
                assert update["payload"]["data"] == {"bountyUpdated": {"applications": "submitted"}}
            assert notification["payload"]["data"] == {
                "notificationAdded": {"type": "APPLICATION_RECEIVED", "title": "New application"}
            }

            # A sign-out on process one is honoured by process two, on HTTP and on a socket.
            signed_in = await processes.graphql(
                one, SIGN_IN, {"email": hunter.email, "password": PASSWORD}
            )
            session = signed_in.json()["data"]["signIn"]["session"]
            access = session["accessToken"]
            seen = await processes.graphql(two, VIEWER["query"], token=access)
            assert seen.json() == {"data": {"viewer": {"id": global_id("User", hunter.id)}}}
            async with processes.socket(two, access) as hunter_on_two:
                out = await processes.graphql(
                    one, SIGN_OUT, {"token": session["refreshToken"]}, access
                )
                assert out.json()["data"]["signOut"]["__typename"] == "SignOutSuccess"
                assert await closed_code(hunter_on_two) == 4403
            # Revocations reach other processes through Redis at once and a resync each second.
            async with asyncio.timeout(10):
                while True:
                    refused = await processes.graphql(two, VIEWER["query"], token=access)
                    if "errors" in refused.json():
                        break
                    await asyncio.sleep(0.1)
            assert [e["extensions"]["code"] for e in refused.json()["errors"]] == [
                "UNAUTHENTICATED"
            ]

            # One budget per user across both processes: half of it spent on each, the next
            # request is refused by either.
            counter_token = token_for(settings, counter)
            for turn in range(USER_LIMIT_PER_MINUTE):
                pid = (one, two)[turn % 2]
                served = await processes.graphql(pid, VIEWER["query"], token=counter_token)
                assert served.status_code == 200, served.text
            limited = [
                await processes.graphql(pid, VIEWER["query"], token=counter_token)
                for pid in (one, two)
            ]
            for response in limited:
                assert response.status_code == 429
                assert response.headers["retry-after"] == "10"
                assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        finally:
            await processes.aclose()
