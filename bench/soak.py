"""A soak run: steady mixed load on `bountyexpo serve --workers 2`, figures printed per minute.

    .venv/bin/python -m bench.soak [--minutes 10] [--rate 30] [--redis redis://127.0.0.1:6379/1]

Starts the gateway as operators run it (two uvicorn workers, its own database cloned from the
test template, Redis when given) and offers `--rate` requests per second, open loop (a request
is sent on schedule whether or not earlier ones have answered): 70% reads with a bearer token
(`viewer`, and the bounty list with its total), 30% writes (`createBounty` with an idempotency
key). Every minute it prints the requests answered, errors, p50/p99 latency of reads and writes,
the gateway's RSS (master and workers, summed) and its CPU as a share of one core, and the rows
the writes have added, so a drift can be laid next to what grew. Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests import databases
from tests.gateway_processes import gateway_workers

JWT_SECRET = "soak-" + "s" * 40
TICKS = os.sysconf("SC_CLK_TCK")
SIGN_UP = (
    "mutation ($input: SignUpInput!) { signUp(input: $input) "
    "{ ... on SignUpSuccess { session { accessToken } } } }"
)
VIEWER = "{ viewer { id displayName } }"
LIST = "{ bounties(first: 20) { totalCount edges { node { id title reward { amount } } } } }"
CREATE = (
    "mutation ($input: CreateBountyInput!) { createBounty(input: $input) "
    "{ __typename ... on BountySuccess { bounty { id } } } }"
)


@dataclass
class Minute:
    reads: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    errors: int = 0


def process_tree(root: int) -> list[int]:
    """`root` and its descendants (uvicorn's workers are its children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def usage(pids: list[int]) -> tuple[float, float]:
    """(CPU seconds used so far, RSS in MiB) summed over `pids`."""
    cpu, rss = 0.0, 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / TICKS
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1]) / 1024
    return cpu, rss


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000


async def sign_up(client: httpx.AsyncClient, number: int) -> str:
    variables = {
        "input": {
            "email": f"soak{number}-{uuid.uuid4().hex[:6]}@example.test",
            "password": "a long soak passphrase",
            "displayName": f"Soak {number}",
        }
    }
    body = (await client.post("/graphql", json={"query": SIGN_UP, "variables": variables})).json()
    token: str = body["data"]["signUp"]["session"]["accessToken"]
    return token


async def one_request(client: httpx.AsyncClient, token: str, minute: Minute) -> None:
    write = random.random() < 0.3
    if write:
        variables = {
            "input": {
                "title": "Soak bounty",
                "description": "Created by bench/soak.py",
                "category": "handyman",
                "reward": {"amount": 1500, "currency": "USD"},
                "idempotencyKey": uuid.uuid4().hex,
            }
        }
        body = {"query": CREATE, "variables": variables}
    else:
        body = {"query": random.choice((VIEWER, LIST))}
    started = time.perf_counter()
    try:
        response = await client.post(
            "/graphql", json=body, headers={"authorization": f"Bearer {token}"}
        )
        failed = response.status_code != 200 or "errors" in response.json()
    except httpx.HTTPError:
        failed = True
    elapsed = time.perf_counter() - started
    (minute.writes if write else minute.reads).append(elapsed)
    minute.errors += failed


async def soak(url: str, minutes: float, rate: float, redis_url: str | None) -> None:
    env = {"JWT_SECRET": JWT_SECRET, "LOG_LEVEL": "warning"}
    if redis_url:
        env["REDIS_URL"] = redis_url
    log = Path(tempfile.mkdtemp(prefix="soak-")) / "gateway.log"
    with gateway_workers(url, log, 2, **env) as gateway:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=gateway.http, timeout=30, limits=limits) as client:
            tokens = [await sign_up(client, n) for n in range(20)]
            print(f"soak: {minutes:g} min at {rate:g} req/s, 2 workers, log {log}", flush=True)
            print(
                "min  answered errors  read p50/p99 ms  write p50/p99 ms   RSS MiB  CPU %core"
                "  bounties",
                flush=True,
            )
            pids = process_tree(gateway.process.pid)
            cpu_before, _ = usage(pids)
            started = time.monotonic()
            pending: set[asyncio.Task[None]] = set()
            for index in range(int(minutes)):
                minute = Minute()
                minute_start = time.monotonic()
                sent = 0
                while time.monotonic() - minute_start < 60:
                    due = minute_start + sent / rate
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                    task = asyncio.create_task(one_request(client, random.choice(tokens), minute))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                    sent += 1
                pids = process_tree(gateway.process.pid)
                cpu_now, rss = usage(pids)
                cpu_share = (cpu_now - cpu_before) / (time.monotonic() - minute_start) * 100
                cpu_before = cpu_now
                rows = await bounty_rows(url)
                reads, writes = minute.reads, minute.writes
                print(
                    f"{index + 1:3d}  {len(reads) + len(writes):8d} {minute.errors:6d}"
                    f"  {percentile(reads, 0.5):6.1f} /{percentile(reads, 0.99):6.1f}"
                    f"  {percentile(writes, 0.5):6.1f} /{percentile(writes, 0.99):6.1f}"
                    f"   {rss:7.1f}  {cpu_share:8.1f}  {rows:8d}",
                    flush=True,
                )
            await asyncio.gather(*pending, return_exceptions=True)
            total = time.monotonic() - started
            print(f"done in {total:.0f} s", flush=True)


async def bounty_rows(url: str) -> int:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SELECT count(*) FROM bounties")) or 0)
    finally:
        await engine.dispose()


async def main(minutes: float, rate: float, redis_url: str | None) -> None:
    server = databases.server_url()
    name, url = await databases.create_test_database(server)
    try:
        await soak(url, minutes, rate, redis_url)
    finally:
        await databases.drop_database(server, name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=30)
    parser.add_argument("--redis", default=None)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.minutes, arguments.rate, arguments.redis))
