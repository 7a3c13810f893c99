"""Gateway cost per request in instructions: graphql-core's executor against the compiled one.

    .venv/bin/python -m bench.execution_instructions [--requests 40] [--only list,detail]

Instructions, not time (bench/callgrind.py says why). Each (executor, operation) pair runs in
its own process under callgrind, counting only `--requests` requests after warm-up, against the
bench data set (bench/marketplace_data.py). Operations:

- `list`: the marketplace list, `bounties(first: 20)` with poster, count and images, anonymous;
- `list+token`: the same with a bearer token;
- `detail+token`: one bounty with its 10 applications and their hunters, the poster's token;
- `update`: `updateBounty` (a new title each time) by its poster, nobody subscribed.

Configurations: `graphql-core` (COMPILED_EXECUTION=false) and `compiled` (the default).
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from bench.callgrind import bearer, call, counting, instructions, require_valgrind
from bench.marketplace_read import QUERY as LIST_QUERY

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
            status, answer = await call(app, make_body(), bearer(token))
            failed = status != 200 or b'"errors"' in answer or b'"code"' in answer
            if failed:
                raise SystemExit(f"{label} {operation}: {answer!r}")
        with counting():
            for _ in range(requests):
                await call(app, make_body(), bearer(token))


def measure(label: str, operation: str, requests: int) -> float:
    arguments = [f"{label}:{operation}", "--requests", str(requests)]
    return instructions("bench.execution_instructions", arguments, requests)


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
    require_valgrind()
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
