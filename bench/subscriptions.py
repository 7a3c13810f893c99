"""Subscriptions under load: N graphql-transport-ws clients on one gateway process.

    .venv/bin/python -m bench.subscriptions [--sockets 1000 5000] [--events 20] [--redis URL]

For each N (in process, then through Redis when --redis or BENCH_REDIS_URL is given) it starts
`bountyexpo serve` on a scratch database, opens N sockets (100 accounts with tokens), each
subscribed to `bountyUpdated { at bounty { title status } }` of one bounty (a database read per
event: per group, not per socket), and prints:
- connect time (open, init, subscribe, first event received by all);
- server RSS per connection (idle, after the first event);
- server CPU per delivered message over `--events` `updateBounty` mutations;
- publish-to-receive p50/p99 (mutation sent -> frame received) and the mutation's own latency;
- RSS before and after the events (flat: memory does not grow per event).
Then message send throughput: 20 conversations, both participants subscribed to
`messageAdded`, `sendMessage` from 8 concurrent senders, each message received twice.

Uses BENCH_DATABASE_URL, or an embedded PostgreSQL under var/bench-pgdata. The clients run in
this process; the server's CPU and RSS come from /proc. Figures are noisy on a shared machine:
say under which load they were taken.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.asyncio.client import ClientConnection, connect

from app.db.engine import create_session_factory
from app.db.migrate import upgrade_to_head
from app.settings import Settings
from bench.jobs_throughput import server_url
from tests.bounty_factories import insert_application, insert_bounty
from tests.databases import create_empty_database, drop_database
from tests.expo_stub import free_port
from tests.factories import create_user, global_id, token_for

ROOT = Path(__file__).resolve().parent.parent
BOUNTYEXPO = Path(sys.executable).parent / "bountyexpo"
WATCH = "subscription ($id: ID!) { bountyUpdated(id: $id) { at bounty { title status } } }"
EDIT = """mutation ($input: UpdateBountyInput!) { updateBounty(input: $input) { __typename } }"""
MESSAGES = "subscription ($id: ID!) { messageAdded(conversationId: $id) { id body } }"
START = """mutation ($input: StartConversationInput!) {
  startConversation(input: $input) { ... on StartConversationSuccess { conversation { id } } }
}"""
SEND = """mutation ($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@dataclass
class Client:
    ws: ClientConnection
    received: list[tuple[float, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                message = json.loads(raw)
                if message.get("type") == "next":
                    self.received.append((time.perf_counter(), message["payload"]))
                    self.arrived.set()


async def open_client(port: int, token: str, query: str, variables: dict[str, Any]) -> Client:
    ws = await connect(
        f"ws://127.0.0.1:{port}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        compression=None,
        open_timeout=120,
        ping_interval=None,
        max_queue=None,
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    payload = {"query": query, "variables": variables}
    await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": payload}))
    client = Client(ws)
    client.reader = asyncio.create_task(client.read())
    return client


@contextlib.contextmanager
def gateway(database_url: str, redis_url: str | None) -> Iterator[tuple[int, int]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "warning",
        "RATE_LIMITS": "false",
        "METRICS_RESOLVER_SAMPLE_RATE": "0.1",
        "WS_MAX_SOCKETS_PER_USER": "100000",
        "WS_PING_INTERVAL_SECONDS": "60",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    process = subprocess.Popen([str(BOUNTYEXPO), "serve", "--port", str(port)], env=env, cwd=ROOT)
    try:
        for _ in range(900):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(60)


async def wait_all(clients: list[Client], count: int, within: float = 120) -> None:
    async with asyncio.timeout(within):
        for client in clients:
            while len(client.received) < count:
                client.arrived.clear()
                await client.arrived.wait()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def fan_out_case(
    database_url: str, redis_url: str | None, sockets: int, events: int
) -> dict[str, Any]:
    settings = Settings(_env_file=None)
    engine = create_async_engine(database_url)
    sessions = create_session_factory(engine)
    poster = await create_user(sessions)
    bounty_id = await insert_bounty(sessions, poster, title="Bench bounty")
    accounts = [token_for(settings, await create_user(sessions)) for _ in range(100)]
    poster_token = token_for(settings, poster)
    variables = {"id": global_id("Bounty", bounty_id)}
    with gateway(database_url, redis_url) as (port, pid):
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120)
        base_rss = rss_kib(pid)
        started = time.perf_counter()
        clients: list[Client] = []
        for offset in range(0, sockets, 200):
            batch = range(offset, min(sockets, offset + 200))
            clients += await asyncio.gather(
                *(open_client(port, accounts[i % 100], WATCH, variables) for i in batch)
            )

        async def edit(n: int) -> float:
            begun = time.perf_counter()
            body = {
                "query": EDIT,
                "variables": {"input": {"bountyId": variables["id"], "title": f"Bench bounty {n}"}},
            }
            response = await http.post(
                "/graphql", json=body, headers={"authorization": f"Bearer {poster_token}"}
            )
            assert response.json()["data"]["updateBounty"]["__typename"] == "BountySuccess"
            return begun

        # The first event proves every subscription is live (the protocol acknowledges none).
        for attempt in range(1, 61):
            await edit(0)
            with contextlib.suppress(TimeoutError):
                await wait_all(clients, attempt, within=1.0)
                break
        connect_seconds = time.perf_counter() - started
        for client in clients:
            client.received.clear()
        idle_rss = rss_kib(pid)
        cpu_before = cpu_seconds(pid)
        latencies: list[float] = []
        mutation: list[float] = []
        for n in range(1, events + 1):
            begun = await edit(n)
            mutation.append(time.perf_counter() - begun)
            await wait_all(clients, n)
            latencies += [client.received[n - 1][0] - begun for client in clients]
        cpu = cpu_seconds(pid) - cpu_before
        after_rss = rss_kib(pid)
        for client in clients:
            await client.ws.close()
        await http.aclose()
    await engine.dispose()
    return {
        "sockets": sockets,
        "broker": "redis" if redis_url else "in-process",
        "connect_s": round(connect_seconds, 1),
        "rss_kib_per_socket": round((idle_rss - base_rss) / sockets, 1),
        "cpu_us_per_delivery": round(cpu / (events * sockets) * 1e6, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "mutation_p50_ms": round(statistics.median(mutation) * 1000, 1),
        "rss_mib_idle_then_after_events": (round(idle_rss / 1024, 1), round(after_rss / 1024, 1)),
    }


async def message_case(database_url: str, messages: int) -> dict[str, Any]:
    settings = Settings(_env_file=None)
    engine = create_async_engine(database_url)
    sessions = create_session_factory(engine)
    pairs = []
    for _ in range(20):
        poster, hunter = await create_user(sessions), await create_user(sessions)
        bounty_id = await insert_bounty(sessions, poster)
        await insert_application(sessions, bounty_id, hunter)
        pairs.append((poster, hunter, bounty_id))
    with gateway(database_url, None) as (port, pid):
        http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120)
        rooms = []
        clients: list[Client] = []
        for poster, hunter, bounty_id in pairs:
            poster_token, hunter_token = token_for(settings, poster), token_for(settings, hunter)
            body = {
                "query": START,
                "variables": {
                    "input": {
                        "bountyId": global_id("Bounty", bounty_id),
                        "withUserId": global_id("User", hunter.id),
                    }
                },
            }
            answer = await http.post(
                "/graphql", json=body, headers={"authorization": f"Bearer {poster_token}"}
            )
            conversation = answer.json()["data"]["startConversation"]["conversation"]["id"]
            rooms.append((conversation, hunter_token))
            for token in (poster_token, hunter_token):
                clients.append(await open_client(port, token, MESSAGES, {"id": conversation}))
        await asyncio.sleep(1.0)  # subscriptions reach the hub (no acknowledgement)
        per_room = messages // len(rooms)
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        for _ in range(per_room):
            for conversation, token in rooms:
                queue.put_nowait((conversation, token))

        async def sender() -> None:
            while not queue.empty():
                conversation, token = queue.get_nowait()
                body = {
                    "query": SEND,
                    "variables": {
                        "input": {
                            "conversationId": conversation,
                            "body": "hello",
                            "clientMessageId": str(uuid.uuid4()),
                        }
                    },
                }
                await http.post("/graphql", json=body, headers={"authorization": f"Bearer {token}"})

        await asyncio.gather(*(sender() for _ in range(8)))
        await wait_all(clients, per_room)
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before
        for client in clients:
            await client.ws.close()
        await http.aclose()
    await engine.dispose()
    sent = per_room * len(rooms)
    return {
        "messages": sent,
        "messages_per_s": round(sent / elapsed, 1),
        "deliveries": sent * 2,
        "server_cpu_ms_per_message": round(cpu / sent * 1000, 2),
    }


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    server = server_url()
    name = f"bench_subscriptions_{uuid.uuid4().hex[:8]}"
    url = await create_empty_database(server, name)
    engine = create_async_engine(url)
    await upgrade_to_head(engine)
    await engine.dispose()
    try:
        yield url
    finally:
        await drop_database(server, name)


async def main(args: argparse.Namespace) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # thousands of sockets, both ends
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    redis_url = args.redis or os.environ.get("BENCH_REDIS_URL")
    modes: list[str | None] = [None, redis_url] if redis_url else [None]
    for sockets in args.sockets:
        for mode in modes:
            async with scratch_database() as url:
                print(json.dumps(await fan_out_case(url, mode, sockets, args.events)), flush=True)
    async with scratch_database() as url:
        print(json.dumps(await message_case(url, args.messages)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--redis", default=None)
    asyncio.run(main(parser.parse_args()))
