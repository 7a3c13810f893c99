"""What a bearer token adds to a request, in instructions (callgrind), which noise cannot move.

    .venv/bin/python -m bench.auth_instructions [--requests 200] [--redis redis://127.0.0.1:6379/1]
    .venv/bin/python -m bench.auth_instructions --cpu [--requests 500 --rounds 7]  # no valgrind

Each configuration runs in its own process under `valgrind --tool=callgrind`, counting only the
measured requests (`{ serverInfo { version } }` over ASGI, no sockets): anonymous, and with a
bearer token, with rate limits on (out of reach) so their bookkeeping is included. With
`--redis`, the same pair again with REDIS_URL (limits and the revocation feed in Redis). The
target (issue 17): an authenticated request costs at most 10% more than an anonymous one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid

from bench.callgrind import call, counting, instructions, require_valgrind

BODY = b'{"query": "{ serverInfo { version } }"}'
LABELS = ("anonymous", "bearer")


def measure(label: str, requests: int, redis_url: str | None) -> float:
    arguments = [label, "--requests", str(requests), *(["--redis", redis_url] if redis_url else [])]
    return instructions("bench.auth_instructions", arguments, requests)


async def child(label: str, requests: int, redis_url: str | None) -> None:
    from app.db.models import Role
    from app.main import create_app
    from app.security.jwt import issue_access_token
    from tests import databases
    from tests.conftest import make_settings

    server = databases.server_url()
    name, url = await databases.create_test_database(server)
    settings = make_settings(
        database_url=url,
        redis_url=redis_url,
        rate_limits=True,
        rate_limit_ip_per_15min=10**9,
        rate_limit_user_per_minute=10**9,
    )
    headers: list[tuple[bytes, bytes]] = []
    if label == "bearer":
        token = issue_access_token(
            settings, user_id=uuid.uuid4(), role=Role.USER, session_id=uuid.uuid4()
        )
        headers = [(b"authorization", f"Bearer {token}".encode())]
    app = create_app(settings, database_url=url)
    try:
        async with app.router.lifespan_context(app):
            for _ in range(30):  # warm the caches (parser, validation, verified tokens)
                assert (await call(app, BODY, headers))[0] == 200
            with counting():
                for _ in range(requests):
                    await call(app, BODY, headers)
    finally:
        await databases.drop_database(server, name)


async def cpu_rounds(requests: int, rounds: int, redis_url: str | None) -> None:
    """Without valgrind: process CPU time per request, both configurations in one process,
    interleaved rounds (a noisy machine moves CPU time far less than wall time)."""
    from app.db.models import Role
    from app.main import create_app
    from app.security.jwt import issue_access_token
    from tests import databases
    from tests.conftest import make_settings

    server = databases.server_url()
    name, url = await databases.create_test_database(server)
    settings = make_settings(
        database_url=url,
        redis_url=redis_url,
        rate_limits=True,
        rate_limit_ip_per_15min=10**9,
        rate_limit_user_per_minute=10**9,
    )
    token = issue_access_token(
        settings, user_id=uuid.uuid4(), role=Role.USER, session_id=uuid.uuid4()
    )
    bearer = [(b"authorization", f"Bearer {token}".encode())]
    app = create_app(settings, database_url=url)
    results: dict[str, list[float]] = {"anonymous": [], "bearer": []}
    try:
        async with app.router.lifespan_context(app):
            for headers in ([], bearer):
                for _ in range(50):
                    assert (await call(app, BODY, headers))[0] == 200
            pair: list[tuple[str, list[tuple[bytes, bytes]]]] = [
                ("anonymous", []),
                ("bearer", bearer),
            ]
            for _ in range(rounds):
                pair.reverse()  # alternate which goes first: no order bias (GC, caches)
                for label, headers in pair:
                    started = time.process_time()
                    for _ in range(requests):
                        await call(app, BODY, headers)
                    results[label].append((time.process_time() - started) / requests * 1e6)
    finally:
        await databases.drop_database(server, name)
    anonymous = statistics.median(results["anonymous"])
    with_token = statistics.median(results["bearer"])
    where = "Redis" if redis_url else "in process"
    print(
        f"  limits {where:<10} anonymous {anonymous:7.1f} µs CPU   bearer {with_token:7.1f} µs CPU"
        f"   overhead {(with_token / anonymous - 1) * 100:+5.1f}%   (median of {rounds} rounds"
        f" of {requests})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--redis", default=None)
    parser.add_argument("--cpu", action="store_true", help="process CPU time, no valgrind")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.requests, args.redis))
        return
    if args.cpu:
        print("{ serverInfo } CPU per request (process time, interleaved rounds)")
        for store in [None, *([args.redis] if args.redis else [])]:
            asyncio.run(cpu_rounds(args.requests, args.rounds, store))
        return
    require_valgrind()
    stores = [None, *([args.redis] if args.redis else [])]
    print(f"{{ serverInfo }} instructions per request ({args.requests} requests, callgrind)")
    for store in stores:
        counts = {label: measure(label, args.requests, store) for label in LABELS}
        where = "Redis" if store else "in process"
        overhead = (counts["bearer"] / counts["anonymous"] - 1) * 100
        print(
            f"  limits {where:<10} anonymous {counts['anonymous'] / 1e6:7.3f} M"
            f"   bearer {counts['bearer'] / 1e6:7.3f} M   overhead {overhead:+5.1f}%"
            f"   (target <= +10%)"
        )


if __name__ == "__main__":
    main()
