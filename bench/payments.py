"""Payments benchmark: funding+release cycles/s through the API, SQL statements per publish, per
release and per payout, and ledger balance reads/s at 1M postings.

    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python -m bench.payments [--cycles 100] [--postings 1000000] [--reads 5000]

Works in a scratch database of its own (cloned from the test template, dropped at the end), on
the server of TEST_DATABASE_URL or the embedded one. Cycles run in process through the real app
(httpx's ASGI transport, the sandbox provider): each cycle is `publishBounty` with a saved test
card (charge, FUNDING posting, OPEN) and, after the hunter's apply/accept/submit (not timed),
`approveCompletion` (RELEASE posting with the fee), then the hunter's `requestPayout` of the net
reward (transfer and payout on the sandbox; the hunter onboarded once, before the cycles); only
those three requests are timed. Then 1M
postings (2M entries over 10,000 wallets) are bulk-loaded with the ledger's row triggers off and
the balances set in one statement (the invariants are checked after), and the balance of random
wallets is read through `ledger.balance`, one session per read as a request would.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.engine import create_session_factory
from app.main import create_app
from app.settings import Environment, Settings
from services.payments import ledger
from tests import databases
from tests.factories import create_user, token_for
from tests.ledger_invariants import ledger_violations

CREATE = """mutation ($input: CreateBountyInput!) { createBounty(input: $input) {
  ... on BountySuccess { bounty { id } } } }"""
PUBLISH = """mutation ($input: PublishBountyInput!) { publishBounty(input: $input) {
  __typename ... on PublishBountySuccess { bounty { status } payment { status } } } }"""
APPLY = """mutation ($input: ApplyToBountyInput!) { applyToBounty(input: $input) {
  ... on ApplicationSuccess { application { id } } } }"""
ACCEPT = """mutation ($input: ApplicationInput!) { acceptApplication(input: $input) {
  __typename } }"""
SUBMIT = """mutation ($input: SubmitWorkInput!) { submitWork(input: $input) { __typename } }"""
APPROVE = """mutation ($input: BountyPaymentInput!) { approveCompletion(input: $input) {
  __typename ... on BountySuccess { bounty { status } } } }"""
LINK = "mutation { payoutAccountLink { __typename } }"
PAYOUT = """mutation ($input: RequestPayoutInput!) { requestPayout(input: $input) {
  __typename ... on RequestPayoutSuccess { payout { status } } } }"""


class Statements:
    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._record)

    def _record(self, *args: Any) -> None:
        if args[2].strip().upper() != "SELECT 1":
            self.count += 1


async def cycles(url: str, count: int) -> None:
    settings = Settings(
        _env_file=None, environment=Environment.TEST, log_level="warning", rate_limits=False,
        metrics_enabled=True, tracing_enabled=False,
    )  # fmt: skip
    app = create_app(settings, database_url=url)
    engine = create_async_engine(url)
    session_factory = create_session_factory(engine)
    poster = await create_user(session_factory)
    hunter = await create_user(session_factory)
    p, h = token_for(settings, poster), token_for(settings, hunter)
    counter = Statements()
    publish_times: list[float] = []
    release_times: list[float] = []
    publish_statements: list[int] = []
    release_statements: list[int] = []
    payout_times: list[float] = []
    payout_statements: list[int] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def call(query: str, token: str, **variables: Any) -> dict[str, Any]:
                response = await client.post(
                    "/graphql", json={"query": query, "variables": {"input": variables}},
                    headers={"authorization": f"Bearer {token}"},
                )  # fmt: skip
                body: dict[str, Any] = response.json()
                assert "errors" not in body, body
                data: dict[str, Any] = body["data"]
                return data

            response = await client.post(
                "/graphql", json={"query": LINK}, headers={"authorization": f"Bearer {h}"}
            )
            assert response.json()["data"]["payoutAccountLink"]["__typename"].endswith("Success")
            for i in range(count + 5):  # five warm-up cycles
                made = await call(
                    CREATE, p, title=f"Bench bounty {i}", description="Benchmark cycle",
                    category="other", reward={"amount": 10_000, "currency": "EUR"},
                )  # fmt: skip
                bounty = made["createBounty"]["bounty"]["id"]
                counter.count, started = 0, time.perf_counter()
                published = await call(
                    PUBLISH,
                    p,
                    bountyId=bounty,
                    idempotencyKey=f"p{i}",
                    paymentMethodId="pm_card_visa",
                )
                elapsed, statements = time.perf_counter() - started, counter.count
                assert published["publishBounty"]["payment"]["status"] == "SUCCEEDED", published
                if i >= 5:
                    publish_times.append(elapsed)
                    publish_statements.append(statements)
                applied = await call(APPLY, h, bountyId=bounty, message="on it")
                application = applied["applyToBounty"]["application"]["id"]
                await call(ACCEPT, p, applicationId=application)
                await call(SUBMIT, h, bountyId=bounty, note="done", attachments=[])
                counter.count, started = 0, time.perf_counter()
                approved = await call(APPROVE, p, bountyId=bounty, idempotencyKey=f"a{i}")
                elapsed, statements = time.perf_counter() - started, counter.count
                assert approved["approveCompletion"]["bounty"]["status"] == "COMPLETED", approved
                if i >= 5:
                    release_times.append(elapsed)
                    release_statements.append(statements)
                counter.count, started = 0, time.perf_counter()
                paid = await call(PAYOUT, h, amount=9_000, currency="EUR", idempotencyKey=f"o{i}")
                elapsed, statements = time.perf_counter() - started, counter.count
                assert paid["requestPayout"]["payout"]["status"] == "IN_TRANSIT", paid
                if i >= 5:
                    payout_times.append(elapsed)
                    payout_statements.append(statements)
    total = sum(publish_times) + sum(release_times)
    print(f"funding+release cycles: {count} in {total:.2f} s timed = {count / total:.1f} cycles/s, "
          f"{total / count * 1000:.0f} ms per cycle")  # fmt: skip
    print(f"  publishBounty  p50 {statistics.median(publish_times) * 1000:.1f} ms, "
          f"SQL statements per publish: {statistics.median(publish_statements):.0f} "
          f"(min {min(publish_statements)}, max {max(publish_statements)})")  # fmt: skip
    print(f"  approveCompletion p50 {statistics.median(release_times) * 1000:.1f} ms, "
          f"SQL statements per release: {statistics.median(release_statements):.0f} "
          f"(min {min(release_statements)}, max {max(release_statements)})")  # fmt: skip
    print(f"  requestPayout p50 {statistics.median(payout_times) * 1000:.1f} ms (sandbox "
          f"transfer and payout), SQL statements per payout: "
          f"{statistics.median(payout_statements):.0f} (min {min(payout_statements)}, "
          f"max {max(payout_statements)})")  # fmt: skip
    violations = await ledger_violations(session_factory)
    print(f"  ledger invariants after the cycles: {violations if violations else 'hold'}")
    await engine.dispose()


LOAD = """
ALTER TABLE ledger_entries DISABLE TRIGGER USER;
ALTER TABLE ledger_accounts DISABLE TRIGGER USER;
INSERT INTO ledger_accounts (id, kind, owner_id, currency)
    SELECT gen_random_uuid(), 'WALLET', gen_random_uuid(), 'EUR' FROM generate_series(1, :wallets);
INSERT INTO ledger_accounts (kind, owner_id, currency) VALUES ('CLEARING', NULL, 'EUR')
    ON CONFLICT DO NOTHING;
INSERT INTO ledger_postings (kind, reference)
    SELECT 'FUNDING', 'bench:' || n FROM generate_series(1, :postings) n;
CREATE TEMP TABLE bench_wallets AS
    SELECT row_number() OVER (ORDER BY id) - 1 AS slot, id FROM ledger_accounts
    WHERE kind = 'WALLET' AND balance = 0;
INSERT INTO ledger_entries (posting_id, account_id, amount, currency)
    SELECT p.id, w.id, 100, 'EUR' FROM ledger_postings p
    JOIN bench_wallets w ON w.slot = p.id % :wallets WHERE p.reference LIKE 'bench:%';
INSERT INTO ledger_entries (posting_id, account_id, amount, currency)
    SELECT p.id, (SELECT id FROM ledger_accounts WHERE kind = 'CLEARING' AND currency = 'EUR'),
        -100, 'EUR' FROM ledger_postings p WHERE p.reference LIKE 'bench:%';
UPDATE ledger_accounts a SET balance = t.total FROM (
    SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) t
    WHERE t.account_id = a.id;
ALTER TABLE ledger_accounts ENABLE TRIGGER USER;
ALTER TABLE ledger_entries ENABLE TRIGGER USER;
ANALYZE ledger_accounts; ANALYZE ledger_entries; ANALYZE ledger_postings
"""


async def balance_reads(url: str, postings: int, reads: int) -> None:
    engine = create_async_engine(url)
    session_factory = create_session_factory(engine)
    wallets = 10_000
    started = time.perf_counter()
    async with engine.begin() as connection:
        for statement in LOAD.split(";"):
            if statement.strip():
                await connection.execute(
                    text(statement), {"wallets": wallets, "postings": postings}
                )
    print(f"loaded {postings:,} postings ({2 * postings:,} entries, {wallets:,} wallets) in "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    async with session_factory() as session:
        owners = list(
            await session.scalars(
                text("SELECT owner_id FROM ledger_accounts WHERE kind = 'WALLET' AND balance > 0")
            )
        )
    counter = Statements()
    timings = []
    counter.count = 0
    started = time.perf_counter()
    for _ in range(reads):
        owner = random.choice(owners)
        one = time.perf_counter()
        async with session_factory() as session:
            value = await ledger.balance(session, ledger.wallet(owner, "EUR"))
        timings.append(time.perf_counter() - one)
        assert value > 0
    elapsed = time.perf_counter() - started
    timings.sort()
    print(f"balance reads at {postings:,} postings: {reads / elapsed:,.0f} reads/s, "
          f"p50 {timings[len(timings) // 2] * 1e6:,.0f} µs, p99 "
          f"{timings[int(len(timings) * 0.99)] * 1e6:,.0f} µs, "
          f"{counter.count / reads:.0f} statement per read")  # fmt: skip
    started = time.perf_counter()
    violations = await ledger_violations(session_factory)
    print(f"  ledger invariants at {postings:,} postings: "
          f"{violations if violations else 'hold'} (checked in "
          f"{time.perf_counter() - started:.1f} s)")  # fmt: skip
    await engine.dispose()


async def main_async(args: argparse.Namespace) -> None:
    server = databases.server_url()
    template = await databases.ensure_template(server)
    name = f"bench_payments_{uuid.uuid4().hex[:8]}"
    await databases.run_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = databases.with_database(server, name)
    try:
        await cycles(url, args.cycles)
        if args.postings:
            await balance_reads(url, args.postings, args.reads)
    finally:
        await databases.drop_database(server, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--postings", type=int, default=1_000_000)
    parser.add_argument("--reads", type=int, default=5_000)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
