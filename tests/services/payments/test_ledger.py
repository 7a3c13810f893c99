"""The ledger on real PostgreSQL: balanced postings once per reference, running balances, and
what the database itself refuses (edits, deletes, unbalanced postings, overdrafts)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from app.db.engine import SessionFactory
from app.db.models import AccountKind, PostingKind
from app.db.models.base import utcnow
from services.payments import ledger
from services.payments.ledger import Leg, UnbalancedPosting
from services.payments.money import Money
from tests.ledger_invariants import assert_ledger_invariants, ledger_violations

pytestmark = pytest.mark.asyncio
EUR = "EUR"


@pytest_asyncio.fixture(autouse=True)
async def _invariants(session_factory: SessionFactory) -> AsyncIterator[None]:
    yield
    await assert_ledger_invariants(session_factory)


async def _fund(
    session_factory: SessionFactory, bounty_id: uuid.UUID, amount: int, reference: str
) -> int | None:
    async with session_factory() as session, session.begin():
        return await ledger.post(
            session,
            kind=PostingKind.FUNDING,
            reference=reference,
            bounty_id=bounty_id,
            legs=ledger.transfer(
                ledger.clearing(EUR), ledger.held(bounty_id, EUR), Money(amount, EUR)
            ),
        )


async def _balance(session_factory: SessionFactory, account: ledger.Account) -> int:
    async with session_factory() as session:
        return await ledger.balance(session, account)


async def test_a_posting_moves_money_once_per_reference(session_factory: SessionFactory) -> None:
    bounty = uuid.uuid4()
    first = await _fund(session_factory, bounty, 2500, "funding:a")
    again = await _fund(session_factory, bounty, 2500, "funding:a")
    assert isinstance(first, int)
    assert again is None
    assert await _balance(session_factory, ledger.held(bounty, EUR)) == 2500
    assert await _balance(session_factory, ledger.clearing(EUR)) == -2500
    assert await _balance(session_factory, ledger.wallet(uuid.uuid4(), EUR)) == 0


async def test_a_release_splits_held_funds_between_fees_and_the_wallet(
    session_factory: SessionFactory,
) -> None:
    bounty, hunter = uuid.uuid4(), uuid.uuid4()
    await _fund(session_factory, bounty, 2500, "funding:b")
    async with session_factory() as session, session.begin():
        await ledger.post(
            session,
            kind=PostingKind.RELEASE,
            reference=f"release:{bounty}",
            bounty_id=bounty,
            legs=[
                Leg(ledger.held(bounty, EUR), -2500),
                Leg(ledger.fees(EUR), 250),
                Leg(ledger.wallet(hunter, EUR), 2250),
            ],
        )
    async with session_factory() as session:
        found = await ledger.balances(
            session, [ledger.held(bounty, EUR), ledger.wallet(hunter, EUR)]
        )
        by_kind = await ledger.balances_by_kind(session, currency=EUR)
        page = await ledger.entries_page(session, [ledger.wallet(hunter, EUR)], first=10)
    assert found == {ledger.held(bounty, EUR): 0, ledger.wallet(hunter, EUR): 2250}
    assert by_kind == {
        AccountKind.WALLET: 2250,
        AccountKind.PAYOUT_PENDING: 0,
        AccountKind.HELD: 0,
        AccountKind.FEES: 250,
        AccountKind.CLEARING: -2500,
        AccountKind.REFUNDS: 0,
        AccountKind.PLATFORM_LOSS: 0,
    }
    assert [(e.posting_kind, e.amount, e.bounty_id) for e in page] == [
        (PostingKind.RELEASE.value, 2250, bounty)
    ]


async def test_unbalanced_legs_are_refused_before_anything_is_written(
    session_factory: SessionFactory,
) -> None:
    async with session_factory() as session, session.begin():
        for legs in (
            [Leg(ledger.clearing(EUR), -100), Leg(ledger.fees(EUR), 99)],
            [Leg(ledger.clearing(EUR), -100), Leg(ledger.fees("USD"), 100)],
            [Leg(ledger.clearing(EUR), 0), Leg(ledger.fees(EUR), 0)],
            [],
        ):
            with pytest.raises(UnbalancedPosting):
                await ledger.post(session, kind=PostingKind.FUNDING, reference="x", legs=legs)
    assert await _balance(session_factory, ledger.fees(EUR)) == 0


async def test_the_database_refuses_an_unbalanced_posting_at_commit(
    session_factory: SessionFactory,
) -> None:
    bounty = uuid.uuid4()
    await _fund(session_factory, bounty, 1000, "funding:c")
    async with session_factory() as session:
        transaction = await session.begin()
        ids = await ledger.account_ids(session, [ledger.fees(EUR)])
        posting = await session.scalar(
            text("INSERT INTO ledger_postings (kind, reference) VALUES ('RELEASE', 'forged') "
                 "RETURNING id")
        )  # fmt: skip
        await session.execute(
            text("INSERT INTO ledger_entries (posting_id, account_id, amount, currency) "
                 "VALUES (:p, :a, 500, 'EUR')"),
            {"p": posting, "a": ids[ledger.fees(EUR)]},
        )  # fmt: skip
        with pytest.raises(DBAPIError, match="does not sum to zero"):
            await transaction.commit()
    assert await _balance(session_factory, ledger.fees(EUR)) == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount = amount * 2",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_postings SET reference = 'changed'",
        "DELETE FROM ledger_postings",
        "UPDATE ledger_accounts SET balance = balance + 1",
        "UPDATE ledger_accounts SET currency = 'USD'",
        "DELETE FROM ledger_accounts",
    ],
)
async def test_the_database_refuses_to_edit_the_ledger(
    session_factory: SessionFactory, statement: str
) -> None:
    bounty = uuid.uuid4()
    await _fund(session_factory, bounty, 1000, "funding:d")
    with pytest.raises(DBAPIError, match=r"immutable|never deleted|keeps its|only through"):
        async with session_factory() as session, session.begin():
            await session.execute(text(statement))
    assert await _balance(session_factory, ledger.held(bounty, EUR)) == 1000
    assert await ledger_violations(session_factory) == {}


async def test_no_account_but_clearing_may_go_below_zero(session_factory: SessionFactory) -> None:
    bounty, hunter = uuid.uuid4(), uuid.uuid4()
    await _fund(session_factory, bounty, 1000, "funding:e")
    with pytest.raises(IntegrityError, match="balance_not_negative"):
        async with session_factory() as session, session.begin():
            await ledger.post(
                session,
                kind=PostingKind.RELEASE,
                reference="release:too-much",
                legs=ledger.transfer(
                    ledger.held(bounty, EUR), ledger.wallet(hunter, EUR), Money(1001, EUR)
                ),
            )
    assert await _balance(session_factory, ledger.held(bounty, EUR)) == 1000
    assert await _balance(session_factory, ledger.wallet(hunter, EUR)) == 0


async def test_concurrent_postings_never_overdraw_an_account(
    session_factory: SessionFactory,
) -> None:
    bounty = uuid.uuid4()
    await _fund(session_factory, bounty, 1000, "funding:f")
    hunters = [uuid.uuid4() for _ in range(20)]

    async def take(hunter: uuid.UUID) -> bool:
        try:
            async with session_factory() as session, session.begin():
                await ledger.post(
                    session,
                    kind=PostingKind.PAYOUT,
                    reference=f"share:{hunter}",
                    bounty_id=bounty,
                    legs=ledger.transfer(
                        ledger.held(bounty, EUR), ledger.wallet(hunter, EUR), Money(300, EUR)
                    ),
                )
        except IntegrityError:
            return False
        return True

    taken = await asyncio.gather(*(take(hunter) for hunter in hunters))
    assert sum(taken) == 3
    assert await _balance(session_factory, ledger.held(bounty, EUR)) == 100


async def test_totals_by_kind_over_time(session_factory: SessionFactory) -> None:
    await _fund(session_factory, uuid.uuid4(), 700, "funding:g")
    await _fund(session_factory, uuid.uuid4(), 300, "funding:h")
    start = utcnow() - timedelta(hours=1)
    async with session_factory() as session:
        rows = await ledger.totals_by_kind_over_time(
            session, currency=EUR, since=start, until=utcnow() + timedelta(seconds=1),
            bucket=timedelta(days=1),
        )  # fmt: skip
    assert [(kind, total) for _, kind, total in rows] == [
        (AccountKind.CLEARING, -1000),
        (AccountKind.HELD, 1000),
    ]
    assert {at for at, _, _ in rows} == {start}
