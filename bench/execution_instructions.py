"""Gateway cost per request in instructions: graphql-core's executor against the compiled one.

    .venv/bin/python -m bench.execution_instructions [--requests 40] [--only list,detail]

The machine is shared, so time moves by ±20% between rounds; `valgrind --tool=callgrind`
counts the instructions the gateway process executes, the same for the same work whatever else
runs (PostgreSQL's work is another process and is not counted). Each (executor, operation) pair
runs in its own process under callgrind, counting only `--requests` requests after warm-up,
against the bench data set (bench/marketplace_data.py). Operations:

- `list`: the marketplace list, `bounties(first: 20)` with poster, count and images, anonymous;
- `list+token`: the same with a bearer token;
- `detail+token`: one bounty with its 10 applications and their hunters, the poster's token;
- `update`: `updateBounty` (a new title each time) by its poster, nobody subscribed.

Configurations: `graphql-core` (COMPILED_EXECUTION=false) and `compiled` (the default).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.types import Message

from bench.marketplace_read import QUERY as LIST_QUERY

COLLECTED = re.compile(r"Collected : (\d+)")
CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "graphql-core": {"compiled_execution": False},
    "compiled": {"compiled_execution": True},
}
OPERATIONS = ("list", "list+token", "detail+token", "update")
DETAIL = """query Detail($id: ID!) { bounty(id: $id) {
  id title status reward { amount currency } poster { id displayName rating }
  applications { id status message proposedAmount { amount currency }
    hunter { id displayName rating } }
} }"""
UPDATE = """mutation Update($input: UpdateBountyInput!) { updateBounty(input: $input) {
  __typename ... on BountySuccess { bounty { id title updatedAt } }
  ... on UserError { code message }
} }"""


async def call(app: Starlette, body: bytes, token: str | None) -> tuple[int, bytes]:
    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    received = False
    status, chunks = 0, []

    async def receive() -> Message:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def subjects(url: str) -> dict[str, Any]:
    """A bounty with 10 applications (open, so its poster may edit it) and a hunter."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        row = await connection.fetchrow(
            """SELECT b.id, b.poster_id FROM bounties b JOIN applications a ON a.bounty_id = b.id
               WHERE b.status = 'OPEN' GROUP BY b.id HAVING count(*) = 10
               ORDER BY b.id LIMIT 1"""
        )
        if row is None:  # fewer applications in the data set: the most applied-to open bounty
            row = await connection.fetchrow(
                """SELECT b.id, b.poster_id FROM bounties b JOIN applications a
                   ON a.bounty_id = b.id WHERE b.status = 'OPEN' GROUP BY b.id
                   ORDER BY count(*) DESC, b.id LIMIT 1"""
            )
        reader = await connection.fetchval("SELECT id FROM users ORDER BY id LIMIT 1")
    finally:
        await connection.close()
    assert row is not None
    return {"bounty": row["id"], "poster": row["poster_id"], "reader": reader}


def bodies(settings: Any, found: dict[str, Any]) -> dict[str, tuple[Any, str | None]]:
    from app.db.models import Role
    from app.security.jwt import issue_access_token
    from tests.factories import global_id

    def token(user_id: uuid.UUID) -> str:
        return issue_access_token(settings, user_id=user_id, role=Role.USER)

    bounty = global_id("Bounty", found["bounty"])
    list_body = orjson.dumps({"query": LIST_QUERY, "variables": {"first": 20}})
    counter = iter(range(10**9))
    return {
        "list": (lambda: list_body, None),
        "list+token": (lambda: list_body, token(found["reader"])),
        "detail+token": (
            lambda: orjson.dumps({"query": DETAIL, "variables": {"id": bounty}}),
            token(found["poster"]),
        ),
        "update": (
            lambda: orjson.dumps(
                {
                    "query": UPDATE,
                    "variables": {"input": {"bountyId": bounty, "title": f"Edit {next(counter)}"}},
                }
            ),
            token(found["poster"]),
        ),
    }


async def child(label: str, operation: str, requests: int) -> None:
    from app.main import create_app
    from bench.marketplace_data import ensure_data_set
    from tests.conftest import make_settings

    url = await ensure_data_set()
    settings = make_settings(database_url=url, rate_limits=True, **CONFIGURATIONS[label])
    # Limits on, out of reach: their bookkeeping is measured, not their refusals.
    out_of_reach = {"rate_limit_ip_per_15min": 10**9, "rate_limit_user_per_minute": 10**9}
    settings = settings.model_copy(update=out_of_reach)
    make_body, token = bodies(settings, await subjects(url))[operation]
    app = create_app(settings, database_url=url)
    async with app.router.lifespan_context(app):
        for _ in range(20):  # warm the caches (parser, validation, plans, statements, pool)
            status, answer = await call(app, make_body(), token)
            failed = status != 200 or b'"errors"' in answer or b'"code"' in answer
            if failed:
                raise SystemExit(f"{label} {operation}: {answer!r}")
        switch("on")
        for _ in range(requests):
            await call(app, make_body(), token)
        switch("off")


def switch(state: str) -> None:
    """Ask callgrind to start or stop counting, and wait until it has."""
    control = subprocess.Popen(
        ["callgrind_control", "-i", state, str(os.getpid())], stdout=subprocess.DEVNULL
    )
    control.wait()


def measure(label: str, operation: str, requests: int) -> float:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.execution_instructions",
        "--child",
        f"{label}:{operation}",
        "--requests",
        str(requests),
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{label} {operation} failed:\n{done.stderr[-3000:]}")
    return int(found.group(1)) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--only", default=",".join(OPERATIONS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        label, operation = args.child.split(":")
        asyncio.run(child(label, operation, args.requests))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian package valgrind)")
    from bench.marketplace_data import ensure_data_set

    asyncio.run(ensure_data_set())
    operations = args.only.split(",")
    pairs = [(label, operation) for operation in operations for label in CONFIGURATIONS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = pool.map(lambda pair: measure(pair[0], pair[1], args.requests), pairs)
        counts = dict(zip(pairs, totals, strict=True))
    print(f"instructions per request in the gateway process ({args.requests} requests each)")
    for operation in operations:
        before, after = counts["graphql-core", operation], counts["compiled", operation]
        print(
            f"  {operation:<13} graphql-core {before / 1e6:7.2f} M   compiled {after / 1e6:7.2f} M"
            f"   {(after / before - 1) * 100:+6.1f}%"
        )


if __name__ == "__main__":
    main()
