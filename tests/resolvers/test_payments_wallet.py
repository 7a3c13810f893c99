"""Wallet and transaction history through the API: each side sees its own money, pages are one
statement whatever their size."""

from __future__ import annotations

import pytest

from app.db.engine import SessionFactory
from app.db.models import BountyStatus
from app.settings import Settings
from tests.bounty_factories import APPROVE, CANCEL, insert_bounty
from tests.conftest import GraphQL, StatementCounter
from tests.factories import create_user, global_id, token_for
from tests.payment_helpers import run_payment_jobs

pytestmark = pytest.mark.asyncio
HISTORY = """query ($first: Int, $after: String, $type: TransactionType) {
  transactions(first: $first, after: $after, type: $type) {
    edges { node { type amount fee currency bountyId } }
    pageInfo { hasNextPage endCursor }
  }
}"""
WALLET = '{ wallet(currency: "eur") { currency available pending } }'


async def test_each_side_sees_its_own_money(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter = await create_user(session_factory), await create_user(session_factory)
    done = await insert_bounty(
        session_factory, poster, status=BountyStatus.SUBMITTED, hunter=hunter,
        reward_amount=5_000, reward_currency="EUR",
    )  # fmt: skip
    open_one = await insert_bounty(
        session_factory, poster, status=BountyStatus.OPEN, reward_amount=700, reward_currency="EUR"
    )
    p, h = token_for(settings, poster), token_for(settings, hunter)
    await graphql(
        APPROVE, {"input": {"bountyId": global_id("Bounty", done), "idempotencyKey": "a"}}, token=p
    )
    await graphql(
        CANCEL,
        {"input": {"bountyId": global_id("Bounty", open_one), "idempotencyKey": "c"}},
        token=p,
    )
    await run_payment_jobs(session_factory, settings)

    assert (await graphql(WALLET, token=h))["data"]["wallet"] == {
        "currency": "EUR", "available": 4_500, "pending": 0,
    }  # fmt: skip
    assert (await graphql(WALLET, token=p))["data"]["wallet"]["available"] == 0
    hunter_side = (await graphql(HISTORY, token=h))["data"]["transactions"]["edges"]
    assert [e["node"] for e in hunter_side] == [
        {"type": "RELEASED", "amount": 4_500, "fee": 500, "currency": "EUR",
         "bountyId": global_id("Bounty", done)},
    ]  # fmt: skip
    poster_side = (await graphql(HISTORY, token=p))["data"]["transactions"]["edges"]
    assert [(e["node"]["type"], e["node"]["amount"]) for e in poster_side] == [
        ("REFUNDED", 700),
        ("FUNDED", -700),
        ("FUNDED", -5_000),
    ]
    refunds = await graphql(HISTORY, {"type": "REFUNDED"}, token=p)
    assert [e["node"]["amount"] for e in refunds["data"]["transactions"]["edges"]] == [700]
    stranger = token_for(settings, await create_user(session_factory))
    assert (await graphql(HISTORY, token=stranger))["data"]["transactions"]["edges"] == []


async def test_history_pages_are_one_statement_whatever_their_size(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    sql_statements: StatementCounter,
) -> None:
    poster = await create_user(session_factory)
    for _ in range(12):
        await insert_bounty(
            session_factory, poster, status=BountyStatus.OPEN, reward_currency="EUR"
        )
    token = token_for(settings, poster)
    counts = []
    seen: list[int] = []
    after = None
    for first in (1, 10):
        sql_statements.statements.clear()
        page = (await graphql(HISTORY, {"first": first, "after": after}, token=token))["data"]
        counts.append(sql_statements.count)
        edges = page["transactions"]["edges"]
        assert len(edges) == first
        seen += [e["node"]["amount"] for e in edges]
        after = page["transactions"]["pageInfo"]["endCursor"]
    assert counts[0] == counts[1]
    last = (await graphql(HISTORY, {"first": 10, "after": after}, token=token))["data"]
    assert len(last["transactions"]["edges"]) == 1
    assert last["transactions"]["pageInfo"]["hasNextPage"] is False
    assert all(amount < 0 for amount in seen)
