"""Run a load profile against a gateway this command starts in production-like settings.

    .venv/bin/python -m bench.load smoke            # 60 s at 10 req/s; CI runs this
    .venv/bin/python -m bench.load load             # the seed's phases, about 9 minutes
    .venv/bin/python -m bench.load stress           # 50 -> 1,000 req/s, hold, recovery
    .venv/bin/python -m bench.load smoke --prepare-only   # just the database; prints its URL
    .venv/bin/python -m bench.load smoke --host http://127.0.0.1:8000   # a gateway you run

It builds a fresh database (`--database`, on TEST_DATABASE_URL's server or the embedded one),
starts `bountyexpo serve --workers 2` with ENVIRONMENT=production, Redis from LOAD_REDIS_URL or
TEST_REDIS_URL when set, and a `bountyexpo worker`, runs locust headless, prints the table and
the gateway's RSS afterwards, and exits with locust's verdict (non-zero: a check failed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.load.data import fill, fresh_database
from bench.load.profiles import PROFILES
from tests import databases
from tests.expo_stub import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 120


def production_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ENVIRONMENT": "production",
        "DATABASE_URL": database_url,
        "JWT_SECRET": secrets.token_urlsafe(48),
        # Production refuses to start without them; no scenario moves money, so none is called.
        "STRIPE_SECRET_KEY": "sk_test_load_profile_never_called",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_load_profile_never_called",
        "STRIPE_WEBHOOK_SECRET": "whsec_load_profile_never_called",
        "MAIL_BACKEND": "log",
        "ALLOW_LOG_ONLY_MAIL": "true",
        "PUSH_BACKEND": "log",
        "ALLOW_LOG_ONLY_PUSH": "true",
        # locust plays the load balancer: each virtual user has its own X-Forwarded-For.
        "TRUSTED_PROXIES": "127.0.0.1",
        # A virtual user loads the bounty list (cost 762: 8 units) about 7 times a minute, plus
        # the rest: about 77 units; the default 60 a minute would refuse that user by minute 3.
        "RATE_LIMIT_USER_PER_MINUTE": "600",
        "LOG_LEVEL": "warning",
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            pids += process_tree(int(child))
    return pids


def serves(pid: int) -> bool:
    """A uvicorn worker (a spawned child), or the only gateway process when there is one."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes()
    return b"spawn_main" in command or (
        b"bountyexpo" in command and b"--workers\x001\x00" in command
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def gateway(env: dict[str, str], workers: int, log_dir: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (
        (log_dir / "gateway.log").open("wb") as gateway_log,
        (log_dir / "worker.log").open("wb") as worker_log,
    ):
        serve = [str(BIN / "bountyexpo"), "serve", "--port", str(port), "--workers", str(workers)]
        server = subprocess.Popen(serve, env=env, cwd=ROOT, stdout=gateway_log, stderr=gateway_log)
        worker = subprocess.Popen(
            [str(BIN / "bountyexpo"), "worker"], env=env, cwd=ROOT, stdout=worker_log,
            stderr=worker_log,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"the gateway exited; see {log_dir / 'gateway.log'}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(base + "/health/ready", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise SystemExit("the gateway did not become ready")
                time.sleep(0.2)
            yield base, server.pid
        finally:
            stop(server)
            stop(worker)


def run_locust(base: str, args: argparse.Namespace, json_path: Path) -> int:
    command = [
        str(BIN / "locust"), "-f", str(ROOT / "bench" / "load" / "locustfile.py"), "--headless",
        "--host", base, "--load-profile", args.profile, "--load-seed", str(args.seed),
        "--load-rate-scale", str(args.rate_scale), "--load-time-scale", str(args.time_scale),
        "--load-json", str(json_path), "--only-summary",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    if args.mix:
        command += ["--load-mix", args.mix]
    return subprocess.call(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("profile", choices=sorted(PROFILES))
    parser.add_argument("--host", help="a running gateway (no database or process is prepared)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mix", default="", help="name=weight,... (default: the seed's mix)")
    parser.add_argument("--rate-scale", type=float, default=1.0, help="multiplies every rate")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="multiplies every stage (0.25: a trial)"
    )
    parser.add_argument("--workers", type=int, default=2, help="gateway processes")
    parser.add_argument("--database", default="bountyexpo_load", help="rebuilt on every run")
    parser.add_argument("--json", help="default: var/load/<profile>-<time>.json")
    parser.add_argument(
        "--prepare-only", action="store_true", help="build the database, print its URL, stop"
    )
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = Path(args.json or ROOT / "var" / "load" / f"{args.profile}-{stamp}.json")
    if args.host:
        return run_locust(args.host, args, json_path)
    url = asyncio.run(fresh_database(databases.server_url(), args.database))
    asyncio.run(fill(url))
    if args.prepare_only:
        print(url)
        return 0
    redis_url = os.environ.get("LOAD_REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    env = production_env(url, redis_url)
    print(f"gateway: {args.workers} processes, production settings, Redis {redis_url or 'none'}")
    with gateway(env, args.workers, ROOT / "var" / "load" / stamp) as (base, pid):
        code = run_locust(base, args, json_path)
        sizes = [f"{rss_mb(p):.0f}" for p in process_tree(pid) if serves(p)]
        print(f"gateway RSS after the profile (MB per process): {', '.join(sizes)}")
    print(f"figures: {json_path}")
    return code


if __name__ == "__main__":
    sys.exit(main())
