"""Disputes and money: a moderator splits the held funds between hunter (net of the fee) and
poster (refunded), exactly once under concurrency; chargebacks (`charge.dispute.created` /
`closed`) freeze the held funds, then let them move again (won) or take them back (lost), with
duplicate and reordered events converging. Ledger invariants hold after each test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import text

from app.broker import InProcessBroker
from app.db.engine import SessionFactory
from app.db.models import BountyStatus, Role, User
from app.db.models.base import utcnow
from app.settings import Settings
from services.bounties import delivery
from services.payments import ledger, signatures
from services.payments.interface import payments_for
from services.unit_of_work import unit_of_work
from tests.bounty_factories import APPROVE, RESOLVE_DISPUTE, bounty_snapshot, insert_bounty
from tests.conftest import TEST_WEBHOOK_SECRET, GraphQL
from tests.factories import create_user, global_id, token_for
from tests.ledger_invariants import assert_ledger_invariants
from tests.payment_helpers import assigned_bounty, bounty_balances, run_payment_jobs, sandbox

pytestmark = pytest.mark.asyncio
S = BountyStatus


@pytest_asyncio.fixture(autouse=True)
async def _invariants(session_factory: SessionFactory) -> AsyncIterator[None]:
    yield
    await assert_ledger_invariants(session_factory)


async def _resolve(
    graphql: GraphQL, settings: Settings, moderator: User, bounty_id: uuid.UUID, **extra: Any
) -> dict[str, Any]:
    variables = {
        "bountyId": global_id("Bounty", bounty_id), "outcome": "SPLIT", "note": "half done",
        "idempotencyKey": "split", **extra,
    }  # fmt: skip
    body = await graphql(
        RESOLVE_DISPUTE, {"input": variables}, token=token_for(settings, moderator)
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["resolveDispute"]
    return result


async def test_a_split_pays_the_hunter_net_of_the_fee_and_refunds_the_poster(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter, bounty_id = await assigned_bounty(session_factory, S.DISPUTED, reward=10_000)
    moderator = await create_user(session_factory, role=Role.MODERATOR)
    split = {"hunterAmount": 6_000, "posterAmount": 4_000}
    result = await _resolve(graphql, settings, moderator, bounty_id, split=split)
    assert result["__typename"] == "BountySuccess", result
    assert result["bounty"]["status"] == "COMPLETED"
    # 10% of the hunter's 6,000 is the platform's; 4,000 waits in REFUNDS for the provider.
    assert await bounty_balances(session_factory, hunter, bounty_id) == {
        "held": 0, "wallet": 5_400, "fees": 600, "refunds": 4_000,
    }  # fmt: skip
    assert await run_payment_jobs(session_factory, settings) == ["payments.refund"]
    assert (await bounty_balances(session_factory, hunter, bounty_id))["refunds"] == 0
    async with session_factory() as session:
        queued = (
            await session.execute(
                text("SELECT payload FROM pgqueuer WHERE entrypoint = 'notifications.create'")
            )
        ).scalars()
        told = [(p["type"], p["userIds"]) for p in map(orjson.loads, queued)]
    assert told == [("PAYMENT_REFUNDED", [str(poster.id)])]
    assert [amount for _, amount in sandbox(settings).refunds.values()][-1] == 4_000
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["payments"] == [
        ("FUNDING", 10_000), ("RELEASE", 6_000), ("REFUND", 4_000), ("REFUND_SETTLED", 4_000),
    ]  # fmt: skip
    # The same key answers the first result; the bounty is no longer DISPUTED for another.
    again = await _resolve(graphql, settings, moderator, bounty_id, split=split)
    assert again == result


@pytest.mark.parametrize(
    ("split", "outcome"),
    [
        ({"hunterAmount": 6_000, "posterAmount": 3_000}, "SPLIT"),  # does not sum to 10,000
        ({"hunterAmount": 11_000, "posterAmount": -1_000}, "SPLIT"),
        (None, "SPLIT"),  # SPLIT needs amounts
        ({"hunterAmount": 5_000, "posterAmount": 5_000}, "REFUND_POSTER"),  # only with SPLIT
    ],
)
async def test_a_split_that_does_not_add_up_changes_nothing(
    graphql: GraphQL,
    session_factory: SessionFactory,
    settings: Settings,
    split: dict[str, int] | None,
    outcome: str,
) -> None:
    _, _, bounty_id = await assigned_bounty(session_factory, S.DISPUTED, reward=10_000)
    moderator = await create_user(session_factory, role=Role.MODERATOR)
    before = await bounty_snapshot(session_factory, bounty_id)
    result = await _resolve(graphql, settings, moderator, bounty_id, split=split, outcome=outcome)
    assert (result["code"], result["field"]) == ("INVALID_INPUT", "input.split")
    assert await bounty_snapshot(session_factory, bounty_id) == before
    assert await run_payment_jobs(session_factory, settings) == []


async def test_concurrent_resolutions_move_the_money_once(
    graphql: GraphQL, session_factory: SessionFactory, settings: Settings
) -> None:
    _, hunter, bounty_id = await assigned_bounty(session_factory, S.DISPUTED, reward=10_000)
    moderators = [await create_user(session_factory, role=Role.MODERATOR) for _ in range(2)]
    results = await asyncio.gather(
        *(
            _resolve(
                graphql,
                settings,
                moderators[i % 2],
                bounty_id,
                idempotencyKey=f"k{i}",
                split={"hunterAmount": 1_000 * i, "posterAmount": 10_000 - 1_000 * i},
            )
            for i in range(1, 10)
        )
    )
    assert sum(r["__typename"] == "BountySuccess" for r in results) == 1
    assert {r.get("code") for r in results} - {None} == {"INVALID_TRANSITION"}
    await run_payment_jobs(session_factory, settings)
    payments = (await bounty_snapshot(session_factory, bounty_id))["payments"]
    assert [kind for kind, _ in payments] == ["FUNDING", "RELEASE", "REFUND", "REFUND_SETTLED"]
    released, refunded = payments[1][1], payments[2][1]
    assert released + refunded == 10_000
    balances = await bounty_balances(session_factory, hunter, bounty_id)
    assert balances["held"] == 0
    assert balances["wallet"] + balances["fees"] == released


def _dispute_event(
    kind: str, bounty_id: uuid.UUID, *, status: str, dispute: str = "dp_1", amount: int = 10_000
) -> dict[str, Any]:
    return {
        "id": f"evt_{kind}_{status}_{uuid.uuid4().hex[:8]}",
        "object": "event",
        "type": f"charge.dispute.{kind}",
        "data": {
            "object": {
                "id": dispute, "object": "dispute", "amount": amount, "currency": "eur",
                "charge": "ch_1", "payment_intent": f"pi_fixture_{bounty_id}",
                "status": status, "reason": "fraudulent",
            }
        },
    }  # fmt: skip


async def _deliver(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    raw = orjson.dumps(body)
    header = signatures.sign(raw, TEST_WEBHOOK_SECRET)
    answer = await client.post(
        "/webhooks/stripe", content=raw, headers={"stripe-signature": header}
    )
    assert answer.status_code == 200, answer.text


async def test_a_chargeback_freezes_the_held_funds_until_the_bank_decides(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    _, hunter, bounty_id = await assigned_bounty(session_factory, S.SUBMITTED, reward=10_000)
    await _deliver(client, _dispute_event("created", bounty_id, status="needs_response"))
    await _deliver(client, _dispute_event("created", bounty_id, status="needs_response"))
    await run_payment_jobs(session_factory, settings)
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.DISPUTED  # work stops; a moderator sees it
    moderator = await create_user(session_factory, role=Role.MODERATOR)
    refused = await _resolve(
        graphql, settings, moderator, bounty_id, outcome="RELEASE_TO_HUNTER", idempotencyKey="r1"
    )
    assert refused["code"] == "NOT_ALLOWED"
    assert "frozen" in refused["message"]
    assert await bounty_snapshot(session_factory, bounty_id) == snapshot
    # The platform won: the funds move again.
    await _deliver(client, _dispute_event("closed", bounty_id, status="won"))
    await run_payment_jobs(session_factory, settings)
    released = await _resolve(
        graphql, settings, moderator, bounty_id, outcome="RELEASE_TO_HUNTER", idempotencyKey="r2"
    )
    assert released["bounty"]["status"] == "COMPLETED"
    assert await bounty_balances(session_factory, hunter, bounty_id) == {
        "held": 0, "wallet": 9_000, "fees": 1_000, "refunds": 0,
    }  # fmt: skip


@pytest.mark.parametrize("order", ["in order", "closed first"])
async def test_a_lost_chargeback_takes_the_funds_back_and_cancels(
    graphql: GraphQL,
    client: httpx.AsyncClient,
    session_factory: SessionFactory,
    settings: Settings,
    order: str,
) -> None:
    poster, hunter, bounty_id = await assigned_bounty(session_factory, S.OPEN, reward=10_000)
    created = _dispute_event("created", bounty_id, status="needs_response", amount=4_000)
    lost = _dispute_event("closed", bounty_id, status="lost", amount=4_000)
    events = [created, lost, lost] if order == "in order" else [lost, created, created]
    for event in events:
        await _deliver(client, event)
        await run_payment_jobs(session_factory, settings)
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.CANCELLED
    # 4,000 went back through the bank; the other 6,000 is refunded by us.
    assert snapshot["payments"] == [
        ("FUNDING", 10_000), ("REFUND", 4_000), ("REFUND_SETTLED", 4_000), ("REFUND", 6_000),
        ("REFUND_SETTLED", 6_000),
    ]  # fmt: skip
    assert await bounty_balances(session_factory, hunter, bounty_id) == {
        "held": 0, "wallet": 0, "fees": 0, "refunds": 0,
    }  # fmt: skip
    token = token_for(settings, poster)
    approve = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "late"}
    late = (await graphql(APPROVE, {"input": approve}, token=token))["data"]["approveCompletion"]
    assert late["code"] == "INVALID_TRANSITION"


async def test_approvals_racing_a_chargeback_move_the_money_at_most_once(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    poster, hunter, bounty_id = await assigned_bounty(session_factory, S.SUBMITTED, reward=10_000)
    await _deliver(client, _dispute_event("created", bounty_id, status="needs_response"))
    token = token_for(settings, poster)
    bounty = global_id("Bounty", bounty_id)

    async def approve(i: int) -> dict[str, Any]:
        body = await graphql(
            APPROVE, {"input": {"bountyId": bounty, "idempotencyKey": f"a{i}"}}, token=token
        )
        result: dict[str, Any] = body["data"]["approveCompletion"]
        return result

    approvals = asyncio.gather(*(approve(i) for i in range(8)))
    outcomes, _ = await asyncio.gather(approvals, run_payment_jobs(session_factory, settings))
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    released = [kind for kind, _ in snapshot["payments"]].count("RELEASE")
    won = [o for o in outcomes if o["__typename"] == "BountySuccess"]
    if won:  # an approval got in before the chargeback: released once, nothing frozen after
        assert (len(won), released, snapshot["status"]) == (1, 1, S.COMPLETED)
    else:  # the chargeback got in first: the work stops, the money stays
        assert (released, snapshot["status"]) == (0, S.DISPUTED)
        assert (await bounty_balances(session_factory, hunter, bounty_id))["held"] == 10_000
    assert {o.get("code") for o in outcomes} - {None} <= {"INVALID_TRANSITION", "NOT_ALLOWED"}


async def test_expiry_waits_for_the_bank_on_a_frozen_bounty(
    client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    poster = await create_user(session_factory)
    past = utcnow() - timedelta(hours=1)
    bounty_id = await insert_bounty(
        session_factory, poster, deadline=past, reward_amount=10_000, reward_currency="EUR"
    )
    await _deliver(client, _dispute_event("created", bounty_id, status="needs_response"))
    await run_payment_jobs(session_factory, settings)
    payments = payments_for(settings)
    async with unit_of_work(session_factory, InProcessBroker()) as work:
        assert await delivery.expire_due(work, payments=payments) == 0
    assert (await bounty_snapshot(session_factory, bounty_id))["status"] is S.OPEN
    await _deliver(client, _dispute_event("closed", bounty_id, status="won"))
    await run_payment_jobs(session_factory, settings)
    async with unit_of_work(session_factory, InProcessBroker()) as work:
        assert await delivery.expire_due(work, payments=payments) == 1
    await run_payment_jobs(session_factory, settings)
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.EXPIRED
    assert [kind for kind, _ in snapshot["payments"]] == ["FUNDING", "REFUND", "REFUND_SETTLED"]


async def test_a_chargeback_lost_after_the_release_is_posted_as_the_platforms_loss(
    graphql: GraphQL, client: httpx.AsyncClient, session_factory: SessionFactory, settings: Settings
) -> None:
    """The bank takes the money back after the hunter was paid: the ledger no longer holds it
    for anyone, so the platform pays (PLATFORM_LOSS -> CLEARING, once however often the event
    comes), and CLEARING again matches what the provider moved (10,000 in, 10,000 out)."""
    poster, hunter, bounty_id = await assigned_bounty(session_factory, S.SUBMITTED, reward=10_000)
    approve = {"bountyId": global_id("Bounty", bounty_id), "idempotencyKey": "done"}
    body = await graphql(APPROVE, {"input": approve}, token=token_for(settings, poster))
    assert body["data"]["approveCompletion"]["bounty"]["status"] == "COMPLETED"
    await run_payment_jobs(session_factory, settings)
    for event in [
        _dispute_event("created", bounty_id, status="needs_response"),
        _dispute_event("closed", bounty_id, status="lost"),
        _dispute_event("closed", bounty_id, status="lost"),
    ]:
        await _deliver(client, event)
        await run_payment_jobs(session_factory, settings)
    snapshot = await bounty_snapshot(session_factory, bounty_id)
    assert snapshot["status"] is S.COMPLETED  # the work was done and paid; only money moved
    assert snapshot["payments"] == [
        ("FUNDING", 10_000), ("RELEASE", 10_000), ("CHARGEBACK_LOSS", 10_000),
    ]  # fmt: skip
    assert await bounty_balances(session_factory, hunter, bounty_id) == {
        "held": 0, "wallet": 9_000, "fees": 1_000, "refunds": 0,
    }  # fmt: skip
    async with session_factory() as session:
        assert await ledger.balance(session, ledger.platform_loss("EUR")) == -10_000
        assert await ledger.balance(session, ledger.clearing("EUR")) == 0
