"""Releasing and refunding held funds through the API: the fee, the wallet, exactly one money
movement under concurrent requests, disputes freezing the funds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
import pytest_asyncio

from app.db.engine import SessionFactory
from app.db.models import BountyStatus, Role
from app.settings import Settings
from tests.bounty_factories import (
    APPROVE,
    CANCEL,
    OPEN_DISPUTE,
    RESOLVE_DISPUTE,
    bounty_snapshot,
)
from tests.conftest import GraphQL
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.payment_helpers import assigned_bounty, bounty_balances, run_payment_jobs

pytestmark = pytest.mark.asyncio
S = BountyStatus


@pytest_asyncio.fixture(autouse=True)
async def _invariants(session_factory: SessionFactory) -> AsyncIterator[None]:
    yield
    await assert_ledger_invariants(session_factory)


async def test_twenty_concurrent_approvals_release_once_with_the_fee(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter, bounty_id = await assigned_bounty(session_factory, S.SUBMITTED, reward=10_001)
    token = token_for(settings, poster)
    bounty = global_id("Bounty", bounty_id)
    results = await asyncio.gather(
        *(
            graphql(
                APPROVE, {"input": {"bountyId": bounty, "idempotencyKey": f"a{i}"}}, token=token
            )
            for i in range(20)
        )
    )
    outcomes = [r["data"]["approveCompletion"] for r in results]
    assert sum(o["__typename"] == "BountySuccess" for o in outcomes) == 1
    assert sorted({o.get("code") for o in outcomes} - {None}) == ["INVALID_TRANSITION"]
    # 10% of 10,001 rounds down to 1,000: the hunter keeps the odd unit.
    assert await bounty_balances(session_factory, hunter, bounty_id) == {
        "held": 0, "wallet": 9_001, "fees": 1_000, "refunds": 0,
    }  # fmt: skip
    assert (await bounty_snapshot(session_factory, bounty_id))["payments"] == [
        ("FUNDING", 10_001),
        ("RELEASE", 10_001),
    ]


async def test_a_release_racing_a_refund_moves_the_money_once(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    _, hunter, bounty_id = await assigned_bounty(session_factory, S.DISPUTED, reward=10_001)
    moderators = [await create_user(session_factory, role=Role.MODERATOR) for _ in range(2)]
    bounty = global_id("Bounty", bounty_id)

    def resolve(i: int) -> Awaitable[dict[str, Any]]:
        outcome = "RELEASE_TO_HUNTER" if i % 2 else "REFUND_POSTER"
        variables = {"bountyId": bounty, "outcome": outcome, "note": "decided",
                     "idempotencyKey": f"r{i}"}  # fmt: skip
        return graphql(RESOLVE_DISPUTE, {"input": variables},
                       token=token_for(settings, moderators[i % 2]))  # fmt: skip

    results = await asyncio.gather(*(resolve(i) for i in range(20)))
    outcomes = [r["data"]["resolveDispute"] for r in results]
    assert sum(o["__typename"] == "BountySuccess" for o in outcomes) == 1
    await run_payment_jobs(session_factory, settings)
    kinds = [kind for kind, _ in (await bounty_snapshot(session_factory, bounty_id))["payments"]]
    assert kinds in (["FUNDING", "RELEASE"], ["FUNDING", "REFUND", "REFUND_SETTLED"])
    balances = await bounty_balances(session_factory, hunter, bounty_id)
    assert balances["held"] == 0
    assert balances["wallet"] == (9_001 if kinds[1] == "RELEASE" else 0)


async def test_a_dispute_freezes_the_held_funds(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter, bounty_id = await assigned_bounty(session_factory, S.SUBMITTED, reward=10_001)
    bounty = global_id("Bounty", bounty_id)
    opened = await graphql(
        OPEN_DISPUTE,
        {"input": {"bountyId": bounty, "note": "Not what we agreed", "idempotencyKey": "d1"}},
        token=token_for(settings, hunter),
    )
    assert opened["data"]["openDispute"]["bounty"]["status"] == "DISPUTED"
    before = await bounty_snapshot(session_factory, bounty_id)
    token = token_for(settings, poster)
    approve = await graphql(
        APPROVE, {"input": {"bountyId": bounty, "idempotencyKey": "a"}}, token=token
    )
    cancel = await graphql(
        CANCEL, {"input": {"bountyId": bounty, "idempotencyKey": "c"}}, token=token
    )
    assert approve["data"]["approveCompletion"]["code"] == "INVALID_TRANSITION"
    assert cancel["data"]["cancelBounty"]["code"] == "INVALID_TRANSITION"
    assert await bounty_snapshot(session_factory, bounty_id) == before
    assert (await bounty_balances(session_factory, hunter, bounty_id))["held"] == 10_001
    # The same key and input: the first answer, no second transition.
    again = await graphql(
        OPEN_DISPUTE,
        {"input": {"bountyId": bounty, "note": "Not what we agreed", "idempotencyKey": "d1"}},
        token=token_for(settings, hunter),
    )
    assert again == opened


async def test_cancelling_an_open_bounty_refunds_the_poster_through_the_provider(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter, bounty_id = await assigned_bounty(session_factory, S.OPEN, reward=10_001)
    bounty = global_id("Bounty", bounty_id)
    done = await graphql(
        CANCEL, {"input": {"bountyId": bounty, "idempotencyKey": "c"}},
        token=token_for(settings, poster),
    )  # fmt: skip
    assert done["data"]["cancelBounty"]["bounty"]["status"] == "CANCELLED"
    assert (await bounty_balances(session_factory, hunter, bounty_id))["refunds"] == 10_001
    assert await run_payment_jobs(session_factory, settings) == ["payments.refund"]
    assert await run_payment_jobs(session_factory, settings) == []
    assert await bounty_balances(session_factory, hunter, bounty_id) == {
        "held": 0, "wallet": 0, "fees": 0, "refunds": 0,
    }  # fmt: skip
