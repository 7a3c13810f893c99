"""Gateway cost of a typical mutation, in instructions per mutation (callgrind), and its profile.

    .venv/bin/python -m bench.mutation_instructions [--requests 30] [--only update,apply]
    .venv/bin/python -m bench.mutation_instructions --profile apply [--requests 300]

Against the bench data set (bench/marketplace_data.py), through the app in process, rate limits
on (out of reach), nobody subscribed:

- `update`: `updateBounty` (a new title each time) by the poster of an OPEN bounty;
- `apply`: `applyToBounty` by one hunter, to a different OPEN bounty each time (with an
  idempotency key, as the app sends it); the applications are deleted afterwards.

Each runs in its own process under callgrind (bench/callgrind.py) counting only the measured
mutations; PostgreSQL's work is not counted. `--profile NAME` runs that mutation under
pyinstrument instead (no valgrind) and prints where the gateway's time goes. The target
(issue 17) is under 2 ms of gateway CPU per mutation.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from bench.callgrind import bearer, call, counting, instructions, require_valgrind

OPERATIONS = ("update", "apply")
UPDATE = """mutation Update($input: UpdateBountyInput!) { updateBounty(input: $input) {
  __typename ... on BountySuccess { bounty { id title updatedAt } }
  ... on UserError { code message }
} }"""
APPLY = """mutation Apply($input: ApplyToBountyInput!) { applyToBounty(input: $input) {
  __typename ... on ApplicationSuccess { application { id status } bounty { id applicationCount } }
  ... on UserError { code message }
} }"""
WARM_UP = 20


async def _subjects(url: str, count: int) -> dict[str, Any]:
    """An OPEN bounty and its poster (update); a hunter and `count` OPEN bounties of others."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        edited = await connection.fetchrow(
            "SELECT id, poster_id FROM bounties WHERE status = 'OPEN' ORDER BY id LIMIT 1"
        )
        hunter = await connection.fetchval(
            "SELECT id FROM users WHERE status = 'ACTIVE' ORDER BY id DESC LIMIT 1"
        )
        targets = await connection.fetch(
            """SELECT b.id FROM bounties b WHERE b.status = 'OPEN' AND b.poster_id <> $1
               AND b.removed_at IS NULL AND NOT EXISTS (SELECT 1 FROM applications a
                 WHERE a.bounty_id = b.id AND a.hunter_id = $1)
               ORDER BY b.id DESC LIMIT $2""",
            hunter,
            count,
        )
    finally:
        await connection.close()
    assert edited is not None, "the bench data set has no OPEN bounty"
    assert len(targets) == count, "the bench data set is too small"
    return {
        "bounty": edited["id"],
        "poster": edited["poster_id"],
        "hunter": hunter,
        "targets": [row["id"] for row in targets],
    }


async def _forget_applications(url: str, hunter: uuid.UUID, targets: list[uuid.UUID]) -> None:
    """Leave the data set as it was: the bench's applications and their idempotency records."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        async with connection.transaction():
            await connection.execute(
                "DELETE FROM applications WHERE hunter_id = $1 AND bounty_id = ANY($2::uuid[])",
                hunter,
                targets,
            )
            await connection.execute(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND key LIKE 'bench-apply-%'",
                hunter,
            )
    finally:
        await connection.close()


def bodies(settings: Any, found: dict[str, Any]) -> dict[str, tuple[Callable[[], bytes], str]]:
    from app.db.models import Role
    from app.security.jwt import issue_access_token
    from tests.factories import global_id

    def token(user_id: uuid.UUID) -> str:
        return issue_access_token(settings, user_id=user_id, role=Role.USER)

    edited = global_id("Bounty", found["bounty"])
    titles = iter(range(10**9))
    targets = iter(found["targets"])

    def update() -> bytes:
        variables = {"input": {"bountyId": edited, "title": f"Edit {next(titles)}"}}
        return orjson.dumps({"query": UPDATE, "variables": variables})

    def apply() -> bytes:
        target = next(targets)
        variables = {
            "input": {
                "bountyId": global_id("Bounty", target),
                "message": "I can do this by Friday.",
                "proposedAmount": 5000,
                "idempotencyKey": f"bench-apply-{target}",
            }
        }
        return orjson.dumps({"query": APPLY, "variables": variables})

    return {"update": (update, token(found["poster"])), "apply": (apply, token(found["hunter"]))}


async def run(operation: str, requests: int, measured: Callable[[], Any]) -> None:
    """Warm up, then `requests` mutations inside `measured()` (a context manager)."""
    from app.main import create_app
    from bench.marketplace_data import ensure_data_set
    from tests.conftest import make_settings

    url = await ensure_data_set()
    out_of_reach = {"rate_limit_ip_per_15min": 10**9, "rate_limit_user_per_minute": 10**9}
    settings = make_settings(database_url=url, rate_limits=True, **out_of_reach)
    found = await _subjects(url, WARM_UP + requests)
    make_body, token = bodies(settings, found)[operation]
    app = create_app(settings, database_url=url)
    try:
        async with app.router.lifespan_context(app):
            for _ in range(WARM_UP):  # caches: parser, validation, plans, statements, pool
                status, answer = await call(app, make_body(), bearer(token))
                if status != 200 or b'"errors"' in answer or b'"code"' in answer:
                    raise SystemExit(f"{operation}: {answer!r}")
            with measured():
                for _ in range(requests):
                    await call(app, make_body(), bearer(token))
    finally:
        if operation == "apply":
            await _forget_applications(url, found["hunter"], found["targets"])


def profile(operation: str, requests: int) -> None:
    from contextlib import contextmanager

    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002, async_mode="enabled")

    @contextmanager
    def measured() -> Any:
        profiler.start()
        yield
        profiler.stop()

    asyncio.run(run(operation, requests, measured))
    print(profiler.output_text(unicode=True, color=False, show_all=False))


def measure(operation: str, requests: int) -> float:
    arguments = [operation, "--requests", str(requests)]
    return instructions("bench.mutation_instructions", arguments, requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--only", default=",".join(OPERATIONS))
    parser.add_argument("--profile", choices=OPERATIONS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(run(args.child, args.requests, counting))
        return
    if args.profile:
        profile(args.profile, args.requests)
        return
    require_valgrind()
    from bench.marketplace_data import ensure_data_set

    asyncio.run(ensure_data_set())  # built once, before the children race to build it
    operations = args.only.split(",")
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(lambda operation: measure(operation, args.requests), operations))
    print(f"instructions per mutation in the gateway process ({args.requests} each, callgrind)")
    for operation, count in zip(operations, counts, strict=True):
        print(f"  {operation:<8} {count / 1e6:7.2f} M")


if __name__ == "__main__":
    main()
