"""Read benchmark of the marketplace's hottest query over HTTP: one gateway process, wrk.

    .venv/bin/python -m bench.marketplace_read [--duration 20] [--connections 64]
    .venv/bin/python -m bench.marketplace_read --profile [--requests 300]
    .venv/bin/python -m bench.marketplace_read --in-process [--requests 2000]
    .venv/bin/python -m bench.marketplace_read --monitoring [--rounds 3] [--duration 15]

Runs against the seeded data set of `bench.marketplace_data` (built on first use). The default
mode starts `bountyexpo serve` (one uvicorn process) and drives it with `wrk -t2 -cN` (install
with `apt-get install -y wrk`), printing requests/s and p50/p95/p99. `--profile` prints a
pyinstrument profile of the query served in process; `--in-process` its mean cost per request.
`--monitoring` is the observability issue's figure: rounds alternate between a gateway with
monitoring off (METRICS_ENABLED=false, TRACING_ENABLED=false) and one with the defaults (metrics,
every resolver timed, every trace kept in the ring buffer with resolver and SQL spans), and print
both throughputs and their ratio: each side's mean over the rounds, and each round's ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson

from app.main import create_app
from app.settings import Settings
from bench.marketplace_data import ensure_data_set

ROOT = Path(__file__).resolve().parent.parent
QUERY = """query Hot($first: Int) { bounties(first: $first) { edges { node {
  id title reward { amount currency } poster { id displayName rating } applicationCount
  images { url }
} } } }"""
BODY = orjson.dumps({"query": QUERY, "variables": {"first": 20}, "operationName": "Hot"})
LUA = """
wrk.method = "POST"
wrk.body = [[%s]]
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%.3f %%d %%d %%d\\n", summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.duration / 1e6,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def gateway(url: str, port: int, overrides: dict[str, str] | None = None) -> Iterator[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "warning",
        "WORKER_EMBEDDED": "false",
        "DB_POOL_SIZE": "20",
        # One load generator is one client address: the default per-address limit (1,000 per
        # 15 min) would answer most of the run with 429. On, but out of reach: its bookkeeping
        # is measured, not its refusals.
        "RATE_LIMIT_IP_PER_15MIN": "1000000000",
        # Likewise one bearer token is one user (the detail with the poster's token).
        "RATE_LIMIT_USER_PER_MINUTE": "1000000000",
    }
    env.pop("REDIS_URL", None)
    env.update(overrides or {})
    command = [str(ROOT / ".venv/bin/bountyexpo"), "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise SystemExit("the gateway did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def check(base: str) -> None:
    headers = {"content-type": "application/json"}
    response = httpx.post(f"{base}/graphql", content=BODY, headers=headers)
    edges = response.json()["data"]["bounties"]["edges"]
    assert len(edges) == 20, response.text
    for _ in range(200):  # warm the caches, the pool and the prepared statements
        httpx.post(f"{base}/graphql", content=BODY, headers=headers)


def run_wrk(base: str, duration: int, connections: int, label: str = "") -> float:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % BODY.decode())
    try:
        command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", script.name]
        output = subprocess.run(
            [*command, f"{base}/graphql"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    requests, errors, seconds, p50, p95, p99 = line.split()[1:]
    throughput = int(requests) / float(seconds)
    print(
        f"bounties(first: 20), 1 process, wrk -t2 -c{connections} -d{duration}s{label}: "
        f"{throughput:.0f} req/s, p50 {int(p50) / 1000:.1f} ms, "
        f"p95 {int(p95) / 1000:.1f} ms, p99 {int(p99) / 1000:.1f} ms, errors {errors}",
        flush=True,
    )
    return throughput


MONITORING_OFF = {"METRICS_ENABLED": "false", "TRACING_ENABLED": "false"}
MONITORING_ON = {"METRICS_RESOLVER_SAMPLE_RATE": "1.0", "TRACE_SAMPLE_RATIO": "1.0"}


def compare_monitoring(url: str, rounds: int, duration: int, connections: int) -> None:
    """Interleaved wrk rounds, monitoring off then on: both throughputs and their ratio.

    On a shared virtual machine one round's ratio moves by ±25% (measured), so the figure is the
    pooled throughput of all rounds of each side; the per-round ratios show the spread.
    """
    ratios = []
    throughputs: dict[str, list[float]] = {"off": [], "on": []}
    for round_number in range(1, rounds + 1):
        measured = {}
        for label, overrides in (("off", MONITORING_OFF), ("on", MONITORING_ON)):
            with gateway(url, _free_port(), overrides) as base:
                check(base)
                tag = f", round {round_number}, monitoring {label}"
                measured[label] = run_wrk(base, duration, connections, tag)
                throughputs[label].append(measured[label])
        ratios.append(measured["on"] / measured["off"])
        print(
            f"  round {round_number}: off {measured['off']:.0f} req/s, "
            f"on {measured['on']:.0f} req/s, ratio on/off {ratios[-1]:.3f}",
            flush=True,
        )
    off, on = statistics.fmean(throughputs["off"]), statistics.fmean(throughputs["on"])
    print(
        f"monitoring off {off:.1f} req/s, on {on:.1f} req/s (means of {rounds} rounds): "
        f"ratio on/off {on / off:.3f}, overhead {(off / on - 1) * 100:.1f}%; "
        f"per-round ratios {', '.join(f'{r:.3f}' for r in ratios)} "
        f"(median {statistics.median(ratios):.3f})"
    )


async def in_process(url: str, requests: int, profile: bool) -> None:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=url,
        log_level="warning",
        rate_limit_ip_per_15min=10**9,  # limits on, out of reach: bookkeeping, not refusals
    )
    app = create_app(settings, database_url=url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            headers = {"content-type": "application/json"}
            for _ in range(100):
                await client.post("/graphql", content=BODY, headers=headers)
            if profile:
                from pyinstrument import Profiler

                with Profiler(async_mode="enabled", interval=0.0001) as profiler:
                    for _ in range(requests):
                        await client.post("/graphql", content=BODY, headers=headers)
                print(profiler.output_text(unicode=True, color=False, show_all=False))
                if os.environ.get("BENCH_FLAT"):
                    print(profiler.output_text(unicode=True, color=False, flat=True))
                return
            samples = []
            for _ in range(requests):
                started = time.perf_counter()
                await client.post("/graphql", content=BODY, headers=headers)
                samples.append((time.perf_counter() - started) * 1e6)
            ordered = sorted(samples)
            p50, p95 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.95)]
            print(
                f"in process, sequential: mean {statistics.fmean(ordered):.0f} µs, "
                f"p50 {p50:.0f} µs, p95 {p95:.0f} µs"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--monitoring", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = asyncio.run(ensure_data_set())
    if args.monitoring:
        compare_monitoring(url, args.rounds, args.duration, args.connections)
        return
    if args.profile or args.in_process:
        asyncio.run(in_process(url, args.requests, args.profile))
        return
    with gateway(url, _free_port()) as base:
        check(base)
        run_wrk(base, args.duration, args.connections)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
