"""Monitoring overhead of the marketplace list query in instructions, which noise cannot move.

    .venv/bin/python -m bench.monitoring_instructions [--requests 40]

On a shared virtual machine CPU time varies by ±20% between rounds, more than the overhead being
measured (see bench/monitoring_overhead.py). `valgrind --tool=callgrind` counts the instructions
the gateway executes instead: the same total for the same work, whatever else the machine does.
Each configuration runs in its own process under callgrind with instrumentation off through
start-up and warm-up; it is switched on (`callgrind_control -i on`) for exactly `--requests`
requests of the list query against the bench data set (bench/marketplace_data.py), so the count
is the gateway's cost per request, PostgreSQL excluded. Instructions are not time (cache misses
and allocation weigh more in time), so bench/marketplace_read.py over wrk stays the throughput
figure; this one says whether a change to monitoring made it cheaper or dearer.
"""

from __future__ import annotations

import argparse
import asyncio
from concurrent.futures import ThreadPoolExecutor

from bench.callgrind import call, counting, instructions, require_valgrind
from bench.monitoring_overhead import CONFIGURATIONS


def measure(label: str, requests: int) -> float:
    """Instructions per request of one configuration (a child process under callgrind)."""
    arguments = [label, "--requests", str(requests)]
    return instructions("bench.monitoring_instructions", arguments, requests)


async def child(label: str, requests: int) -> None:
    from app.main import create_app
    from bench.marketplace_data import ensure_data_set
    from bench.marketplace_read import BODY
    from tests.conftest import make_settings

    url = await ensure_data_set()
    app = create_app(make_settings(database_url=url, **CONFIGURATIONS[label]), database_url=url)
    async with app.router.lifespan_context(app):
        for _ in range(20):  # warm the caches (parser, validation, statements, pool)
            await call(app, BODY)
        with counting():
            for _ in range(requests):
                await call(app, BODY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child, args.requests))
        return
    require_valgrind()
    from bench.marketplace_data import ensure_data_set

    asyncio.run(ensure_data_set())  # built once, before the children race to build it
    # Two at a time: one per core, and callgrind runs each about 50 times slower than native.
    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = pool.map(lambda label: measure(label, args.requests), CONFIGURATIONS)
        counts = dict(zip(CONFIGURATIONS, totals, strict=True))
    print(f"bounties(first: 20) list query, instructions per request ({args.requests} requests)")
    base = counts["off"]
    for label, count in counts.items():
        print(
            f"  {label:<22} {count / 1e6:8.3f} M   overhead {(count / base - 1) * 100:+5.1f}%"
            f"   throughput ratio {base / count:.3f}"
        )


if __name__ == "__main__":
    main()
