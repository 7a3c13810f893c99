"""Where one `trackEvents` (50 events) or `adminDashboard` request spends its work, in figures
that other load on the machine cannot move.

    .venv/bin/python -m bench.operations_profile instructions [--requests 30] [--only ingest]
    .venv/bin/python -m bench.operations_profile profile ingest|dashboard [--requests 300]

`instructions`: each operation in its own process under `valgrind --tool=callgrind`, counting
the gateway process's instructions over `--requests` requests after warm-up (PostgreSQL is
another process: not counted), and the SQL statements each request sends. `profile`: a
pyinstrument profile of `--requests` requests through the real ASGI app, in process. Both run
against the bench data set (bench/marketplace_data.py) with the dashboard's 90 days of daily
rollups (bench/operations.py), rate limits on but out of reach.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from typing import Any

import orjson

from bench.callgrind import bearer, call, counting, instructions, require_valgrind

OPERATIONS = ("ingest", "dashboard")
COUNTS = re.compile(r"STATEMENTS (\d+)")
BATCH = int(os.environ.get("BENCH_BATCH", "50"))


def _body(operation: str) -> tuple[bytes, Any]:
    from app.db.models import Role
    from bench.operations import DASHBOARD, TRACK

    if operation == "ingest":
        events = [
            {"name": "screen.viewed", "properties": {"screen": f"s{i % 7}", "ms": i}}
            for i in range(BATCH)
        ]
        return orjson.dumps({"query": TRACK, "variables": {"events": events}}), Role.USER
    variables = {"from": "2026-10-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    return orjson.dumps({"query": DASHBOARD, "variables": variables}), Role.ADMIN


async def _app(operation: str) -> tuple[Any, Any, bytes, str]:
    import uuid

    from app.main import create_app
    from app.security.jwt import issue_access_token
    from bench.marketplace_data import ensure_data_set
    from bench.operations import _seed_rollups
    from tests.conftest import make_settings

    url = await ensure_data_set()
    await _seed_rollups(url, 90)
    settings = make_settings(database_url=url, rate_limits=True)
    out_of_reach = {
        "rate_limit_ip_per_15min": 10**9,
        "rate_limit_user_per_minute": 10**9,
        "rate_limit_events_per_minute": 10**9,
    }
    settings = settings.model_copy(update=out_of_reach)
    body, role = _body(operation)
    token = issue_access_token(settings, user_id=uuid.uuid4(), role=role, session_id=uuid.uuid4())
    return create_app(settings, database_url=url), settings, body, token


def _count_statements() -> list[str]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    return seen


async def _run(operation: str, requests: int, around: Any) -> None:
    app, _, body, token = await _app(operation)
    statements = _count_statements()
    async with app.router.lifespan_context(app):
        for _ in range(20):  # warm the caches (parser, validation, plans, statements, pool)
            status, answer = await call(app, body, bearer(token))
            if status != 200 or b'"errors"' in answer:
                raise SystemExit(f"{operation}: {answer!r}")
        statements.clear()
        with around():
            for _ in range(requests):
                await call(app, body, bearer(token))
    print(f"STATEMENTS {len(statements) // requests}", flush=True)
    print(f"last answer: {answer[:300]!r}", flush=True)


def _pyinstrument() -> Any:
    from contextlib import contextmanager

    from pyinstrument import Profiler

    @contextmanager
    def profiling() -> Any:
        profiler = Profiler(interval=0.0005, async_mode="enabled")
        profiler.start()
        yield
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False), flush=True)

    return profiling


def measure(operation: str, requests: int) -> tuple[float, int]:
    """(instructions per request, SQL statements per request) of one child under callgrind."""
    printed: list[str] = []
    count = instructions(
        "bench.operations_profile", [operation, "--requests", str(requests)], requests, printed
    )
    statements = COUNTS.search(printed[0])
    if statements is None:
        raise RuntimeError(f"{operation} printed no statement count:\n{printed[0][-2000:]}")
    return count, int(statements.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=["instructions", "profile"])
    parser.add_argument("operation", nargs="?", choices=OPERATIONS)
    parser.add_argument("--requests", type=int, default=0)
    parser.add_argument("--only", default=",".join(OPERATIONS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_run(args.child, args.requests, counting))
        return
    if args.mode == "profile":
        asyncio.run(_run(args.operation or "ingest", args.requests or 300, _pyinstrument()))
        return
    require_valgrind()
    from bench.marketplace_data import ensure_data_set

    asyncio.run(ensure_data_set())
    requests = args.requests or 30
    print(f"gateway process, per request ({requests} requests each, PostgreSQL not counted)")
    for operation in args.only.split(","):
        instructions, statements = measure(operation, requests)
        label = f"trackEvents x{BATCH}" if operation == "ingest" else "adminDashboard"
        print(
            f"  {label:<16} {instructions / 1e6:7.2f} M instructions"
            + (f" ({instructions / BATCH / 1e3:.0f} k per event)" if operation == "ingest" else "")
            + f", {statements} SQL statement(s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
